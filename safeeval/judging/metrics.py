"""Agreement between a judge and human labels, each figure with a bootstrap interval.

Positive means "the judge's violation label" on one side and the dataset's
target (e.g. harm, compliance) on the other. Undecided predictions (judge
errors) are counted apart and excluded from the rates, never counted as safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:  # numpy is imported where it is used: a run's summary should not pay for it at start-up
    import numpy as np

METRICS = ("agreement", "precision", "recall", "f1", "fpr", "fnr", "kappa")


class Interval(BaseModel):
    value: float | None
    low: float | None = None
    high: float | None = None

    def show(self, pct: bool = True) -> str:
        if self.value is None:
            return "n/a"
        if pct:
            return f"{100 * self.value:.1f}% [{100 * (self.low or 0):.1f}, {100 * (self.high or 0):.1f}]"
        return f"{self.value:.3f} [{self.low or 0:.3f}, {self.high or 0:.3f}]"


class Confusion(BaseModel):
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    undecided: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn


def _metric_arrays(tp: np.ndarray, fp: np.ndarray, tn: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric, vectorised over bootstrap replicates; NaN where undefined."""
    import numpy as np

    tp, fp, tn, fn = (x.astype(float) for x in (tp, fp, tn, fn))
    n = tp + fp + tn + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        agree = (tp + tn) / n
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 2 * tp / (2 * tp + fp + fn)
        fpr = fp / (fp + tn)
        fnr = fn / (fn + tp)
        # Cohen's kappa: agreement beyond what the two marginals give by chance.
        chance = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n)
        kappa = np.where(chance < 1, (agree - chance) / (1 - chance), np.nan)
    return {"agreement": agree, "precision": precision, "recall": recall, "f1": f1,
            "fpr": fpr, "fnr": fnr, "kappa": kappa}


def confusion(pred: list[bool | None], gold: list[bool]) -> Confusion:
    c = Confusion()
    for p, g in zip(pred, gold):
        if p is None:
            c.undecided += 1
        elif p and g:
            c.tp += 1
        elif p:
            c.fp += 1
        elif g:
            c.fn += 1
        else:
            c.tn += 1
    return c


def binary_metrics(pred: list[bool | None], gold: list[bool], resamples: int = 2000,
                   seed: int = 0) -> dict[str, Interval]:
    """Agreement, precision, recall, F1, FPR, FNR and Cohen's kappa with 95% percentile bootstrap intervals."""
    import numpy as np

    pairs = [(bool(p), bool(g)) for p, g in zip(pred, gold) if p is not None]
    if not pairs:
        return {m: Interval(value=None) for m in METRICS}
    p = np.array([a for a, _ in pairs])
    g = np.array([b for _, b in pairs])
    point = _metric_arrays(*(np.array([v]) for v in _cells(p, g)))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(p), size=(resamples, len(p)))
    boot = _metric_arrays(*_cells(p[idx], g[idx], axis=1))
    out = {}
    for name in METRICS:
        value = float(point[name][0])
        if np.isnan(value):
            out[name] = Interval(value=None)
            continue
        sample = boot[name][~np.isnan(boot[name])]
        low, high = (np.percentile(sample, [2.5, 97.5]) if len(sample) else (value, value))
        out[name] = Interval(value=value, low=float(low), high=float(high))
    return out


def _cells(p: np.ndarray, g: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, ...]:
    return ((p & g).sum(axis=axis), (p & ~g).sum(axis=axis), (~p & ~g).sum(axis=axis), (~p & g).sum(axis=axis))


def class_agreement(pred: list[str | None], gold: list[str]) -> Interval:
    """Exact agreement over multi-class labels (e.g. full / partial / no refusal), with a bootstrap interval."""
    import numpy as np

    hits = np.array([p == g for p, g in zip(pred, gold) if p is not None], dtype=float)
    if not len(hits):
        return Interval(value=None)
    rng = np.random.default_rng(0)
    boot = hits[rng.integers(0, len(hits), size=(2000, len(hits)))].mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return Interval(value=float(hits.mean()), low=float(low), high=float(high))
