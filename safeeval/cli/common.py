"""Shared CLI helpers: consoles, tables and the one-line error convention."""

from __future__ import annotations

import json
import sys
from typing import Any


class LazyConsole:
    """A rich Console, made on first use.

    Importing rich costs about 25 ms, and a `run --json` whose progress goes to a
    pipe never needs it: it only adds to the delay before the first request.
    """

    def __init__(self, **options: Any):
        self._options = options
        self._console: Any = None

    def console(self) -> Any:
        """The Console itself, for what takes one (a progress bar)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:  # only for what the Console itself has
        return getattr(self.console(), name)


out = LazyConsole()
err = LazyConsole(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.print(f"[dim]{title}: nothing to show[/dim]")
        return
    from rich.table import Table

    table = Table(title=title)
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out.print(table)
