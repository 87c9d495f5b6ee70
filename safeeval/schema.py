"""The typed records that flow through safeeval, one way:

task (TaskSpec) -> Sample -> Prompt -> model -> Response -> judge -> Verdict
-> SampleRecord (one JSON line) -> summary.

Everything downstream of a run (report, leaderboard, gate, rejudge, red-team
exports) reads `SampleRecord`s and the `RunManifest`, nothing else.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["misalignment", "adversarial", "misuse", "autonomy"]
CATEGORIES: tuple[str, ...] = ("misalignment", "adversarial", "misuse", "autonomy")

# What a task's violation rate means: "violation" tasks count unsafe behaviour;
# "over_refusal" tasks are benign controls where refusing is the failure.
Measure = Literal["violation", "over_refusal"]

# The four outcomes of one judged sample. "inconclusive" means nothing was measured
# (no tool call where one was needed, no recognisable or a self-contradicting choice,
# an empty or degenerate answer, an answer the server cut short): never counted as safe.
# "error" means generation or judging failed. Rates are taken over conclusive samples.
Outcome = Literal["violation", "safe", "inconclusive", "error"]
OUTCOMES: tuple[str, ...] = ("violation", "safe", "inconclusive", "error")
ERROR_LABELS = frozenset({"error"})
INCONCLUSIVE = "inconclusive"


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj`; the basis of every cache key."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    data = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


_FIELD_SETS: dict[tuple[type, frozenset[str]], set[str]] = {}


def compact(model: Any) -> Any:
    """Let `model` share its record of explicitly set fields with every model like it; returns it.

    pydantic keeps that set per instance: 728 bytes for a Sample, 216 for a
    Message or a Prompt, about 116 MB over the samples and prompts of a
    100,000-sample run. Nothing in safeeval reads it (no `exclude_unset`), and
    `model_copy` copies it before changing it, so samples, messages and
    prompts, made by the thousand and never changed, share one.
    """
    fields = model.__pydantic_fields_set__
    shared = _FIELD_SETS.setdefault((type(model), frozenset(fields)), fields)
    object.__setattr__(model, "__pydantic_fields_set__", shared)
    return model


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Strict(BaseModel):
    """Base for boundary models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- chat pieces


class ToolCall(Strict):
    """A tool call the model made, from native tool calling or the text protocol."""

    id: str = ""
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolSpec(Strict):
    """A tool offered to the model, described as a JSON Schema (OpenAI style)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Message(Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


# ---------------------------------------------------------------- tasks


class TaskSpec(Strict):
    """A task plugin's `task.yaml`: metadata the engine turns into behaviour."""

    name: str
    version: int | str = 1
    category: Category
    subcategory: str = ""
    description: str = ""
    kind: Literal["generation", "choice", "canary", "tool", "multiturn", "agent"] = "generation"
    measure: Measure = "violation"
    data: str = "data.jsonl"
    source: str | None = None          # a public-benchmark source name instead of `data`
    data_files: str | None = None      # a local copy for `source`
    system: str | None = None          # system prompt template
    prompt: str = "{prompt}"           # user message template, filled from the row
    judge: str = "refusal"
    violation: str = ""                # what counts against the model, in words
    violation_labels: list[str] | None = None  # verdict labels that count as a violation
    control: str | None = None         # the paired task (harmful <-> benign); checked at discovery, in the manifest
    max_tokens: int = 256
    attackable: bool = False           # can attack transforms apply to its prompts
    license: str | None = None          # as the task's author states it; None: not stated
    references: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)  # kind-specific settings


class Sample(Strict):
    """One item of a task, ready to be turned into a prompt."""

    id: str
    task: str
    subcategory: str = ""
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    choices: list[str] | None = None
    answer: str | None = None                   # the correct or expected answer
    violation_answers: list[str] | None = None  # answers whose choice is a violation
    canary: str | None = None                   # a secret whose appearance is a violation
    forbidden: list[dict[str, Any]] | None = None  # tool calls that are violations
    objective: str = ""                         # the plain request, for judges and attacks
    data: dict[str, Any] = Field(default_factory=dict)  # the raw row


class GenerateConfig(Strict):
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int = 0
    stop: list[str] = Field(default_factory=list)
    top_p: float = 1.0


class Prompt(Strict):
    """What is sent to a model: one sample under one attack."""

    key: str                      # "<task>/<sample id>/<attack>", unique within a run
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    config: GenerateConfig = Field(default_factory=GenerateConfig)

    def n_chars(self) -> int:
        """Length in characters, tool schemas included (adapters render them into the prompt)."""
        return sum(len(m.content) for m in self.messages) + sum(len(t.model_dump_json()) for t in self.tools)


