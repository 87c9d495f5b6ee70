"""Calibration cards and judge-corrected rates.

A calibration card records how well one judge (id, version, prompt hash)
agreed with human labels on one or more labelled sets of one *kind of data*
(harmful-request, over-refusal, toxicity): each set's confusion counts and
metrics, and whether the judge was trained on it. `safeeval judge eval`
writes single-set cards; `benchmarks/judges.py` builds the shipped ones from
every set a judge was evaluated on.

Which card a run uses is fixed when the run starts (`run_card`): a file
given with `--card`, else one installed with `judge eval --install`, else
the built-in one. The card itself goes into the manifest with its sha256,
and the summary corrects rates from the records and those cards only
(`manifest_cards`), so the same run folder gives the same summary anywhere.

The corrected rate is the Rogan-Gladen estimate with the pooled sensitivity
and specificity of the held-out sets:

    corrected = (observed + specificity - 1) / (sensitivity + specificity - 1)

Its interval is a Bayesian posterior: prevalence has a uniform prior, and
each draw takes sensitivity and specificity from one of the card's sets
chosen at random (Beta posterior of that set's counts), so the spread
between sets widens the interval, and a set where the judge is near chance
(kappa ~ 0) makes it wide. The prevalence is drawn from its exact posterior
given the observed count, so the interval never shrinks to a point.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

import safeeval
from safeeval.errors import SafeevalError
from safeeval.judging.metrics import Confusion, Interval
from safeeval.registry import builtin_dir
from safeeval.schema import SampleRecord, utcnow

CARD_SUFFIX = ".json"
# Kinds of data a card can describe; a task's kind is "over-refusal" for over-refusal tasks, else its
# `options.data_kind`, else "harmful-request".
DATA_KINDS = ("harmful-request", "over-refusal", "toxicity", "unspecified")


class DatasetRef(BaseModel):
    name: str
    format: str
    path: str = ""
    sha256: str
    n: int
    target: str                       # which human label the judge was scored against


class SetResult(BaseModel):
    """A judge's agreement with the human labels of one set."""

    dataset: DatasetRef
    confusion: Confusion
    metrics: dict[str, Interval] = Field(default_factory=dict)
    trained_on: bool = False          # the judge saw these rows in training: not used for corrections


class CalibrationCard(BaseModel):
    """How one judge agreed with human labels, set by set, on one kind of data."""

    judge: str
    version: str
    prompt_hash: str
    data_kind: str = "unspecified"
    positive_labels: list[str]        # verdict labels that counted as the positive class
    sets: list[SetResult]
    safeeval_version: str = safeeval.__version__
    created: str = Field(default_factory=utcnow)
    note: str = ""

    @model_validator(mode="before")
    @classmethod
    def _one_set_form(cls, data: Any) -> Any:
        """Cards written before cards held several sets: dataset/confusion/metrics at the top."""
        if isinstance(data, dict) and "sets" not in data and "dataset" in data:
            data = dict(data)
            one = {k: data.pop(k) for k in ("dataset", "confusion", "metrics") if k in data}
            data["sets"] = [one]
            if "data_kind" not in data:
                from safeeval.judging.labels import TARGET_KINDS

                data["data_kind"] = TARGET_KINDS.get(one["dataset"].get("target", ""), "unspecified")
        return data

    def held_out(self) -> list[SetResult]:
        """The sets the judge never trained on (all sets when it trained on every one)."""
        return [s for s in self.sets if not s.trained_on] or list(self.sets)

    @property
    def confusion(self) -> Confusion:
        """Pooled confusion of the held-out sets."""
        total = Confusion()
        for s in self.held_out():
            for f in ("tp", "fp", "tn", "fn", "undecided"):
                setattr(total, f, getattr(total, f) + getattr(s.confusion, f))
        return total

    @property
    def dataset(self) -> DatasetRef:
        """The first set (single-set cards), for display."""
        return self.sets[0].dataset

    @property
    def metrics(self) -> dict[str, Interval]:
        return self.sets[0].metrics

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


def card_sha256(card: CalibrationCard | dict[str, Any]) -> str:
    """sha256 of the card's canonical JSON (sorted keys, no spaces): the same card, the same digest."""
    data = card.model_dump(mode="json") if isinstance(card, CalibrationCard) else card
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def user_cards_dir() -> Path:
    """Cards installed by `safeeval judge eval --install`: $SAFEEVAL_CARDS_DIR or <cache>/cards."""
    from safeeval.storage import CARDS_DIR, cache_dir

    env = os.environ.get("SAFEEVAL_CARDS_DIR")
    return Path(env) if env else cache_dir() / CARDS_DIR


def builtin_cards_dir() -> Path:
    """Cards shipped with the built-in judges."""
    return builtin_dir("judges") / "cards"


