"""The target side of `--defence train`, between rounds: select, build pairs, train, measure.

Files it adds to the run folder: `heldout.json` (the held-out sets and the
untrained target's scores), `heldout.jsonl` (every held-out answer and verdict,
after each round), `train.jsonl` (every training pair, with where it came from), `adapters/round-N/` (the LoRA adapter after round N).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from safeeval.storage import write_json_atomic
from safeeval.models.hf import HFAdapter
from safeeval.redteam import active, heldout
from safeeval.redteam.methods import Candidate, State
from safeeval.redteam.objectives import Objective
from safeeval.redteam.train import LoraTrainer, attack_pairs, benign_pairs, write_examples
from safeeval.redteam.types import AttackRecord, RedteamOptions

HELDOUT, HELDOUT_ROWS, TRAIN = "heldout.json", "heldout.jsonl", "train.jsonl"


class Learner:
    def __init__(self, options: RedteamOptions, objectives: list[Objective], target: HFAdapter, out: Path):
        self.options, self.objectives, self.target, self.out = options, objectives, target, out
        self.by_id = {o.id: o for o in objectives}
        self.held = heldout.build(options.heldout or options.objectives, objectives, options.heldout_n,
                                  options.seed, options.tasks_dirs, options.judge,
                                  # benign pairs the run may need, with room for answers that refuse
                                  math.ceil(2 * options.train_budget * options.benign_ratio * options.rounds * 1.5))
        self.evaluator = heldout.Evaluator(self.held, options.target_max_tokens, options.seed)
        self.trainer: LoraTrainer | None = None
        self.benign_answers: list[str] = []
        self.trained_on: set[str] = set()    # attack ids already picked
        self.chosen: list[str] = []          # their texts, for the diversity term
        self.before: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        """Measure the untrained target and record the untrained answers to the benign training pool."""
        (self.out / HELDOUT_ROWS).write_text("", encoding="utf-8")
        self.before = await self.measure("r0")
        if self.held.benign_train:
            prompts = heldout.prompts_for(self.held.benign_train, "benign-train", self.options.target_max_tokens,
                                          self.options.seed)
            self.benign_answers = [r.text if not r.error else "" for r in await self.target.generate(prompts)]
        self.trainer = LoraTrainer(self.target, self.options, self.out)
        (self.out / TRAIN).write_text("", encoding="utf-8")
        write_json_atomic(self.out / HELDOUT, {**self.held.describe(), "before": self.before})
        return self.before

    async def after_round(self, round_no: int, state: State) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pick failures, train, save the adapter, and measure the held-out sets: (training, heldout)."""
        opts = self.options
        pool = [r for r in state.records if r.success and r.id not in self.trained_on and not r.blocked]
        picks = active.select(pool, opts.train_budget, opts.train_selection, state.space, opts.seed + round_no,
                              self.chosen)
        for record, _ in picks:
            self.trained_on.add(record.id)
            self.chosen.append(record.attack)
        pairs = attack_pairs(picks, self.by_id, state.records, state.space, round_no)
        # Benign pairs drawn afresh each round from the pool; as many as attack pairs x the ratio.
        pairs += benign_pairs(self.held.benign_train, self.benign_answers,
                              round(len(pairs) * opts.benign_ratio), opts.seed, round_no)
        write_examples(self.out / TRAIN, pairs)
        training = {"selection": opts.train_selection, "pool": len(pool), "picked": [r.id for r, _ in picks],
                    "informativeness": [s for _, s in picks],
                    **self.trainer.train(pairs, round_no)}
        return training, await self.measure(f"r{round_no}")

    async def measure(self, tag: str) -> dict[str, Any]:
        if not self.held.harmful:
            return {}
        measured, rows = await self.evaluator.evaluate(self.target, tag)
        with (self.out / HELDOUT_ROWS).open("a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return measured

    async def replay(self, records: list[AttackRecord], send, score, tag: str) -> dict[str, Any]:
        """The first round's successes sent again to the current (final) target."""
        first = min((r.round for r in records), default=1)
        wins = [r for r in records if r.round == first and r.success]
        cands = [Candidate(self.by_id[r.objective_id], r.attack, r.source, r.id, context=r.context) for r in wins]
        responses, _ = await send(cands, tag)
        verdicts = await score(cands, responses)
        return {"round": first, "replayed": len(cands), "violations_before": len(cands),
                "violations_after": sum(1 for v in verdicts if v.violation),
                "ids": [r.id for r in wins], "answers": [r.text for r in responses]}

    async def aclose(self) -> None:
        await self.evaluator.aclose()


def read_heldout(out: Path) -> dict[str, Any]:
    path = out / HELDOUT
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}