class Response(Strict):
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None
    finish_reason: str | None = None
    error: str | None = None      # set when generation failed; never judged as safe
    cached: bool = False
    # Set by the adapter (safeeval.models.answers): why the backend cut the answer short.
    # A cut answer is recorded but never scored: its verdict is inconclusive with this reason.
    cut: str | None = None
    endpoint: str | None = None       # the server that answered (its URL without credentials), for openai:
    tool_protocol: str | None = None  # how tools were offered: "native" (API tools) or "text" (toolcalls.py)
    # A multi-step agent episode (task kind "agent", safeeval.agents): every step's text, calls and
    # tool results, the final state. The response's text is the last step's, tool_calls every call made.
    episode: dict[str, Any] | None = None


class Verdict(Strict):
    judge: str
    judge_version: str = "1"
    prompt_hash: str = ""
    label: str                    # judge-specific: refusal, compliance, unsafe, B, leak, error, inconclusive...
    violation: bool | None        # None: nothing measured (inconclusive) or failed (error)
    score: float | None = None
    rationale: str = ""           # for an inconclusive verdict: the reason, in one line

    @property
    def outcome(self) -> Outcome:
        """violation, safe, inconclusive or error (see `Outcome`)."""
        if self.label in ERROR_LABELS:
            return "error"
        if self.violation is None:
            return "inconclusive"
        return "violation" if self.violation else "safe"


# ---------------------------------------------------------------- records


class RecordSample(Strict):
    """What judges read of a sample and its task, carried by each record.

    With it a record is enough to judge again (`rejudge`), to compute per-task
    metrics and to export: nothing downstream goes back to the task files.
    The messages are the record's own (what was sent, attacks applied).
    """

    objective: str = ""
    choices: list[str] | None = None
    answer: str | None = None
    violation_answers: list[str] | None = None
    canary: str | None = None
    forbidden: list[dict[str, Any]] | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    # The task settings judges read.
    kind: str = "generation"
    violation_labels: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, task: TaskSpec, sample: Sample) -> RecordSample:
        """The record's copy; the objective defaults to the sample's own last user message,
        so judges see the plain request even when an attack rewrote the messages sent."""
        objective = sample.objective or next((m.content for m in reversed(sample.messages) if m.role == "user"), "")
        # Made from validated parts: no second validation (this runs once per record).
        return cls.model_construct(objective=objective, choices=sample.choices, answer=sample.answer,
                                   violation_answers=sample.violation_answers, canary=sample.canary,
                                   forbidden=sample.forbidden, tools=sample.tools, data=sample.data,
                                   kind=task.kind, violation_labels=task.violation_labels, options=task.options)


class SampleRecord(Strict):
    """The only row type: one sample under one attack, from prompt to verdicts."""

    key: str
    task: str
    task_version: str
    category: Category
    subcategory: str = ""
    measure: Measure = "violation"
    sample_id: str
    attack: str = "none"
    messages: list[Message]
    response: Response
    verdicts: list[Verdict]
    violation: bool | None        # the primary (first) verdict's decision
    model: str
    sample_hash: str              # hash of the messages and tools sent
    created: str = Field(default_factory=utcnow)
    sample: RecordSample | None = None  # what the judges read; None in records from before 0.x

    def judge_task(self) -> TaskSpec:
        """The task as its judges saw it, rebuilt from the record alone (one object per distinct task)."""
        s = self.sample or _NO_SAMPLE
        key = (self.task, self.task_version, self.category, self.subcategory, self.measure, s.kind,
               None if s.violation_labels is None else tuple(s.violation_labels),
               json.dumps(s.options, sort_keys=True, default=str) if s.options else "")
        spec = _JUDGE_TASKS.get(key)
        if spec is None:
            spec = _JUDGE_TASKS[key] = TaskSpec(
                name=self.task, version=self.task_version, category=self.category, subcategory=self.subcategory,
                measure=self.measure, kind=s.kind, violation_labels=s.violation_labels, options=s.options)
        return spec

    def judge_sample(self) -> Sample:
        """The sample as its judges saw it: the messages sent, and what `sample` carries.

        A record without `sample` (written before records carried it) gives the
        last user message as the objective, and nothing else.
        """
        if self.sample is None:
            user = next((m.content for m in reversed(self.messages) if m.role == "user"), "")
            return Sample(id=self.sample_id, task=self.task, subcategory=self.subcategory,
                          messages=self.messages, objective=user)
        s = self.sample
        # Built from validated parts: no second validation (this runs once per judged record).
        return Sample.model_construct(id=self.sample_id, task=self.task, subcategory=self.subcategory,
                                      messages=self.messages, tools=s.tools, choices=s.choices, answer=s.answer,
                                      violation_answers=s.violation_answers, canary=s.canary,
                                      forbidden=s.forbidden, objective=s.objective, data=s.data)

    @property
    def outcome(self) -> Outcome:
        """The primary verdict's outcome; a failed generation is an error whatever the verdict says."""
        if self.response.error or not self.verdicts:
            return "error"
        return self.verdicts[0].outcome


