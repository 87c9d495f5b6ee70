"""Run a suite: expand -> generate -> judge -> append a record, as each finishes.

The runner knows tasks, judges and models only through their interfaces.
`manifest.json` is written first, each `SampleRecord` is appended durably as
soon as it is judged, and `summary.json` is written last. A re-run with
`resume` skips every sample already on disk; with `retry_errors` it also
redoes the errored ones, appending records that replace them (the last
record per key wins, see `engine.store`). Answers and verdicts go through the
shared cache (`engine.cache`) unless `no_cache`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import safeeval
from safeeval.engine.batching import quiet_batches, size_batches
from safeeval.engine.cache import Cache, CachedJudge
from safeeval.engine.distributed import place
from safeeval.engine.driven import work_stream
from safeeval.engine.plan import RunOptions, WorkItem, expand, resolve_tasks
from safeeval.engine.shard import select_shard
from safeeval.engine.store import RunStore, is_errored, read_manifest, read_records
from safeeval.storage import write_json_atomic
from safeeval.errors import SafeevalError
from safeeval.health import Health
from safeeval.events import check_stop
from safeeval.judges import Judge, load_judge, task_judge
from safeeval.models.credentials import endpoint_change
from safeeval.models import ModelAdapter, load_model
from safeeval.schema import (GenerateConfig, JudgeInfo, Prompt, RecordSample, Response, RunManifest, SampleRecord,
                             TaskInfo, utcnow)
from safeeval.summary import Summary, warm_up
from safeeval.tasks.loader import Task

REMOTE_BATCH = 256  # most answers from an endpoint judged and written at once
LOCAL_BATCH = 16  # the same for a model on this machine (see engine.batching)
FLUSH_S = 1.0  # longest a finished answer waits in memory before its record is written
QUIET_S = 0.003  # a pause this long in an endpoint's answers starts judging what has arrived
OPTIONS = "options.json"
# progress(done, total, work) is called after each batch of records; the CLI draws a bar with it.
# `work` is the estimated fraction of the run's compute done (see work_estimate), so the ETA holds
# when cheap and expensive samples are unevenly spread over the run.
Progress = Callable[[int, int, float], None]
DECODE_WEIGHT = 2.5  # a new token costs about 2.5 prompt tokens on the embedded model (benchmarks/README.md)


def work_estimate(prompt: Prompt) -> float:
    """Rough compute cost of one prompt in prompt-token units: its length plus weighted max new tokens."""
    return prompt.n_chars() / 4 + DECODE_WEIGHT * prompt.config.max_tokens


GC_YOUNG = 10_000  # objects allocated between young collections during a run (Python's default: 700)


@contextlib.contextmanager
def quiet_gc():
    """The cyclic GC tuned for a run, restored after it.

    A run allocates a few short-lived objects per answer (response, record,
    verdict) that reference counting frees, and holds a large plan for its
    whole length. At Python's defaults the collector kept re-scanning both:
    8.7 s of a 57 s run of 100,000 loopback prompts. Here the plan is frozen
    once built (still freed by reference counting when the run ends) and young
    collections run every GC_YOUNG allocations: 0.2 s (benchmarks/README.md).
    Both are undone after the run, so a process that runs many (tests, notebooks)
    collects as before.
    """
    before = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, *before[1:])
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    new_records: int


def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(safeeval.__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def host_info() -> dict[str, Any]:
    import os

    return {"node": platform.node(), "python": platform.python_version(),
            "platform": platform.platform(), "cpus": os.cpu_count()}


def new_run_id(model: str) -> str:
    """model-timestamp-xxxx: the random tail keeps two runs started in the same second apart."""
    import secrets

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model.split("/")[-1]).strip("-")[:48] or "model"
    return f"{slug}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """A --run-id is one folder name inside --out: no path separators, '..' or control characters."""
    if (not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\")
            or any(ord(c) < 32 or ord(c) == 127 for c in run_id)):
        raise SafeevalError(f"--run-id {run_id!r}: a run id is one folder name inside --out "
                            f"(no '/', '\\', '..' or control characters)")
    return run_id


def load_judges(tasks: list[Task], options: RunOptions) -> dict[str, Judge]:
    """One judge object per judge name used by the selected tasks."""
    names = {task_judge(t.spec, options.judge, options.judge_model) for t in tasks}
    return {name: load_judge(name, extra_dirs=options.judges_dirs, model=options.judge_model) for name in sorted(names)}


def build_manifest(run_id: str, model: ModelAdapter, tasks: list[Task], attacks: list[str],
                   judges: dict[str, Judge], options: RunOptions) -> RunManifest:
    from safeeval.calibration import check_explicit_cards, run_card

    check_explicit_cards(options.cards, [(j.id, j.spec_version, j.prompt_hash()) for j in judges.values()])
    return RunManifest(
        run_id=run_id,
        safeeval_version=safeeval.__version__,
        git_sha=git_sha(),
        model=model.spec(),
        generate=GenerateConfig(temperature=options.temperature, max_tokens=options.max_tokens or 0,
                                seed=options.seed),
        tasks=[TaskInfo(name=t.name, version=str(t.spec.version), category=t.spec.category,
                        measure=t.spec.measure, data_sha256=t.data_sha256(), samples=len(t.samples()),
                        control=t.spec.control)
               for t in tasks],
        attacks=attacks,
        judges=[JudgeInfo(id=j.id, version=j.spec_version, prompt_hash=j.prompt_hash(),
                          **(run_card(j.id, j.spec_version, j.prompt_hash(), options.cards) or {}))
                for j in judges.values()],
        judge_override=options.judge,
        seed=options.seed,
        limit=options.limit,
        shard=options.shard,
        host=host_info(),
    )


def check_resumable(old: RunManifest, new: RunManifest, run_dir: Path) -> None:
    """A resumed run must evaluate the same model, task data, judges and settings."""
    differences = old.differences(new, "resume")
    if differences:
        raise SafeevalError(f"{run_dir}: cannot resume: {differences[0][1]} (the original run vs now); "
                            f"start a new run instead")


def make_record(item: WorkItem, response: Response, model_id: str, created: str) -> SampleRecord:
    """The record of one answer, before its verdicts. Made from validated parts (the task spec,
    sample, prompt and response): no second validation, which cost 12 µs a record."""
    spec = item.task.spec
    return SampleRecord.model_construct(
        key=item.prompt.key, task=spec.name, task_version=str(spec.version), category=spec.category,
        subcategory=item.sample.subcategory, measure=spec.measure, sample_id=item.sample.id,
        attack=item.attack, messages=item.prompt.messages, response=response, verdicts=[],
        violation=None, model=model_id, sample_hash=item.sample_hash, created=created,
        sample=RecordSample.of(spec, item.sample),
    )


async def judge_records(records: list[SampleRecord], judges: dict[str, CachedJudge], override: str | None,
                        judge_of: Callable[[SampleRecord], str]) -> list[SampleRecord]:
    """The records, given their verdicts: each scored by its judge (`override`, else `judge_of(record)`)
    from what the record carries, so a run and a rejudge of its records judge alike."""
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        groups.setdefault(override or judge_of(record), []).append(i)
    verdicts: dict[int, Any] = {}
    for name, indexes in groups.items():
        verdicts.update(zip(indexes, await judges[name].score([records[i] for i in indexes])))
    for i, record in enumerate(records):  # records just made here: filled in place
        record.verdicts = [verdicts[i]]
        record.violation = verdicts[i].violation
    return records


async def judge_and_write(batch: list[tuple[WorkItem, Response]], judges: dict[str, CachedJudge],
                          options: RunOptions, store: RunStore, model_id: str) -> list[SampleRecord]:
    """Score a batch with each item's judge (cached verdicts reused), append the records and return them."""
    specs = {item.prompt.key: task_judge(item.task.spec, judge_model=options.judge_model) for item, _ in batch}
    created = utcnow()  # one clock reading a batch (seconds resolution)
    records = [make_record(item, response, model_id, created) for item, response in batch]
    records = await judge_records(records, judges, options.judge, lambda r: specs[r.key])
    # fsync on a worker thread: requests already in flight keep completing meanwhile.
    await asyncio.to_thread(store.append_many, records)
    return records


