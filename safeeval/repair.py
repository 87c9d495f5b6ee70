"""`safeeval repair RUN`: keep every good record of a run whose samples.jsonl has bad lines.

A line that is not a valid `SampleRecord` (a disk error, a bad edit, a torn
write in the middle of the file) makes every reader stop at it with the file
and line. Repair moves such lines, unchanged, to `samples.bad-<time>.jsonl`
beside the run, rewrites samples.jsonl with the good lines only (a temporary
file, fsynced, then renamed: a crash leaves the old file or the new one), and
holds the run folder's lock meanwhile. A later `--resume` redoes the samples
whose lines were set aside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from safeeval.engine.store import SAMPLES, RunStore, read_manifest
from safeeval.errors import SafeevalError
from safeeval.schema import SampleRecord


@dataclass
class RepairResult:
    kept: int
    set_aside: int
    bad_file: Path | None
    bad_lines: list[int]


def repair_run(run_dir: Path) -> RepairResult:
    """Set the run's bad record lines aside and keep the good ones, in order."""
    run_dir = Path(run_dir)
    read_manifest(run_dir)  # not a run folder: one line saying so
    path = run_dir / SAMPLES
    if not path.exists():
        raise SafeevalError(f"{run_dir}: the run has no samples.jsonl to repair")
    with RunStore(run_dir):  # the lock: no run may append meanwhile (and a torn tail is cut off)
        good: list[bytes] = []
        bad: list[tuple[int, bytes]] = []
        for lineno, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                SampleRecord.model_validate_json(line)
            except (ValidationError, ValueError):
                bad.append((lineno, line))
                continue
            good.append(line)
        if not bad:
            return RepairResult(kept=len(good), set_aside=0, bad_file=None, bad_lines=[])
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        bad_file = run_dir / f"samples.bad-{stamp}.jsonl"
        _write_synced(bad_file, b"".join(line + b"\n" for _, line in bad))
        tmp = path.with_name(path.name + ".repair-tmp")
        _write_synced(tmp, b"".join(line + b"\n" for line in good))
        os.replace(tmp, path)
        _sync_dir(run_dir)
    return RepairResult(kept=len(good), set_aside=len(bad), bad_file=bad_file, bad_lines=[n for n, _ in bad])


def _write_synced(path: Path, data: bytes) -> None:
    try:
        with path.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise SafeevalError(f"{path}: cannot write: {exc.strerror}; samples.jsonl is unchanged") from None


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
