"""Find plugins: built-in task and judge folders, `--tasks-dir`, and entry points.

Built-in tasks live in `tasks/<category>/<task>/task.yaml` and built-in judge
specs in `judges/<name>.yaml`. In a wheel both folders are shipped inside the
package as `safeeval/_builtin/`. Third-party packages add:

- `safeeval.tasks`: an entry point that resolves to a folder (str or Path, or a
  callable returning one) holding task folders;
- `safeeval.judges`: a `Judge` subclass;
- `safeeval.models`: a `ModelAdapter` subclass.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from safeeval.errors import SafeevalError, UnknownNameError
from safeeval.schema import CATEGORIES
from safeeval.tasks.loader import Task, load_task

PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_dir(kind: str) -> Path:
    """The folder of built-in `tasks` or `judges`: in the wheel, else in the repo."""
    shipped = PACKAGE_DIR / "_builtin" / kind
    return shipped if shipped.is_dir() else PACKAGE_DIR.parent / kind


def entry_points(group: str) -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=group))


def task_roots(extra: Iterable[Path] = ()) -> list[Path]:
    """Folders searched for task plugins, built-in first."""
    roots = [builtin_dir("tasks")]
    for ep in entry_points("safeeval.tasks"):
        value = ep.load()
        roots.append(Path(value() if callable(value) else value))
    for path in extra:
        path = Path(path).expanduser()
        if not path.is_dir():
            raise SafeevalError(f"{path}: --tasks-dir is not a folder")
        roots.append(path)
    return roots


def discover_tasks(extra: Iterable[Path] = ()) -> dict[str, Task]:
    """All task plugins by name. A later root may not reuse an earlier name."""
    found: dict[str, Task] = {}
    for root in task_roots(extra):
        for spec_path in sorted(root.rglob("task.yaml")):
            task = load_task(spec_path.parent)
            if task.name in found and found[task.name].root != task.root:
                raise SafeevalError(
                    f"{spec_path}: task name '{task.name}' is already used by {found[task.name].root}"
                )
            found[task.name] = task
    for task in found.values():  # a task's `control` is its paired benign (or harmful) task
        control = task.spec.control
        if control is not None and (control not in found or control == task.name):
            raise SafeevalError(f"{task.root / 'task.yaml'}: control '{control}' is not another known task")
    return found


def _in_suite(task: Task) -> bool:
    """Whether `all` and a category name pick this task (see `select_tasks`)."""
    return not task.spec.source and task.spec.kind != "agent"


def select_tasks(selector: str, available: dict[str, Task]) -> list[Task]:
    """Resolve `--tasks`: comma-separated names, categories, globs or `all`.

    `all` means the built-in and added suites; public-benchmark tasks (which
    need a local data file) are picked by name, glob or the `public` tag.
    Multi-step agent episodes (kind `agent`) are left out of `all` and of a
    category: one episode costs a local model up to `max_steps` generations, so
    the 384-episode agent suite alone would take the embedded model about an hour.
    They are picked by name, by a glob such as `agent-*`, or by the `multi-step` tag.
    """
    chosen: dict[str, Task] = {}
    for token in [t.strip() for t in selector.split(",") if t.strip()]:
        if token == "all":
            matches = [t for t in available.values() if _in_suite(t)]
        elif token in CATEGORIES:
            matches = [t for t in available.values() if t.spec.category == token and _in_suite(t)]
        elif token in available:
            matches = [available[token]]
        elif any(ch in token for ch in "*?["):
            matches = [t for n, t in available.items() if fnmatch.fnmatch(n, token)]
            if not matches:
                raise SafeevalError(f"--tasks '{token}' matches no task; see `safeeval list tasks`")
        else:
            tagged = [t for t in available.values() if token in t.spec.tags]
            if not tagged:
                raise UnknownNameError("task", token, list(available) + list(CATEGORIES) + ["all"])
            matches = tagged
        for task in matches:
            chosen.setdefault(task.name, task)
    if not chosen:
        raise SafeevalError("--tasks selected no task; see `safeeval list tasks`")
    return sorted(chosen.values(), key=lambda t: (CATEGORIES.index(t.spec.category), t.name))
