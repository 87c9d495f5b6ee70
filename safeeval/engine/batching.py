"""Cut a stream of answers into batches for judging and writing.

Two policies, for two kinds of model:

- `quiet_batches`, for an endpoint. Answers come back in bursts: a
  concurrency-64 run sends 64 requests, and their answers land within a few
  milliseconds of each other. Judging and writing a batch in the middle of a
  burst keeps the event loop busy while the rest of that burst waits in its
  sockets, and each of those answers sends its next request that much later.
  On the 2,000-prompt loopback benchmark, batches of 16 cut mid-burst made the
  request phase about 0.1 s (1.5%) longer than with no judging at all; batches
  cut at the pauses did not (benchmarks/README.md).
- `size_batches`, for a model computing on this machine. Its next answers are
  pulled only after a batch is judged, so a judge's own model (the harm
  judge's MiniLM) never competes with generation for the same two cores. With
  `quiet_batches` instead, the main job took 10 min 9 s against 9 min 56 s,
  and its two harm-judged tasks 60 s against 14 s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class _Failure:
    """The source's exception, queued behind the items that came before it."""

    def __init__(self, error: Exception):
        self.error = error


_END = object()


class _Pending:
    """Items not yet handed on, and when the first of them came."""

    def __init__(self, max_items: int, max_age_s: float):
        self.items: list = []
        self.max_items, self.max_age_s = max_items, max_age_s
        self.started = 0.0

    def add(self, item: object, now: float) -> bool:
        """Keep `item`; True when the batch is due: full, or its first item `max_age_s` old."""
        if not self.items:
            self.started = now
        self.items.append(item)
        return len(self.items) >= self.max_items or now - self.started >= self.max_age_s

    def take(self) -> list:
        batch, self.items = self.items, []
        return batch


async def quiet_batches(source: AsyncIterator[T], quiet_s: float, max_items: int,
                        max_age_s: float) -> AsyncIterator[list[T]]:
    """Yield `source`'s items in lists: when it has sent nothing for `quiet_s`, when a list
    reaches `max_items`, or when an item arrives `max_age_s` after the list's first one.

    An exception from `source` comes after a last list of the items before it, so
    they can still be written. Closing this generator closes `source`. Use it under
    `contextlib.aclosing`.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def pump() -> None:
        # A task of its own, so the source's items arrive while the consumer works.
        try:
            async with contextlib.aclosing(source):
                async for item in source:
                    queue.put_nowait(item)
        except Exception as exc:  # noqa: BLE001 - handed on to the consumer, in order
            queue.put_nowait(_Failure(exc))
            return
        queue.put_nowait(_END)

    task = asyncio.ensure_future(pump())
    pending = _Pending(max_items, max_age_s)
    try:
        while True:
            if pending.items and queue.empty():
                try:
                    async with asyncio.timeout(quiet_s):
                        item = await queue.get()
                except TimeoutError:  # the source paused: the consumer's turn
                    yield pending.take()
                    continue
            else:
                item = await queue.get()
            if item is _END:
                break
            if isinstance(item, _Failure):
                if pending.items:
                    yield pending.take()
                raise item.error
            if pending.add(item, loop.time()):
                yield pending.take()
        if pending.items:
            yield pending.take()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def size_batches(source: AsyncIterator[T], max_items: int, max_age_s: float) -> AsyncIterator[list[T]]:
    """Yield `source`'s items in lists of `max_items`, or fewer when an item arrives
    `max_age_s` after the list's first one. Nothing is read ahead.

    An exception from `source` comes after a last list of the items before it.
    Closing this generator closes `source`.
    """
    loop = asyncio.get_running_loop()
    pending = _Pending(max_items, max_age_s)
    async with contextlib.aclosing(source):
        try:
            async for item in source:
                if pending.add(item, loop.time()):
                    yield pending.take()
        except Exception:
            if pending.items:
                yield pending.take()
            raise
        if pending.items:
            yield pending.take()
