"""User-facing errors.

Anything a user can cause (a bad task file, an unknown name, a dead endpoint)
raises `SafeevalError`. The CLI prints its message as one line and exits 2;
no traceback. Code bugs stay ordinary exceptions.
"""

from __future__ import annotations


class SafeevalError(Exception):
    """An error caused by the user's input or environment, shown as one line."""

    exit_code = 2


class UnknownNameError(SafeevalError):
    """A task, model, judge or attack name that is not registered."""

    def __init__(self, kind: str, name: str, choices: list[str]):
        import difflib

        close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        shown = ", ".join(sorted(choices)[:40])
        more = f" (+{len(choices) - 40} more)" if len(choices) > 40 else ""
        super().__init__(f"unknown {kind} '{name}'{hint}; valid choices: {shown}{more}")


class RunInterrupted(SafeevalError):
    """The run stopped early (endpoint gone, disk full); finished work is on disk."""

    exit_code = 3
