"""Retry policy as pure functions: what to retry, and how long to wait.

Retries happen in exactly one layer: the model adapter's request loop calls
these functions, and nothing above or below it retries (the openai SDK's own
retries stay off, and the runner never re-sends a prompt). A server's
`Retry-After` always beats our own backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

# Statuses worth another try: rate limits, overload, and transient server faults.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})
RATE_LIMIT_STATUSES = frozenset({429, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how the exponential backoff grows."""

    max_retries: int = 4
    base_s: float = 0.25
    cap_s: float = 8.0
    # A Retry-After longer than this is not waited out: the sample is recorded
    # as an error instead of stalling the run for minutes.
    max_retry_after_s: float = 120.0


def should_retry_status(status: int) -> bool:
    """True for HTTP statuses that are transient (429, 5xx and friends)."""
    return status in RETRY_STATUSES


def is_rate_limit(status: int) -> bool:
    """True when the server says we are sending too much (shrink concurrency)."""
    return status in RATE_LIMIT_STATUSES


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds)


def backoff_s(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter for retry number `attempt` (0-based)."""
    ceiling = min(policy.cap_s, policy.base_s * (2 ** attempt))
    return (rng or random).uniform(ceiling / 2, ceiling)


def retry_delay(attempt: int, policy: RetryPolicy, retry_after: float | None = None,
                rng: random.Random | None = None) -> float | None:
    """Seconds to wait before retry `attempt` (0-based), or None to give up.

    The server's Retry-After wins over backoff; a Retry-After longer than the
    policy allows gives up rather than stalling the run.
    """
    if attempt >= policy.max_retries:
        return None
    if retry_after is not None:
        if retry_after > policy.max_retry_after_s:
            return None
        return retry_after
    return backoff_s(attempt, policy, rng)
