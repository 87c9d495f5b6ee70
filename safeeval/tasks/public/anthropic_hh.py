"""Anthropic HH-RLHF, harmless-base split: the first human turn of each dialogue pair.

Each line holds two whole dialogues (`chosen`, `rejected`) that share every
turn but the last reply; their first "Human:" turn is a crowdworker's
red-team opening. The rows here are those openings, deduplicated (case and
whitespace folded), in file order; `pairs` counts the lines that opened with
the same text. The file may be the gzip copy as published (`.jsonl.gz`).
"""

from __future__ import annotations

import re
from pathlib import Path

from safeeval.errors import SafeevalError
from safeeval.schema import TaskSpec
from safeeval.tasks.sources import RowIter, jsonl_rows, source

_FIRST = re.compile(r"^\s*Human:\s*(.*?)(?:\n\nAssistant:|\Z)", re.S)


def _lines(path: Path) -> list[tuple[str, dict]]:
    try:
        return list(jsonl_rows(path, ["chosen"]))  # a .gz copy is read gzipped
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise SafeevalError(f"{path}: not a readable (gzipped) UTF-8 JSONL file ({exc})") from None


def first_human_turn(dialogue: str) -> str | None:
    match = _FIRST.match(dialogue)
    return " ".join(match.group(1).split()) if match and match.group(1).strip() else None


@source("anthropic-hh", "Anthropic/hh-rlhf")
def anthropic_hh(spec: TaskSpec, path: Path) -> RowIter:
    """hh-rlhf JSONL (chosen, rejected): one row per distinct first human turn."""
    first: dict[str, dict] = {}
    for where, row in _lines(path):
        prompt = first_human_turn(row["chosen"])
        if prompt is None:
            raise SafeevalError(f"{where}: `chosen` does not open with a 'Human:' turn")
        key = prompt.lower()
        if key in first:
            first[key]["row"]["pairs"] += 1
            continue
        first[key] = {"where": where, "row": {"id": f"hh-{len(first):04d}", "prompt": prompt, "pairs": 1,
                                              "line": where.rsplit(":", 1)[-1]}}
    for entry in first.values():
        yield entry["where"], entry["row"]
