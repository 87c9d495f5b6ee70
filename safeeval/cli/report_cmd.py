"""`safeeval report`: a finished run's rates, its task metrics, and its records to read by eye."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from safeeval.errors import SafeevalError


class Fmt(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"


def read_summary(path: Path) -> dict[str, Any]:
    """A summary file, or one line saying why not (an unfinished run is told how to finish)."""
    run_dir = path.parent
    if not run_dir.is_dir():
        raise SafeevalError(f"{run_dir}: run folder does not exist")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if (run_dir / "manifest.json").exists():
            raise SafeevalError(f"{path}: no summary; the run did not finish: finish it with "
                                f"`safeeval run --resume {run_dir}`") from None
        raise SafeevalError(f"{run_dir}: not a run folder (no manifest.json)") from None
    except json.JSONDecodeError as exc:
        raise SafeevalError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(summary, dict):
        raise SafeevalError(f"{path}: not a run summary (expected a JSON object)")
    return summary


def run_context(run_dir: Path) -> tuple[dict[str, Any] | None, list[Any]]:
    """The run's seed, limit and judges per task, and its records; (None, []) for a folder without a manifest."""
    from safeeval import report
    from safeeval.results import open_run

    if not (run_dir / "manifest.json").exists():
        return None, []
    run = open_run(run_dir)
    return report.run_context(run.manifest, run.records), run.records


def report_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder (results/<run-id>)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table, md, csv or json."),
    summary_name: str = typer.Option("summary.json", "--summary", help="Which summary file (e.g. after rejudge)."),
    samples: int = typer.Option(0, "--samples", "-s", min=0,
                                help="Print this many records per task to read by eye: prompt, answer, verdict, "
                                     "reason and score."),
    keys: list[str] = typer.Option([], "--key", "-k", help="Print the record with this key (repeatable), "
                                                           "e.g. a key the gate listed."),
) -> None:
    """Print a run's rates with 95% intervals and inconclusive shares, per task, attack and category,
    with each task's judge and own metrics; or, with --samples/--key, the records themselves."""
    from safeeval import report

    if samples or keys:
        ctx, records = run_context(run_dir)
        if ctx is None:
            raise SafeevalError(f"{run_dir}: run folder does not exist" if not run_dir.is_dir()
                                else f"{run_dir}: not a run folder (no manifest.json)")
        sys.stdout.write("\n".join(report.sample_lines(records, samples, keys)) + "\n")
        return
    summary = read_summary(run_dir / summary_name)
    if fmt is Fmt.json:
        sys.stdout.write(report.to_json(summary) + "\n")
        return
    if fmt is Fmt.csv:
        sys.stdout.write(report.to_csv(summary))
        return
    ctx, _ = run_context(run_dir)
    if fmt is Fmt.md:
        sys.stdout.write(report.to_markdown(summary, ctx) + "\n")
        return
    from safeeval.cli.display import print_report

    print_report(summary, ctx)
