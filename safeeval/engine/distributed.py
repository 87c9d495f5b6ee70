"""The Ray executor: generation on Ray worker actors, judging in its own actor.

`distribute(model, judges, options)` wraps a run's (not yet loaded) model
adapter and judges. The runner keeps using them through the usual
interfaces, so it stays the single writer of `samples.jsonl`: the cache,
resume and the lock behave as in a local run, and a run started locally can
be resumed on Ray or the other way round (the manifest records the model,
not the executor).

- Each worker actor holds its own copy of the adapter (the embedded model or
  transformers on CPU, a vLLM engine on `gpus_per_worker` GPUs) and loads it
  once. The pending prompts are cut into work units; idle workers pull the
  next unit, and responses stream back to the driver one by one.
- The judges live in a separate actor with its own resources (`judge_gpus`),
  so the target and the judge do not share a device.
- A worker that dies (killed, OOM, node lost) is killed for good and replaced;
  the unfinished part of its unit goes back to the front of the queue for
  whichever worker is free first. Its finished prompts were already received
  and are not sent again, and the driver drops any key it has already seen,
  so no record is lost or duplicated.

Ray is imported only here and only when the executor is used.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from safeeval.engine.plan import RunOptions
from safeeval.engine.ray_actors import JudgeHost, ModelWorker
from safeeval.engine.shard import chunk
from safeeval.errors import RunInterrupted, SafeevalError
from safeeval.judges.base import Judge, JudgeInput
from safeeval.models.base import ModelAdapter
from safeeval.schema import Prompt, Response, Verdict

log = logging.getLogger("safeeval.ray")
WORKER_PREFIX = "safeeval-worker-"


class RayOptions(BaseModel):
    """How to lay a run out on a Ray cluster (filled from `safeeval run` options)."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = None          # None: RAY_ADDRESS, else a local cluster
    workers: int | None = None          # None: as many as the cluster's CPUs or GPUs allow
    gpus_per_worker: float = 0.0
    cpus_per_worker: float | None = None  # None: the CPUs split evenly (1 per GPU worker)
    judge_gpus: float = 0.0
    judge_cpus: float = 0.0             # keyword judges need next to nothing
    unit_size: int | None = None        # prompts per work unit; None: about 4 units per worker
    max_failures: int | None = None     # worker deaths tolerated; None: 2 per worker, at least 3
    place_timeout_s: float = 300.0      # how long an actor may wait for free resources


def _ray():
    try:
        import ray
    except ImportError:
        raise SafeevalError("--executor ray needs Ray: pip install 'safeeval[ray]'") from None
    return ray


def _worker_lost(exc: BaseException) -> bool:
    """Errors that mean the worker process or its node is gone (retry elsewhere)."""
    from ray import exceptions as rx

    lost = tuple(getattr(rx, n) for n in ("RayActorError", "ObjectLostError", "WorkerCrashedError",
                                           "NodeDiedError") if hasattr(rx, n))
    return isinstance(exc, lost)


