"""Load a task plugin (a folder with task.yaml + data.jsonl) into samples.

A row becomes a `Sample` by filling the spec's `system` and `prompt`
templates with the row's fields. Rows may instead carry their own `messages`
(multi-turn) and `tools`. Malformed input fails with the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from safeeval.errors import SafeevalError
from safeeval.schema import Message, Sample, TaskSpec, ToolSpec, compact
from safeeval.tasks.sources import LETTERS, read_jsonl

__all__ = ["LETTERS", "Task", "fill", "load_spec", "load_task", "read_jsonl", "row_to_sample"]



def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(root)"
    return f"{where}: {err['msg']}"


def load_spec(path: Path) -> TaskSpec:
    """Parse and validate a task.yaml; errors name the file."""
    try:
        # The C loader when libyaml is present: listing tasks parses every task.yaml.
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SafeevalError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise SafeevalError(f"{path}: cannot read task file: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise SafeevalError(f"{path}: a task file must be a YAML mapping")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        raise SafeevalError(f"{path}: {_first_error(exc)}") from None
    check_key_part("task name", spec.name, str(path))
    if spec.max_tokens <= 0:
        raise SafeevalError(f"{path}: max_tokens: must be a positive number of tokens, not {spec.max_tokens}")
    return spec


def check_key_part(what: str, value: str, where: str) -> str:
    """Task names and sample ids key records and folders: no path separators or control characters."""
    if not value or any(c in value for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SafeevalError(f"{where}: {what} {value!r} must be non-empty, without '/', '\\' or control characters")
    return value


def _check_fields(template: str, row: dict[str, Any], where: str) -> None:
    """The fields a template reads must be text (or numbers): a null prompt is an error, not the text 'None'."""
    import string

    for _, name, _, _ in string.Formatter().parse(template):
        if not name:
            continue
        key = name.split(".")[0].split("[")[0]
        if key not in row:
            continue  # a missing field: `fill` names it
        value = row[key]
        if value is None or isinstance(value, (bool, list, dict)):
            kind = "null" if value is None else type(value).__name__
            raise SafeevalError(f"{where}: field '{name}' is {kind}; the prompt template needs text")


def choices_block(choices: list[str]) -> str:
    """Render choices as '(A) first' lines, the form the choice judge parses."""
    return "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))


class _RowFields(dict):
    """Template fields: a missing one raises KeyError naming the field."""

    def __missing__(self, key: str) -> Any:
        raise KeyError(key)


def fill(template: str, row: dict[str, Any]) -> str:
    """Fill a `{field}` template from a row (str.format syntax).

    A template that is one text field ("{prompt}", the usual one) is that field's own
    string, not a copy: a run holds every sample's prompt, 100 bytes each saved.
    """
    name = template[1:-1]
    if template[:1] == "{" and template[-1:] == "}" and name.isidentifier() and isinstance(row.get(name), str):
        return row[name]
    return template.format_map(_RowFields(row))


def row_to_sample(spec: TaskSpec, row: dict[str, Any], index: int, where: str) -> Sample:
    """Turn one data row into a Sample; `where` (file:line) prefixes errors."""
    fields = dict(row)
    choices = row.get("choices")
    if choices is not None:
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise SafeevalError(f"{where}: 'choices' must be a list of strings")
        fields["choices_block"] = choices_block(choices)
    try:
        if "messages" in row:
            messages = [Message.model_validate(m) for m in row["messages"]]
        else:
            _check_fields(spec.prompt, fields, where)
            messages = [Message(role="user", content=fill(spec.prompt, fields))]
        system = row.get("system") or (fill(spec.system, fields) if spec.system else None)
        if system and not (messages and messages[0].role == "system"):
            messages.insert(0, Message(role="system", content=system))
        tools = [ToolSpec.model_validate(t) for t in row.get("tools", [])]
    except KeyError as exc:
        raise SafeevalError(f"{where}: the prompt template needs field {exc} that this row lacks") from None
    except (ValidationError, TypeError, ValueError) as exc:
        detail = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise SafeevalError(f"{where}: {detail}") from None
    violation_answers = row.get("violation_answers")
    if isinstance(violation_answers, str):
        violation_answers = [violation_answers]
    user_text = next((m.content for m in messages if m.role == "user"), "")
    for message in messages:
        compact(message)
    canary = row.get("canary") or spec.options.get("canary")
    _check_kind(spec, where, choices=choices, tools=tools)
    return compact(Sample(
        id=check_key_part("sample id", str(row.get("id", index)), where),
        task=spec.name,
        subcategory=str(row.get("subcategory", spec.subcategory) or ""),
        messages=messages,
        tools=tools,
        choices=choices,
        answer=None if row.get("answer") is None else str(row["answer"]),
        violation_answers=violation_answers,
        canary=canary,
        forbidden=row.get("forbidden"),
        objective=str(row.get("objective") or row.get("prompt") or user_text),
        data=row,
    ))


def _check_kind(spec: TaskSpec, where: str, **got: Any) -> None:
    """A row must hold what its task's `kind` is scored by, else the error names the file and line."""
    # (A canary task's secrets may sit in a row field its judge names, e.g. pii-leak's `pii`.)
    need = {"choice": ("choices", "a 'choices' list of at least two options"),
            "tool": ("tools", "a non-empty 'tools' list")}.get(spec.kind)
    if need is None:
        return
    field, what = need
    value = got[field]
    if not value or (field == "choices" and len(value) < 2):
        raise SafeevalError(f"{where}: task '{spec.name}' is kind '{spec.kind}': each row needs {what}")


@dataclass
class Task:
    """A loaded task plugin: its spec, where it lives, and its samples (lazy)."""

    spec: TaskSpec
    root: Path
    _samples: list[Sample] | None = field(default=None, repr=False)
    _sha: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def data_path(self) -> Path:
        return self.root / self.spec.data

    def rows(self) -> Iterable[tuple[str, dict[str, Any]]]:
        """(where, row) pairs from the task's own JSONL or its public source."""
        if self.spec.source:
            from safeeval.tasks.public import load_rows  # the public sources load when a task needs one

            yield from load_rows(self.spec)
            return
        path = self.data_path
        for lineno, row in read_jsonl(path):
            yield f"{path}:{lineno}", row

    def samples(self) -> list[Sample]:
        if self._samples is None:
            out: list[Sample] = []
            seen: set[str] = set()
            for index, (where, row) in enumerate(self.rows()):
                sample = row_to_sample(self.spec, row, index, where)
                if sample.id in seen:
                    raise SafeevalError(f"{where}: duplicate sample id '{sample.id}'")
                seen.add(sample.id)
                out.append(sample)
            self._samples = out
        return self._samples

    def data_sha256(self) -> str:
        """sha256 of the data the samples came from (file bytes, or rows for sources)."""
        if self._sha is None:
            if self.spec.source:
                digest = hashlib.sha256()
                for _, row in self.rows():
                    digest.update(json.dumps(row, sort_keys=True).encode())
                self._sha = digest.hexdigest()
            else:
                try:
                    self._sha = hashlib.sha256(self.data_path.read_bytes()).hexdigest()
                except OSError as exc:
                    raise SafeevalError(f"{self.data_path}: cannot read data file: {exc.strerror}") from None
        return self._sha


def load_task(task_dir: Path) -> Task:
    """Load the task plugin in `task_dir` (samples load on first use)."""
    return Task(spec=load_spec(task_dir / "task.yaml"), root=task_dir)
