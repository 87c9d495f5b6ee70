"""Calibration cards and judge-corrected rates.

A calibration card records how well one judge (id, version, prompt hash)
agreed with human labels on one dataset (name, sha256): its confusion counts
and metrics with intervals. `safeeval judge eval` writes cards; summaries read
them. When a card matches the judge a run used, the summary adds the
Rogan-Gladen corrected rate next to the raw one:

    corrected = (observed + specificity - 1) / (sensitivity + specificity - 1)

Its interval is a Monte Carlo interval that draws sensitivity, specificity
and the observed rate from their Beta posteriors (uniform priors), so it
carries the card's own uncertainty as well as the run's sampling error.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

import safeeval
from safeeval.errors import SafeevalError
from safeeval.judging.metrics import Confusion, Interval
from safeeval.registry import builtin_dir
from safeeval.schema import SampleRecord, utcnow

CARD_SUFFIX = ".json"


class DatasetRef(BaseModel):
    name: str
    format: str
    path: str = ""
    sha256: str
    n: int
    target: str                       # which human label the judge was scored against


class CalibrationCard(BaseModel):
    """How one judge agreed with human labels on one dataset."""

    judge: str
    version: str
    prompt_hash: str
    dataset: DatasetRef
    positive_labels: list[str]        # verdict labels that counted as the positive class
    confusion: Confusion
    metrics: dict[str, Interval]
    safeeval_version: str = safeeval.__version__
    created: str = Field(default_factory=utcnow)
    note: str = ""

    @property
    def sensitivity(self) -> float | None:
        c = self.confusion
        return c.tp / (c.tp + c.fn) if c.tp + c.fn else None

    @property
    def specificity(self) -> float | None:
        c = self.confusion
        return c.tn / (c.tn + c.fp) if c.tn + c.fp else None

    def matches(self, judge: str, version: str, prompt_hash: str) -> bool:
        return (self.judge, self.version, self.prompt_hash) == (judge, str(version), prompt_hash)


def user_cards_dir() -> Path:
    """Cards written by `safeeval judge eval` by default: $SAFEEVAL_CARDS_DIR or <cache>/cards."""
    from safeeval.storage import CARDS_DIR, cache_dir

    env = os.environ.get("SAFEEVAL_CARDS_DIR")
    return Path(env) if env else cache_dir() / CARDS_DIR


def builtin_cards_dir() -> Path:
    """Cards shipped with the built-in judges."""
    return builtin_dir("judges") / "cards"


def card_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Folders searched for cards, first match wins: explicit, user, built-in."""
    return [*(Path(p) for p in extra), user_cards_dir(), builtin_cards_dir()]


def write_card(card: CalibrationCard, folder: Path) -> Path:
    """Write `<folder>/<judge>.json`, replacing an older card of that judge."""
    from safeeval.storage import write_json_atomic

    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SafeevalError(f"{folder}: cannot create the cards folder: {exc.strerror}") from None
    path = folder / f"{card.judge}{CARD_SUFFIX}"
    write_json_atomic(path, card.model_dump(mode="json"))
    return path


def read_card(path: Path) -> CalibrationCard:
    try:
        return CalibrationCard.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise SafeevalError(f"{path}: not a calibration card: {str(exc).splitlines()[0]}") from None


def find_card(judge: str, version: str, prompt_hash: str,
              extra: Iterable[Path] = ()) -> tuple[CalibrationCard | None, str]:
    """The first card for exactly this judge, or None and a one-line reason."""
    stale = None
    for folder in card_dirs(extra):
        path = folder / f"{judge}{CARD_SUFFIX}"
        if not path.is_file():
            continue
        card = read_card(path)
        if card.matches(judge, version, prompt_hash):
            return card, str(path)
        stale = stale or f"card {path} is for version {card.version} / hash {card.prompt_hash}, not this judge's"
    return None, stale or f"no calibration card for judge '{judge}' (run `safeeval judge eval`)"


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float | None:
    """The true positive rate implied by an observed rate and a judge's error rates; None if uninformative."""
    youden = sensitivity + specificity - 1
    if youden <= 0:
        return None
    return float(min(1.0, max(0.0, (observed + specificity - 1) / youden)))


