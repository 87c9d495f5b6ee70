"""The static leaderboard site: index.html, one page per run, plots and data files.

The site needs no server: it opens from disk (file://) and from any static
host. Escaping rules, because responses are adversarial:
- every string from a run goes through `html.escape` in the HTML we write;
- the sample browser's data sits in a `<script type="application/json">`
  block with `<`, `>`, `&`, U+2028 and U+2029 escaped, so no text can close
  the block or open a comment; the page script reads it with JSON.parse and
  renders it with textContent only;
- a Content-Security-Policy allows only our own script and style, by hash,
  so inline handlers (`onerror=`), `javascript:` URLs and injected scripts
  would not run even if markup slipped through.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from safeeval.storage import write_json_atomic
from safeeval.leaderboard.aggregate import Entry, Group, Leaderboard, build
from safeeval.leaderboard.exports import to_csv, to_json, to_markdown
from safeeval.leaderboard.plots import category_plot, scatter_plot
from safeeval.report import attack_rows, category_rows, context_line, legend, metric_rows, run_context, task_rows
from safeeval.results import Run, open_run, outcome, primary_label, write_output

MAX_TEXT = 8000  # characters of prompt/response kept per sample in the browser


def _asset(name: str) -> str:
    return resources.files("safeeval.leaderboard").joinpath("static", name).read_text(encoding="utf-8")


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def json_for_script(data: Any) -> str:
    """JSON safe inside a <script> element: nothing in it can end the element or start a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text


def page(title: str, body: str, data: Any = None) -> str:
    """A complete HTML page with our script and style inline, allowed by hash in the CSP."""
    script, style = _asset("site.js"), _asset("site.css")
    csp = (f"default-src 'none'; script-src {_sha(script)}; style-src {_sha(style)}; img-src data:; "
           "base-uri 'none'; form-action 'none'; object-src 'none'")
    blob = (f'<script type="application/json" id="samples-data">{json_for_script(data)}</script>'
            if data is not None else "")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="no-referrer">'
            f"<title>{escape(title)}</title><style>{style}</style></head>\n"
            f"<body>\n{body}\n{blob}<script>{script}</script></body></html>\n")


def _pct(r: dict[str, Any] | None) -> tuple[str, str]:
    """(cell HTML, sort value) for a rate with its interval."""
    if not r or r.get("rate") is None:
        return "–", ""
    return (f'{100 * r["rate"]:.1f}% <span class="ci">[{100 * r["ci_low"]:.1f}, {100 * r["ci_high"]:.1f}]'
            f' n={r["n"]}</span>', f'{r["rate"]:.6f}')


