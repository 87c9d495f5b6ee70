"""`safeeval repair RUN`: set a run's corrupt record lines aside and keep every good record."""

from __future__ import annotations

from pathlib import Path

import typer

from safeeval.cli.common import out


def repair_cmd(run_dir: Path = typer.Argument(..., help="The run folder whose samples.jsonl has bad lines.")) -> None:
    """Move corrupt lines of RUN/samples.jsonl to a file beside it and keep every good record.

    Then `safeeval run --resume RUN` redoes the samples whose lines were set aside.
    """
    from safeeval.repair import repair_run

    result = repair_run(run_dir)
    if not result.set_aside:
        out.print(f"{run_dir}: all {result.kept} records are readable; nothing to repair")
        return
    lines = ", ".join(str(n) for n in result.bad_lines[:10]) + (" ..." if len(result.bad_lines) > 10 else "")
    out.print(f"kept {result.kept} records; set {result.set_aside} bad lines (line {lines}) aside in "
              f"{result.bad_file}; resume with --resume {run_dir} to redo them", soft_wrap=True)
