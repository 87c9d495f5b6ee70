"""A run's terminal companions: an honest ETA column, a line per slow phase, and Ctrl-C.

- `EtaColumn` extrapolates the work done in this session over the time it took,
  measured when the bar is drawn: while a local model computes a long batch and
  no record arrives, the estimate grows instead of counting down to zero.
- `phase_lines()` prints a line when a slow step starts and ends (loading a
  model, a judge's embedding model), so a silent minute has a reason on screen.
- `interrupts()` makes Ctrl-C stop the run between two decode steps and keep
  every finished answer (`safeeval.events`); a second Ctrl-C quits at once.
  Either way the exit code is 130 and `--resume` continues.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from safeeval import events

MIN_WORK_FOR_ETA = 0.02  # share of the session's work done before an eta is shown
INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


def eta_seconds(work: float, first_work: float, elapsed: float) -> float | None:
    """Seconds left at the session's average rate so far; None until MIN_WORK_FOR_ETA of the work is done."""
    done = work - first_work
    if elapsed <= 0 or done <= 0 or (done < MIN_WORK_FOR_ETA and work < 1.0):
        return None
    return max(0.0, (1.0 - work) * elapsed / done)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "eta –"
    seconds = int(round(seconds))
    return f"eta {seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def eta_column(steps: int) -> Any:
    """A rich column showing `format_eta` for a task whose fields hold `t0` and `w0` (set on its first update)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class EtaColumn(ProgressColumn):
        max_refresh = 1.0

        def render(self, task: Any) -> Text:
            t0, w0 = task.fields.get("t0"), task.fields.get("w0")
            if t0 is None or w0 is None:
                return Text("eta –", style="progress.remaining")
            seconds = eta_seconds(task.completed / steps, w0, time.monotonic() - t0)
            return Text(format_eta(seconds), style="progress.remaining")

    return EtaColumn()


@contextlib.contextmanager
def phase_lines(console: Any) -> Iterator[None]:
    """Print a line as each slow phase (`events.phase`) starts and ends."""
    def show(what: str, seconds: float | None) -> None:
        text = f"{what} …" if seconds is None else f"{what}: done in {seconds:.1f} s"
        console.print(text, markup=False, highlight=False, style="dim")

    remove = events.on_phase(show)
    try:
        yield
    finally:
        remove()


def _say(text: str) -> None:
    sys.stderr.write(f"\n{text}\n")
    sys.stderr.flush()


@contextlib.contextmanager
def interrupts() -> Iterator[None]:
    """First Ctrl-C: say so at once and ask the run to stop (finished answers are written);
    second Ctrl-C: quit now with exit code 130 (records already written stay)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if events.stop_requested():
            _say("second Ctrl-C: quitting now; the records already written are kept")
            os._exit(INTERRUPTED)
        events.request_stop()
        _say("Ctrl-C: stopping after the current step; every finished answer is kept (Ctrl-C again to quit now)")

    events.clear_stop()
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        events.clear_stop()