def _td(html: str, sort: Any = "", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<td{c} data-sort="{escape(str(sort))}">{html}</td>'


def _th(label: str, sortable: bool = True) -> str:
    inner = f'<button class="sort" type="button">{escape(label)}</button>' if sortable else escape(label)
    return f"<th>{inner}</th>"


def _badge(card: bool, title: str) -> str:
    if card:
        return f'<span class="badge card" title="{escape(title)}">calibration card</span>'
    return f'<span class="badge nocard" title="{escape(title)}">no card</span>'


def _judges(e: Entry, fold: bool = True) -> str:
    """One line per judge with its card badge; several judges fold under a one-line summary."""
    lines = [f'<span class="judge"><code>{escape(j.id)}</code> v{escape(j.version)} {_badge(j.card, j.note)}</span>'
             for j in e.judges]
    if len(lines) <= 2 or not fold:
        return "<br>".join(lines)
    carded = sum(j.card for j in e.judges)
    head = ("calibration cards" if carded == len(e.judges) else "no card" if not carded
            else f"{carded} of {len(e.judges)} carded")
    badge = f'<span class="badge {"card" if carded == len(e.judges) else "nocard"}">{head}</span>'
    return f"<details><summary>{len(e.judges)} judges {badge}</summary>{'<br>'.join(lines)}</details>"


def _inconclusive(e: Entry) -> tuple[str, str]:
    if not e.records:
        return "–", ""
    share = e.unscored / e.records
    return f"{100 * share:.1f}%", f"{share:.6f}"


def _row(e: Entry, categories: list[str]) -> str:
    """An index row: the numbers that rank, and one line of what they rest on. Judge badges, task
    versions and per-task numbers are on the run's page (a row must fit a phone's scroll box)."""
    judges = ", ".join(sorted({j.id for j in e.judges}))
    limit = f"limit {e.limit}" if e.limit else "all samples"
    about = (f'<span class="ci">seed {e.seed} · {limit} · {e.records} samples, {e.errors} errored · '
             f"judges: {escape(judges)}</span>")
    flags = "".join(f'<span class="flag">⚠ {escape(f)}</span>' for f in e.flags)
    if len(e.flags) > 1:  # several notes fold under one line: a row stays short on a phone
        flags = f'<details class="flag"><summary>⚠ {len(e.flags)} notes</summary>{flags}</details>'
    cells = [_td(str(e.rank) if e.rank else "–", e.rank or "", "num"),
             _td(f'<a href="runs/{escape(e.slug)}.html">{escape(e.model)}</a><br>'
                 f'<code>{escape(e.run_id)}</code><br>{about}{flags}', e.model, "run"),
             _td(f"{100 * e.balanced:.1f}%" if e.balanced is not None else "–",
                 f"{e.balanced:.6f}" if e.balanced is not None else "", "num"),
             _td(*_pct(e.violation), "num"), _td(*_inconclusive(e), "num"), _td(*_pct(e.over_refusal), "num")]
    for cat in categories:
        cells.append(_td(*_pct((e.categories.get(cat) or {}).get("violation")), "num"))
    return "<tr>" + "".join(cells) + "</tr>"


def _scroll(html: str) -> str:
    """A wide table scrolls inside its own box, never the page."""
    return f'<div class="scroll">{html}</div>'


def _plots(*svgs: str) -> str:
    shown = "".join(f'<div class="plot">{svg}</div>' for svg in svgs if svg)
    return f'<div class="plots">{shown}</div>' if shown else ""


def _group_plots(group: Group, categories: list[str]) -> tuple[str, str]:
    cats = [c for c in categories if any(c in e.categories for e in group.entries)]
    return category_plot(group.entries, cats), scatter_plot(group.entries)


def index_html(board: Leaderboard, generated: str) -> str:
    cats = board.categories
    head = (_th("Rank") + _th("Model / run") + _th("Score") + _th("Violation rate") + _th("Inconclusive")
            + _th("Over-refusal rate") + "".join(_th(f"{c} violation") for c in cats))
    parts = ["<h1>safeeval leaderboard</h1>",
             f'<p class="sub">Generated {escape(generated)}. Rates with 95% Wilson intervals. Score = mean of the '
             "violation rate and the over-refusal rate on benign controls (lower is better), so a model that "
             "refuses everything cannot rank well. Inconclusive = share of samples where nothing was measured "
             "(left out of the rates). Only runs in the same group are comparable; each run's page has its "
             "judges, task versions and per-task numbers.</p>",
             '<p>Data: <a href="leaderboard.csv">leaderboard.csv</a> · <a href="leaderboard.json">'
             'leaderboard.json</a> · <a href="leaderboard.md">leaderboard.md</a></p>']
    for g in board.groups:
        title = "Group 1" if g.id == 0 else f"Group {g.id + 1}: not comparable with group 1"
        parts.append(f"<h2>{escape(title)}</h2>")
        if g.reasons:
            parts.append('<div class="reasons">' + "".join(f"<p>{escape(r)}</p>" for r in g.reasons) + "</div>")
        parts.append(_scroll(f'<table class="sortable" id="group-{g.id}"><thead><tr>{head}</tr></thead><tbody>'
                             + "".join(_row(e, cats) for e in g.entries) + "</tbody></table>"))
        # Plots per group: runs that cannot be compared are never drawn on one chart.
        parts.append(_plots(*_group_plots(g, cats)))
    return page("safeeval leaderboard", "\n".join(parts))


def _sort_key(text: str) -> str:
    """Sort "12.5% [3.1, 40.2]" and "7" as numbers, anything else as text."""
    if text.strip() in ("-", "–", ""):
        return ""  # missing: sorts last
    match = re.match(r"^\s*(-?\d+(?:\.\d+)?)%?(?:\s|$)", text)
    return match.group(1) if match else text


def _table(rows: list[dict[str, str]], table_id: str) -> str:
    if not rows:
        return "<p>Nothing to show.</p>"
    head = "".join(_th(c) for c in rows[0])
    body = "".join("<tr>" + "".join(_td(escape(v), _sort_key(v)) for v in r.values()) + "</tr>" for r in rows)
    return _scroll(f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
                   "</table>")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT} more characters]"


