"""Public-benchmark sources: a task.yaml may name `source:` instead of `data:`.

Each source turns a public benchmark file (a local copy) into rows for the
task's templates. Sources register themselves with `@source(name, hub_id)`;
the loaders live in `safeeval/tasks/public/`.

Where the local copy comes from, first match wins:

1. `--data-files TASK=PATH` (replaces the task's `data_files`);
2. the task's `data_files`: an absolute path, a path from the current folder,
   or a path under `$SAFEEVAL_DATA_DIR`, a folder laid out like the public
   data folder (`advbench/harmful_behaviors.csv`, `xstest/xstest_prompts.csv`, ...).

Nothing is downloaded: offline, a missing copy is one error naming the
Hugging Face dataset id and both ways to point at a local file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from sys import intern
from typing import Any

from safeeval.errors import SafeevalError, UnknownNameError
from safeeval.schema import TaskSpec

RowIter = Iterable[tuple[str, dict[str, Any]]]
SourceFn = Callable[[TaskSpec, Path], RowIter]
SOURCES: dict[str, tuple[str, SourceFn]] = {}
DATA_DIR_ENV = "SAFEEVAL_DATA_DIR"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # option letters of choice tasks


def source(name: str, hub_id: str) -> Callable[[SourceFn], SourceFn]:
    """Register a loader for a public benchmark, with its Hugging Face dataset id."""

    def register(fn: SourceFn) -> SourceFn:
        SOURCES[name] = (hub_id, fn)
        return fn

    return register


def resolve_data_path(spec: TaskSpec, hub_id: str) -> Path:
    """The local copy of a public task's data; one clear error when there is none."""
    how = (f"pass a local copy with --data-files {spec.name}=/path/to/file, or set {DATA_DIR_ENV} "
           f"to a folder holding {spec.data_files or 'the file'}")
    if not spec.data_files:
        raise SafeevalError(f"task '{spec.name}' reads the public dataset '{hub_id}', which cannot be "
                            f"downloaded offline; {how}")
    given = Path(spec.data_files).expanduser()
    candidates = [given]
    data_dir = os.environ.get(DATA_DIR_ENV)
    if not given.is_absolute() and data_dir:
        candidates.append(Path(data_dir).expanduser() / given)
    for path in candidates:
        if path.exists():
            return path
    if not given.is_absolute() and not data_dir:
        raise SafeevalError(f"task '{spec.name}' reads the public dataset '{hub_id}', which cannot be "
                            f"downloaded offline; {how}")
    shown = " or ".join(str(p) for p in candidates)
    raise SafeevalError(f"{shown}: data file for task '{spec.name}' ('{hub_id}') does not exist; {how}")


# ---------------------------------------------------------------- readers shared by the loaders


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A file's text; a decoding error names the line it happened on."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SafeevalError(f"{path}: cannot read data file: {exc.strerror}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SafeevalError(f"{path}:{line}: not valid {encoding} text ({exc.reason})") from None


def csv_rows(path: Path, required: Iterable[str], encoding: str = "utf-8-sig") -> Iterator[tuple[str, dict[str, str]]]:
    """(file:line, row) for each CSV record; a missing column or a short row names its line."""
    required = list(required)
    reader = csv.DictReader(io.StringIO(read_text(path, encoding), newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise SafeevalError(f"{path}:1: missing column(s) {', '.join(missing)}; found {', '.join(header)}")
        start = reader.line_num + 1
        for row in reader:
            where = f"{path}:{start}"
            start = reader.line_num + 1
            if None in row or any(row.get(c) is None for c in required):
                raise SafeevalError(f"{where}: expected {len(header)} columns ({', '.join(header)})")
            yield where, row
    except csv.Error as exc:
        raise SafeevalError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) for each non-blank line; bad JSON names the line. A `.gz` file is read gzipped."""
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
    except OSError as exc:
        raise SafeevalError(f"{path}: cannot read data file: {exc.strerror}") from None
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SafeevalError(f"{path}:{lineno}: invalid UTF-8 (byte {exc.start + 1} of the line); "
                                    f"data files must be UTF-8") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SafeevalError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise SafeevalError(f"{path}:{lineno}: each line must be a JSON object")
            # One string per field name, not one per row: a run holds every row (100 bytes a row saved).
            yield lineno, {intern(k): v for k, v in row.items()}


def jsonl_rows(path: Path, required: Iterable[str] = ()) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file:line, row) for each JSONL line; a row lacking a required field names its line."""
    for lineno, row in read_jsonl(path):
        where = f"{path}:{lineno}"
        require(row, required, where)
        yield where, row


def json_items(path: Path, key: str | None = None, required: Iterable[str] = ()) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file item N, row) for each object of a JSON list (or of `data[key]`)."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise SafeevalError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise SafeevalError(f"{path}: expected a JSON object with a '{key}' list")
        data = data[key]
    if not isinstance(data, list):
        raise SafeevalError(f"{path}: expected a JSON list of objects")
    for i, row in enumerate(data):
        where = f"{path} item {i}"
        if not isinstance(row, dict):
            raise SafeevalError(f"{where}: expected a JSON object")
        require(row, required, where)
        yield where, row


def require(row: dict[str, Any], fields: Iterable[str], where: str) -> None:
    """Fail with `where` when the row lacks one of `fields`."""
    missing = [f for f in fields if f not in row or row[f] is None]
    if missing:
        raise SafeevalError(f"{where}: missing field(s) {', '.join(missing)}")


def files_in(path: Path, suffix: str) -> list[Path]:
    """`path` itself, or every `*suffix` file under a folder (sorted, recursive)."""
    if path.is_file():
        return [path]
    found = sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
    if not found:
        raise SafeevalError(f"{path}: folder holds no {suffix} files")
    return found
