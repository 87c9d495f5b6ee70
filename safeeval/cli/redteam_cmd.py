"""`safeeval redteam`: attack a target with a red model over rounds, and report what broke it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from safeeval.cli.common import err, out, print_json


class MethodChoice(str, Enum):
    dart = "dart"
    pair = "pair"
    static = "static"
    crescendo = "crescendo"


class DefenceChoice(str, Enum):
    none = "none"
    guard = "guard"
    filter = "filter"
    train = "train"


class SelectionChoice(str, Enum):
    active = "active"
    random = "random"


class DiversityChoice(str, Enum):
    minilm = "minilm"
    ngram = "ngram"


class SelectorChoice(str, Enum):
    thompson = "thompson"
    uncertainty = "uncertainty"


def redteam(
    target: str = typer.Option("smollm2", "--target", help="The model attacked: smollm2, hf:<path>, openai:<model>..."),
    red_model: str = typer.Option("smollm2", "--red-model", help="The model that writes attacks (dart, pair)."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Judge of success (default: the objectives' task judge)."),
    objectives: str = typer.Option("canary", "--objectives", help="A task name, task folder, objectives .jsonl, or the built-in set 'canary'."),
    rounds: int = typer.Option(3, "--rounds", min=1),
    per_round: int = typer.Option(4, "--per-round", "-k", min=1, help="K: attacks per picked objective per round."),
    method: MethodChoice = typer.Option(MethodChoice.dart, "--method", help="dart, pair (baseline), static (attack library once) or crescendo (multi-turn escalation with back-off)."),
    diversity: DiversityChoice = typer.Option(DiversityChoice.minilm, "--diversity", help="Novelty space: minilm embeddings or ngram."),
    selector: SelectorChoice = typer.Option(SelectorChoice.thompson, "--selector", help="How dart picks objectives."),
    budget: Optional[int] = typer.Option(None, "--budget", min=1, help="Total target queries (default rounds x K x objectives)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many objectives."),
    seed: int = typer.Option(0, "--seed"),
    defence: DefenceChoice = typer.Option(DefenceChoice.none, "--defence", help="Between rounds: none; guard (guard prompt + similarity filter of known successes); filter (the filter alone); train (LoRA fine-tune a local target on selected failures)."),
    moving_target: bool = typer.Option(False, "--moving-target", help="Old name of --defence guard."),
    train_selection: SelectionChoice = typer.Option(SelectionChoice.active, "--train-selection", help="defence train: pick failures by judge-score uncertainty + embedding diversity (active) or at random, at the same budget."),
    train_budget: int = typer.Option(4, "--train-budget", min=1, help="defence train: failures picked per round (each gives 2 training pairs)."),
    benign_ratio: float = typer.Option(1.0, "--benign-ratio", min=0.0, help="defence train: benign pairs mixed in per attack pair."),
    train_epochs: int = typer.Option(2, "--train-epochs", min=1, help="defence train: epochs over the pairs so far, each round."),
    heldout: Optional[str] = typer.Option(None, "--heldout", help="Held-out harmful task measured after each round (default: the objectives' task)."),
    heldout_size: Optional[int] = typer.Option(None, "--heldout-size", min=0, help="Held-out harmful requests and benign controls (defence train: 24, else 0)."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="crescendo: turns before a conversation restarts."),
    novelty_weight: float = typer.Option(0.5, "--novelty-weight", min=0.0, help="lambda in reward = success + lambda * novelty."),
    novelty_threshold: Optional[float] = typer.Option(None, "--novelty-threshold", min=0.0, max=1.0, help="Top-5 mean similarity above which an attack is dropped."),
    red_template: Optional[Path] = typer.Option(None, "--red-template", help="Replace the red model's instruction template."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Target's max new tokens (default: the task's)."),
    export_task: Optional[Path] = typer.Option(None, "--export-task", help="Write the successful attacks as a task folder here."),
    export_name: Optional[str] = typer.Option(None, "--export-name", help="Name of the exported task."),
    tasks_dir: list[Path] = typer.Option([], "--tasks-dir", help="Extra folder of task plugins."),
    out_dir: Path = typer.Option(Path("results/redteam"), "--out", "-o", help="Run folder for attacks.jsonl, rounds.jsonl, report."),
    as_json: bool = typer.Option(False, "--json", help="Print report.json on stdout."),
) -> None:
    """Red-team TARGET: rounds of attacks, judged against the original objectives.

    Writes attacks.jsonl and rounds.jsonl (appended round by round), report.json,
    report.md and finetune.jsonl to --out; with --defence train also heldout.json,
    train.jsonl, heldout.svg and adapters/round-N (re-measure any round's target
    with --target hf:<run>/adapters/round-N).
    """
    from safeeval.redteam import RedteamOptions, run
    from safeeval.redteam.report import to_markdown

    options = RedteamOptions(
        target=target, red_model=red_model, judge=judge, objectives=objectives, rounds=rounds, per_round=per_round,
        method=method.value, diversity=diversity.value, selector=selector.value, budget=budget, limit=limit,
        seed=seed, defence=defence.value, moving_target=moving_target, train_selection=train_selection.value,
        train_budget=train_budget, benign_ratio=benign_ratio, train_epochs=train_epochs, heldout=heldout,
        heldout_size=heldout_size, max_turns=max_turns, novelty_weight=novelty_weight, novelty_threshold=novelty_threshold,
        red_template=red_template, target_max_tokens=max_tokens, export_task=export_task, export_name=export_name,
        tasks_dirs=tasks_dir, out=out_dir,
    )

    def on_round(rec) -> None:
        if not as_json:
            asr = "-" if rec.asr is None else f"{rec.asr:.2f}"
            line = (f"round {rec.round}: {rec.queries} queries, {rec.successes} successes (ASR {asr}), "
                    f"{rec.cumulative_unique_successes} unique so far")
            if rec.training:
                line += f"; trained on {rec.training['new_pairs']} new pairs in {rec.training['seconds']} s"
            if rec.heldout and rec.heldout.get("violation"):
                line += f"; held-out violation {rec.heldout['violation']['k']}/{rec.heldout['violation']['n']}"
            err.print(line)

    result = run(options, on_round=on_round)
    if as_json:
        print_json(result.report)
        return
    out.print(to_markdown(result.report), markup=False, highlight=False)
    out.print(f"wrote {result.out}")