def corrected_rate(k: int, n: int, card: CalibrationCard, draws: int = 4000, seed: int = 0) -> dict[str, Any]:
    """Rogan-Gladen corrected rate of the card's positive class, with a 95% interval.

    `k` of `n` scored records got a positive verdict. The interval draws the
    observed rate, sensitivity and specificity from Beta(successes+1,
    failures+1) and corrects each draw.
    """
    c = card.confusion
    if n == 0 or card.sensitivity is None or card.specificity is None:
        return {"rate": None, "ci_low": None, "ci_high": None, "note": "nothing to correct"}
    point = rogan_gladen(k / n, card.sensitivity, card.specificity)
    if point is None:
        return {"rate": None, "ci_low": None, "ci_high": None,
                "note": "judge no better than chance on its card; no correction possible"}
    import numpy as np  # here, not at the top: most commands never need it

    rng = np.random.default_rng(seed)
    obs = rng.beta(k + 1, n - k + 1, draws)
    sens = rng.beta(c.tp + 1, c.fn + 1, draws)
    spec = rng.beta(c.tn + 1, c.fp + 1, draws)
    youden = sens + spec - 1
    ok = youden > 0.02  # draws where the judge is near chance carry no information
    values = np.clip((obs[ok] + spec[ok] - 1) / youden[ok], 0, 1)
    low, high = np.percentile(values, [2.5, 97.5]) if len(values) else (0.0, 1.0)
    return {"rate": point, "ci_low": float(low), "ci_high": float(high)}


# One verdict as corrections see it: (judge, judge version, prompt hash, label, violation).
VerdictKey = tuple[str, str, str, str, bool]


def verdict_counts(records: Iterable[SampleRecord]) -> dict[str, Counter[VerdictKey]]:
    """Per task, how many conclusive primary verdicts of each kind: all a correction reads."""
    counts: dict[str, Counter[VerdictKey]] = {}
    for rec in records:
        add_verdict(counts, rec)
    return counts


def add_verdict(counts: dict[str, Counter[VerdictKey]], rec: SampleRecord) -> None:
    """Count one record's primary verdict (conclusive ones only); the summary streams records through this."""
    if rec.verdicts and rec.violation is not None:
        v = rec.verdicts[0]
        counts.setdefault(rec.task, Counter())[(v.judge, v.judge_version, v.prompt_hash, v.label,
                                                bool(rec.violation))] += 1


def task_correction(counts: Counter[VerdictKey], extra: Iterable[Path] = ()) -> dict[str, Any]:
    """The correction block of one task's conclusive verdicts (all by one judge)."""
    if not counts:
        return {"corrected": None, "correction_note": "no scored records"}
    ids = {key[:3] for key in counts}
    if len(ids) > 1:
        return {"corrected": None, "correction_note": "records were scored by more than one judge"}
    judge, version, phash = ids.pop()
    card, where = find_card(judge, version, phash, extra)
    if card is None:
        return {"corrected": None, "correction_note": where}
    positive = set(card.positive_labels)
    same = all((label in positive) == viol for (*_, label, viol) in counts)
    flipped = all((label in positive) != viol for (*_, label, viol) in counts)
    if not (same or flipped):
        return {"corrected": None, "correction_note": f"the task counts violations by labels other than the card's "
                                                      f"positive class {sorted(positive)}"}
    k = sum(c for (*_, label, _), c in counts.items() if label in positive)
    result = corrected_rate(k, sum(counts.values()), card)
    if flipped and result["rate"] is not None:  # the task's violation is the card's negative class
        result = {"rate": 1 - result["rate"], "ci_low": 1 - result["ci_high"], "ci_high": 1 - result["ci_low"]}
    result["card"] = {"path": where, "dataset": card.dataset.name, "dataset_sha256": card.dataset.sha256,
                      "sensitivity": card.sensitivity, "specificity": card.specificity, "n": card.confusion.n}
    return {"corrected": result}


def add_corrections(summary: dict[str, Any], records: Iterable[SampleRecord] | dict[str, Counter[VerdictKey]],
                    cards: Iterable[Path] = ()) -> dict[str, Any]:
    """Add a judge-corrected rate (or a note why there is none) to each task of a summary,
    from the records or from their `verdict_counts`."""
    counts = records if isinstance(records, dict) else verdict_counts(records)
    extra = list(cards)
    for name, entry in summary.get("tasks", {}).items():
        entry.update(task_correction(counts.get(name, Counter()), extra))
    return summary
