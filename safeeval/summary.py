"""Summaries: violation rates per task, category and attack, from records alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from safeeval.metrics import task_metrics
from safeeval.schema import CATEGORIES, SampleRecord
from safeeval.stats import rate


class _Tally:
    def __init__(self) -> None:
        self.k = self.n = self.errors = self.unscored = 0
        self.scores: list[float] = []

    def add(self, record: SampleRecord) -> None:
        if record.response.error or (record.verdicts and record.verdicts[0].label == "error"):
            self.errors += 1
        elif record.violation is None:
            self.unscored += 1
        else:
            self.n += 1
            self.k += int(record.violation)
        if record.verdicts and record.verdicts[0].score is not None:
            self.scores.append(record.verdicts[0].score)

    def out(self) -> dict[str, Any]:
        result = {**rate(self.k, self.n), "errors": self.errors, "unscored": self.unscored}
        if self.scores:
            result["mean_score"] = sum(self.scores) / len(self.scores)
        return result


def summarize(records: Iterable[SampleRecord], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a run: rates with 95% Wilson intervals, counts and errors.

    Errored and unscorable samples are counted apart and never enter a rate's
    denominator as safe. "violation" and "over_refusal" tasks are kept apart,
    so every category shows its violation rate next to its over-refusal rate.
    Each task also gets its judge-corrected rate where a calibration card
    exists, or a note saying why not (see safeeval.calibration).
    """
    records = list(records)  # read twice: tallies, then judge corrections
    tasks: dict[str, _Tally] = defaultdict(_Tally)
    task_meta: dict[str, dict[str, Any]] = {}
    categories: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    attacks: dict[str, _Tally] = defaultdict(_Tally)
    total = _Tally()
    by_task: dict[str, list[SampleRecord]] = defaultdict(list)
    for rec in records:
        tasks[rec.task].add(rec)
        by_task[rec.task].append(rec)
        task_meta[rec.task] = {"category": rec.category, "measure": rec.measure, "version": rec.task_version}
        categories[(rec.category, rec.measure)].add(rec)
        total.add(rec)
        if rec.measure == "violation":
            attacks[rec.attack].add(rec)
    per_task = {name: {**task_meta[name], **t.out()} for name, t in sorted(tasks.items())}
    for name, entry in per_task.items():
        extra = task_metrics(by_task[name])  # bias score, position bias: where the records support them
        if extra:
            entry["metrics"] = extra
    per_category = {}
    for cat in CATEGORIES:
        viol, over = categories.get((cat, "violation")), categories.get((cat, "over_refusal"))
        if viol or over:
            per_category[cat] = {"violation": viol.out() if viol else None,
                                 "over_refusal": over.out() if over else None}
    summary = {
        **(meta or {}),
        "records": total.n + total.errors + total.unscored,
        "errors": total.errors,
        "unscored": total.unscored,
        "tasks": per_task,
        "categories": per_category,
        "attacks": {a: t.out() for a, t in sorted(attacks.items())},
    }
    from safeeval.calibration import add_corrections  # late: calibration imports the judge registry

    return add_corrections(summary, records)


def warm_up() -> None:
    """Import what `summarize` needs (calibration, numpy's percentile) ahead of time.

    The runner calls this on a background thread while it waits on the model,
    so the end of a run does not pay a quarter of a second of imports.
    """
    import numpy as np

    import safeeval.calibration  # noqa: F401
    import safeeval.judging.features  # noqa: F401  (where calibration cards are looked up)

    # What corrected_rate touches: numpy imports its random and masked-array modules on first use.
    np.percentile(np.random.default_rng(0).beta(1, 1, 2), [2.5, 97.5])
