"""Merge run folders (the slices of `--shard i/n`, or runs split by hand) into one.

The inputs must be comparable: the same model, task versions and data
hashes, attacks, judges, seed, limit and generation settings; otherwise the
merge refuses with one line naming what differs. The merged folder is an
ordinary run folder (manifest, samples.jsonl, summary.json). What the merge
found is returned as a `MergeReport`:

- duplicates: keys present in more than one input (the first input's record
  is kept); `conflicts` are the duplicates whose answer or verdicts differ;
- missing: keys the run should have (re-expanded from the local task files,
  when their data hashes match the manifest) that no input holds. A merged
  run with missing samples has no `finished` time and no records are
  invented: `safeeval run --resume OUT` with the original settings runs
  exactly the missing ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from safeeval.engine.plan import RunOptions, expand, resolve_tasks
from safeeval.engine.runner import load_options, save_options
from safeeval.engine.shard import parse_shard
from safeeval.engine.store import SAMPLES, RunStore, read_manifest, read_records
from safeeval.errors import SafeevalError
from safeeval.schema import RunManifest, SampleRecord, utcnow
from safeeval.summary import summarize

SHOWN = 20  # keys listed per problem in the report; the counts are always complete


class MergeReport(BaseModel):
    """What `merge` wrote and what it found."""

    out: Path
    inputs: list[Path]
    records: int
    expected: int | None = None          # None: the expected keys could not be worked out
    missing: list[str] = Field(default_factory=list)
    duplicates: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    shards: list[str] = Field(default_factory=list)         # "i/n" of each input ("" for a whole run)
    missing_shards: list[str] = Field(default_factory=list)
    unchecked: str | None = None         # why missing samples were not checked

    @property
    def complete(self) -> bool:
        return not self.missing and not self.conflicts and not self.missing_shards and self.unchecked is None


def check_compatible(manifests: list[tuple[Path, RunManifest]]) -> None:
    """Raise a one-line SafeevalError naming the first field where an input differs."""
    first_dir, first = manifests[0]
    for run_dir, manifest in manifests[1:]:
        differences = first.differences(manifest, "merge")
        if differences:
            field, reason = differences[0]
            raise SafeevalError(f"cannot merge {run_dir} with {first_dir}: {field} differ ({_short(reason)})")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def whole_run_options(run_dir: Path, manifest: RunManifest, tasks_dirs: list[Path]) -> RunOptions:
    """The options of the whole run a slice belongs to: its saved options without the shard."""
    saved = {k: v for k, v in load_options(run_dir).items() if k in RunOptions.model_fields}
    saved.update(tasks=",".join(t.name for t in manifest.tasks), attacks=",".join(manifest.attacks),
                 seed=manifest.seed, limit=manifest.limit, shard=None,
                 tasks_dirs=[*saved.get("tasks_dirs", []), *tasks_dirs])
    return RunOptions(**saved)


def expected_keys(manifest: RunManifest, options: RunOptions) -> tuple[list[str] | None, str | None]:
    """The keys the whole run should hold, from the local task files; (None, why) if unknown."""
    try:
        tasks = resolve_tasks(options)
        want = {t.name: t.data_sha256 for t in manifest.tasks}
        for task in tasks:
            if task.data_sha256() != want.get(task.name):
                return None, f"task '{task.name}' here has other data than the runs (pass --tasks-dir)"
        items, _ = expand(tasks, options)
    except SafeevalError as exc:
        return None, f"the run's tasks cannot be loaded here: {exc}"
    return [it.prompt.key for it in items], None


def _shard_gaps(shards: list[str]) -> list[str]:
    """The slices of `n` that no input covers, when every input is a slice of the same n."""
    parsed = [parse_shard(s) for s in shards]
    if not parsed or any(p is None for p in parsed) or len({p.count for p in parsed}) != 1:
        return []
    n = parsed[0].count
    have = {p.index for p in parsed}
    return [f"{i}/{n}" for i in range(n) if i not in have]


def _same_answer(a: SampleRecord, b: SampleRecord) -> bool:
    keep = {"response": {"latency_s", "cached"}, "created": True}
    return a.model_dump(exclude=keep) == b.model_dump(exclude=keep)


def merge(run_dirs: list[Path], out: Path, tasks_dirs: list[Path] | None = None) -> MergeReport:
    """Combine run folders into `out` and report missing, duplicate and conflicting samples."""
    if not run_dirs:
        raise SafeevalError("merge: give at least one run folder")
    run_dirs = [Path(d) for d in run_dirs]
    out = Path(out)
    for d in run_dirs:
        if d.resolve() == out.resolve():
            raise SafeevalError(f"--out {out}: is one of the inputs; merge into a new folder")
    if (out / SAMPLES).exists():
        raise SafeevalError(f"--out {out}: already holds records; merge into a new folder")
    manifests = [(d, read_manifest(d)) for d in run_dirs]
    check_compatible(manifests)

    merged: dict[str, SampleRecord] = {}
    duplicates: list[str] = []
    conflicts: list[str] = []
    for run_dir in run_dirs:
        for record in read_records(run_dir):
            seen = merged.get(record.key)
            if seen is None:
                merged[record.key] = record
                continue
            duplicates.append(record.key)
            if not _same_answer(seen, record):
                conflicts.append(record.key)

    base = manifests[0][1]
    options = whole_run_options(run_dirs[0], base, list(tasks_dirs or []))
    expected, unchecked = expected_keys(base, options)
    missing = [k for k in expected if k not in merged] if expected is not None else []
    shards = [m.shard or "" for _, m in manifests]
    finished = [m.finished for _, m in manifests]
    complete = expected is not None and not missing and all(finished)
    manifest = base.model_copy(update={
        "run_id": out.name,
        "shard": None,
        "started": min(m.started for _, m in manifests),
        "finished": (max(f for f in finished if f) if complete else None),
        "host": {**base.host, "merged_from": [str(d) for d in run_dirs], "merged": utcnow()},
    })
    # Records in the order of the run's work items when known, else in input order.
    order = {k: i for i, k in enumerate(expected or [])}
    records = sorted(merged.values(), key=lambda r: order.get(r.key, len(order)))
    with RunStore(out) as store:
        # Saved options make `safeeval run --resume OUT` work on the merged folder as on any run.
        save_options(out, options.model_copy(update={"out": out.parent, "run_id": out.name}))
        store.write_manifest(manifest)
        store.append_many(records)
        store.write_summary(summarize(records, {"run_id": manifest.run_id, "model": base.model.get("id"),
                                                "judges": [j.model_dump() for j in base.judges]}))
    return MergeReport(out=out, inputs=run_dirs, records=len(records),
                       expected=len(expected) if expected is not None else None, missing=missing,
                       duplicates=duplicates, conflicts=conflicts, shards=shards,
                       missing_shards=_shard_gaps(shards), unchecked=unchecked)