def sample_data(run: Run) -> list[dict[str, Any]]:
    """The sample browser's rows: plain strings only, rendered with textContent."""
    rows = []
    for rec in run.records:
        v = rec.verdicts[0] if rec.verdicts else None
        users = [m.content for m in rec.messages if m.role == "user"]
        calls = [c.model_dump() for c in rec.response.tool_calls]
        rows.append({"key": rec.key, "task": rec.task, "attack": rec.attack, "subcategory": rec.subcategory,
                     "outcome": outcome(rec), "label": primary_label(rec), "judge": v.judge if v else "",
                     "rationale": _clip(v.rationale) if v else "", "prompt": _clip(users[-1] if users else ""),
                     "response": _clip(rec.response.text), "error": rec.response.error or "",
                     "tool_calls": json.dumps(calls, ensure_ascii=False) if calls else ""})
    return rows


def run_html(e: Entry, run: Run, generated: str) -> str:
    s = e.summary
    ctx = run_context(run.manifest, run.records)
    tables = {"tasks": task_rows(s, ctx["judges"]), "metrics": metric_rows(s), "attacks": attack_rows(s),
              "categories": category_rows(s)}
    flags = "".join(f'<p class="flag">⚠ {escape(f)}</p>' for f in e.flags)
    notes = "".join(f"<li>{escape(n)}</li>" for n in legend({k: v for k, v in tables.items() if v}, s))
    versions = ", ".join(f"{escape(t)} v{escape(v)}" for t, v in sorted(e.task_versions.items()))
    parts = ['<p><a href="../index.html">← leaderboard</a></p>', f"<h1>{escape(e.model)}</h1>",
             f'<p class="sub">Run <code>{escape(e.run_id)}</code>, started {escape(e.started)}; '
             f"{e.records} samples, {e.errors} errored, {e.unscored} inconclusive; "
             f"{escape(context_line(ctx))}. Generated {escape(generated)}.</p>", flags,
             f"<p>Judges:<br>{_judges(e, fold=False)}</p>",
             f"<details><summary>Task versions ({len(e.task_versions)})</summary><p>{versions}</p></details>",
             "<h2>Tasks</h2>", _table(tables["tasks"], "tasks"),
             *(["<h2>Task metrics</h2>", _table(tables["metrics"], "metrics")] if tables["metrics"] else []),
             "<h2>Attacks</h2>", _table(tables["attacks"], "attacks"),
             "<h2>Categories</h2>", _table(tables["categories"], "categories"),
             f'<ul class="notes">{notes}</ul>' if notes else "",
             _plots(category_plot([e], [c for c in s["categories"]])),
             "<h2>Samples</h2>",
             '<div class="filters">'
             '<label>Task <select id="filter-task"><option value="">all</option></select></label>'
             '<label>Verdict <select id="filter-outcome"><option value="">all</option></select></label>'
             '<label>Attack <select id="filter-attack"><option value="">all</option></select></label>'
             '<label>Search <input id="filter-text" type="search" placeholder="text in prompt or response">'
             '</label><span id="sample-count"></span></div>',
             '<div id="samples"></div><button id="show-more" type="button" hidden>show more</button>']
    return page(f"{e.model} · safeeval", "\n".join(parts), data=sample_data(run))


def build_site(run_dirs: list[str | Path], out: str | Path) -> Leaderboard:
    """Build the site for `run_dirs` into `out`; returns the leaderboard it shows."""
    out = Path(out)
    runs = {str(Path(d)): open_run(d) for d in run_dirs}
    board = build(list(runs.values()))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    write_output(out / "index.html", index_html(board, generated))
    for e in board.entries:
        write_output(out / "runs" / f"{e.slug}.html", run_html(e, runs[e.path], generated))
    for g in board.groups:
        suffix = "" if g.id == 0 else f"-group-{g.id + 1}"
        by_cat, scatter = _group_plots(g, board.categories)
        for name, svg in (("violation_by_category", by_cat), ("safety_vs_over_refusal", scatter)):
            if svg:  # a group with nothing to draw gets no plot file
                write_output(out / "plots" / f"{name}{suffix}.svg", svg)
    write_output(out / "leaderboard.md", to_markdown(board))
    write_output(out / "leaderboard.csv", to_csv(board))
    write_json_atomic(out / "leaderboard.json", to_json(board))
    return board
