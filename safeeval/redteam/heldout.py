"""The fixed held-out sets a trained target is measured on after every round.

- harmful: requests from `--heldout` (default: the objectives' own task) whose
  objective the red side never attacked; violation rate by that task's judge.
- benign controls: the held-out task's paired `control` task (e.g.
  harmful-requests -> over-refusal-benign, paired by harm area), else
  `over-refusal-benign`; over-refusal rate by the control task's judge.
- benign training pool: the control rows not used for measuring, so the
  benign pairs mixed into training never overlap the controls measured.

All three are drawn once per run, seeded, and written to `heldout.json`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from safeeval.errors import SafeevalError
from safeeval.judges import Judge, JudgeInput, load_judge
from safeeval.models import ModelAdapter
from safeeval.redteam.objectives import Objective, load_objectives
from safeeval.schema import GenerateConfig, Prompt, Response
from safeeval.stats import rate

DEFAULT_BENIGN = "over-refusal-benign"


@dataclass
class HeldOut:
    harmful: list[Objective] = field(default_factory=list)
    benign: list[Objective] = field(default_factory=list)
    benign_train: list[Objective] = field(default_factory=list)

    def describe(self) -> dict:
        def ids(items: list[Objective]) -> list[str]:
            return [o.id for o in items]

        return {"harmful_task": self.harmful[0].spec.name if self.harmful else None,
                "benign_task": self.benign[0].spec.name if self.benign else None,
                "harmful": ids(self.harmful), "benign": ids(self.benign), "benign_train": ids(self.benign_train)}


def _distinct(items: list[Objective]) -> list[Objective]:
    seen: set[str] = set()
    out = []
    for o in items:
        key = o.text.strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def build(source: str, attacked: list[Objective], n: int, seed: int, tasks_dirs: list[Path],
          judge: str | None = None, n_train: int | None = None) -> HeldOut:
    """Draw the held-out harmful set, its paired benign controls and the benign training pool.

    `judge` (the run's --judge) replaces the held-out task's judge, as it does the objectives'.
    """
    if n <= 0:
        return HeldOut()
    attacked_texts = {o.text.strip().lower() for o in attacked}
    rng = random.Random(f"heldout:{seed}")
    pool = [o for o in _distinct(load_objectives(source, tasks_dirs)) if o.text.strip().lower() not in attacked_texts]
    if not pool:
        raise SafeevalError(f"--heldout '{source}': every request in it is attacked; name another task")
    rng.shuffle(pool)
    harmful = pool[:n]
    if judge and judge != harmful[0].spec.judge:
        spec = harmful[0].spec.model_copy(update={"judge": judge, "violation_labels": None})
        for o in harmful:
            o.spec = spec
    control = harmful[0].spec.control or DEFAULT_BENIGN
    benign_pool = _distinct(load_objectives(control, tasks_dirs))
    rng.shuffle(benign_pool)
    benign: list[Objective] = []
    for o in harmful:  # pair by harm area where the control has one
        sub = o.sample.subcategory
        match = next((b for b in benign_pool if b.sample.subcategory == sub and sub), None) or \
            next((b for b in benign_pool), None)
        if match is None:
            break
        benign.append(match)
        benign_pool.remove(match)
    # Only as many benign training requests as the run can use: each is answered by the target first.
    return HeldOut(harmful=harmful, benign=benign, benign_train=benign_pool[:n_train])


def prompts_for(items: list[Objective], tag: str, max_tokens: int | None, seed: int) -> list[Prompt]:
    """The requests as written in their task (system prompt and all), greedy."""
    return [Prompt(key=f"{o.spec.name}/{tag}-{i}/heldout", messages=o.sample.messages,
                   config=GenerateConfig(max_tokens=max_tokens or o.spec.max_tokens, seed=seed))
            for i, o in enumerate(items)]


async def judged(items: list[Objective], responses: list[Response], judge: Judge) -> tuple[dict, list[dict]]:
    """Violation rate (95% Wilson interval) of `responses` by `judge` on each item's own task, and one row each."""
    verdicts = await judge.score([JudgeInput(o.spec, o.sample, r) for o, r in zip(items, responses)])
    conclusive = [v for v in verdicts if v.violation is not None]
    rows = [{"id": o.id, "task": o.spec.name, "request": o.text, "response": r.text, "error": r.error,
             "verdict": v.model_dump()} for o, r, v in zip(items, responses, verdicts)]
    return {**rate(sum(bool(v.violation) for v in conclusive), len(conclusive)),
            "inconclusive": len(verdicts) - len(conclusive), "judge": judge.id}, rows


class Evaluator:
    """Measures a target on a HeldOut: harmful violation rate and benign over-refusal rate."""

    def __init__(self, held: HeldOut, max_tokens: int | None, seed: int):
        self.held = held
        self.max_tokens = max_tokens
        self.seed = seed
        self.judges: dict[str, Judge] = {}

    def _judge(self, name: str) -> Judge:
        if name not in self.judges:
            self.judges[name] = load_judge(name)
        return self.judges[name]

    async def evaluate(self, target: ModelAdapter, tag: str) -> tuple[dict, list[dict]]:
        """({"violation": rate, "over_refusal": rate}, one row per answer, for heldout.jsonl)."""
        out: dict = {}
        rows: list[dict] = []
        for kind, items in (("harmful", self.held.harmful), ("benign", self.held.benign)):
            if not items:
                continue
            responses = await target.generate(prompts_for(items, f"{tag}-{kind}", self.max_tokens, self.seed))
            measured, mine = await judged(items, responses, self._judge(items[0].spec.judge))
            out["violation" if kind == "harmful" else "over_refusal"] = measured
            rows += [{"after": tag, "set": kind, **row} for row in mine]
        return out, rows

    async def aclose(self) -> None:
        for judge in self.judges.values():
            await judge.aclose()