def _unwrap(exc: BaseException) -> BaseException:
    """A user error raised inside an actor comes back as itself, not as a Ray wrapper."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, SafeevalError) else exc


# ---------------------------------------------------------------- driver side


class RayPool:
    """The cluster connection, the worker actors and the judge actor of one run."""

    def __init__(self, adapter: ModelAdapter, judges: dict[str, Judge], options: RayOptions):
        self.adapter = adapter
        self.judges = judges
        self.options = options
        self.tag = uuid.uuid4().hex[:8]
        self.workers: list[Any] = []
        self.judge_actor: Any = None
        self.failures = 0
        self.requeued = 0
        self.cpus = self.gpus = 0.0
        self._owns_ray = False
        self._serial = 0

    # -- cluster
    def connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            # Ray starts workers at nice 15 to spare its own daemons; here the workers
            # do the run's real work, so give them the driver's priority (override: set it).
            os.environ.setdefault("RAY_worker_niceness", "0")
            try:
                ray.init(address=self.options.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.options.address or os.environ.get("RAY_ADDRESS") or "a local cluster"
                raise SafeevalError(f"--ray-address {where}: cannot start or reach Ray: "
                                    f"{str(exc).splitlines()[0]}") from None
            self._owns_ray = True
        return ray

    def _layout(self, ray: Any) -> tuple[int, float, float]:
        """(workers, cpus per worker, gpus per worker) that fit this cluster."""
        total = ray.cluster_resources()
        cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
        node_cpus = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=cpus)
        g = self.options.gpus_per_worker
        if g + self.options.judge_gpus > gpus:
            raise SafeevalError(f"--gpus-per-worker {g:g} and --judge-gpus {self.options.judge_gpus:g}: "
                                f"the Ray cluster has {gpus:g} GPUs")
        n = self.options.workers
        if n is None:  # as many workers as fit next to the judge
            n = int((gpus - self.options.judge_gpus) // g) if g else int(cpus)
        n = max(1, n)
        c = self.options.cpus_per_worker
        if c is None:
            c = 1.0 if g else max(1.0, min(node_cpus, math.floor(max(cpus - self.options.judge_cpus, 1) / n)))
        return n, c, g

    async def _place(self, actor: Any, what: str) -> None:
        try:
            await asyncio.wait_for(actor.ping.remote(), self.options.place_timeout_s)
        except asyncio.TimeoutError:
            _ray().kill(actor)
            raise SafeevalError(f"the Ray cluster could not place the {what} within "
                                f"{self.options.place_timeout_s:g} s; free resources or ask for fewer "
                                f"(--workers, --gpus-per-worker, --judge-gpus)") from None

    async def _new_worker(self) -> Any:
        ray = self.connect()
        name = f"{WORKER_PREFIX}{self.tag}-{self._serial}"
        self._serial += 1
        actor = ray.remote(ModelWorker).options(
            name=name, num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=0, max_concurrency=4,
        ).remote(self.adapter, int(self.cpus))
        await self._place(actor, f"model worker ({self.cpus:g} CPU, {self.gpus:g} GPU)")
        try:
            info = await actor.ready.remote()
        except Exception as exc:  # e.g. the model is missing on that node: one line, not a Ray trace
            _ray().kill(actor)
            raise _unwrap(exc) from None
        log.info("worker %s ready on %s (pid %s)", name, info["node"], info["pid"])
        return actor

    async def start(self) -> None:
        """Connect and start the workers, each loading the model (once per run)."""
        if self.workers:
            return
        ray = self.connect()
        n, self.cpus, self.gpus = self._layout(ray)
        self.workers = list(await asyncio.gather(*(self._new_worker() for _ in range(n))))

    async def replace(self, slot: int) -> Any:
        """Kill the worker in `slot` for good (it may only be unreachable) and start another."""
        try:
            _ray().kill(self.workers[slot])
        except Exception:  # already gone: nothing to release
            pass
        self.workers[slot] = await self._new_worker()
        return self.workers[slot]

    async def judge_host(self) -> Any:
        if self.judge_actor is None:
            ray = self.connect()
            self.judge_actor = ray.remote(JudgeHost).options(
                num_cpus=self.options.judge_cpus, num_gpus=self.options.judge_gpus, max_restarts=0,
            ).remote(self.judges)
            await self._place(self.judge_actor, f"judge actor ({self.options.judge_gpus:g} GPU)")
        return self.judge_actor

    async def shutdown(self) -> None:
        if not self.workers and self.judge_actor is None and not self._owns_ray:
            return
        ray = _ray()
        for actor in [*self.workers, self.judge_actor]:
            if actor is None:
                continue
            try:
                await asyncio.wait_for(actor.close.remote(), 30)
            except Exception:  # a dead or stuck actor: killing it below is all that is left
                pass
            ray.kill(actor)
        self.workers, self.judge_actor = [], None
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False


class RayModel(ModelAdapter):
    """A model adapter whose prompts are generated by the pool's worker actors."""

    def __init__(self, inner: ModelAdapter, pool: RayPool):
        super().__init__(inner.target, **inner.options)
        self.inner = inner
        self.pool = pool
        # The response cache (engine.cache) keys answers by the model, not the executor:
        # a Ray run and a local run of the same model share them.
        self.cacheable = inner.cacheable
        self.batch_size = inner.batch_size

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def cache_id(self) -> str:
        return self.inner.cache_id

    def spec(self) -> dict[str, Any]:
        return self.inner.spec()  # the executor does not change what is evaluated

    async def start(self) -> None:
        """Start the workers now (each loads the model), so a missing model fails early."""
        await self.pool.start()

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[tuple[Prompt, Response]]:
        if not prompts:
            return
        await self.pool.start()
        async for pair in _Dispatch(self.pool, prompts).run():
            yield pair

    async def aclose(self) -> None:
        await self.pool.shutdown()


class RayJudge(Judge):
    """Stands in for a judge on the driver; the scoring happens in the judge actor."""

    def __init__(self, inner: Judge, pool: RayPool):
        super().__init__(inner.name, inner.spec_version, **inner.options)
        self.inner = inner
        self.pool = pool
        # `cacheable` stays True even for a rule judge: a call to the judge actor costs more than a lookup.

    @property
    def id(self) -> str:
        return self.inner.id

    def prompt_hash(self) -> str:
        return self.inner.prompt_hash()

    async def score(self, items: list[JudgeInput]) -> list[Verdict]:
        for attempt in range(3):
            host = await self.pool.judge_host()
            try:
                return [Verdict.model_validate(v) for v in await host.score.remote(self.inner.name, items)]
            except Exception as exc:
                if not _worker_lost(exc) or attempt == 2:
                    raise _unwrap(exc) from None
                # Judging is idempotent: start a fresh judge actor and score the batch again.
                log.warning("judge actor died (%s); restarting it", type(exc).__name__)
                _ray().kill(host)
                self.pool.judge_actor = None
        raise AssertionError("unreachable")


