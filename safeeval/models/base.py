"""The model interface: one async batch API over every backend.

`stream(prompts)` yields (prompt, response) pairs as they finish, so the
runner can judge and write records while the rest still generate. A backend
that fails on a prompt returns a `Response` with `error` set: never raises
mid-run for one bad sample, and never drops it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from safeeval.schema import Prompt, Response

ADAPTERS: dict[str, type[ModelAdapter]] = {}


class ModelAdapter:
    """Base class. Subclasses set `prefix` (the part before ':' in --model)."""

    prefix: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # What an adapter can do, declared here so the engine reads attributes, not guesses:
    # remote: the answers are computed elsewhere (an endpoint), so judging may go on while
    # requests are in flight; False when they are computed on this machine's cores.
    remote: ClassVar[bool] = False
    # cacheable: its answers go into the shared answer cache (engine.cache) under `cache_id`;
    # replaying recorded answers, for one, gains nothing from a cache.
    cacheable: bool = False
    # batch_size: prompts generated together (local models); None for one request at a time.
    batch_size: int | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.prefix:
            ADAPTERS[cls.prefix] = cls

    def __init__(self, target: str = "", **options: Any):
        self.target = target
        self.options = options

    @property
    def model_id(self) -> str:
        """The id that names this model in records and cache keys."""
        return f"{self.prefix}:{self.target}" if self.target else self.prefix

    @property
    def cache_id(self) -> str:
        """The identity its answers are cached under: the model id unless a backend needs more
        (an endpoint's base URL, a local model's file)."""
        return self.model_id

    def spec(self) -> dict[str, Any]:
        """What the manifest records: the adapter and its options, no secrets."""
        hidden = {"api_key", "headers", "authorization"}
        return {"id": self.model_id, "adapter": self.prefix,
                **{k: v for k, v in self.options.items() if k.lower() not in hidden and v is not None}}

    async def start(self) -> None:
        """Load the model or check the endpoint config; called before the run folder exists,
        so a missing model fails without leaving a half-made run behind."""

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[tuple[Prompt, Response]]:
        raise NotImplementedError
        yield  # pragma: no cover  (makes this an async generator)

    async def generate(self, prompts: list[Prompt]) -> list[Response]:
        """All responses, in the order of `prompts`."""
        by_key: dict[str, Response] = {}
        async for prompt, response in self.stream(prompts):
            by_key[prompt.key] = response
        return [by_key[p.key] for p in prompts]

    async def aclose(self) -> None:
        """Release the model or connections."""
