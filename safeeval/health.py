"""Whether a run measured anything: the exit code a CI can trust, and the one line that says why.

A run whose answers are mostly errors (a 401 on every request, a hung
endpoint, a replay file that matches no sample) or that ran no sample at all
must never look like a pass. `assess` reads the records and returns the
verdict the summary carries (`summary["health"]`) and the CLI exits with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from safeeval.schema import SampleRecord

EXIT_OK = 0
EXIT_TOO_MANY_ERRORS = 4  # more errored samples than --max-error-rate allows (all of them included)
EXIT_NOTHING_RUN = 5      # the run has no samples at all
DEFAULT_MAX_ERROR_RATE = 0.02  # `safeeval run`; the gate allows none
NO_RECORDED_ANSWER = "no recorded answer for"  # the replay adapter's error for an unmatched sample


class Health:
    """`assess`, taking records one at a time (the runner feeds it as records are written);
    it keeps counts and the first error, so memory does not grow with the run."""

    def __init__(self, max_error_rate: float | None = None) -> None:
        self.limit = DEFAULT_MAX_ERROR_RATE if max_error_rate is None else float(max_error_rate)
        self.n = self.errors = self.unmatched = 0
        self.first_error = ""

    def add(self, record: SampleRecord) -> None:
        self.n += 1
        error = record.response.error
        if error:
            if not self.errors:
                self.first_error = error
            self.errors += 1
            self.unmatched += error.startswith(NO_RECORDED_ANSWER)

    def result(self) -> dict[str, Any]:
        """{"exit_code", "line", "errors", "samples", "error_rate", "max_error_rate"}."""
        n, errors, limit = self.n, self.errors, self.limit
        rate = errors / n if n else 0.0
        out = {"samples": n, "errors": errors, "error_rate": round(rate, 4), "max_error_rate": limit}
        if n == 0:
            return {**out, "exit_code": EXIT_NOTHING_RUN,
                    "line": "FAILED: nothing was measured: the run has no samples (empty data, or a --limit, "
                            "--shard or task selection that leaves none)"}
        if errors and self.unmatched == errors == n:
            return {**out, "exit_code": EXIT_TOO_MANY_ERRORS,
                    "line": f"FAILED: the replay file matched none of the {n} samples (it needs their task/sample_id "
                            f"keys); nothing was measured"}
        if errors == n:
            return {**out, "exit_code": EXIT_TOO_MANY_ERRORS,
                    "line": f"FAILED: every answer errored ({n} of {n}), nothing was measured; first error: "
                            f"{self.first_error[:160]}"}
        if rate > limit:
            return {**out, "exit_code": EXIT_TOO_MANY_ERRORS,
                    "line": f"FAILED: {errors} of {n} samples errored ({rate:.1%}), more than "
                            f"--max-error-rate {limit:g}; redo them with --retry-errors RUN_DIR"}
        return {**out, "exit_code": EXIT_OK,
                "line": f"OK: {n - errors} of {n} samples answered ({errors} errored, "
                        f"--max-error-rate {limit:g})"}


def assess(records: Iterable[SampleRecord], max_error_rate: float | None = None) -> dict[str, Any]:
    """{"exit_code", "line", "errors", "samples", "error_rate", "max_error_rate"} for a run's records."""
    health = Health(max_error_rate)
    for record in records:
        health.add(record)
    return health.result()
