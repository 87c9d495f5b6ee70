"""Where safeeval keeps things on disk, and the two ways it writes them.

- One cache folder, `cache_dir()`: $SAFEEVAL_CACHE_DIR, else
  $XDG_CACHE_HOME/safeeval, else ~/.cache/safeeval. It holds the answer and
  verdict database (`engine.cache`), sentence embeddings (`EMBEDDINGS_DIR`),
  de-quantised GGUF models (`CONVERTED_DIR`) and calibration cards
  (`CARDS_DIR`). `safeeval cache clear` empties all of it.
- `write_json_atomic`: a JSON file through a temp file and a rename, so a
  reader never sees half of one.
- `JsonlAppender`: the one durable JSONL appender (run records, rejudged
  records, red-team rounds). Each `append` writes whole lines, flushes and
  fsyncs before returning; a torn last line left by a crash is cut off before
  the first append; a full disk is a `RunInterrupted` (exit code 3).

This module is the bottom layer: it imports nothing from safeeval but errors.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from safeeval.errors import RunInterrupted, SafeevalError

CONVERTED_DIR = "models"       # de-quantised GGUF weights (models.convert)
EMBEDDINGS_DIR = "embeddings"  # MiniLM hidden states, one .npy per text (judging.finetune)
CARDS_DIR = "cards"            # calibration cards written by `safeeval judge eval`


def cache_dir() -> Path:
    """The cache folder: SAFEEVAL_CACHE_DIR, else XDG_CACHE_HOME/safeeval, else ~/.cache/safeeval."""
    if os.environ.get("SAFEEVAL_CACHE_DIR"):
        return Path(os.environ["SAFEEVAL_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "safeeval"


def disk_error(path: Path, exc: OSError) -> SafeevalError:
    """The one-line error for a failed write: a full disk interrupts the run (exit code 3)."""
    if exc.errno == errno.ENOSPC:
        # A run's own file names its folder, the one to resume; any other file: the run folder, unnamed.
        where = path.parent if path.suffix in (".jsonl", ".json") else "RUN_DIR"
        return RunInterrupted(f"{path}: disk full; finished records are kept; free space, then resume with "
                              f"--resume {where}")
    return SafeevalError(f"{path}: cannot write: {exc.strerror}")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temp file and rename, so readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_error(path, exc) from None


def repair_tail(path: Path) -> None:
    """Cut a torn last line left by a crash, so new lines start on a fresh line."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
    data = path.read_bytes()
    with path.open("r+b") as fh:
        fh.truncate(data.rfind(b"\n") + 1)


def _line(row: Any) -> str:
    if isinstance(row, str):
        return row if row.endswith("\n") else row + "\n"
    if hasattr(row, "model_dump_json"):
        return row.model_dump_json() + "\n"
    return json.dumps(row, ensure_ascii=False) + "\n"


class JsonlAppender:
    """Appends rows (pydantic models, dicts or JSON lines) to one JSONL file, durably.

    Open once and append many times (`with JsonlAppender(path) as out:`), or
    use `append_jsonl` for a one-off. A failed write drops the handle and cuts
    any partial line, so the file always ends with a whole record.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh: Any = None
        self._repaired = False

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def append(self, rows: Iterable[Any]) -> None:
        """Append rows with one flush and fsync for the lot (a crash keeps whole lines only)."""
        data = "".join(_line(r) for r in rows)
        if not data:
            return
        try:
            if self._fh is None:
                if not self._repaired:
                    repair_tail(self.path)
                    self._repaired = True
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            self._abandon()
            raise disk_error(self.path, exc) from None

    def _abandon(self) -> None:
        """After a failed write, drop the handle (and its buffer) and cut any partial line."""
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass  # the buffer could not be flushed either: the disk is still full
            self._fh = None
        try:
            repair_tail(self.path)
        except OSError:
            pass  # the next open repairs it


def append_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """Append rows to `path` durably, opening and closing it (see `JsonlAppender`)."""
    with JsonlAppender(path) as out:
        out.append(rows)