def card_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Folders searched for cards, first match wins: explicit, installed, built-in."""
    return [*(Path(p) for p in extra), user_cards_dir(), builtin_cards_dir()]


def write_card(card: CalibrationCard, folder: Path, name: str | None = None) -> Path:
    """Write `<folder>/<name or judge>.json`, replacing an older file of that name."""
    from safeeval.storage import write_json_atomic

    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SafeevalError(f"{folder}: cannot create the cards folder: {exc.strerror}") from None
    path = folder / f"{name or card.judge}{CARD_SUFFIX}"
    write_json_atomic(path, card.model_dump(mode="json"))
    return path


def read_card(path: Path) -> CalibrationCard:
    try:
        return CalibrationCard.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise SafeevalError(f"{path}: not a calibration card: {str(exc).splitlines()[0]}") from None


def find_card(judge: str, version: str, prompt_hash: str,
              extra: Iterable[Path] = ()) -> tuple[CalibrationCard | None, str]:
    """The first card for exactly this judge in the card folders, or None and a one-line reason."""
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


def card_label(path: str) -> str:
    """Where a card came from, the same on every machine: built-in cards by their place in the package."""
    p = Path(path)
    try:
        return "built-in " + p.resolve().relative_to(builtin_dir("judges").resolve().parent).as_posix()
    except ValueError:
        return p.name


def run_card(judge: str, version: str, prompt_hash: str, explicit: Iterable[Path] = ()) -> dict[str, Any] | None:
    """The card a run of this judge will use, as the manifest stores it: {card, card_sha256, card_source}.

    `explicit` are files given with `--card`: the one for this judge wins. Then an installed card
    (`judge eval --install`), then the built-in one. None when no card matches the judge exactly.
    """
    for path in explicit:
        card = read_card(Path(path))
        if card.matches(judge, version, prompt_hash):
            return {"card": card.model_dump(mode="json"), "card_sha256": card_sha256(card),
                    "card_source": card_label(str(path))}
    card, where = find_card(judge, version, prompt_hash)
    if card is None:
        return None
    return {"card": card.model_dump(mode="json"), "card_sha256": card_sha256(card), "card_source": card_label(where)}


def check_explicit_cards(explicit: Iterable[Path], judges: Iterable[tuple[str, str, str]]) -> None:
    """Every `--card` file must be a card of one of the run's judges; a one-line error otherwise."""
    ids = list(judges)
    for path in explicit:
        card = read_card(Path(path))
        if not any(card.matches(*j) for j in ids):
            raise SafeevalError(f"--card {path}: a card for judge '{card.judge}' v{card.version} "
                                f"({card.prompt_hash}), which is not a judge of this run "
                                f"({', '.join(f'{j[0]} v{j[1]} ({j[2]})' for j in ids)})")


def manifest_cards(judges: Iterable[dict[str, Any]]) -> list[tuple[CalibrationCard, str]]:
    """The cards a manifest names (its judges' `card` with `card_sha256`), checked against their digest."""
    out = []
    for j in judges:
        body, digest = j.get("card"), j.get("card_sha256")
        if not body:
            continue
        if card_sha256(body) != digest:
            raise SafeevalError(f"judge '{j.get('id')}': its calibration card does not match the sha256 "
                                f"the manifest names ({str(digest)[:12]}); the run folder was edited")
        out.append((CalibrationCard.model_validate(body), j.get("card_source") or digest))
    return out


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float | None:
    """The true positive rate implied by an observed rate and a judge's error rates; None if uninformative."""
    youden = sensitivity + specificity - 1
    if youden <= 0:
        return None
    return float(min(1.0, max(0.0, (observed + specificity - 1) / youden)))


def _prevalence_draws(k: int, n: int, sens, spec, rng, grid: int = 401):
    """One prevalence draw per (sensitivity, specificity) draw from its posterior given k of n flagged,
    under a uniform prior; computed on a grid, so flat likelihoods (a chance-level judge) give wide draws."""
    import numpy as np

    pi = (np.arange(grid) + 0.5) / grid
    p = pi[None, :] * sens[:, None] + (1 - pi[None, :]) * (1 - spec[:, None])
    p = np.clip(p, 1e-12, 1 - 1e-12)
    loglik = k * np.log(p) + (n - k) * np.log1p(-p)
    loglik -= loglik.max(axis=1, keepdims=True)
    weight = np.exp(loglik)
    cdf = np.cumsum(weight, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(sens))
    idx = (cdf < u[:, None]).sum(axis=1)
    return np.clip(pi[np.minimum(idx, grid - 1)] + (rng.random(len(sens)) - 0.5) / grid, 0, 1)


def corrected_rate(k: int, n: int, card: CalibrationCard, draws: int = 4000, seed: int = 0) -> dict[str, Any]:
    """Corrected rate of the card's positive class and its 95% posterior interval.

    `k` of `n` scored records got a positive verdict. The point is Rogan-Gladen with the pooled
    held-out sensitivity and specificity; the interval is the posterior of the prevalence with
    sensitivity and specificity drawn set by set (see the module's note).
    """
    if n == 0 or card.sensitivity is None or card.specificity is None:
        return {"rate": None, "ci_low": None, "ci_high": None, "note": "nothing to correct"}
    point = rogan_gladen(k / n, card.sensitivity, card.specificity)
    if point is None:
        return {"rate": None, "ci_low": None, "ci_high": None,
                "note": "judge no better than chance on its card; no correction possible"}
    import numpy as np  # here, not at the top: most commands never need it

    rng = np.random.default_rng(seed)
    sets = [s.confusion for s in card.held_out() if s.confusion.tp + s.confusion.fn and s.confusion.tn + s.confusion.fp]
    sets = sets or [card.confusion]
    which = rng.integers(0, len(sets), draws)
    tp, fn, tn, fp = (np.array([getattr(c, f) for c in sets], float)[which] for f in ("tp", "fn", "tn", "fp"))
    sens = rng.beta(tp + 1, fn + 1)
    spec = rng.beta(tn + 1, fp + 1)
    values = _prevalence_draws(k, n, sens, spec, rng)
    low, high = np.percentile(values, [2.5, 97.5])
    return {"rate": point, "ci_low": float(min(low, point)), "ci_high": float(max(high, point)),
            "sets": len(sets)}


