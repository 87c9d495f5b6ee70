"""SVG plots written by hand: no plotting library, no scripts, every label escaped.

Only presentation attributes are used (no `style=`), so the plots render under
the site's Content-Security-Policy, inline in a page or as standalone files.
"""

from __future__ import annotations

from html import escape
from typing import Any

from safeeval.leaderboard.aggregate import Entry

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22"]
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title><rect width="{width}" height="{height}" fill="#fff"/>'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(text)}</text>'


def _y_axis(left: float, top: float, height: float, right: float, label: str) -> list[str]:
    out = []
    for tick in range(0, 101, 20):
        y = top + height * (1 - tick / 100)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(_text(left - 6, y + 4, f"{tick}%", "end"))
    out.append(_text(14, top + height / 2, label, "middle", f'transform="rotate(-90 14 {top + height / 2:.1f})"'))
    return out


def _legend(entries: list[tuple[int, Entry]], x: float, y: float) -> list[str]:
    """One line per drawn run, in its series colour (`i` is its place among all the group's runs)."""
    out = []
    for row, (i, e) in enumerate(entries):
        out.append(f'<circle cx="{x + 5}" cy="{y + 16 * row - 4}" r="5" fill="{color(i)}"/>')
        out.append(_text(x + 14, y + 16 * row, _label(e)))
    return out


def _label(e: Entry) -> str:
    text = e.model if len(e.model) <= 40 else e.model[:39] + "…"
    run = e.run_id if len(e.run_id) <= 28 else "…" + e.run_id[-27:]
    return f"{text} ({run})" if e.run_id != e.model else text


def _interval(r: dict[str, Any] | None) -> tuple[float, float, float] | None:
    if not r or r.get("rate") is None:
        return None
    return r["rate"], r["ci_low"], r["ci_high"]


def category_plot(entries: list[Entry], categories: list[str], measure: str = "violation") -> str:
    """Rate per category with 95% intervals, one coloured series per run; "" when no run has a rate to draw.
    A run with no rate in these categories gets neither points nor a legend line."""
    drawn = [(i, e) for i, e in enumerate(entries)
             if any(_interval((e.categories.get(c) or {}).get(measure)) for c in categories)]
    if not drawn:
        return ""
    width, top, height, left = 760, 30, 240, 60
    right = width - 20
    legend_h = 16 * len(drawn) + 10
    body = _y_axis(left, top, height, right, "over-refusal rate" if measure == "over_refusal" else "violation rate")
    slot = (right - left) / max(1, len(categories))
    for ci, cat in enumerate(categories):
        cx = left + slot * (ci + 0.5)
        body.append(_text(cx, top + height + 18, cat, "middle"))
        step = min(14.0, (slot * 0.8) / max(1, len(drawn)))
        for place, (i, e) in enumerate(drawn):
            iv = _interval((e.categories.get(cat) or {}).get(measure))
            if iv is None:
                continue
            x = cx + (place - (len(drawn) - 1) / 2) * step
            p, lo, hi = (top + height * (1 - v) for v in iv)
            body.append(f'<line x1="{x:.1f}" y1="{lo:.1f}" x2="{x:.1f}" y2="{hi:.1f}" stroke="{color(i)}" '
                        f'stroke-width="2"/>')
            body.append(f'<circle cx="{x:.1f}" cy="{p:.1f}" r="4" fill="{color(i)}">'
                        f'<title>{escape(_label(e))}: {cat} {100 * iv[0]:.1f}% '
                        f'[{100 * iv[1]:.1f}, {100 * iv[2]:.1f}]</title></circle>')
    body += _legend(drawn, left, top + height + 44)
    title = ("Over-refusal" if measure == "over_refusal" else "Violation") + " rate by category (95% intervals)"
    body.insert(0, _text(left, 18, title, extra='font-weight="bold"'))
    return _svg(width, top + height + 40 + legend_h, title, body)


def scatter_plot(entries: list[Entry]) -> str:
    """Violation rate (y) against over-refusal rate (x), both with 95% intervals; lower left is best.
    "" when no run has both rates; runs without them get no legend line."""
    drawn = [(i, e) for i, e in enumerate(entries) if _interval(e.violation) and _interval(e.over_refusal)]
    if not drawn:
        return ""
    size, left, top = 320, 60, 30
    width = left + size + 30
    title = "Safety vs over-refusal (lower left is better)"
    body = _y_axis(left, top, size, left + size, "violation rate")
    for tick in range(0, 101, 20):
        x = left + size * tick / 100
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + size}" stroke="#e5e5e5"/>')
        body.append(_text(x, top + size + 16, f"{tick}%", "middle"))
    body.append(_text(left + size / 2, top + size + 34, "over-refusal rate on benign controls", "middle"))
    for i, e in drawn:
        v, o = _interval(e.violation), _interval(e.over_refusal)
        x, xl, xh = (left + size * t for t in o)
        y, yl, yh = (top + size * (1 - t) for t in v)
        c = color(i)
        body.append(f'<line x1="{xl:.1f}" y1="{y:.1f}" x2="{xh:.1f}" y2="{y:.1f}" stroke="{c}" stroke-width="1.5"/>')
        body.append(f'<line x1="{x:.1f}" y1="{yl:.1f}" x2="{x:.1f}" y2="{yh:.1f}" stroke="{c}" stroke-width="1.5"/>')
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{c}"><title>{escape(_label(e))}: violation '
                    f'{100 * v[0]:.1f}%, over-refusal {100 * o[0]:.1f}%</title></circle>')
    body += _legend(drawn, left, top + size + 60)
    body.insert(0, _text(left, 18, title, extra='font-weight="bold"'))
    return _svg(width + 200, top + size + 60 + 16 * len(drawn) + 10, title, body)
