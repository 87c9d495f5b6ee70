"""engine.batching: batches cut at the source's pauses (quiet_batches) or by size (size_batches), and by age;
errors and closing."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from safeeval.engine.batching import quiet_batches, size_batches


async def bursts(sizes: list[int], pause_s: float, log: list[str] | None = None):
    """Bursts of consecutive integers with a pause after each burst."""
    n = 0
    try:
        for size in sizes:
            for _ in range(size):
                yield n
                n += 1
            await asyncio.sleep(pause_s)
    finally:
        if log is not None:
            log.append("closed")


async def collect(source, quiet_s: float = 0.03, max_items: int = 100, max_age_s: float = 10.0) -> list[list[int]]:
    async with contextlib.aclosing(quiet_batches(source, quiet_s, max_items, max_age_s)) as batches:
        return [batch async for batch in batches]


def test_batches_end_where_the_source_pauses() -> None:
    got = asyncio.run(collect(bursts([3, 5, 2], pause_s=0.15)))
    assert got == [[0, 1, 2], [3, 4, 5, 6, 7], [8, 9]]


def test_a_batch_never_exceeds_max_items() -> None:
    got = asyncio.run(collect(bursts([7], pause_s=0.15), max_items=3))
    assert got == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_steady_trickle_is_cut_by_age() -> None:
    async def trickle():
        for i in range(12):
            yield i
            await asyncio.sleep(0.01)  # never a pause as long as quiet_s

    got = asyncio.run(collect(trickle(), quiet_s=1.0, max_age_s=0.035))
    assert [i for batch in got for i in batch] == list(range(12))
    assert len(got) >= 3 and all(len(batch) <= 6 for batch in got)


def test_items_before_an_error_come_out_before_it() -> None:
    async def failing():
        yield 0
        yield 1
        raise RuntimeError("endpoint gone")

    seen: list[list[int]] = []

    async def main() -> None:
        async with contextlib.aclosing(quiet_batches(failing(), 0.03, 100, 10.0)) as batches:
            async for batch in batches:
                seen.append(batch)

    with pytest.raises(RuntimeError, match="endpoint gone"):
        asyncio.run(main())
    assert seen == [[0, 1]]


def test_stopping_early_closes_the_source() -> None:
    log: list[str] = []

    async def main() -> list[int]:
        async with contextlib.aclosing(quiet_batches(bursts([2, 2, 2], 0.1, log), 0.03, 100, 10.0)) as batches:
            async for batch in batches:
                return batch
        return []

    assert asyncio.run(main()) == [0, 1]
    assert log == ["closed"]


def test_size_batches_read_nothing_ahead_of_the_consumer() -> None:
    pulled: list[int] = []

    async def source():
        for i in range(5):
            pulled.append(i)
            yield i

    async def main() -> list[tuple[list[int], list[int]]]:
        seen = []
        async with contextlib.aclosing(size_batches(source(), 2, 10.0)) as batches:
            async for batch in batches:
                seen.append((batch, list(pulled)))  # what the source had produced when the batch came
        return seen

    assert asyncio.run(main()) == [([0, 1], [0, 1]), ([2, 3], [0, 1, 2, 3]), ([4], [0, 1, 2, 3, 4])]


def test_size_batches_cut_by_age_and_hand_on_items_before_an_error() -> None:
    async def slow_then_failing():
        yield 0
        await asyncio.sleep(0.05)
        yield 1  # arrives after max_age_s: the batch [0, 1] goes out now
        yield 2
        raise RuntimeError("endpoint gone")

    seen: list[list[int]] = []

    async def main() -> None:
        async with contextlib.aclosing(size_batches(slow_then_failing(), 100, 0.02)) as batches:
            async for batch in batches:
                seen.append(batch)

    with pytest.raises(RuntimeError, match="endpoint gone"):
        asyncio.run(main())
    assert seen == [[0, 1], [2]]
