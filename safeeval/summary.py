"""Summaries: violation rates per task, category and attack, from records alone, streaming.

`Summary` takes records one at a time (`add`) and keeps only counts, so its
memory does not grow with the number of samples; `result()` gives the dict
written to `summary.json`. `summarize(records, meta)` is the same in one call.

Each group (task, category x measure, attack, and the run as a whole) reports
the three outcomes apart (see `safeeval.stats.outcome_rate`):

- `k` of `n` conclusive samples were violations; `rate` = k / n, with a 95%
  interval (`ci_low`, `ci_high`) that is the Wilson interval widened to the
  bounds the inconclusive samples allow (all safe .. all violations);
- `inconclusive` samples measured nothing (no tool call where one was needed,
  no or a self-contradicting choice, an empty or looping answer), with
  `inconclusive_rate`, their share of all samples;
- `errors` failed (generation or judging), with `error_rate`.

Summaries written before the three outcomes call the inconclusive count
`unscored`; readers take `inconclusive`, else `unscored` (`inconclusive_count`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from safeeval.calibration import VerdictKey, add_corrections, add_verdict
from safeeval.agents.scores import AgentTally, episode_of
from safeeval.metrics import Row, metric_row, metrics_of_rows
from safeeval.schema import CATEGORIES, SampleRecord
from safeeval.stats import outcome_rate

# One letter per outcome, for the per-sample pairs a gate compares.
OUTCOME_CODES = {"violation": "v", "safe": "s", "inconclusive": "i", "error": "e"}


def inconclusive_count(group: dict[str, Any]) -> int:
    """A group's inconclusive count, from new summaries or old ones (`unscored`)."""
    return int(group.get("inconclusive", group.get("unscored", 0)) or 0)


class _Tally:
    __slots__ = ("k", "n", "inconclusive", "errors", "score_sum", "scores")

    def __init__(self) -> None:
        self.k = self.n = self.inconclusive = self.errors = self.scores = 0
        self.score_sum = 0.0

    def add(self, outcome: str, score: float | None) -> None:
        if outcome == "error":
            self.errors += 1
        elif outcome == "inconclusive":
            self.inconclusive += 1
        else:
            self.n += 1
            self.k += outcome == "violation"
        if score is not None:
            self.score_sum += score
            self.scores += 1

    def __bool__(self) -> bool:
        return bool(self.n or self.inconclusive or self.errors)

    def out(self) -> dict[str, Any]:
        result = outcome_rate(self.k, self.n, self.inconclusive, self.errors)
        if self.scores:
            result["mean_score"] = self.score_sum / self.scores
        return result


class Summary:
    """A run's summary, built as records arrive; memory stays flat as the run grows.

    With `keep_pairs=True` it also keeps each record's outcome by key (one letter,
    see OUTCOME_CODES) for a gate that pairs two runs sample by sample: the only
    part that grows with the run, a few dozen bytes a sample, so it is off unless asked.
    Feed each key once (the latest record of a key, as a resumed run holds it).
    """

    def __init__(self, meta: dict[str, Any] | None = None, keep_pairs: bool = False) -> None:
        self.meta = dict(meta or {})
        self.tasks: dict[str, _Tally] = {}
        self.task_meta: dict[str, dict[str, Any]] = {}
        self.categories: dict[tuple[str, str], _Tally] = {}
        self.attacks: dict[str, _Tally] = {}
        self.total = _Tally()
        self.metric_rows: dict[str, Counter[Row]] = {}
        self.verdicts: dict[str, Counter[VerdictKey]] = {}
        self.pairs: dict[str, str] | None = {} if keep_pairs else None
        self.agents: dict[str, AgentTally] = {}  # agent episodes' scores per task and per category

    def add(self, rec: SampleRecord) -> None:
        outcome = rec.outcome
        score = rec.verdicts[0].score if rec.verdicts else None
        if rec.task not in self.tasks:
            self.tasks[rec.task] = _Tally()
            self.task_meta[rec.task] = {"category": rec.category, "measure": rec.measure,
                                        "version": rec.task_version}
        self.tasks[rec.task].add(outcome, score)
        self.categories.setdefault((rec.category, rec.measure), _Tally()).add(outcome, score)
        self.total.add(outcome, score)
        if rec.measure == "violation":
            self.attacks.setdefault(rec.attack, _Tally()).add(outcome, score)
        row = metric_row(rec)
        if row is not None:
            self.metric_rows.setdefault(rec.task, Counter())[row] += 1
        add_verdict(self.verdicts, rec)
        if episode_of(rec) is not None:
            for group in (rec.task, f"category:{rec.category}"):
                self.agents.setdefault(group, AgentTally()).add(rec)
        if self.pairs is not None:
            self.pairs[rec.key] = OUTCOME_CODES[outcome]

    def add_many(self, records: Iterable[SampleRecord]) -> Summary:
        for rec in records:
            self.add(rec)
        return self

    def result(self) -> dict[str, Any]:
        """The summary dict (what `summary.json` holds); the builder can keep taking records."""
        per_task = {name: {**self.task_meta[name], **t.out()} for name, t in sorted(self.tasks.items())}
        for name, entry in per_task.items():
            extra = metrics_of_rows(self.metric_rows.get(name, Counter()))  # where the records support them
            agent = self.agents[name].out() if name in self.agents else None
            if agent:  # utility without and under attack, attack success, inconclusive (safeeval.agents.scores)
                extra = {**extra, "agent": agent}
            if extra:
                entry["metrics"] = extra
        per_category = {}
        for cat in CATEGORIES:
            viol, over = self.categories.get((cat, "violation")), self.categories.get((cat, "over_refusal"))
            if viol or over:
                per_category[cat] = {"violation": viol.out() if viol else None,
                                     "over_refusal": over.out() if over else None}
                if f"category:{cat}" in self.agents:
                    per_category[cat]["agent"] = self.agents[f"category:{cat}"].out()
        total = self.total.out()
        summary = {
            **self.meta,
            "records": self.total.n + self.total.inconclusive + self.total.errors,
            "errors": self.total.errors,
            "error_rate": total["error_rate"],
            "inconclusive": self.total.inconclusive,
            "inconclusive_rate": total["inconclusive_rate"],
            "tasks": per_task,
            "categories": per_category,
            "attacks": {a: t.out() for a, t in sorted(self.attacks.items())},
        }
        return add_corrections(summary, self.verdicts)


def summarize(records: Iterable[SampleRecord], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a run: three outcome rates with intervals per task, category and attack.

    Errored and inconclusive samples are counted apart and never enter a rate's
    denominator as safe. "violation" and "over_refusal" tasks are kept apart,
    so every category shows its violation rate next to its over-refusal rate.
    Each task also gets its judge-corrected rate where a calibration card
    exists, or a note saying why not (see safeeval.calibration).
    """
    return Summary(meta).add_many(records).result()


def warm_up() -> None:
    """Import what `summarize` needs (calibration, numpy's percentile) ahead of time.

    The runner calls this on a background thread while it waits on the model,
    so the end of a run does not pay a quarter of a second of imports.
    """
    import numpy as np

    import safeeval.calibration  # noqa: F401

    # What corrected_rate touches: numpy imports its random and masked-array modules on first use.
    np.percentile(np.random.default_rng(0).beta(1, 1, 2), [2.5, 97.5])
