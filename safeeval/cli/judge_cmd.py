"""`safeeval judge eval|train` and `safeeval rejudge`: argument parsing only; the work is in safeeval.judging."""

from __future__ import annotations

from pathlib import Path

import typer

from safeeval.cli.common import out, print_json, print_table
from safeeval.errors import SafeevalError

judge_app = typer.Typer(help="Measure judges against human labels, and train the offline MiniLM judges.",
                        no_args_is_help=True)

METRIC_NAMES = {"agreement": "agreement", "precision": "precision", "recall": "recall", "f1": "F1",
                "fpr": "false-positive rate", "fnr": "false-negative rate", "kappa": "Cohen's kappa"}


def _metric_row(name: str, breakdown) -> dict[str, str]:
    m = breakdown.metrics
    return {"": name, "n": str(breakdown.n), "positive": str(breakdown.positives),
            "agreement": m["agreement"].show(), "F1": m["f1"].show(), "kappa": m["kappa"].show(pct=False)}


@judge_app.command("eval")
def judge_eval(
    judge: str = typer.Option(..., "--judge", "-j", help="Judge name (see `safeeval list judges`)."),
    labels: Path = typer.Option(..., "--labels", "-l", help="Labelled file."),
    fmt: str = typer.Option(None, "--format", "-f", help="jbb, xstest, gptfuzz, harmbench, jbb-artifacts, "
                                                         "jailbreakeval, moderation or jsonl (guessed if omitted)."),
    behaviors: Path = typer.Option(None, "--behaviors", help="HarmBench behaviour CSV for a HarmBench val file: the "
                                                             "judge then reads the behaviour (and its context) as "
                                                             "in a run, not the jailbreak prompt."),
    target: str = typer.Option(None, "--target", help="Human label to score against: harm, compliance or toxicity "
                                                       "(default: what the judge measures)."),
    by: str = typer.Option(None, "--by", help="Break results down by this label column (e.g. type; "
                                              "HarmBench with --behaviors: functional_category by default)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N rows (the card says so)."),
    card_out: Path = typer.Option(None, "--card-out", help="Write the calibration card to this file (default: "
                                                           "<cache>/cards/evaluated/<judge>.<labels>.json). Runs "
                                                           "use it only with `run --card FILE` or after --install."),
    install: bool = typer.Option(False, "--install", help="Also install the card where later runs pick it up "
                                                          "(<cache>/cards/<judge>.json; the manifest names it)."),
    no_card: bool = typer.Option(False, "--no-card", help="Do not write a calibration card."),
    judge_model: str = typer.Option(None, "--judge-model", help="Model for LLM judges (default: the spec's)."),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples for the intervals."),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation as JSON."),
) -> None:
    """Score a judge against human labels: agreement, precision, recall, F1, FPR, FNR, kappa with 95% bootstrap intervals."""
    from safeeval.calibration import user_cards_dir, write_card
    from safeeval.judges import load_judge
    from safeeval.judging.evaluate import evaluate
    from safeeval.judging.labels import FORMATS, read_labels

    if fmt and fmt not in FORMATS:
        raise SafeevalError(f"unknown --format '{fmt}'; valid choices: {', '.join(FORMATS)}")
    if no_card and (install or card_out):
        raise SafeevalError("--no-card cannot be combined with --install or --card-out")
    labelled = read_labels(labels, fmt, behaviors)
    if by is None and behaviors is not None:
        by = "functional_category"
    judge_obj = load_judge(judge, model=judge_model)
    result = evaluate(judge_obj, labelled, target=target, by=by, limit=limit, resamples=resamples)
    card_path = installed = None
    if not no_card:
        card_path = write_card(result.card, card_out.parent if card_out else user_cards_dir() / "evaluated",
                               card_out.stem if card_out else f"{result.card.judge}.{labelled.name}")
        installed = write_card(result.card, user_cards_dir()) if install else None
    if as_json:
        print_json({**result.model_dump(mode="json"), "card_path": str(card_path) if card_path else None,
                    "installed": str(installed) if installed else None})
        return
    card = result.card
    c = card.confusion
    out.print(f"judge [bold]{card.judge}[/bold] v{card.version} ({card.prompt_hash}) on {labelled.name} "
              f"({labelled.format}, {card.dataset.n} rows, target '{card.dataset.target}')", highlight=False)
    if labelled.format == "harmbench" and behaviors is None:
        out.print("no --behaviors CSV: the judge reads the jailbreak prompt as the request", highlight=False)
    if card.note:
        out.print(f"note: {card.note}", highlight=False)
    out.print(f"tp {c.tp}  fp {c.fp}  tn {c.tn}  fn {c.fn}  undecided (judge errors) {c.undecided}", highlight=False)
    print_table("metrics (95% bootstrap CI)", [
        {"metric": METRIC_NAMES[k], "value": v.show(pct=k != "kappa")} for k, v in card.metrics.items()])
    if result.class_agreement:
        out.print(f"3-class agreement (compliance / partial / refusal): {result.class_agreement.show()}")
    if result.baselines:
        print_table("other judges in the file, same rows", [_metric_row(n, b) for n, b in result.baselines.items()])
    for column, groups in result.by.items():
        print_table(f"by {column}", [_metric_row(v or "(blank)", b) for v, b in groups.items()])
    if card_path:
        out.print(f"calibration card: {card_path}" + (f"; installed as {installed}" if installed else
                  " (runs use it only with `--card` or after `--install`)"), highlight=False)
    else:
        out.print("no card written (--no-card)", highlight=False)


