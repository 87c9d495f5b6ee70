"""The leaderboard as data beside the site: Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

from safeeval.leaderboard.aggregate import Entry, Leaderboard


def _pct(r: dict[str, Any] | None) -> str:
    if not r or r.get("rate") is None:
        return "-"
    return f"{100 * r['rate']:.1f}% [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]"


def _md(text: str) -> str:
    """Model names and ids are data: shown as code, with nothing that could end the span or the cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _judges(e: Entry) -> str:
    return ", ".join(f"{j.id} v{j.version} ({'card' if j.card else 'no card'})" for j in e.judges)


def to_markdown(board: Leaderboard) -> str:
    cats = board.categories
    lines = ["# safeeval leaderboard", "",
             "Rates with 95% Wilson intervals. Score = mean of violation and over-refusal rates (lower is better). "
             "Only runs in the same group are comparable.", ""]
    for g in board.groups:
        lines.append(f"## Group {g.id + 1}" + (": not comparable with group 1" if g.id else ""))
        lines.append("")
        lines += [f"- {r}" for r in g.reasons] + ([""] if g.reasons else [])
        cols = ["rank", "model", "run", "score", "violation", "inconclusive", "over-refusal",
                *(f"{c} violation" for c in cats), "judge", "seed / limit", "samples", "notes"]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for e in g.entries:
            cells = [str(e.rank or "-"), _md(e.model), _md(e.run_id),
                     f"{100 * e.balanced:.1f}%" if e.balanced is not None else "-",
                     _pct(e.violation), f"{100 * e.unscored / e.records:.1f}%" if e.records else "-",
                     _pct(e.over_refusal), *(_pct((e.categories.get(c) or {}).get("violation")) for c in cats),
                     _judges(e), f"{e.seed} / {e.limit or 'all'}", f"{e.records} ({e.errors} errored)", "; ".join(e.flags).replace("|", "\\|")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def to_csv(board: Leaderboard) -> str:
    """One row per run and category/measure, plus the pooled rates (category 'all')."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["group", "rank", "model", "run_id", "score", "category", "measure", "k", "n", "rate",
                     "ci_low", "ci_high", "errors", "inconclusive", "judges", "calibration_card", "flags"])
    for e in board.entries:
        base = [e.group + 1, e.rank or "", e.model, e.run_id, "" if e.balanced is None else f"{e.balanced:.6f}"]
        tail = [";".join(j.id for j in e.judges), ";".join("yes" if j.card else "no" for j in e.judges),
                "; ".join(e.flags)]
        rows = [("all", "violation", e.violation), ("all", "over_refusal", e.over_refusal)]
        rows += [(c, m, (e.categories.get(c) or {}).get(m)) for c in board.categories
                 for m in ("violation", "over_refusal")]
        for cat, measure, r in rows:
            if r:
                writer.writerow([*base, cat, measure, r["k"], r["n"], r["rate"], r["ci_low"], r["ci_high"],
                                 r.get("errors", 0), r.get("inconclusive", r.get("unscored", 0)), *tail])
    return buf.getvalue()


def to_json(board: Leaderboard) -> dict[str, Any]:
    return board.model_dump(mode="json")
