"""Work items that take several model calls: task kinds with a driver.

A driver is `drive(items, generate)`, an async iterator of (item prompt, Response):
it asks `generate(prompts)` (the cached model stream) for as many rounds as it needs
and yields one response per work item, which is then judged and recorded like any
other. The engine knows a driver only by its task kind and import path, here; what
happens between the rounds (an agent's tools and environment) is the driver's business.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from safeeval.engine.cache import Cache, cached_stream
from safeeval.schema import Prompt, Response

# task kind -> "module:function" of its driver
DRIVERS: dict[str, str] = {"agent": "safeeval.agents.episode:drive"}


def driver_for(kind: str) -> Callable[..., AsyncIterator[tuple[Prompt, Response]]] | None:
    """The driver of a task kind, or None for kinds answered in one call."""
    target = DRIVERS.get(kind)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


async def work_stream(model: Any, items: list[Any], cache: Cache | None) -> AsyncIterator[tuple[Prompt, Response]]:
    """(prompt, response) for every work item: one-call items from the cached model stream,
    then each driven kind's items through its driver (its rounds go through the same cache)."""
    driven: dict[str, list[Any]] = {}
    plain = []
    for item in items:
        kind = item.task.spec.kind
        (driven.setdefault(kind, []) if kind in DRIVERS else plain).append(item)
    if plain:
        async for pair in cached_stream(model, [it.prompt for it in plain], cache):
            yield pair
    for kind, group in driven.items():
        drive = driver_for(kind)
        async for pair in drive(group, lambda prompts: cached_stream(model, prompts, cache)):
            yield pair
