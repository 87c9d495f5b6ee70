"""Typed records of a red-team run: its options, one line per attack, one per round.

`attacks.jsonl` holds `AttackRecord`s and `rounds.jsonl` holds `RoundRecord`s,
appended as each finishes; the report and the exports read them and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safeeval.schema import Verdict, utcnow

Method = Literal["dart", "pair", "static", "crescendo"]
DefenceKind = Literal["none", "guard", "filter", "train"]
TrainSelection = Literal["active", "random"]
Diversity = Literal["minilm", "ngram"]
SelectorKind = Literal["thompson", "uncertainty"]


class RedteamOptions(BaseModel):
    """Everything `safeeval redteam` was asked to do (the CLI fills it, the loop runs it)."""

    model_config = ConfigDict(extra="forbid")

    target: str = "smollm2"
    red_model: str = "smollm2"
    judge: str | None = None             # default: the objectives' task judge
    objectives: str = "canary"           # task name, task folder, objectives .jsonl or a built-in set
    rounds: int = Field(3, ge=1)
    per_round: int = Field(4, ge=1)      # K: attacks per picked objective per round
    method: Method = "dart"
    diversity: Diversity = "minilm"
    selector: SelectorKind = "thompson"
    budget: int | None = Field(None, ge=1)  # total target queries; default rounds x K x objectives
    limit: int | None = Field(None, ge=1)   # at most this many objectives
    seed: int = 0
    # none; guard: guard prompt + similarity filter (what --moving-target did); filter: the filter alone;
    # train: LoRA fine-tuning of a local target between rounds (safeeval/redteam/train.py).
    defence: DefenceKind = "none"
    moving_target: bool = False          # old spelling of defence="guard"; kept so old options.json still load
    train_selection: TrainSelection = "active"
    train_budget: int = Field(4, ge=1)   # failures picked for training per round (the data budget)
    benign_ratio: float = Field(1.0, ge=0.0)  # benign (request, own answer) pairs per attack pair
    train_epochs: int = Field(2, ge=1)
    train_lr: float = Field(2e-3, gt=0.0)
    lora_rank: int = Field(8, ge=1)
    heldout: str | None = None           # held-out harmful task (default: the objectives' own task)
    heldout_size: int | None = Field(None, ge=0)  # held-out harmful requests (and benign controls); train: 24
    max_turns: int = Field(5, ge=1)      # crescendo: turns before a conversation restarts
    novelty_weight: float = 0.5          # lambda in reward = success + lambda * novelty
    novelty_threshold: float | None = None  # top-5 mean similarity above which an attack is dropped
    red_template: Path | None = None
    target_max_tokens: int | None = None
    red_max_tokens: int = 160
    red_temperature: float = 0.9
    export_task: Path | None = None
    export_name: str | None = None
    tasks_dirs: list[Path] = Field(default_factory=list)
    out: Path = Path("results/redteam")

    @model_validator(mode="after")
    def _alias(self) -> "RedteamOptions":
        if self.moving_target and self.defence == "none":
            self.defence = "guard"
        self.moving_target = self.defence == "guard"
        return self

    @property
    def heldout_n(self) -> int:
        if self.heldout_size is not None:
            return self.heldout_size
        return 24 if self.defence == "train" else 0


class AttackRecord(BaseModel):
    """One attack sent to the target, its answer and the verdict on the original objective."""

    model_config = ConfigDict(extra="forbid")

    id: str                       # "r<round>-<n>", unique in the run
    round: int
    objective_id: str
    objective: str
    attack: str
    method: Method
    source: str                   # red-model, mutation:<operator>, static:<attack>
    parent: str | None = None     # id of the attack this one was derived from
    response: str = ""
    response_error: str | None = None
    verdict: Verdict
    success: bool | None          # the verdict's violation: the target failed
    novelty: float                # 1 - top-5 mean similarity to the history before it
    reward: float
    context: list[dict[str, str]] = Field(default_factory=list)  # earlier turns sent before `attack` (crescendo)
    defended: bool = False        # sent through the moving-target defence
    blocked: bool = False         # the defence's filter refused it without asking the target
    created: str = Field(default_factory=utcnow)


class RoundRecord(BaseModel):
    """What one round spent and found."""

    model_config = ConfigDict(extra="forbid")

    round: int
    method: Method
    queries: int
    successes: int
    asr: float | None
    cumulative_queries: int
    cumulative_unique_successes: int
    proposed: int                 # candidates before the novelty gate
    rejected: dict[str, int] = Field(default_factory=dict)   # reason -> count
    sources: dict[str, int] = Field(default_factory=dict)    # source -> attacks sent
    picks: dict[str, int] = Field(default_factory=dict)      # objective id -> attacks sent
    posterior: dict[str, float] = Field(default_factory=dict)  # objective id -> mean success
    avoid: list[str] = Field(default_factory=list)           # directions shown as saturated
    defence: dict[str, Any] | None = None                    # moving target: sizes and replay
    training: dict[str, Any] | None = None                   # defence train: picks, pairs, loss, adapter, seconds
    heldout: dict[str, Any] | None = None                    # held-out violation / over-refusal after this round
    seconds: float | None = None                             # wall time of the round (attacks, training, held-out)
    cpu_seconds: float | None = None                         # this process's CPU time in the round (all threads)
    created: str = Field(default_factory=utcnow)
