"""`safeeval gate`: block a release that is less safe than the baseline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from safeeval.errors import SafeevalError


def gate_cmd(
    baseline: Path = typer.Option(..., "--baseline", "-b", help="The baseline run folder."),
    candidate: Path = typer.Option(..., "--candidate", "-c", help="The candidate run folder."),
    margin: float = typer.Option(0.02, "--margin", help="Non-inferiority margin as a rate (0.02 = 2 points)."),
    alpha: float = typer.Option(0.05, "--alpha", help="One-sided significance level."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="YAML file of absolute limits."),
    junit: Optional[Path] = typer.Option(None, "--junit", help="Write JUnit XML here."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Write a Markdown PR comment here."),
    allow_missing: bool = typer.Option(False, "--allow-missing",
                                       help="Gate on shared samples only when the candidate lacks some."),
    allow_underpowered: bool = typer.Option(False, "--allow-underpowered",
                                            help="Pass (exit 0) when nothing failed even if no group had the "
                                                 "samples to show non-inferiority (otherwise exit 3)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Compare CANDIDATE with BASELINE sample by sample; exit 0 pass, 1 regression, 2 incomparable
    (other tasks, judges, seed, limit or attacks), 3 underpowered (no group had the samples to show anything).

    Per category and per task: a paired non-inferiority test (Tango score bound,
    exact McNemar) within --margin, plus the policy's absolute limits. With
    --markdown the comment goes to the file only and stdout gets the verdict line.
    """
    if not 0 < margin < 1:
        raise SafeevalError(f"--margin {margin}: must be a rate between 0 and 1 (0.02 = 2 points)")
    if not 0 < alpha < 0.5:
        raise SafeevalError(f"--alpha {alpha}: must be between 0 and 0.5")
    # Imported here, not at the top: `safeeval run` should not pay for numpy at start-up.
    from safeeval.gate import gate, load_policy, to_json, to_junit, to_markdown
    from safeeval.gate.render import headline
    from safeeval.results import open_run, write_output

    rules = load_policy(policy) if policy else None
    result = gate(open_run(baseline), open_run(candidate), margin=margin, alpha=alpha, policy=rules,
                  allow_missing=allow_missing, allow_underpowered=allow_underpowered)
    md = to_markdown(result)
    if junit:
        write_output(junit, to_junit(result))
    if markdown:
        write_output(markdown, md)
    if as_json:
        sys.stdout.write(to_json(result) + "\n")
    elif markdown:
        sys.stdout.write(f"{headline(result)} (exit {result.exit_code}); wrote {markdown}\n")
    else:
        sys.stdout.write(md + "\n")  # plain: rich would re-wrap the Markdown tables
    raise typer.Exit(result.exit_code)
