"""`safeeval judge eval`: score a judge against human labels and make a calibration card.

Each labelled item becomes a (task, sample, response) triple the judge scores
exactly as in a run. The judge's violation decision is compared with the
labelled target the judge measures (`harm` or `compliance`). Judge errors are
counted as undecided, never as safe.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from pydantic import BaseModel, Field

from safeeval.calibration import CalibrationCard, DatasetRef, SetResult
from safeeval.errors import SafeevalError
from safeeval.judges.base import Judge, JudgeInput
from safeeval.judging.labels import TARGET_KINDS, LabelledItem, LabelledSet
from safeeval.judging.metrics import Confusion, Interval, binary_metrics, class_agreement, confusion
from safeeval.schema import Message, Response, Sample, TaskSpec, Verdict

BATCH = 64


class Breakdown(BaseModel):
    n: int
    positives: int
    confusion: Confusion
    metrics: dict[str, Interval]


class JudgeEvaluation(BaseModel):
    card: CalibrationCard
    class_agreement: Interval | None = None     # e.g. refusal / partial / compliance, where labelled
    by: dict[str, dict[str, Breakdown]] = Field(default_factory=dict)
    baselines: dict[str, Breakdown] = Field(default_factory=dict)
    predictions: list[bool | None] = Field(default_factory=list, exclude=True)
    verdicts: list[Verdict] = Field(default_factory=list, exclude=True)


def to_inputs(items: list[LabelledItem], set_name: str) -> list[JudgeInput]:
    """Labelled items as the judge sees run items (no task-specific violation labels)."""
    task = TaskSpec(name=f"labels:{set_name}", category="misuse", prompt="{prompt}")
    inputs = []
    for item in items:
        sample = Sample(id=item.id, task=task.name, messages=[Message(role="user", content=item.prompt)],
                        objective=item.request, data={"request": item.request, **item.columns})
        inputs.append(JudgeInput(task, sample, Response(text=item.response)))
    return inputs


async def _score_all(judge: Judge, inputs: list[JudgeInput], batch: int) -> list[Verdict]:
    out: list[Verdict] = []
    try:
        for start in range(0, len(inputs), batch):
            out.extend(await judge.score(inputs[start:start + batch]))
    finally:
        await judge.aclose()
    return out


def score_items(judge: Judge, items: list[LabelledItem], set_name: str = "labels",
                batch: int = BATCH) -> list[Verdict]:
    """The judge's verdicts on labelled items, in order."""
    return asyncio.run(_score_all(judge, to_inputs(items, set_name), batch))


def training_sha256(judge: Judge) -> set[str]:
    """sha256 of the files a trained judge learnt from (its weights' note lists them); empty for others."""
    meta = getattr(getattr(judge, "classifier", None), "meta", None) or {}
    return {t.get("sha256", "") for t in meta.get("trained_on", [])} - {""}


def pick_target(judge: Judge, labelled: LabelledSet, target: str | None) -> str:
    available = labelled.targets()
    wanted = target or (judge.measures if judge.measures in available else "harm")
    if wanted not in available:
        raise SafeevalError(f"{labelled.path}: no '{wanted}' labels; this file has: {', '.join(available) or 'none'}")
    return wanted


def _breakdown(pred: list[bool | None], gold: list[bool], resamples: int) -> Breakdown:
    return Breakdown(n=len(gold), positives=sum(gold), confusion=confusion(pred, gold),
                     metrics=binary_metrics(pred, gold, resamples=resamples))


def evaluate(judge: Judge, labelled: LabelledSet, target: str | None = None, by: str | None = None,
             limit: int | None = None, resamples: int = 2000, verdicts: list[Verdict] | None = None) -> JudgeEvaluation:
    """Score `judge` on `labelled` and build its calibration card plus breakdowns.

    `verdicts` may be passed in when the judge already scored these items
    (the benchmark scores once and evaluates several targets).
    """
    items = labelled.items[:limit] if limit else labelled.items
    target = pick_target(judge, labelled, target)
    if by and not any(by in i.columns for i in items):
        cols = sorted({c for i in items for c in i.columns})
        raise SafeevalError(f"--by '{by}': no such label column; valid choices: {', '.join(cols) or 'none'}")
    verdicts = verdicts if verdicts is not None else score_items(judge, items, labelled.name)
    pred = [v.violation for v in verdicts]
    gold = [i.targets[target] for i in items]
    metrics = binary_metrics(pred, gold, resamples=resamples)
    trained = labelled.sha256 in training_sha256(judge)
    card = CalibrationCard(
        judge=judge.id, version=judge.spec_version, prompt_hash=judge.prompt_hash(),
        data_kind=TARGET_KINDS.get(target, "unspecified"), positive_labels=list(judge.violation_labels),
        sets=[SetResult(dataset=DatasetRef(name=labelled.name, format=labelled.format, path=labelled.path,
                                           sha256=labelled.sha256, n=len(items), target=target),
                        confusion=confusion(pred, gold), metrics=metrics, trained_on=trained)],
        note="; ".join(n for n in (f"limited to the first {limit} rows" if limit else "",
                                   "the judge was trained on this file: not a held-out figure" if trained else "")
                       if n),
    )
    result = JudgeEvaluation(card=card, predictions=pred, verdicts=verdicts)
    if target == "compliance" and all("refusal" in i.classes for i in items):
        result.class_agreement = class_agreement([None if v.violation is None else v.label for v in verdicts],
                                                 [i.classes["refusal"] for i in items])
    if by:
        groups: dict[str, list[int]] = defaultdict(list)
        for n, item in enumerate(items):
            groups[item.columns.get(by, "")].append(n)
        result.by[by] = {value: _breakdown([pred[i] for i in idx], [gold[i] for i in idx], resamples)
                         for value, idx in sorted(groups.items())}
    for name in sorted({b for i in items if i.baseline_target == target for b in i.baselines}):
        idx = [n for n, i in enumerate(items) if name in i.baselines and i.baseline_target == target]
        result.baselines[name] = _breakdown([items[i].baselines[name] for i in idx],
                                            [gold[i] for i in idx], resamples)
    return result
