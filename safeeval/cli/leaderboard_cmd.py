"""`safeeval leaderboard`: build the static leaderboard site from run folders."""

from __future__ import annotations

from pathlib import Path

import typer

from safeeval.cli.common import out


def leaderboard_cmd(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders (results/<run-id>)."),
    out_dir: Path = typer.Option(Path("site"), "--out", "-o", help="Folder that receives the site."),
) -> None:
    """Build a static site (index.html, a page per run, plots, leaderboard.md/.csv/.json) from RUN_DIRS.

    Runs are ranked together only when task versions, data hashes, judges,
    attacks and sample subsets match; other runs are grouped apart with the reason.
    """
    from safeeval.leaderboard import build_site  # lazily: numpy and pandas are slow to import

    board = build_site(run_dirs, out_dir)
    for g in board.groups:
        ranked = sum(1 for e in g.entries if e.rank)
        why = f" (apart: {'; '.join(g.reasons)})" if g.reasons else ""
        out.print(f"group {g.id + 1}: {len(g.entries)} runs, {ranked} ranked{why}", markup=False, highlight=False)
    out.print(f"wrote {out_dir / 'index.html'}", markup=False, highlight=False)
