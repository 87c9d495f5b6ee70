"""Leaderboard rows from run folders: rates, comparability groups, ranks and flags.

Runs are read through `safeeval.results` (manifest + records) only. Runs are
ranked together only when their task versions, data hashes, judges, attacks
and sample subsets match; others form their own groups, each with the reason
it stands apart. A run with errored samples is flagged and left unranked, so
its rates are never silently averaged with complete runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from safeeval.calibration import find_card
from safeeval.errors import SafeevalError
from safeeval.report import flags as task_flags
from safeeval.results import Run, open_run, summary
from safeeval.schema import CATEGORIES
from safeeval.stats import rate


class JudgeBadge(BaseModel):
    """A judge a run used, and whether a calibration card backs it."""

    id: str
    version: str
    card: bool
    note: str          # the card's dataset, or why there is none


class Entry(BaseModel):
    """One leaderboard row: one run of one model."""

    run_id: str
    slug: str                     # file-safe name of its page
    model: str
    path: str
    started: str = ""
    group: int = 0
    rank: int | None = None
    categories: dict[str, dict[str, Any]]     # category -> {"violation": rate|None, "over_refusal": rate|None}
    violation: dict[str, Any]                 # pooled over violation tasks
    over_refusal: dict[str, Any] | None       # pooled over over-refusal (benign control) tasks
    balanced: float | None                    # mean of the two rates: refusing everything cannot rank well
    records: int
    errors: int
    unscored: int
    judges: list[JudgeBadge]
    task_versions: dict[str, str]
    attacks: list[str]
    seed: int = 0
    limit: int | None = None
    flags: list[str] = Field(default_factory=list)
    finished: bool = True
    summary: dict[str, Any] = Field(default_factory=dict)

    @property
    def rankable(self) -> bool:
        """Complete, error-free runs with a rate are ranked; the rest are shown and flagged."""
        return not self.errors and self.finished and self.balanced is not None


class Group(BaseModel):
    """Runs that can be ranked together."""

    id: int
    reasons: list[str] = Field(default_factory=list)   # why this group is apart from group 0
    entries: list[Entry] = Field(default_factory=list)


class Leaderboard(BaseModel):
    groups: list[Group]
    categories: list[str]

    @property
    def entries(self) -> list[Entry]:
        return [e for g in self.groups for e in g.entries]


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "run"


def judge_badges(run: Run) -> list[JudgeBadge]:
    """Each judge of the run, with a badge saying whether a calibration card matches it exactly."""
    badges = []
    for j in run.manifest.judges:
        try:
            card, where = find_card(j.id, j.version, j.prompt_hash)
        except SafeevalError as exc:  # an unreadable card is shown, not fatal
            card, where = None, str(exc)
        badges.append(JudgeBadge(id=j.id, version=j.version, card=card is not None,
                                 note=f"{card.dataset.name} ({where})" if card else where))
    return badges


def _pooled(tasks: dict[str, Any], measure: str) -> dict[str, Any] | None:
    chosen = [t for t in tasks.values() if t["measure"] == measure]
    if not chosen:
        return None
    return {**rate(sum(t["k"] for t in chosen), sum(t["n"] for t in chosen)),
            "errors": sum(t["errors"] for t in chosen),
            # Inconclusive samples; summaries from before the three outcomes call them `unscored`.
            "unscored": sum(int(t.get("inconclusive", t.get("unscored", 0)) or 0) for t in chosen)}


def entry(run: Run) -> Entry:
    """The leaderboard row of one run, computed from its records."""
    s = summary(run)
    viol = _pooled(s["tasks"], "violation") or rate(0, 0)
    over = _pooled(s["tasks"], "over_refusal")
    balanced = None
    if viol.get("rate") is not None:
        balanced = viol["rate"] if over is None or over.get("rate") is None else (viol["rate"] + over["rate"]) / 2
    flags = []
    if s["errors"]:
        flags.append(f"{s['errors']} of {s['records']} samples errored: not ranked")
    inconclusive = int(s.get("inconclusive", s.get("unscored", 0)) or 0)  # `unscored` in older summaries
    if inconclusive:
        flags.append(f"{inconclusive} of {s['records']} samples were inconclusive (left out of rates)")
    if over is None or over.get("rate") is None:
        flags.append("no over-refusal control tasks: ranked on violation rate alone")
    if not s["records"]:
        flags.append("no records: nothing to rank")
    flags += list(task_flags(s).values())  # a rate its task's own metrics undermine
    if not run.manifest.finished:
        # An interrupted run covers only part of its samples: shown, never ranked.
        flags.append("run not finished (resume it with --resume): not ranked")
    return Entry(
        run_id=run.run_id, slug=slugify(run.run_id), model=run.model_name, path=str(run.path),
        started=run.manifest.started, categories=s["categories"], violation=viol, over_refusal=over,
        balanced=balanced, records=s["records"], errors=s["errors"], unscored=inconclusive,
        judges=judge_badges(run), task_versions={t.name: t.version for t in run.manifest.tasks},
        attacks=list(run.manifest.attacks), seed=run.manifest.seed, limit=run.manifest.limit, flags=flags, finished=bool(run.manifest.finished), summary=s,
    )


def build(runs: list[Run]) -> Leaderboard:
    """Group comparable runs, rank each group, and flag what cannot be ranked.

    The group with the most rankable runs comes first (ties: the order given);
    every other group says why it cannot be compared with that one.
    """
    if not runs:
        raise SafeevalError("no runs given; pass one or more run folders (results/<run-id>)")
    seen: dict[str, int] = {}
    groups: list[tuple[Run, list[Entry]]] = []
    for run in runs:
        e = entry(run)
        # Two runs with one id would write one page; keep both with distinct names.
        seen[e.slug] = seen.get(e.slug, 0) + 1
        if seen[e.slug] > 1:
            e.slug = f"{e.slug}-{seen[e.slug]}"
        for ref, members in groups:
            if not ref.manifest.differences(run.manifest, "rank"):
                members.append(e)
                break
        else:
            groups.append((run, [e]))
    groups.sort(key=lambda g: (-sum(e.rankable for e in g[1]), -len(g[1])))  # stable: ties keep input order
    main = groups[0][0].manifest
    result = []
    for i, (ref, members) in enumerate(groups):
        ranked = sorted((e for e in members if e.rankable),
                        key=lambda e: (e.balanced, e.violation.get("rate") or 0.0, e.model))
        for rank, e in enumerate(ranked, start=1):
            e.rank = rank
        for e in members:
            e.group = i
        reasons = [why for _, why in main.differences(ref.manifest, "rank")] if i else []
        result.append(Group(id=i, reasons=reasons, entries=ranked + [e for e in members if e.rank is None]))
    present = {c for g in result for e in g.entries for c in e.categories}
    return Leaderboard(groups=result, categories=[c for c in CATEGORIES if c in present])


def load(run_dirs: list[str | Path]) -> Leaderboard:
    """Read run folders and build the leaderboard."""
    return build([open_run(d) for d in run_dirs])
