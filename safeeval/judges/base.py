"""The judge interface: (task, sample, response) in, a `Verdict` out, in batches.

A judge kind is a `Judge` subclass with a `kind` name. A judge *spec* is a
YAML file in `judges/` naming a kind plus options, so a new judge takes one
class or one YAML file. A failed generation is never judged: it becomes an
`error` verdict, which no summary counts as safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from safeeval.judges.outcomes import CAPABILITY_LABELS, RULES_VERSION, capability_failure, degenerate_reason
from safeeval.schema import ERROR_LABELS, INCONCLUSIVE, Response, Sample, TaskSpec, Verdict, stable_hash

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
    # Every label this judge can give, where it is a fixed set (empty: open-ended, such as
    # a choice judge's letters). Capability-failure labels (no-call, degenerate...) are extra.
    labels: ClassVar[tuple[str, ...]] = ()
    # Whether a degenerate answer (empty, only markup, a repetition loop) is inconclusive
    # before the judge looks at it. Judges that find a violation in any text (a leaked
    # secret, a forbidden call) screen after their own check instead.
    screens_degenerate: ClassVar[bool] = True
    # Whether verdicts go into the shared cache (engine.cache.CachedJudge). A judge that scores
    # by rules in microseconds (refusal phrases, a choice letter, a regex) opts out: its cache key,
    # lookup and write cost more than scoring again (20,000 refusal verdicts: the cache added
    # 39 µs a verdict to the 51 µs of judging), and scoring again gives the same verdict.
    cacheable: ClassVar[bool] = True

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
        return stable_hash([self.kind, self.public_options(), RULES_VERSION])[:16]

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

    def screen(self, item: JudgeInput) -> Verdict | None:
        """The verdict of an item no judge needs to read: a failed generation (error) or,
        for judges that screen, a degenerate answer (a capability failure). None otherwise."""
        if item.response.error:
            return self.error_verdict(f"generation failed: {item.response.error}")
        if item.response.cut:  # the backend cut the answer short: nothing to score (models.answers)
            return self.inconclusive_verdict(f"answer cut: {item.response.cut}")
        if self.screens_degenerate and not item.response.tool_calls:
            why = degenerate_reason(item.response.text)
            if why:
                return self.verdict(item, "degenerate", None, why)
        return None

    async def score(self, items: list[JudgeInput]) -> list[Verdict]:
        """Score a batch. The default calls `label` on each item `screen` lets through."""
        out = []
        for item in items:
            screened = self.screen(item)
            if screened is not None:
                out.append(screened)
                continue
            label, score, rationale = self.label(item)
            out.append(self.verdict(item, label, score, rationale))
        return out

    def vocabulary(self) -> frozenset[str]:
        """The labels this judge can give (empty: open-ended)."""
        return frozenset(self.labels)

    def is_violation(self, item: JudgeInput, label: str) -> bool | None:
        """Whether a label counts against the model on this item's task; None: nothing measured.

        The task's `violation_labels` decide when they are this judge's vocabulary. When
        they name another judge's (`compliance` while scored by `harm` or an LLM judge, as
        after --judge or rejudge), the judge's own violation labels decide: "unsafe" is a
        violation on every harmful-request task. A harm or toxicity judge cannot tell
        over-refusal, so there it measures nothing. Capability failures count as the task declares.
        """
        if label in ERROR_LABELS or label in ("unparsed", INCONCLUSIVE):
            return None
        if label in CAPABILITY_LABELS:
            mode = capability_failure(item.task)
            return None if mode == "inconclusive" else mode == "violation"
        wanted = item.task.violation_labels
        own = self.vocabulary()
        if wanted and (not own or set(wanted) & own):
            return label in wanted
        if item.task.measure == "over_refusal" and self.measures in ("harm", "toxicity"):
            return None
        return label in self.violation_labels

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
