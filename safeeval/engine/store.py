"""A run folder on disk: manifest.json, samples.jsonl (append-only) and summary.json.

Records are appended one line each, flushed and fsynced as they complete, so
a crash loses at most the line being written. A torn last line (no newline,
or bad JSON) is dropped on read and cut off before appending again. A lock
file refuses a second writer.

The file is append-only, so a record is replaced by appending a newer one
with the same key (`--retry-errors` does this): when reading, the last record
per key wins, and everything downstream reads through `read_records`.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safeeval.errors import SafeevalError
from safeeval.schema import RunManifest, SampleRecord
from safeeval.storage import JsonlAppender, repair_tail, write_json_atomic

__all__ = ["RunStore", "is_errored", "latest_per_key", "read_manifest", "read_records"]

SAMPLES = "samples.jsonl"
MANIFEST = "manifest.json"
SUMMARY = "summary.json"


def read_records(run_dir: Path, samples: str = SAMPLES) -> list[SampleRecord]:
    """The records of a run, the last one per key winning; a torn final line is ignored.

    Records keep the position of their key's first appearance, so a replaced
    record stays where the original was.
    """
    path = Path(run_dir) / samples
    if not path.exists():
        return []
    return latest_per_key(_read_lines(path))


def latest_per_key(records: Iterable[SampleRecord]) -> list[SampleRecord]:
    """The last record per key, at the position of the key's first record (see `read_records`)."""
    by_key: dict[str, SampleRecord] = {}
    for record in records:
        by_key[record.key] = record
    return list(by_key.values())


def is_errored(record: SampleRecord) -> bool:
    """True when a record holds no usable answer or verdict (`--retry-errors` redoes these)."""
    return bool(record.response.error) or any(v.label == "error" for v in record.verdicts[:1])


def _read_lines(path: Path) -> list[SampleRecord]:
    records = []
    lines = path.read_bytes().split(b"\n")
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        torn = lineno == len(lines)  # the last piece has no newline: a crash mid-write
        try:
            records.append(SampleRecord.model_validate_json(line))
        except (ValidationError, ValueError):
            if torn:
                continue
            raise SafeevalError(f"{path}:{lineno}: corrupt record; `safeeval repair {path.parent}` sets bad lines "
                                f"aside and keeps the rest") from None
    return records


def read_manifest(run_dir: Path) -> RunManifest:
    path = Path(run_dir) / MANIFEST
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SafeevalError(f"{path}: not a safeeval run folder (no manifest.json)") from None
    except (ValidationError, ValueError) as exc:
        raise SafeevalError(f"{path}: invalid manifest: {str(exc).splitlines()[0]}") from None


class RunStore:
    """The writer side of a run folder. Use as a context manager to hold the lock.

    `samples` names the records file: `samples.jsonl` for a run, `samples.<judge>.jsonl`
    for a rejudge of it (the same lock, appender and torn-line repair).
    """

    def __init__(self, run_dir: Path, samples: str = SAMPLES):
        self.dir = Path(run_dir)
        self.samples = samples
        self._lock_fh = None
        self._out = JsonlAppender(self.dir / samples)

    def __enter__(self) -> RunStore:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock_fh = (self.dir / ".lock").open("a+")
        except OSError as exc:
            raise SafeevalError(f"{self.dir}: output folder is not writable: {exc.strerror}") from None
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            raise SafeevalError(f"{self.dir}: another safeeval run is writing to this folder") from None
        repair_tail(self.dir / self.samples)  # before anyone reads the records back
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.close()
        if self._lock_fh:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()

    def write_manifest(self, manifest: RunManifest) -> None:
        write_json_atomic(self.dir / MANIFEST, manifest.model_dump(mode="json"))

    def write_summary(self, summary: dict[str, Any], name: str = SUMMARY) -> None:
        write_json_atomic(self.dir / name, summary)

    def append(self, record: SampleRecord) -> None:
        """Append one record durably (flush + fsync) before returning."""
        self.append_many([record])

    def append_many(self, records: list[SampleRecord]) -> None:
        """Append records durably with one fsync for the lot (a crash keeps whole lines only)."""
        self._out.append(records)
