"""Expand selected tasks into the work items of a run: sample x attack -> Prompt."""

from __future__ import annotations

import random
from dataclasses import dataclass

from safeeval.engine.options import RunOptions
from safeeval.registry import discover_tasks, select_tasks
from safeeval.schema import GenerateConfig, Prompt, Sample, compact, stable_hash
from safeeval.tasks.attacks import get_attack, select_attacks
from safeeval.tasks.loader import Task

__all__ = ["RunOptions", "WorkItem", "expand", "pick_samples", "resolve_tasks"]


@dataclass(slots=True)
class WorkItem:
    task: Task
    sample: Sample
    attack: str
    prompt: Prompt

    @property
    def sample_hash(self) -> str:
        return stable_hash({"messages": [m.model_dump() for m in self.prompt.messages],
                            "tools": [t.model_dump() for t in self.prompt.tools]})


def resolve_tasks(options: RunOptions) -> list[Task]:
    """The tasks `--tasks` selects, with `--data-files` overrides applied."""
    available = discover_tasks(options.tasks_dirs)
    for name, path in options.data_files.items():
        if name in available:
            task = available[name]
            task.spec = task.spec.model_copy(update={"data_files": path})
    return select_tasks(options.tasks, available)


def pick_samples(task: Task, seed: int, limit: int | None) -> list[Sample]:
    """A task's samples in a seed-determined order, cut to `limit`."""
    samples = list(task.samples())
    if limit is None or limit >= len(samples):
        return samples
    order = list(range(len(samples)))
    random.Random(f"{seed}:{task.name}").shuffle(order)
    keep = sorted(order[:limit])  # a seeded subset, kept in file order
    return [samples[i] for i in keep]


def expand(tasks: list[Task], options: RunOptions) -> tuple[list[WorkItem], list[str]]:
    """All work items of a run, and the attack names in play."""
    attack_names = select_attacks(options.attacks)
    attacks = {name: get_attack(name) for name in attack_names}
    items: list[WorkItem] = []
    for task in tasks:
        config = GenerateConfig(
            temperature=options.temperature,
            max_tokens=options.max_tokens or task.spec.max_tokens,
            seed=options.seed,
        )
        names = attack_names if task.spec.attackable else ["none"]
        for sample in pick_samples(task, options.seed, options.limit):
            for name in names:
                messages = attacks[name].apply(sample, options.seed)
                # Made from validated parts (the sample's messages and tools, an attack's messages):
                # no second validation, and the attack's list is the prompt's, not copied again.
                prompt = compact(Prompt.model_construct(key=f"{task.name}/{sample.id}/{name}", messages=messages,
                                                        tools=sample.tools, config=config))
                items.append(WorkItem(task, sample, name, prompt))
    return items, attack_names