def _parse_labels_arg(token: str) -> tuple[str | None, Path]:
    from safeeval.judging.labels import FORMATS

    head, sep, rest = token.partition(":")
    return (head, Path(rest)) if sep and head in FORMATS else (None, Path(token))


def _parse_weight(token: str) -> tuple[str, float]:
    name, sep, value = token.partition("=")
    try:
        return name, float(value)
    except ValueError:
        raise SafeevalError(f"'{token}': expected FORMAT=NUMBER, e.g. jsonl=0.5 or gptfuzz=600") from None


@judge_app.command("train")
def judge_train(
    labels: list[str] = typer.Option(..., "--labels", "-l", help="Labelled file, optionally FORMAT:FILE; repeat."),
    out_path: Path = typer.Option(Path("judges/harm/minilm.npz"), "--out", "-o",
                                  help="Weights file to write (.npz, with a .json note beside it)."),
    target: str = typer.Option("harm", "--target", help="Human label to learn: harm (reads request and answer) "
                                                        "or toxicity (reads the answer alone)."),
    seed: int = typer.Option(0, "--seed", help="Seed for row samples, initialisation and batch order."),
    epochs: int = typer.Option(2, "--epochs", min=1),
    lr: float = typer.Option(2e-3, "--lr", help="AdamW learning rate of the LoRA updates and the head."),
    max_rows: int = typer.Option(None, "--max-rows", min=10, help="Use a seeded sample of at most N rows per set."),
    cap: list[str] = typer.Option([], "--cap", help="FORMAT=N: at most N rows of each set of that format "
                                                    "(a seeded sample; wins over --max-rows)."),
    source_weight: list[str] = typer.Option([], "--source-weight", help="FORMAT=SHARE: that source's weight "
                                                                        "relative to the others (default 1)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fine-tune the offline MiniLM judge (LoRA on its top layer + a head) on labelled sets, on CPU, reproducibly."""
    from safeeval.judging.finetune import stderr_log
    from safeeval.judging.labels import read_labels
    from safeeval.judging.train import train_classifier

    sets = [read_labels(path, fmt) for fmt, path in map(_parse_labels_arg, labels)]
    caps = {k: int(v) for k, v in map(_parse_weight, cap)}
    _, report = train_classifier(sets, out_path, target=target, seed=seed, max_rows=max_rows, epochs=epochs, lr=lr,
                                 caps=caps,
                                 source_weight=dict(map(_parse_weight, source_weight)),
                                 log=None if as_json else stderr_log)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    print_table("trained on", [{"set": s.name, "format": s.format, "rows": str(s.n), "positive": str(s.positives),
                                "sha256": s.sha256[:12]} for s in report.sets])
    out.print(f"loss per epoch {', '.join(f'{x:.3f}' for x in report.losses)}; training agreement "
              f"{100 * report.train_agreement:.1f}% (in-sample, not a held-out figure: see benchmarks/harm_loo.py, toxicity_cv.py); "
              f"{report.seconds:.0f} s; wrote {report.weights}", highlight=False)


def rejudge(
    run_dir: Path = typer.Argument(..., help="A run folder (results/<run-id>)."),
    judge: str = typer.Option(..., "--judge", "-j", help="The judge to score the run with."),
    tasks_dir: list[Path] = typer.Option([], "--tasks-dir", help="Extra folder of task plugins."),
    judge_model: str = typer.Option(None, "--judge-model", help="Model for LLM judges."),
    card: list[Path] = typer.Option([], "--card", help="Calibration card FILE for the corrected rates (else the "
                                                        "installed or built-in card of this judge)."),
    judges_dir: list[Path] = typer.Option([], "--judges-dir", help="Extra folder of judge YAML specs (repeatable)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the shared verdict cache."),
) -> None:
    """Score an existing run again with another judge, without generating; writes samples.<judge>.jsonl and summary.<judge>.json."""
    from safeeval.judging.rejudge import rejudge as do_rejudge
    from safeeval.report import tables

    path, summary = do_rejudge(run_dir, judge, tasks_dir, judge_model, card, judges_dirs=judges_dir, no_cache=no_cache)
    for title, rows in tables(summary).items():
        print_table(title, rows)
    out.print(f"wrote {path} (show it again with `safeeval report {run_dir} --summary {path.name}`)",
              highlight=False)
