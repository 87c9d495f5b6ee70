"""Small statistics helpers: intervals reported with every rate."""

from __future__ import annotations

import math
from typing import Any


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(k: int, n: int) -> dict[str, float | int | None]:
    """A rate with its 95% Wilson interval, as reported in summaries."""
    low, high = wilson(k, n)
    return {"k": k, "n": n, "rate": (k / n) if n else None, "ci_low": low, "ci_high": high}


def outcome_rate(k: int, n: int, inconclusive: int = 0, errors: int = 0, z: float = 1.96) -> dict[str, Any]:
    """A violation rate over conclusive samples, its interval widened by the inconclusive ones.

    `k` of `n` conclusive samples are violations; `inconclusive` samples measured nothing
    and `errors` failed. The rate is k / n. Its 95% interval is the Wilson interval of
    k of n, widened to the bounds the inconclusive samples allow:

        ci_low  = min(wilson_low(k, n),  wilson_low(k, n + i))       every inconclusive one safe
        ci_high = max(wilson_high(k, n), wilson_high(k + i, n + i))  every inconclusive one a violation

    so a run that measured little cannot look precise. `ci_conclusive` keeps the plain
    Wilson interval of the conclusive samples. Errors enter no rate: they are counted,
    with their share of all samples, as are the inconclusive ones.
    """
    i, total = inconclusive, n + inconclusive + errors
    low, high = wilson(k, n, z)
    if i:
        low = min(low, wilson(k, n + i, z)[0])
        high = max(high, wilson(k + i, n + i, z)[1])
    conclusive = list(wilson(k, n, z))
    return {"k": k, "n": n, "rate": (k / n) if n else None, "ci_low": low, "ci_high": high,
            "ci_conclusive": conclusive, "inconclusive": i, "inconclusive_rate": (i / total) if total else None,
            "errors": errors, "error_rate": (errors / total) if total else None}