def save_options(run_dir: Path, options: RunOptions) -> None:
    """Keep the run's options beside it, so --resume/--retry-errors need only the folder."""
    data = options.saved()
    if data.get("base_url"):
        from safeeval.models.credentials import saved_url

        # A user:password in the URL is a secret: masked, so a resume asks for it again (never from disk).
        data["base_url"] = saved_url(data["base_url"])
    write_json_atomic(run_dir / OPTIONS, data)


def load_options(run_dir: Path) -> dict[str, Any]:
    """The options saved by `save_options` ({} for a run folder from before they were saved)."""
    path = Path(run_dir) / OPTIONS
    if not path.exists():
        read_manifest(run_dir)  # not a run folder at all: say so
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SafeevalError(f"{path}: unreadable run options: {exc}") from None
    return data if isinstance(data, dict) else {}


def plan_pending(items: list[WorkItem], existing: list[SampleRecord], retry_errors: bool) -> list[WorkItem]:
    """The work items still to do: no record yet, or (with retry_errors) an errored one."""
    done = {r.key for r in existing if not (retry_errors and is_errored(r))}
    return [it for it in items if it.prompt.key not in done]


async def generate_and_record(pending: list[WorkItem], model: ModelAdapter, judges: dict[str, Judge],
                              options: RunOptions, store: RunStore, cache: Cache | None,
                              tick: Callable[[list[SampleRecord]], None]) -> int:
    """Generate the pending prompts with the adapter, judge and append records as they finish.

    This is the executor seam: another executor replaces `work_stream(model, ...)`
    with its own source of (prompt, response) pairs. Each batch of records, once on
    disk, goes to `tick` (the summary and the progress take it there) and is let go:
    memory does not grow with the run. Returns how many records were written.
    A `RunInterrupted` from the model (endpoint gone, disk full) first writes
    the answers that came before it, then propagates.
    """
    by_key = {it.prompt.key: it for it in pending}
    written = 0
    stream = work_stream(model, pending, cache)  # kinds with a driver (agent episodes): engine.driven
    # An endpoint's answers are judged at the pauses between its bursts, a local model's after
    # each LOCAL_BATCH (engine.batching); both at least every FLUSH_S, so a slow model still
    # lands records on disk. Closing the batches closes the stream: if writing fails, the
    # model's requests in flight are stopped now.
    if model.remote:
        batching = quiet_batches(stream, QUIET_S, REMOTE_BATCH, FLUSH_S)
    else:
        batching = size_batches(stream, LOCAL_BATCH, FLUSH_S)
    cached = {name: CachedJudge(judge, cache) for name, judge in judges.items()}
    async with contextlib.aclosing(batching) as batches:
        async for pairs in batches:
            batch = [(by_key[prompt.key], response) for prompt, response in pairs]
            records = await judge_and_write(batch, cached, options, store, model.model_id)
            written += len(records)
            tick(records)
            check_stop()  # Ctrl-C (safeeval.events): stop once this batch is written
    return written


