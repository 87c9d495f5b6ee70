"""What passes between the command line and the layers that do the work, without either importing the other.

- A stop request. The CLI's Ctrl-C handler calls `request_stop()`; a model's
  generation loop checks `stop_requested()` between decode steps and raises
  `Stopped`, carrying the answers that were finished; the runner writes what
  it holds and stops too. What finished is kept, and `--resume` continues.
- Slow phases. Code about to do something slow that shows no progress of its
  own (loading a model, a judge's model) wraps it in `phase("loading ...")`;
  the CLI prints a line for it. With no listener a phase costs nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_STOP = threading.Event()
_listeners: list[Callable[[str, float | None], None]] = []


class Stopped(Exception):
    """Work stopped on request (Ctrl-C). `finished` holds (prompt, response) pairs completed before the stop."""

    def __init__(self, finished: list[tuple[Any, Any]] | None = None):
        super().__init__("stopped on request")
        self.finished = finished or []


def request_stop() -> None:
    _STOP.set()


def clear_stop() -> None:
    _STOP.clear()


def stop_requested() -> bool:
    return _STOP.is_set()


def check_stop() -> None:
    """Raise `Stopped` if a stop was requested."""
    if _STOP.is_set():
        raise Stopped()


def on_phase(listener: Callable[[str, float | None], None]) -> Callable[[], None]:
    """Call `listener(what, None)` when a phase starts and `listener(what, seconds)` when it ends;
    returns a function that removes the listener."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


@contextlib.contextmanager
def phase(what: str) -> Iterator[None]:
    """Announce a slow step to whoever listens (the CLI prints a line)."""
    for listener in list(_listeners):
        listener(what, None)
    start = time.monotonic()
    try:
        yield
    finally:
        for listener in list(_listeners):
            listener(what, time.monotonic() - start)