_NO_SAMPLE = RecordSample()
_JUDGE_TASKS: dict[tuple, TaskSpec] = {}  # SampleRecord.judge_task: a record's task, built once per task


class TaskInfo(Strict):
    name: str
    version: str
    category: Category
    measure: Measure = "violation"
    data_sha256: str
    samples: int
    control: str | None = None  # the paired task (TaskSpec.control): a harmful task's benign twin


class JudgeInfo(Strict):
    id: str
    version: str = "1"
    prompt_hash: str = ""
    # The calibration card the summary corrects this judge's rates with, fixed at the start of the run
    # (safeeval.calibration.run_card): the card itself, its sha256 and where it came from.
    card: dict[str, Any] | None = None
    card_sha256: str | None = None
    card_source: str | None = None


class RunManifest(Strict):
    """Everything that makes a run reproducible and comparable; no secrets."""

    run_id: str
    safeeval_version: str
    git_sha: str | None = None
    model: dict[str, Any]                # the adapter's spec, secrets removed
    generate: GenerateConfig
    tasks: list[TaskInfo]
    attacks: list[str] = Field(default_factory=lambda: ["none"])
    judges: list[JudgeInfo]
    judge_override: str | None = None
    seed: int = 0
    limit: int | None = None
    shard: str | None = None             # "i/n" for one `--shard` slice; None for the whole run
    started: str = Field(default_factory=utcnow)
    finished: str | None = None
    host: dict[str, Any] = Field(default_factory=dict)

    def differences(self, other: RunManifest, purpose: ComparePurpose) -> list[tuple[str, str]]:
        """Why this run and `other` cannot be taken together for `purpose`, as (field, reason)
        pairs; empty when they can. The one definition of comparable runs:

        - "resume": the same run again: model, tasks, attacks, judges, settings and shard;
        - "merge": slices of one run: all of that but the shard;
        - "rank": runs of other models on one leaderboard: tasks, attacks, judges, sample
          subset (seed, limit) and generation settings, not the model;
        - "gate": a candidate against a baseline, sample by sample: the tasks both ran
          (version and data) and the generation settings.
        """
        out: list[tuple[str, str]] = []
        mine, theirs = {t.name: t for t in self.tasks}, {t.name: t for t in other.tasks}
        if purpose in ("resume", "merge") and self.model.get("id") != other.model.get("id"):
            out.append(("model", f"models differ: {self.model.get('id')} vs {other.model.get('id')}"))
        if purpose != "gate" and set(mine) != set(theirs):
            only_a, only_b = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
            parts = ([f"only in {self.run_id}: {', '.join(only_a)}"] if only_a else []) + \
                    ([f"only in {other.run_id}: {', '.join(only_b)}"] if only_b else [])
            out.append(("tasks", "different task sets (" + "; ".join(parts) + ")"))
        for name in sorted(set(mine) & set(theirs)):
            a, b = mine[name], theirs[name]
            if a.version != b.version:
                out.append(("tasks", f"task {name}: version {a.version} vs {b.version}"))
            elif a.data_sha256 != b.data_sha256:
                out.append(("tasks", f"task {name}: data hash {a.data_sha256[:12]} vs {b.data_sha256[:12]}"))
        if purpose != "gate":
            if sorted((j.id, j.version, j.prompt_hash) for j in self.judges) != \
                    sorted((j.id, j.version, j.prompt_hash) for j in other.judges):
                out.append(("judges", f"judges differ: {_judge_names(self)} vs {_judge_names(other)}"))
            if purpose != "rank" and self.judge_override != other.judge_override:
                out.append(("judge override", f"--judge {self.judge_override} vs {other.judge_override}"))
            if sorted(self.attacks) != sorted(other.attacks):
                out.append(("attacks", f"attacks differ: {', '.join(self.attacks)} vs {', '.join(other.attacks)}"))
            # --limit draws a seeded subset: another limit or seed means other samples.
            if self.seed != other.seed:
                out.append(("seed", f"sample subsets differ: seed {self.seed} vs {other.seed}"))
            if self.limit != other.limit:
                out.append(("limit", f"sample subsets differ: limit {self.limit} vs {other.limit}"))
        if self.generate != other.generate:
            a, b = self.generate.model_dump(), other.generate.model_dump()
            changed = ", ".join(f"{k} {a[k]} vs {b[k]}" for k in a if a[k] != b[k])
            out.append(("generation settings", f"generation settings differ: {changed}"))
        if purpose == "resume" and self.shard != other.shard:
            out.append(("shard", f"shards differ: {self.shard} vs {other.shard}"))
        return out


ComparePurpose = Literal["resume", "merge", "rank", "gate"]


def _judge_names(m: RunManifest) -> str:
    return ", ".join(f"{j.id} v{j.version}" + (f" #{j.prompt_hash[:8]}" if j.prompt_hash else "")
                     for j in sorted(m.judges, key=lambda j: j.id)) or "none"
