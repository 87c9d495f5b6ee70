"""`safeeval judge train`: fine-tune the MiniLM judge (LoRA on the top layers + head) on labelled sets.

Rows are weighted so that each data source (label format: GPTFuzz, XSTest,
JBB, ...) counts equally and, within it, both classes count equally:
otherwise the biggest source's base rate would become the judge's prior.
Files of one source (XSTest's three models) are pooled first. A source may
be given a smaller share (`--source-weight synthetic=0.5`). Sets are
capped at a seeded sample of `max_rows` (CPU time), and everything that
draws randomness is seeded: the same inputs give the same weights.

Choose the design by leave-one-source-out transfer (benchmarks/harm_loo.py),
never by in-distribution accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel

import safeeval
from safeeval.errors import SafeevalError
from safeeval.judging.crossenc import EncoderConfig, MiniLMClassifier
from safeeval.judging.finetune import cached_states, choose_threshold, fit
from safeeval.judging.labels import LabelledItem, LabelledSet


class TrainedSet(BaseModel):
    name: str
    format: str
    sha256: str
    n: int
    positives: int


class TrainReport(BaseModel):
    weights: str
    target: str
    sets: list[TrainedSet]
    seed: int
    epochs: int
    losses: list[float]
    train_agreement: float
    seconds: float


def balanced_weights(groups: np.ndarray, y: np.ndarray, share: dict[int, float] | None = None) -> np.ndarray:
    """Weights giving each (group, class) cell the same total (times the group's share), mean 1."""
    w = np.zeros(len(y))
    for g, c in {(g, c) for g, c in zip(groups.tolist(), y.tolist())}:
        mask = (groups == g) & (y == c)
        w[mask] = (share or {}).get(g, 1.0) / mask.sum()
    return w * len(y) / w.sum()


def training_rows(s: LabelledSet, index: int, seed: int, max_rows: int | None,
                  target: str = "harm") -> list[LabelledItem]:
    """The rows of one set used for training: all with the target label, or a seeded sample of `max_rows`."""
    rows = [i for i in s.items if target in i.targets]
    if not rows:
        raise SafeevalError(f"{s.path}: no rows with a '{target}' label to train on")
    if max_rows and len(rows) > max_rows:
        pick = np.random.default_rng([seed, index]).choice(len(rows), size=max_rows, replace=False)
        rows = [rows[i] for i in sorted(pick)]
    return rows


def default_config(target: str) -> EncoderConfig:
    """harm: a cross-encoder with LoRA on the top layer; toxicity: the answer alone, a head on frozen MiniLM."""
    return EncoderConfig(pair=False, n_top=0) if target == "toxicity" else EncoderConfig()


def train_classifier(sets: list[LabelledSet], out: Path | None, target: str = "harm", seed: int = 0,
                     max_rows: int | None = None, epochs: int = 2, lr: float = 2e-3,
                     caps: dict[str, int] | None = None,
                     config: EncoderConfig | None = None, source_weight: dict[str, float] | None = None,
                     log: Callable[[str], None] | None = None) -> tuple[MiniLMClassifier, TrainReport]:
    """Fine-tune on `sets` (their `target` labels) and save to `out` (.npz + .json) when given.

    Each set is capped at `caps[its format]`, else `max_rows`, rows (a seeded sample)."""
    started = time.monotonic()
    import torch

    torch.manual_seed(seed)  # the LoRA initialisation
    clf = MiniLMClassifier(config or default_config(target))
    rows, groups, trained = [], [], []
    sources: dict[str, int] = {}
    for s in sets:
        # the sample of a file depends on the file and the seed only, not on what else is trained on
        picked = training_rows(s, int(s.sha256[:8], 16), seed, (caps or {}).get(s.format, max_rows), target)
        rows += picked
        groups += [sources.setdefault(s.format, len(sources))] * len(picked)
        trained.append(TrainedSet(name=s.name, format=s.format, sha256=s.sha256, n=len(picked),
                                  positives=sum(i.targets[target] for i in picked)))
    y = np.array([i.targets[target] for i in rows], dtype=np.float32)
    share = {sources[f]: v for f, v in (source_weight or {}).items() if f in sources}
    w = balanced_weights(np.array(groups), y, share)
    if log:
        log(f"{len(rows)} rows from {len(sets)} sets; lower-layer states (cached after the first run)")
    states = cached_states(clf, [i.request for i in rows], [i.response for i in rows],
                           progress=(lambda d, t: log(f"states {d}/{t}")) if log else None)
    losses = fit(clf, states, y, w.astype(np.float32), epochs=epochs, lr=lr, seed=seed, log=log)
    if clf.config.n_top == 0:  # head only: cheap to refit, so the threshold is chosen by CV on these rows
        clf.threshold = choose_threshold(clf, states, y, w.astype(np.float32), seed=seed)
        if log:
            log(f"threshold {clf.threshold:.2f} (best agreement in 5-fold CV on the training rows)")
    from safeeval.judging.finetune import predict_states

    pred = predict_states(clf, states) >= clf.threshold
    agreement = float((w * (pred == (y > 0.5))).sum() / w.sum())
    report = TrainReport(weights=str(out or ""), target=target, sets=trained, seed=seed, epochs=epochs,
                         losses=losses, train_agreement=agreement, seconds=round(time.monotonic() - started, 1))
    clf.meta = {"target": target, "trained_on": [t.model_dump() for t in trained], "seed": seed, "epochs": epochs,
                "lr": lr, "max_rows_per_set": max_rows, "caps": caps or {},
                "threshold_rule": "best agreement in 5-fold CV on the training rows" if clf.config.n_top == 0
                else "0.5 (classes weighted equally)", "source_weight": source_weight or {},
                "safeeval_version": safeeval.__version__}
    if out is not None:
        clf.save(out)
    return clf, report
