"""`safeeval rejudge RUN_DIR --judge J`: the runner's judging over a run's recorded responses.

Each record carries what its judges read (`SampleRecord.sample`), so the run
folder is enough: no task file is read, and rejudging works after the task is
gone. The records go through the same parts as a run's: the verdict cache
(`engine.cache.CachedJudge`), the folder lock and durable appender
(`engine.store.RunStore`, writing `samples.<judge>.jsonl`), the runner's
`judge_records`, and the summary (`summary.<judge>.json`). A second call
resumes: a record already judged by this same judge (id, version, prompt
hash) is not judged again. The verdicts equal those of
`safeeval run --model replay:RUN/samples.jsonl --judge J` (tests/test_rejudge.py).

Records written before records carried `sample` are judged with what their
task still provides when it is installed (same version), else from the
messages alone.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from safeeval.engine.cache import Cache, CachedJudge
from safeeval.engine.runner import judge_records
from safeeval.engine.store import RunStore, latest_per_key, read_manifest, read_records
from safeeval.storage import write_json_atomic
from safeeval.errors import SafeevalError
from safeeval.judges import Judge, load_judge
from safeeval.schema import RecordSample, SampleRecord
from safeeval.summary import summarize

BATCH = 256  # records judged and appended at a time


def output_names(judge: str) -> tuple[str, str]:
    """File names of a re-judged run: samples.<judge>.jsonl and summary.<judge>.json."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", judge)
    return f"samples.{slug}.jsonl", f"summary.{slug}.json"


def fill_legacy(records: list[SampleRecord], tasks_dirs: list[Path]) -> None:
    """Give records from before `SampleRecord.sample` existed what their installed task holds."""
    old = [r for r in records if r.sample is None]
    if not old:
        return
    from safeeval.registry import discover_tasks

    try:
        tasks = discover_tasks(tasks_dirs)
    except SafeevalError:
        return  # a broken extra folder must not stop rejudging: the messages are judged alone
    by_task: dict[str, dict] = {}
    for record in old:
        task = tasks.get(record.task)
        if task is None or str(task.spec.version) != record.task_version:
            continue
        if record.task not in by_task:
            by_task[record.task] = {s.id: s for s in task.samples()}
        sample = by_task[record.task].get(record.sample_id)
        if sample is not None:
            record.sample = RecordSample.of(task.spec, sample)


def _same_judge(record: SampleRecord, judge: Judge) -> bool:
    v = record.verdicts[0] if record.verdicts else None
    return v is not None and (v.judge, v.judge_version, v.prompt_hash) == (
        judge.id, judge.spec_version, judge.fixed_prompt_hash())


async def _rejudge(run_dir: Path, records: list[SampleRecord], judge: Judge, samples_name: str,
                   no_cache: bool) -> list[SampleRecord]:
    cache = None if no_cache else Cache()
    cached = {judge.id: CachedJudge(judge, cache)}
    try:
        with RunStore(run_dir, samples_name) as store:
            done = {r.key: r for r in read_records(run_dir, samples_name) if _same_judge(r, judge)}
            todo = [r for r in records if r.key not in done]
            written: list[SampleRecord] = []
            for start in range(0, len(todo), BATCH):
                batch = [r.model_copy() for r in todo[start:start + BATCH]]
                batch = await judge_records(batch, cached, judge.id, lambda r: judge.id)
                await asyncio.to_thread(store.append_many, batch)
                written.extend(batch)
    finally:
        await judge.aclose()
        if cache is not None:
            cache.close()
    new = {r.key: r for r in written}
    return latest_per_key(done.get(r.key) or new[r.key] for r in records)


def rejudge(run_dir: Path, judge_name: str, tasks_dirs: list[Path] | None = None,
            judge_model: str | None = None, cards: list[Path] | None = None, *,
            judges_dirs: list[Path] | None = None, no_cache: bool = False) -> tuple[Path, dict]:
    """Re-score every record of `run_dir` with `judge_name`; returns (summary path, summary).

    `tasks_dirs` only serves records written before records carried their sample.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    records = read_records(run_dir)
    if not records:
        raise SafeevalError(f"{run_dir}: the run has no records to re-judge")
    fill_legacy(records, list(tasks_dirs or []))
    judge = load_judge(judge_name, extra_dirs=judges_dirs, model=judge_model)
    samples_name, summary_name = output_names(judge.id)
    written = asyncio.run(_rejudge(run_dir, records, judge, samples_name, no_cache))
    from safeeval.calibration import run_card

    # The card is fixed here, as a run fixes its own: a --card file, else an installed, else the built-in one.
    info = {"id": judge.id, "version": judge.spec_version, "prompt_hash": judge.prompt_hash(),
            **(run_card(judge.id, judge.spec_version, judge.prompt_hash(), cards or []) or {})}
    summary = summarize(written, {"run_id": manifest.run_id, "model": manifest.model.get("id", ""),
                                  "judges": [info], "rejudged_from": "samples.jsonl", "samples_file": samples_name})
    write_json_atomic(run_dir / summary_name, summary)
    return run_dir / summary_name, summary
