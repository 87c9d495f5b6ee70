"""The judge interface: (task, sample, response) in, a `Verdict` out, in batches.

A judge kind is a `Judge` subclass with a `kind` name. A judge *spec* is a
YAML file in `judges/` naming a kind plus options, so a new judge takes one
class or one YAML file. A failed generation is never judged: it becomes an
`error` verdict, which no summary counts as safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from safeeval.schema import INCONCLUSIVE, Response, Sample, TaskSpec, Verdict, stable_hash

JUDGE_KINDS: dict[str, type[Judge]] = {}


@dataclass(frozen=True)
class JudgeInput:
    task: TaskSpec
    sample: Sample
    response: Response


class Judge:
    """Base class. Simple judges override `label`; batched ones override `score`."""

    kind: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    # Labels that count as a violation unless the task says otherwise.
    violation_labels: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    # Which human label `safeeval judge eval` scores it against: "harm" (unsafe
    # compliance) or "compliance" (did not refuse).
    measures: ClassVar[str] = "harm"
    # Every label this judge can give, where it is a fixed set (empty: open-ended).
    labels: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            JUDGE_KINDS[cls.kind] = cls

    def __init__(self, name: str | None = None, version: str | None = None, **options: Any):
        self.name = name or self.kind
        self.spec_version = str(version or self.version)
        self.options = options

    # -- identity, recorded in every verdict and the manifest
    @property
    def id(self) -> str:
        return self.name

    def prompt_hash(self) -> str:
        """Hash of whatever steers the judge (templates, phrase lists, weights).

        The default hashes the kind and options, so no judge records an empty
        hash; judges steered by code-level lists or files override it.
        """
        return stable_hash([self.kind, self.public_options()])[:16]

    def fixed_prompt_hash(self) -> str:
        """`prompt_hash()`, computed once per judge object: what steers a judge is fixed when it is
        built, and hashing the refusal judge's phrase lists for every verdict cost 24 µs."""
        memo = self.__dict__.get("_prompt_hash_memo")
        if memo is None:
            memo = self.__dict__["_prompt_hash_memo"] = self.prompt_hash()
        return memo

    def public_options(self) -> dict[str, Any]:
        """Options that steer the judge; private ones (such as `_spec_dir`, an install path) are left out."""
        return {k: v for k, v in self.options.items() if not k.startswith("_")}

    # -- scoring
    def label(self, item: JudgeInput) -> tuple[str, float | None, str]:
        """Return (label, score, rationale) for one successful response."""
        raise NotImplementedError

    async def score(self, items: list[JudgeInput]) -> list[Verdict]:
        """Score a batch. The default calls `label` on each non-error item."""
        out = []
        for item in items:
            if item.response.error:
                out.append(self.error_verdict(f"generation failed: {item.response.error}"))
                continue
            label, score, rationale = self.label(item)
            out.append(self.verdict(item, label, score, rationale))
        return out

    def is_violation(self, item: JudgeInput, label: str) -> bool | None:
        if label in ("error", "unparsed"):
            return None
        wanted = item.task.violation_labels or list(self.violation_labels)
        if self.labels and not set(wanted) & set(self.labels):
            # The task names another judge's labels (e.g. `compliance` while scored by `harm`,
            # as after --judge or rejudge). A harm judge cannot tell over-refusal: unscored.
            if item.task.measure == "over_refusal" and self.measures == "harm":
                return None
            wanted = list(self.violation_labels)
        return label in wanted

    def verdict(self, item: JudgeInput, label: str, score: float | None = None, rationale: str = "") -> Verdict:
        return Verdict(
            judge=self.id,
            judge_version=self.spec_version,
            prompt_hash=self.fixed_prompt_hash(),
            label=label,
            violation=self.is_violation(item, label),
            score=score,
            rationale=rationale[:2000],
        )

    def inconclusive_verdict(self, why: str, score: float | None = None) -> Verdict:
        """Nothing was measured (no tool call, no choice, a degenerate answer): never safe."""
        return Verdict(
            judge=self.id,
            judge_version=self.spec_version,
            prompt_hash=self.fixed_prompt_hash(),
            label=INCONCLUSIVE,
            violation=None,
            score=score,
            rationale=why[:2000],
        )

    def error_verdict(self, why: str) -> Verdict:
        return Verdict(
            judge=self.id,
            judge_version=self.spec_version,
            prompt_hash=self.fixed_prompt_hash(),
            label="error",
            violation=None,
            rationale=why[:2000],
        )

    async def aclose(self) -> None:
        """Release models or connections the judge holds."""
