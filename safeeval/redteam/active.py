"""Which failures the target trains on: active-learning selection at a fixed data budget.

The pool is every successful attack (a target failure) not yet trained on.
`active` picks greedily by

    informativeness = judge-score uncertainty + diversity

- uncertainty: 1 - |2p - 1| for the judge's score p (its probability of a
  violation); 1.0 at p = 0.5, 0.0 at a sure verdict. A judge without a score
  (canary) gives 0.5 to every failure, so diversity alone decides.
- diversity: 1 - the highest cosine similarity (MiniLM, or the run's n-gram
  space) to the attacks already chosen, in this round or any earlier one; it is
  recomputed after each pick, so one cluster does not fill the budget.

`random` draws the same number uniformly (seeded): the control that shows
whether active selection earns its keep.
"""

from __future__ import annotations

import random

import numpy as np

from safeeval.redteam.novelty import Space
from safeeval.redteam.types import AttackRecord


def uncertainty(record: AttackRecord) -> float:
    score = record.verdict.score
    if score is None:
        return 0.5
    return round(1.0 - abs(2.0 * min(max(float(score), 0.0), 1.0) - 1.0), 4)


def select(pool: list[AttackRecord], budget: int, kind: str, space: Space, seed: int,
           chosen_before: list[str] | None = None) -> list[tuple[AttackRecord, float]]:
    """Up to `budget` records from `pool`, each with the informativeness it was picked at (random: 0.0)."""
    if not pool or budget <= 0:
        return []
    if kind == "random":
        rng = random.Random(f"train-select:{seed}:{len(chosen_before or [])}:{len(pool)}")
        return [(r, 0.0) for r in rng.sample(pool, min(budget, len(pool)))]
    vecs = space.encode([r.attack for r in pool])
    before = list(chosen_before or [])
    ref = space.encode(before) if before else np.zeros((0, vecs.shape[1]), np.float32)
    unc = np.array([uncertainty(r) for r in pool])
    picked: list[tuple[AttackRecord, float]] = []
    left = list(range(len(pool)))
    while left and len(picked) < budget:
        sims = (vecs[left] @ ref.T).max(axis=1) if len(ref) else np.zeros(len(left))
        scores = unc[left] + (1.0 - sims)
        best = int(np.argmax(scores))  # ties: the earlier attack
        i = left.pop(best)
        picked.append((pool[i], round(float(scores[best]), 4)))
        ref = np.vstack([ref, vecs[i:i + 1]])
    return picked