def task_data_kind(measure: str, options: dict[str, Any] | None = None) -> str:
    """The kind of data a task's records are: what its judge's card must describe."""
    if measure == "over_refusal":
        return "over-refusal"
    return str((options or {}).get("data_kind") or "harmful-request")


def card_for_task(judge: str, version: str, prompt_hash: str, measure: str, options: dict[str, Any] | None = None,
                  explicit: Iterable[Path] = ()) -> tuple[CalibrationCard | None, str]:
    """The card a run would use for this judge on a task of this kind, or None and why ("no card for this task")."""
    found = run_card(judge, version, prompt_hash, explicit)
    kind = task_data_kind(measure, options)
    if found is None:
        return None, f"no calibration card for judge '{judge}'"
    card = CalibrationCard.model_validate(found["card"])
    if card.data_kind != kind:
        return None, f"no card for this task: judge '{judge}' has a {card.data_kind} card, this task is {kind} data"
    return card, found["card_source"]


# One verdict as corrections see it: (judge, judge version, prompt hash, label, violation, data kind).
VerdictKey = tuple[str, str, str, str, bool, str]


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
        kind = task_data_kind(rec.measure, rec.sample.options if rec.sample else None)
        counts.setdefault(rec.task, Counter())[(v.judge, v.judge_version, v.prompt_hash, v.label,
                                                bool(rec.violation), kind)] += 1


def task_correction(counts: Counter[VerdictKey], cards: Iterable[tuple[CalibrationCard, str]] = ()) -> dict[str, Any]:
    """The correction block of one task's conclusive verdicts (all by one judge), from `cards` only."""
    if not counts:
        return {"corrected": None, "correction_note": "no scored records"}
    ids = {key[:3] for key in counts}
    if len(ids) > 1:
        return {"corrected": None, "correction_note": "records were scored by more than one judge"}
    judge, version, phash = ids.pop()
    kind = next(iter(counts))[5]
    mine = [(c, w) for c, w in cards if c.matches(judge, version, phash)]
    if not mine:
        return {"corrected": None, "correction_note": f"no calibration card for judge '{judge}' in the manifest"}
    fitting = [(c, w) for c, w in mine if c.data_kind == kind]
    if not fitting:
        return {"corrected": None, "correction_note": f"no card for this task: judge '{judge}' has a "
                                                      f"{mine[0][0].data_kind} card, this task is {kind} data"}
    card, where = fitting[0]
    positive = set(card.positive_labels)
    same = all((key[3] in positive) == key[4] for key in counts)
    flipped = all((key[3] in positive) != key[4] for key in counts)
    if not (same or flipped):
        return {"corrected": None, "correction_note": f"the task counts violations by labels other than the card's "
                                                      f"positive class {sorted(positive)}"}
    k = sum(c for key, c in counts.items() if key[3] in positive)
    result = corrected_rate(k, sum(counts.values()), card)
    if flipped and result["rate"] is not None:  # the task's violation is the card's negative class
        result = {**result, "rate": 1 - result["rate"], "ci_low": 1 - result["ci_high"],
                  "ci_high": 1 - result["ci_low"]}
    result["card"] = {"path": where, "data_kind": card.data_kind, "sha256": card_sha256(card),
                      "datasets": [s.dataset.name for s in card.held_out()],
                      "sensitivity": card.sensitivity, "specificity": card.specificity, "n": card.confusion.n}
    return {"corrected": result}


def add_corrections(summary: dict[str, Any], records: Iterable[SampleRecord] | dict[str, Counter[VerdictKey]],
                    cards: Iterable[tuple[CalibrationCard, str]] | None = None) -> dict[str, Any]:
    """Add a judge-corrected rate (or a note why there is none) to each task of a summary.

    Cards come from the summary's own `judges` (the manifest's, with their sha256) unless given;
    the card bodies are then dropped from the summary, which keeps each judge's `card_sha256`.
    """
    counts = records if isinstance(records, dict) else verdict_counts(records)
    judges = summary.get("judges") or []
    found = list(cards) if cards is not None else manifest_cards(judges)
    summary["judges"] = [{k: v for k, v in j.items() if k != "card"} for j in judges] if judges else judges
    for name, entry in summary.get("tasks", {}).items():
        entry.update(task_correction(counts.get(name, Counter()), found))
    return summary
