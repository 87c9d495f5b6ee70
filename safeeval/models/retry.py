"""Retry policy: what to retry, how long to wait, and how many requests to keep in flight.

Retries happen in exactly one layer: the model adapter's request loop calls
these functions, and nothing above or below it retries (the openai SDK's own
retries stay off, and the runner never re-sends a prompt). A server's
`Retry-After` always beats our own backoff.
"""

from __future__ import annotations

import asyncio
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


class AdaptiveLimit:
    """Requests in flight: at most `maximum`, lowered to what the server accepts.

    A 429 that comes back while `in_flight` requests were out says the server
    takes fewer than that: the limit drops to `in_flight - 1` (never below 1),
    so a burst of refusals walks it down to the server's own cap in one pass.
    The limit then creeps up by one per `limit` successes, and past the last
    refused level only once per eight times as many, so it sits at the cap
    instead of probing it over and over. A request waiting out a Retry-After
    gives its slot back (see `OpenAIAdapter.complete`).
    """

    def __init__(self, maximum: int):
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.active = 0
        self.ceiling: int | None = None  # the limit the last 429 left
        self._credit = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def release(self) -> None:
        async with self._cond:
            self.active -= 1
            self._cond.notify()

    def rate_limited(self, in_flight: int | None = None) -> None:
        """The server refused a request sent while `in_flight` were out (default: the active count)."""
        seen = self.active if in_flight is None else in_flight
        self.limit = max(1, min(self.limit, seen - 1))
        self.ceiling, self._credit = self.limit, 0

    async def succeeded(self) -> None:
        if self.limit >= self.maximum:
            return
        self._credit += 1
        need = self.limit * (8 if self.ceiling is not None and self.limit >= self.ceiling else 1)
        if self._credit >= need:
            self._credit = 0
            async with self._cond:
                self.limit += 1
                self._cond.notify()
