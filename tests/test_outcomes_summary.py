"""The streaming summary: three outcome rates per task, category, attack and run; intervals
widened by inconclusive samples; memory that does not grow with the records."""

from __future__ import annotations

import sys

import pytest

from safeeval.schema import Message, RecordSample, Response, SampleRecord, Verdict
from safeeval.stats import outcome_rate, wilson
from safeeval.summary import Summary, inconclusive_count, summarize


def record(i: int, outcome: str, task: str = "t", measure: str = "violation", attack: str = "none",
           label: str | None = None, score: float | None = None, subcategory: str = "",
           choices: list[str] | None = None) -> SampleRecord:
    violation = {"violation": True, "safe": False, "inconclusive": None, "error": None}[outcome]
    label = label or {"violation": "unsafe", "safe": "safe", "inconclusive": "degenerate", "error": "error"}[outcome]
    return SampleRecord(
        key=f"{task}/{i}/{attack}", task=task, task_version="1", category="misuse", measure=measure,
        sample_id=str(i), attack=attack, messages=[Message(role="user", content="q")],
        response=Response(text="a", error="boom" if outcome == "error" and label == "error" else None),
        verdicts=[Verdict(judge="j", label=label, violation=violation, score=score)], violation=violation,
        model="m", sample_hash="h", subcategory=subcategory,
        sample=RecordSample(choices=choices) if choices else None)


def test_three_outcomes_per_task_and_total():
    recs = ([record(i, "violation") for i in range(3)] + [record(10 + i, "safe") for i in range(7)]
            + [record(20 + i, "inconclusive") for i in range(5)] + [record(30, "error")])
    s = summarize(recs, {"run_id": "r"})
    t = s["tasks"]["t"]
    assert (t["k"], t["n"], t["inconclusive"], t["errors"]) == (3, 10, 5, 1)
    assert t["rate"] == pytest.approx(0.3)
    assert t["inconclusive_rate"] == pytest.approx(5 / 16) and t["error_rate"] == pytest.approx(1 / 16)
    # The interval is the conclusive Wilson interval widened to what the inconclusive ones allow.
    assert t["ci_conclusive"] == pytest.approx(list(wilson(3, 10)))
    assert t["ci_low"] == pytest.approx(wilson(3, 15)[0]) and t["ci_high"] == pytest.approx(wilson(8, 15)[1])
    assert t["ci_low"] < wilson(3, 10)[0] and t["ci_high"] > wilson(3, 10)[1]
    assert (s["records"], s["errors"], s["inconclusive"]) == (16, 1, 5)
    assert s["categories"]["misuse"]["violation"]["inconclusive"] == 5
    assert s["attacks"]["none"]["n"] == 10
    assert "unscored" not in t


def test_no_inconclusive_leaves_the_wilson_interval():
    r = outcome_rate(4, 20)
    assert [r["ci_low"], r["ci_high"]] == pytest.approx(list(wilson(4, 20)))
    assert r["inconclusive_rate"] == 0 and r["error_rate"] == 0
    only = outcome_rate(0, 0, inconclusive=6)
    assert only["rate"] is None and only["inconclusive_rate"] == 1.0 and (only["ci_low"], only["ci_high"]) == (0, 1)


def test_old_summaries_read_their_unscored_count():
    assert inconclusive_count({"unscored": 4}) == 4
    assert inconclusive_count({"inconclusive": 2, "unscored": 9}) == 2
    assert inconclusive_count({}) == 0


def test_streaming_equals_one_call_and_metrics_still_computed():
    choices = ["x", "y"]
    recs = [record(i, "violation" if i % 3 else "safe", label="A" if i % 2 else "B", score=float(i % 2),
                   choices=choices) for i in range(40)]
    recs += [record(100 + i, "safe", attack="role_play") for i in range(5)]
    builder = Summary({"run_id": "r"})
    for rec in recs:
        builder.add(rec)
    assert builder.result() == summarize(recs, {"run_id": "r"})
    assert "position_bias" in builder.result()["tasks"]["t"]["metrics"]


def test_memory_does_not_grow_with_records():
    builder = Summary(keep_pairs=False)
    sizes = []
    for i in range(6000):
        builder.add(record(i, ("violation", "safe", "inconclusive")[i % 3], score=0.5))
        if i in (999, 5999):
            sizes.append(sum(sys.getsizeof(x) for x in (builder.tasks, builder.categories, builder.attacks,
                                                          builder.metric_rows, builder.verdicts))
                         + sum(len(c) for c in builder.metric_rows.values())
                         + sum(len(c) for c in builder.verdicts.values()))
    assert sizes[0] == sizes[1]
    assert builder.pairs is None


def test_pairs_for_a_gate_are_kept_when_asked():
    builder = Summary(keep_pairs=True)
    for i, outcome in enumerate(("violation", "safe", "inconclusive", "error")):
        builder.add(record(i, outcome))
    assert builder.pairs == {"t/0/none": "v", "t/1/none": "s", "t/2/none": "i", "t/3/none": "e"}
