"""What the CLI draws on a terminal: tables that fit its width, and the report's notes.

A table keeps its first column (task or category names) whole: when the rows
do not fit, columns are left out, least useful first, and a line says which.
"""

from __future__ import annotations

from typing import Any

from safeeval import report
from safeeval.cli.common import out

# Columns left out first when a table is too wide, in this order.
DROP_ORDER = ("judge", "corr [95% CI]", "err", "inc ", "inc", "n", "subcategory", "version", "category",
              "measure", "card", "samples")
PAD = 3  # a cell's padding (one space each side) and the blank column divider after it


def _width(col: str, rows: list[dict[str, str]]) -> int:
    from rich.cells import cell_len

    return max(cell_len(col), *(cell_len(str(r.get(col, ""))) for r in rows))


def _numeric(col: str, rows: list[dict[str, str]]) -> bool:
    """Columns of numbers and rates align right; names and text align left."""
    return all(str(r.get(col, "")).lstrip("–-")[:1].isdigit() or str(r.get(col, "")) in ("–", "", "no card")
               for r in rows)


def fit_columns(rows: list[dict[str, str]], width: int, drop_order: tuple[str, ...] = DROP_ORDER) -> list[str]:
    """The columns of `rows` that fit in `width` cells, dropping the ones named in `drop_order` first."""
    cols = list(rows[0])
    widths = {c: _width(c, rows) for c in cols}
    for col in drop_order:
        if sum(widths[c] + PAD for c in cols) - 1 <= width:
            break
        if col in cols and col != cols[0]:
            cols.remove(col)
    return cols


def print_fitted(title: str, rows: list[dict[str, str]], width: int | None = None,
                 drop_order: tuple[str, ...] = DROP_ORDER) -> list[str]:
    """Print `rows` as a table no wider than the terminal; returns the columns shown."""
    if not rows:
        out.print(f"[dim]{title}: nothing to show[/dim]")
        return []
    from rich import box
    from rich.table import Table

    width = width or out.size.width
    cols = fit_columns(rows, width, drop_order)
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=True, title_justify="left",
                  show_edge=False)
    for i, col in enumerate(cols):
        # The name column never wraps or shrinks; the others may wrap if the terminal is tiny.
        table.add_column(col.strip(), no_wrap=i == 0, min_width=_width(col, rows) if i == 0 else None,
                         justify="right" if _numeric(col, rows) else "left")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in cols))
    out.print(table)
    return cols


def print_report(summary: dict[str, Any], ctx: dict[str, Any] | None = None, width: int | None = None) -> None:
    """A run's tables for a terminal: tasks, metrics, attacks, categories last, then the notes."""
    shown = report.tables(summary, (ctx or {}).get("judges"), compact=True)
    left_out: list[str] = []
    kept = {}
    for title, rows in shown.items():
        cols = print_fitted(title, rows, width)
        kept[title] = [{c: r[c] for c in cols} for r in rows]
        left_out += [c.strip() for c in rows[0] if c not in cols and c.strip() not in left_out]
    if ctx:
        out.print(f"run: {report.context_line(ctx)}", markup=False, highlight=False)
    for line in report.legend(kept, summary):
        out.print(line, markup=False, highlight=False, style="dim")
    if left_out:
        out.print(f"left out at this width: {', '.join(left_out)} (widen the terminal, or use "
                  f"`safeeval report RUN --format md`)", markup=False, highlight=False, style="dim")
