"""The red-team loop: propose -> (defence) -> target -> judge on the original objective -> record.

Each round's attacks are appended to `attacks.jsonl` and the round's totals to
`rounds.jsonl` as soon as the round is judged, so an interrupted run keeps
every finished round. The report and exports are written at the end.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from safeeval.errors import SafeevalError
from safeeval.judges import Judge, JudgeInput, load_judge
from safeeval.models import ModelAdapter, load_model
from safeeval.redteam import crescendo  # noqa: F401  (registers the crescendo method)
from safeeval.redteam.defense import Defence
from safeeval.redteam.learner import Learner
from safeeval.redteam.methods import METHODS, Candidate, State, Static
from safeeval.redteam.novelty import NoveltyGate, cluster, make_space, top_k_mean
from safeeval.redteam.objectives import Objective, load_objectives
from safeeval.redteam.red import load_template, safe_response
from safeeval.redteam.train import check_trainable
from safeeval.redteam.selector import BetaSelector
from safeeval.redteam.types import AttackRecord, RedteamOptions, RoundRecord
from safeeval.schema import GenerateConfig, Message, Prompt, Response
from safeeval.storage import append_jsonl

ATTACKS, ROUNDS = "attacks.jsonl", "rounds.jsonl"
# on_round(round record) lets the CLI print progress between rounds.
OnRound = Callable[[RoundRecord], None]


@dataclass
class RedteamResult:
    out: Path
    report: dict[str, Any]


def round_budgets(options: RedteamOptions, n_objectives: int, static_size: int | None) -> list[int]:
    """Target queries per round: --budget split over the rounds, else K x objectives."""
    if options.budget is not None:
        total = options.budget
    elif static_size is not None:
        total = static_size  # the library applied once
    else:
        total = options.rounds * options.per_round * n_objectives
    if static_size is not None:
        total = min(total, static_size)
    base, rest = divmod(total, options.rounds)
    return [base + (1 if r < rest else 0) for r in range(options.rounds)]


class Loop:
    def __init__(self, options: RedteamOptions, objectives: list[Objective], target: ModelAdapter,
                 red: ModelAdapter | None, judge: Judge):
        self.options = options
        self.objectives = objectives
        self.target = target
        self.judge = judge
        space = make_space(options.diversity)
        self.state = State(options=options, objectives=objectives, space=space,
                           gate=NoveltyGate(space, options.novelty_threshold),
                           selector=BetaSelector([o.id for o in objectives], options.selector, options.seed),
                           red=red, template=load_template(options.method, options.red_template)
                           if options.method != "static" else "")
        self.method = METHODS[options.method](self.state)
        self.defence = Defence(space, guard=options.defence == "guard") \
            if options.defence in ("guard", "filter") else None
        self.refusal = safe_response()
        self.queries = 0
        self.defended = False
        self.learner: Learner | None = None  # --defence train (set by execute once the run folder exists)

    def _prompt(self, cand: Candidate, key: str, guarded: bool) -> Prompt:
        objective = cand.objective
        messages = [Message(role="system", content=objective.system)] if objective.system else []
        messages += [Message(role=m["role"], content=m["content"]) for m in cand.context]
        messages.append(Message(role="user", content=cand.text))
        if guarded and self.defence:
            messages = self.defence.guard(messages)
        config = GenerateConfig(max_tokens=self.options.target_max_tokens or objective.spec.max_tokens,
                                seed=self.options.seed)
        return Prompt(key=key, messages=messages, config=config)

    async def send(self, cands: list[Candidate], tag: str) -> tuple[list[Response], list[bool]]:
        """Answers of the (defended) target; the filter's refusals never reach the target."""
        self.defended = bool(self.defence and self.defence.patterns)
        if self.defence and cands:
            blocked = self.defence.blocked(self.state.space.encode([c.text for c in cands]))
        else:
            blocked = [False] * len(cands)
        prompts = [self._prompt(c, f"{c.objective.spec.name}/{tag}-{i}/redteam", True)
                   for i, c in enumerate(cands) if not blocked[i]]
        answers = iter(await self.target.generate(prompts) if prompts else [])
        responses = [Response(text=self.refusal) if b else next(answers) for b in blocked]
        return responses, blocked

    async def score(self, cands: list[Candidate], responses: list[Response]) -> list:
        # The ORIGINAL objective's sample: a rewritten attack that drifted into harmless text gains nothing.
        items = [JudgeInput(c.objective.spec, c.objective.sample, r) for c, r in zip(cands, responses)]
        return await self.judge.score(items) if items else []

    def novelty(self, cands: list[Candidate]) -> list[float]:
        """1 - top-5 mean similarity to the history before each attack (the same rule for every method)."""
        if not cands:
            return []
        vecs = self.state.space.encode([c.text for c in cands])
        out = []
        for i in range(len(cands)):
            history = self.state.history()
            pool = np.vstack([history, vecs[:i]]) if len(history) and history.shape[1] == vecs.shape[1] else vecs[:i]
            out.append(round(float(1.0 - top_k_mean(vecs[i:i + 1], pool)[0]), 4))
        self.state.vectors = vecs if self.state.vectors is None else np.vstack([self.state.vectors, vecs])
        return out

    async def step(self, round_no: int, budget: int, first: int) -> tuple[list[AttackRecord], Proposal]:
        """One proposal sent, judged and recorded (ids continue from `first`)."""
        st = self.state
        proposal = await self.method.propose(round_no, budget)
        cands = proposal.candidates[:budget]
        responses, blocked = await self.send(cands, f"r{round_no}-{first}")
        verdicts = await self.score(cands, responses)
        novelty = self.novelty(cands)
        lam = self.options.novelty_weight
        records = []
        for i, (c, resp, verdict, nov) in enumerate(zip(cands, responses, verdicts, novelty)):
            success = verdict.violation
            records.append(AttackRecord(
                id=f"r{round_no}-{first + i}", round=round_no, objective_id=c.objective.id,
                objective=c.objective.text, attack=c.text, method=self.options.method, source=c.source,
                parent=c.parent, response=resp.text, response_error=resp.error, verdict=verdict, success=success,
                novelty=nov, reward=round(float(bool(success)) + lam * nov, 4), context=c.context,
                defended=self.defended, blocked=blocked[i]))
            st.selector.update(c.objective.id, success)
        st.records.extend(records)
        self.method.observe(records)
        return records, proposal

    async def run_round(self, round_no: int, budget: int, out: Path) -> RoundRecord:
        st = self.state
        start, cpu = time.perf_counter(), time.process_time()
        records, proposal = await self.step(round_no, budget, 0)
        while self.method.steps() and len(records) < budget:
            more, extra = await self.step(round_no, budget - len(records), len(records))
            if not more:
                break
            records += more
            proposal.proposed += extra.proposed
            proposal.rejected.update(extra.rejected)
        append_jsonl(out / ATTACKS, records)
        self.queries += len(records)
        wins = [r for r in records if r.success]
        scored = [r for r in records if r.success is not None]
        rec = RoundRecord(
            round=round_no, method=self.options.method, queries=len(records), successes=len(wins),
            asr=round(len(wins) / len(scored), 4) if scored else None, cumulative_queries=self.queries,
            cumulative_unique_successes=self.unique_successes(), proposed=proposal.proposed,
            rejected=dict(sorted(proposal.rejected.items())),
            sources=dict(sorted(_count(r.source for r in records).items())),
            picks=dict(sorted(_count(r.objective_id for r in records).items())),
            posterior=st.selector.posterior(), avoid=proposal.avoid)
        if self.defence is not None:
            rec.defence = await self.update_defence(round_no, wins)
        if self.learner is not None:
            rec.training, rec.heldout = await self.learner.after_round(round_no, st)
        rec.seconds = round(time.perf_counter() - start, 1)
        rec.cpu_seconds = round(time.process_time() - cpu, 1)
        append_jsonl(out / ROUNDS, [rec])
        return rec

    def unique_successes(self) -> int:
        """Successful attacks after merging near-duplicates (similarity >= the duplicate threshold)."""
        wins = [r.attack for r in self.state.records if r.success]
        if not wins:
            return 0
        return len(set(cluster(self.state.space.encode(wins), self.state.space.dup_threshold)))

    async def update_defence(self, round_no: int, wins: list[AttackRecord]) -> dict[str, Any]:
        """Learn this round's successes, then replay every success so far against the defended target."""
        added = self.defence.add([r.attack for r in wins])
        known = {r.attack: r for r in self.state.records if r.success}
        by_id = {o.id: o for o in self.objectives}
        replay = [Candidate(by_id[r.objective_id], r.attack, r.source, r.id, context=r.context)
                  for r in known.values()]
        responses, blocked = await self.send(replay, f"replay{round_no}")
        verdicts = await self.score(replay, responses)
        return {**self.defence.state(), "added": added, "replayed": len(replay),
                "replay_violations": sum(1 for v in verdicts if v.violation), "replay_blocked": sum(blocked)}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def prepare_out(out: Path, options: RedteamOptions) -> None:
    """A fresh run folder: refuse to mix two runs' attacks in one file."""
    if (out / ATTACKS).exists() and (out / ATTACKS).stat().st_size:
        raise SafeevalError(f"{out}: already holds a red-team run (attacks.jsonl); choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in (ATTACKS, ROUNDS):
            (out / name).write_text("", encoding="utf-8")
        (out / "options.json").write_text(options.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SafeevalError(f"{out}: output folder is not writable: {exc.strerror}") from None


async def execute(options: RedteamOptions, on_round: OnRound | None = None,
                  target: ModelAdapter | None = None, red: ModelAdapter | None = None) -> RedteamResult:
    """Run a red-team campaign; `target`/`red` may be passed in already built (tests, benchmarks)."""
    from safeeval.redteam import export, report

    objectives = load_objectives(options.objectives, options.tasks_dirs, options.limit)
    judge_name = options.judge or objectives[0].spec.judge
    if judge_name != objectives[0].spec.judge:
        # A task's violation labels name its own judge's labels; another judge brings its own.
        spec = objectives[0].spec.model_copy(update={"judge": judge_name, "violation_labels": None})
        for objective in objectives:
            objective.spec = spec
    judge = load_judge(judge_name)
    if options.method != "static":
        load_template(options.method, options.red_template)  # a bad template fails before any model loads
    owned = []  # models built here are closed here; ones passed in belong to the caller
    if target is None:
        target = load_model(options.target)
        owned.append(target)
    training = options.defence == "train"
    if training:
        check_trainable(target, options.target)
        if red is target:
            raise SafeevalError("--defence train changes the target's weights: pass a separate red model")
    if options.method != "static" and red is None:
        same = options.red_model == options.target and not training  # a trained target is not the red model
        red = target if same else load_model(options.red_model)
        owned.append(red)
    out = Path(options.out)
    prepare_out(out, options)
    loop = Loop(options, objectives, target, red if options.method != "static" else None, judge)
    static_size = loop.method.size if isinstance(loop.method, Static) else None
    random.seed(options.seed)
    first_replay = None
    try:
        if training:
            loop.learner = Learner(options, objectives, target, out)
            await loop.learner.start()
        for round_no, budget in enumerate(round_budgets(options, len(objectives), static_size), start=1):
            rec = await loop.run_round(round_no, budget, out)
            if on_round:
                on_round(rec)
        if loop.learner is not None:
            first_replay = await loop.learner.replay(loop.state.records, loop.send, loop.score, "replay-first")
    finally:
        await judge.aclose()
        if loop.learner is not None:
            await loop.learner.aclose()
        for model in dict.fromkeys(owned):
            await model.aclose()
    result = report.write_report(out, loop.state.space, objectives, options, loop.state.selector,
                                 red_calls=loop.state.red_calls, first_replay=first_replay)
    export.write_finetune(out / "finetune.jsonl", loop.state.records, objectives, loop.state.selector,
                          loop.state.space, loop.refusal)
    if options.export_task:
        export.export_task(options.export_task, loop.state.records, objectives, judge.id,
                           options.export_name or f"redteam-{_slug(options.objectives)}-{options.method}")
    return RedteamResult(out=out, report=result)


def _slug(text: str) -> str:
    stem = Path(text).stem if ("/" in text or text.endswith(".jsonl")) else text
    return "".join(ch if ch.isalnum() else "-" for ch in stem.lower()).strip("-")[:40] or "objectives"


def run(options: RedteamOptions, on_round: OnRound | None = None) -> RedteamResult:
    """Synchronous entry point for `execute`."""
    return asyncio.run(execute(options, on_round))

