"""`safeeval merge`: combine the run folders of `--shard i/n` jobs into one run folder."""

from __future__ import annotations

from pathlib import Path

import typer

from safeeval.cli.common import err, out, print_json

INCOMPLETE_EXIT = 1  # merged, but samples are missing or conflict: not a result to publish yet


def _listed(keys: list[str]) -> str:
    from safeeval.engine.merge import SHOWN

    more = f" (+{len(keys) - SHOWN} more)" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def merge_cmd(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders to combine (e.g. the --shard i/n slices)."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="The merged run folder to create."),
    tasks_dir: list[Path] = typer.Option([], "--tasks-dir", help="Extra task folder the runs used (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the merge report as JSON."),
) -> None:
    """Merge run folders into one and report missing or duplicate samples.

    The runs must agree on model, task versions and data, attacks, judges,
    seed, limit and generation settings (else exit 2). Exits 1 when samples
    are missing or two runs disagree on a sample; `safeeval run --resume OUT`
    then runs just the missing ones.
    """
    from safeeval.engine.merge import merge  # lazily, like the other heavy commands

    report = merge(run_dirs, out_dir, tasks_dir)
    if as_json:
        print_json({**report.model_dump(mode="json"), "complete": report.complete})
    else:
        expected = f" of {report.expected} expected" if report.expected is not None else ""
        out.print(f"merged {len(report.inputs)} runs into {report.out}: {report.records} records{expected}",
                  highlight=False)
        if report.duplicates:
            err.print(f"{len(report.duplicates)} duplicate samples (first kept): {_listed(report.duplicates)}",
                      markup=False, highlight=False)
        if report.conflicts:
            err.print(f"{len(report.conflicts)} duplicates with different answers or verdicts: "
                      f"{_listed(report.conflicts)}", markup=False, highlight=False)
        if report.missing_shards:
            err.print(f"shards not given: {', '.join(report.missing_shards)}", markup=False, highlight=False)
        if report.missing:
            err.print(f"{len(report.missing)} samples missing: {_listed(report.missing)}; "
                      f"run them with: safeeval run --resume {report.out}", markup=False, highlight=False)
        if report.unchecked:
            err.print(f"missing samples not checked: {report.unchecked}", markup=False, highlight=False)
    if report.missing or report.conflicts or report.missing_shards:
        raise typer.Exit(INCOMPLETE_EXIT)