def unit_size(prompts: int, workers: int, adapter: ModelAdapter) -> int:
    """Prompts per work unit: about 4 units per worker, in whole batches of the adapter.

    Small units balance the load and bound what a dead worker's replacement
    redoes; whole batches keep a unit from ending in a batch of 1 that costs
    a CPU model nearly as much as a full one (measured: benchmarks/scaling.md).
    """
    batch = max(1, int(adapter.batch_size or 1))
    size = math.ceil(prompts / (4 * max(1, workers)))
    return max(batch, math.ceil(size / batch) * batch)


class _Dispatch:
    """One `stream` call: work units out to the workers, responses back in arrival order."""

    def __init__(self, pool: RayPool, prompts: list[Prompt]):
        self.pool = pool
        self.by_key = {p.key: p for p in prompts}
        size = pool.options.unit_size or unit_size(len(prompts), len(pool.workers), pool.adapter)
        self.todo: deque[list[Prompt]] = deque(chunk(prompts, size))
        self.done: set[str] = set()
        self.out: asyncio.Queue[tuple[Prompt, Response] | BaseException | None] = asyncio.Queue()
        self.busy = 0
        self.changed = asyncio.Event()
        opts = pool.options
        self.max_failures = opts.max_failures if opts.max_failures is not None else max(3, 2 * len(pool.workers))

    async def run(self) -> AsyncIterator[tuple[Prompt, Response]]:
        slots = [asyncio.create_task(self._slot(i)) for i in range(len(self.pool.workers))]
        ended = 0
        try:
            while len(self.done) < len(self.by_key) or not self.out.empty():
                item = await self.out.get()
                if item is None:
                    ended += 1
                    if ended == len(slots) and self.out.empty() and len(self.done) < len(self.by_key):
                        missing = len(self.by_key) - len(self.done)
                        raise RunInterrupted(f"no Ray worker left to generate {missing} prompts; finished "
                                             f"records are kept, re-run with --resume")
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for task in slots:
                task.cancel()
            await asyncio.gather(*slots, return_exceptions=True)

    async def _next_unit(self) -> list[Prompt] | None:
        """The next unit, waiting while a busy worker might still hand work back."""
        while True:
            if self.todo:
                return self.todo.popleft()
            if self.busy == 0:
                return None
            self.changed.clear()
            await self.changed.wait()

    async def _slot(self, slot: int) -> None:
        try:
            while (unit := await self._next_unit()) is not None:
                self.busy += 1
                try:
                    if not await self._run_unit(slot, unit):
                        return
                finally:
                    self.busy -= 1
                    self.changed.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a real error ends the run; the consumer re-raises it
            self.out.put_nowait(_unwrap(exc))
        finally:
            self.out.put_nowait(None)

    async def _run_unit(self, slot: int, unit: list[Prompt]) -> bool:
        """Run one unit on the slot's worker; False when the slot has no worker any more."""
        actor = self.pool.workers[slot]
        payload = [p.model_dump(mode="json") for p in unit]
        log.debug("worker %d: unit of %d prompts", slot, len(unit))
        try:
            async for ref in actor.run.options(num_returns="streaming").remote(payload):
                key, response = await ref
                if key in self.done or key not in self.by_key:
                    continue  # already received from an earlier attempt: never write it twice
                self.done.add(key)
                self.out.put_nowait((self.by_key[key], Response.model_validate(response)))
        except Exception as exc:
            if not _worker_lost(exc):
                raise
            rest = [p for p in unit if p.key not in self.done]
            self.pool.failures += 1
            self.pool.requeued += len(rest)
            log.warning("Ray worker %d died (%s); %d unfinished prompts of its unit re-queued",
                        slot, type(exc).__name__, len(rest))
            if rest:
                self.todo.appendleft(rest)
                self.changed.set()
            if self.pool.failures > self.max_failures:
                raise RunInterrupted(f"Ray workers died {self.pool.failures} times; finished records are "
                                     f"kept, re-run with --resume") from None
            try:
                await self.pool.replace(slot)
            except SafeevalError as why:  # no room for a replacement (a node gone): others carry on
                log.warning("Ray worker %d not replaced: %s", slot, why)
                return False
        return True


def distribute(model: ModelAdapter, judges: dict[str, Judge],
               options: RayOptions) -> tuple[ModelAdapter, dict[str, Judge]]:
    """Wrap a run's model and judges so generation and judging run on Ray actors."""
    _ray()  # fail early, with one line, when Ray is not installed
    pool = RayPool(model, judges, options)
    return RayModel(model, pool), {name: RayJudge(judge, pool) for name, judge in judges.items()}


def place(model: ModelAdapter, judges: dict[str, Judge],
          options: RunOptions) -> tuple[ModelAdapter, dict[str, Judge]]:
    """The runner's hook: Ray-backed model and judges for `--executor ray`, else unchanged."""
    if options.executor != "ray":
        return model, judges
    return distribute(model, judges, RayOptions(**options.ray_kwargs()))
