"""What `safeeval list` and `safeeval tasks show` report, as plain data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError, UnknownNameError
from safeeval.judges import JUDGE_KINDS, available_judges, judge_specs, read_judge_spec
from safeeval.models import available_models
from safeeval.registry import discover_tasks
from safeeval.tasks.attacks import ATTACKS, select_attacks


def _origin(task: Any, builtin: Path) -> str:
    """Where a task comes from: built-in, a public benchmark that needs its data file, or the user's folder."""
    if task.spec.source:
        return "public"
    return "built-in" if Path(task.root).resolve().is_relative_to(builtin.resolve()) else "added"


def _judge_cards(names: set[str]) -> dict[str, tuple[str, str, str] | None]:
    """Each judge's (id, version, prompt hash), or None where it cannot load here (weights missing)."""
    from safeeval.judges import load_judge

    idents: dict[str, tuple[str, str, str] | None] = {}
    for name in sorted(names):
        try:
            judge = load_judge(name)
            idents[name] = (judge.id, judge.spec_version, judge.prompt_hash())
        except SafeevalError:
            idents[name] = None
    return idents


def list_tasks(tasks_dirs: list[Path] | None = None) -> list[dict[str, Any]]:
    """One row per task: its size, default judge, whether that judge has a calibration card for the
    task's kind of data, and where the task comes from."""
    from safeeval.calibration import card_for_task
    from safeeval.judges import task_judge
    from safeeval.registry import builtin_dir

    builtin = builtin_dir("tasks")
    tasks = sorted(discover_tasks(tasks_dirs or []).values(), key=lambda t: (t.spec.category, t.name))
    idents = _judge_cards({task_judge(t.spec) for t in tasks})
    rows = []
    for task in tasks:
        spec = task.spec
        try:
            size: int | str = len(task.samples())
        except SafeevalError:
            size = "needs data" if spec.source else "error"
        judge = task_judge(spec)
        ident = idents.get(judge)
        if ident is None:
            card = "?"  # the judge cannot load here (its weights are missing)
        else:
            found, _ = card_for_task(*ident, spec.measure, spec.options)
            card = "yes" if found is not None else "no"
        rows.append({"name": spec.name, "category": spec.category, "measure": spec.measure, "samples": size,
                     "judge": judge, "card": card, "version": str(spec.version), "subcategory": spec.subcategory,
                     "source": _origin(task, builtin)})
    return rows


LIST_LEGEND = ("source: built-in (ships with safeeval), public (a benchmark whose file is not shipped: its "
               "samples say 'needs data'; give it with --data-files TASK=PATH) or added (--tasks-dir) · card: "
               "whether the judge has a calibration card for this kind of data (no: rates are not corrected; "
               "?: the judge cannot load here)")
LIST_DROP = ("subcategory", "version", "category", "measure", "card", "source", "samples")


def list_judges() -> list[dict[str, Any]]:
    specs = judge_specs()
    rows = []
    for name in available_judges():
        if name in specs:
            spec = read_judge_spec(specs[name])
            rows.append({"name": name, "kind": spec["kind"], "version": str(spec.get("version", 1)),
                         "description": " ".join(str(spec.get("description", "")).split())})
        elif name in JUDGE_KINDS:
            cls = JUDGE_KINDS[name]
            rows.append({"name": name, "kind": name, "version": cls.version, "description": cls.description})
    return rows


def list_models() -> list[dict[str, Any]]:
    return [{"name": p if p == "smollm2" else f"{p}:<...>", "description": d} for p, d in available_models().items()]


def list_attacks() -> list[dict[str, Any]]:
    select_attacks("all")
    return [{"name": n, "description": ATTACKS[n].description} for n in sorted(ATTACKS)]


def show_task(name: str, tasks_dirs: list[Path] | None = None, preview: int = 3,
              data_files: dict[str, str] | None = None) -> dict[str, Any]:
    """A task's spec, size, data sha, counts per subcategory and a preview of samples.

    `data_files` (TASK -> path) points public-benchmark tasks at a local copy.
    """
    tasks = discover_tasks(tasks_dirs or [])
    if name not in tasks:
        raise UnknownNameError("task", name, list(tasks))
    task = tasks[name]
    if data_files and name in data_files:
        task.spec = task.spec.model_copy(update={"data_files": data_files[name]})
    samples = task.samples()
    return {
        "spec": task.spec.model_dump(mode="json"),
        "folder": str(task.root),
        "samples": len(samples),
        "data_sha256": task.data_sha256(),
        "subcategories": dict(Counter(s.subcategory or "-" for s in samples).most_common()),
        "preview": [{"id": s.id, "messages": [m.model_dump(exclude_none=True) for m in s.messages]}
                    for s in samples[:preview]],
    }
