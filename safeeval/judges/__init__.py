"""Judge kinds and judge specs.

`load_judge(name)` resolves, in order: a YAML spec `judges/<name>.yaml`
(built-in or in `--judges-dir`), a judge kind by its `kind` name, and a
`safeeval.judges` entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from safeeval.errors import SafeevalError, UnknownNameError
from safeeval.judges import agent, bias, ensemble, harm, llm, refusal, simple, tools  # noqa: F401  (import registers the kinds)
from safeeval.judges.base import JUDGE_KINDS, Judge, JudgeInput
from safeeval.registry import builtin_dir, entry_points
from safeeval.schema import TaskSpec

__all__ = ["Judge", "JudgeInput", "load_judge", "judge_specs", "task_judge", "JUDGE_KINDS"]


def task_judge(spec: TaskSpec, override: str | None = None, judge_model: str | None = None) -> str:
    """The judge that scores a task: `--judge` when given; the task's `options.llm_judge` when an
    LLM judge model is given (`--judge-model`: StrongREJECT's rubric for strongreject); else its `judge`."""
    if override:
        return override
    if judge_model and spec.options.get("llm_judge"):
        return str(spec.options["llm_judge"])
    return spec.judge


def judge_specs(extra_dirs: list[Path] | None = None) -> dict[str, Path]:
    """Judge spec files by name: built-in first, then extra folders."""
    specs: dict[str, Path] = {}
    for folder in [builtin_dir("judges"), *(extra_dirs or [])]:
        for path in sorted(Path(folder).glob("*.yaml")):
            specs[path.stem] = path
    return specs


def read_judge_spec(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SafeevalError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(spec, dict) or "kind" not in spec:
        raise SafeevalError(f"{path}: a judge spec must be a mapping with a `kind`")
    return spec


def available_judges(extra_dirs: list[Path] | None = None) -> list[str]:
    names = set(judge_specs(extra_dirs)) | set(JUDGE_KINDS)
    names |= {ep.name for ep in entry_points("safeeval.judges")}
    return sorted(names)


def load_judge(name: str, extra_dirs: list[Path] | None = None, **overrides: Any) -> Judge:
    """Build the judge called `name`; `overrides` replace spec options (e.g. model)."""
    specs = judge_specs(extra_dirs)
    if name in specs:
        spec = read_judge_spec(specs[name])
        kind = spec["kind"]
        if kind not in JUDGE_KINDS:
            raise UnknownNameError("judge kind", kind, list(JUDGE_KINDS))
        options = {**spec.get("options", {}), "_spec_dir": str(specs[name].parent)}
        options.update({k: v for k, v in overrides.items() if v is not None})
        return JUDGE_KINDS[kind](name=name, version=str(spec.get("version", 1)), **options)
    if name in JUDGE_KINDS:
        return JUDGE_KINDS[name](**{k: v for k, v in overrides.items() if v is not None})
    for ep in entry_points("safeeval.judges"):
        if ep.name == name:
            return ep.load()(name=name, **overrides)
    raise UnknownNameError("judge", name, available_judges(extra_dirs))