async def execute(options: RunOptions, progress: Progress | None = None,
                  on_start: Callable[[Path, int, int], None] | None = None) -> RunResult:
    """Run (or resume) an evaluation and return its folder and summary."""
    if options.retry_errors and not options.resume:
        raise SafeevalError("--retry-errors needs the run folder to redo, e.g. --retry-errors results/<run-id>")
    tasks = resolve_tasks(options)
    items, attacks = expand(tasks, options)
    items = select_shard(items, options.shard)  # --shard i/n: one deterministic slice
    gc.freeze()  # the plan lives as long as the run (see quiet_gc)
    judges = load_judges(tasks, options)
    model = load_model(options.model, **options.adapter_kwargs())
    model, judges = place(model, judges, options)  # --executor ray: Ray actors generate and judge
    if options.resume:
        run_dir = Path(options.resume)
        run_id = read_manifest(run_dir).run_id
    else:
        run_id = check_run_id(options.run_id) if options.run_id else new_run_id(model.model_id)
        run_dir = Path(options.out) / run_id
        if (run_dir / "samples.jsonl").exists():
            raise SafeevalError(f"{run_dir}: run folder already has records; use --resume {run_dir}")
    manifest = build_manifest(run_id, model, tasks, attacks, judges, options)
    await model.start()  # fail on a missing model before anything is written
    cache = None if options.no_cache else Cache()
    closing: asyncio.Future | None = None
    new_records = 0
    try:
        with RunStore(run_dir) as store:
            if options.resume:
                old = read_manifest(run_dir)
                check_resumable(old, manifest, run_dir)
                manifest = manifest.model_copy(update={"started": old.started})
                moved = endpoint_change(load_options(run_dir).get("base_url"), options.base_url)
                if moved:
                    sys.stderr.write(moved + "\n")
            save_options(run_dir, options)  # on a resume too: the saved options follow (a new --base-url)
            store.write_manifest(manifest)
            existing = read_records(run_dir)
            pending = plan_pending(items, existing, options.retry_errors)
            # The summary and health take records as they are written: the ones kept from an
            # earlier session now (those about to be redone stay out: last record per key wins).
            meta = {"run_id": run_id, "model": model.model_id, "judges": [j.model_dump() for j in manifest.judges]}
            summary_of, health = Summary(meta), Health(options.max_error_rate)
            redo = {it.prompt.key for it in pending} if existing else set()
            for record in existing:
                if record.key not in redo:
                    summary_of.add(record)
                    health.add(record)
            del existing
            total = len(items)
            if on_start:
                on_start(run_dir, len(pending), total)
            finished = total - len(pending)
            warmed = False
            cost = {it.prompt.key: work_estimate(it.prompt) for it in items}
            work_total = sum(cost.values()) or 1.0
            work_done = work_total - sum(cost[it.prompt.key] for it in pending)

            def tick(records: list[SampleRecord]) -> None:
                nonlocal finished, work_done, work_total, warmed
                if records and not warmed:  # the first records are in and the model is busy:
                    warmed = True           # import what the summary needs now instead of at the end
                    threading.Thread(target=warm_up, name="safeeval-warm-up", daemon=True).start()
                for record in records:
                    summary_of.add(record)
                    health.add(record)
                finished += len(records)
                for r in records:  # an answer from the cache cost no compute: it is no part of the rate or the ETA
                    if r.response.cached:
                        work_total = max(1e-9, work_total - cost.get(r.key, 0.0))
                    else:
                        work_done += cost.get(r.key, 0.0)
                if progress:
                    progress(finished, total, min(1.0, work_done / work_total))

            tick([])  # where this session starts: the ETA counts only work done from here

            try:
                new_records = await generate_and_record(pending, model, judges, options, store, cache, tick)
            finally:
                await model.aclose()
                for judge in judges.values():
                    await judge.aclose()
            if cache is not None:  # done with: its close (a journal checkpoint) runs beside the summary
                closing = asyncio.ensure_future(asyncio.to_thread(cache.close))
            manifest = manifest.model_copy(update={"finished": utcnow()})
            store.write_manifest(manifest)
            # What samples.jsonl now holds, without reading it back: the run folder is locked, so
            # its lines are the records kept at the start and those just appended, all summed up.
            summary = summary_of.result()
            summary["health"] = health.result()  # did it measure anything (exit code)
            store.write_summary(summary)
    finally:
        if closing is not None:
            await closing
        elif cache is not None:
            cache.close()
    return RunResult(run_dir=run_dir, summary=summary, new_records=new_records)


def run(options: RunOptions, progress: Progress | None = None,
        on_start: Callable[[Path, int, int], None] | None = None) -> RunResult:
    """Synchronous entry point for `execute`."""
    with quiet_gc():
        return asyncio.run(execute(options, progress, on_start))
