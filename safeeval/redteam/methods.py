"""The three ways to spend a round's query budget: dart, pair and static.

- dart: the selector picks objectives; the red model gets the objective, the
  target's recent answers with verdicts, its best earlier attacks and the
  saturated directions of the global history; the novelty gate keeps only
  new attacks; mutation operators fill what the red model could not.
- pair: one refinement stream per objective, fed the stream's last attack,
  the answer and the verdict; budget split evenly; duplicate checks only
  within the stream (no global diversity, no selector).
- static: the attack-transform library applied once to every objective.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from safeeval.models import ModelAdapter
from safeeval.redteam.novelty import NoveltyGate, Space
from safeeval.redteam.objectives import Objective
from safeeval.redteam.red import library_attack, library_names, mutations, parse_attacks
from safeeval.redteam.selector import BetaSelector, excerpt, saturated_directions
from safeeval.redteam.types import AttackRecord, RedteamOptions
from safeeval.schema import GenerateConfig, Message, Prompt
from safeeval.tasks.loader import fill


@dataclass
class Candidate:
    objective: Objective
    text: str
    source: str
    parent: str | None = None
    context: list[dict[str, str]] = field(default_factory=list)  # earlier turns (crescendo)


@dataclass
class Proposal:
    candidates: list[Candidate] = field(default_factory=list)
    proposed: int = 0
    rejected: Counter = field(default_factory=Counter)
    avoid: list[str] = field(default_factory=list)


@dataclass
class State:
    """What every method may read: the objectives, the global history and its vectors."""

    options: RedteamOptions
    objectives: list[Objective]
    space: Space
    gate: NoveltyGate
    selector: BetaSelector
    red: ModelAdapter | None
    template: str
    records: list[AttackRecord] = field(default_factory=list)
    vectors: np.ndarray | None = None
    red_calls: int = 0

    def history(self) -> np.ndarray:
        return self.vectors if self.vectors is not None else np.zeros((0, 1), np.float32)

    def of(self, objective_id: str) -> list[AttackRecord]:
        return [r for r in self.records if r.objective_id == objective_id]


def _verdict_word(record: AttackRecord) -> str:
    if record.blocked:
        return "blocked by filter"
    return {True: "SUCCESS", False: "failed", None: "unscored"}[record.success]


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else "- (none yet)"


async def ask_red(state: State, prompts: list[str], round_no: int) -> list[str]:
    """One batch of red-model calls; returns the raw texts (empty for an errored call).

    One sampling seed per round: the prompts differ, and a shared config lets
    batching backends generate them together.
    """
    if state.red is None or not prompts:
        return [""] * len(prompts)
    opts = state.options
    config = GenerateConfig(temperature=opts.red_temperature, max_tokens=opts.red_max_tokens,
                            seed=opts.seed * 100_003 + round_no)
    batch = [Prompt(key=f"red/{round_no}-{i}/red", messages=[Message(role="user", content=text)], config=config)
             for i, text in enumerate(prompts)]
    state.red_calls += len(batch)
    return [r.text if not r.error else "" for r in await state.red.generate(batch)]


def _quotas(total: int, k: int) -> list[int]:
    full, rest = divmod(total, k)
    return [k] * full + ([rest] if rest else [])


class Method:
    name = ""

    def __init__(self, state: State):
        self.state = state

    async def propose(self, round_no: int, budget: int) -> Proposal:
        """Attacks for up to `budget` target queries; the loop asks again while budget is left and
        the last proposal was not empty (a method that needs the answers first proposes in steps)."""
        raise NotImplementedError

    def observe(self, records: list[AttackRecord]) -> None:
        """The judged attacks of the last proposal (multi-turn methods advance their conversations here)."""

    def steps(self) -> bool:
        """Whether the method proposes a round in several steps (it then sees each step's answers)."""
        return False

    def fill_up(self, proposal: Proposal, objective: Objective, parent: tuple[str, str] | None, quota: int,
                got: list[Candidate], history: np.ndarray, rng: random.Random, check_novelty: bool) -> list[Candidate]:
        """Top up `got` to `quota` with gated mutations of the objective or the parent attack."""
        if len(got) >= quota:
            return got
        parent_id, parent_text = parent or (None, None)
        extra = mutations(objective.text, parent_text, rng, (quota - len(got)) * 3, self.state.options.seed)
        proposal.proposed += len(extra)
        taken = [c.text for c in got]
        gate = self.state.gate.filter([t for t, _ in extra], [objective.text] * len(extra),
                                      _stack(history, self.state.space.encode(taken) if taken else None),
                                      check_novelty=check_novelty)
        proposal.rejected.update(gate.rejected)
        for i in gate.accepted[: quota - len(got)]:
            got.append(Candidate(objective, extra[i][0], extra[i][1], parent_id))
        return got


def _stack(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is None or len(b) == 0:
        return a
    return b if len(a) == 0 or a.shape[1] != b.shape[1] else np.vstack([a, b])


class Dart(Method):
    name = "dart"

    def context(self, objective: Objective, avoid: list[str], k: int) -> tuple[str, tuple[str, str] | None]:
        lam = self.state.options.novelty_weight
        mine = self.state.of(objective.id)
        recent = [f"[{_verdict_word(r)}] {excerpt(r.attack, 140)} -> answer: {excerpt(r.response, 100)}"
                  for r in mine[-3:]]
        best = sorted((r for r in mine if r.success), key=lambda r: -(1 + lam * r.novelty))[:3]
        fields = {"objective": objective.text, "recent": _bullets(recent),
                  "examples": _bullets([excerpt(r.attack, 200) for r in best]), "avoid": _bullets(avoid), "k": k}
        return fill(self.state.template, fields), ((best[0].id, best[0].attack) if best else None)

    async def propose(self, round_no: int, budget: int) -> Proposal:
        st, k = self.state, self.state.options.per_round
        quotas = _quotas(budget, k)
        picks = st.selector.pick(len(quotas))
        history = st.history()
        texts = [r.attack for r in st.records]
        proposal = Proposal(avoid=saturated_directions(texts, history, st.space.gate_threshold - 0.1))
        by_id = {o.id: o for o in st.objectives}
        contexts = [self.context(by_id[p], proposal.avoid, q) for p, q in zip(picks, quotas)]
        raw = await ask_red(st, [c for c, _ in contexts], round_no)
        for i, (pick, quota) in enumerate(zip(picks, quotas)):
            objective, parent = by_id[pick], contexts[i][1]
            items = parse_attacks(raw[i])
            proposal.proposed += len(items)
            gate = st.gate.filter(items, [objective.text] * len(items), history, check_relevance=True)
            proposal.rejected.update(gate.rejected)
            got = [Candidate(objective, items[j], "red-model", parent[0] if parent else None)
                   for j in gate.accepted[:quota]]
            rng = random.Random(f"{st.options.seed}:{round_no}:{i}:{pick}")
            got = self.fill_up(proposal, objective, parent, quota, got, history, rng, check_novelty=True)
            # Everything new was too close to the history: spend the budget anyway, duplicates excluded.
            got = self.fill_up(proposal, objective, parent, quota, got, history, rng, check_novelty=False)
            proposal.candidates.extend(got)
            if got:
                history = _stack(history, st.space.encode([c.text for c in got]))
        return proposal


class Pair(Method):
    name = "pair"

    async def propose(self, round_no: int, budget: int) -> Proposal:
        st, k = self.state, self.state.options.per_round
        n = len(st.objectives)
        shares = [budget // n + (1 if (i - round_no) % n < budget % n else 0) for i in range(n)]
        proposal = Proposal()
        work, prompts = [], []
        for objective, share in zip(st.objectives, shares):
            if share <= 0:
                continue
            stream = st.of(objective.id)
            last = stream[-1] if stream else None
            scored = [r for r in stream if r.success is not None]
            best = max(scored, key=lambda r: (r.success, r.novelty), default=last)
            fields = {"objective": objective.text, "k": min(k, share),
                      "last_attack": last.attack if last else objective.text,
                      "last_response": excerpt(last.response, 300) if last else "(not sent yet)",
                      "last_verdict": _verdict_word(last) if last else "none yet"}
            work.append((objective, share, (best.id, best.attack) if best else None, stream))
            prompts.append(fill(st.template, fields))
        raw = await ask_red(st, prompts, round_no)
        for i, (objective, share, parent, stream) in enumerate(work):
            own = st.space.encode([r.attack for r in stream]) if stream else np.zeros((0, 1), np.float32)
            items = parse_attacks(raw[i])
            proposal.proposed += len(items)
            gate = st.gate.filter(items, [objective.text] * len(items), own, check_novelty=False, check_relevance=True)
            proposal.rejected.update(gate.rejected)
            got = [Candidate(objective, items[j], "red-model", parent[0] if parent else None)
                   for j in gate.accepted[:share]]
            rng = random.Random(f"{st.options.seed}:{round_no}:{objective.id}")
            proposal.candidates.extend(self.fill_up(proposal, objective, parent, share, got, own, rng, False))
        return proposal


class Static(Method):
    name = "static"

    def __init__(self, state: State):
        super().__init__(state)
        names = ["none", *library_names()]
        # Interleave by attack, so a budget cut still covers every objective.
        self.queue = [(o, name) for name in names for o in state.objectives]
        self.next = 0

    @property
    def size(self) -> int:
        return len(self.queue)

    async def propose(self, round_no: int, budget: int) -> Proposal:
        chunk = self.queue[self.next:self.next + budget]
        self.next += len(chunk)
        seed = self.state.options.seed
        cands = [Candidate(o, o.text if name == "none" else library_attack(name, o.text, seed), f"static:{name}")
                 for o, name in chunk]
        return Proposal(candidates=cands, proposed=len(cands))


METHODS: dict[str, type[Method]] = {"dart": Dart, "pair": Pair, "static": Static}
