"""`safeeval run`: evaluate a model on tasks and write a results folder."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from safeeval import report
from safeeval.cli.common import err, out, print_json, print_table
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import load_options, run as run_suite
from safeeval.errors import SafeevalError


def parse_data_files(values: list[str]) -> dict[str, str]:
    parsed = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SafeevalError(f"--data-files '{value}': expected TASK=PATH")
        parsed[name] = path
    return parsed


# CLI parameter -> RunOptions field, for merging a resumed run's saved options.
_FIELDS = {"model": "model", "tasks": "tasks", "attacks": "attacks", "judge": "judge", "judge_model": "judge_model",
           "limit": "limit", "seed": "seed", "temperature": "temperature", "max_tokens": "max_tokens",
           "out_dir": "out", "run_id": "run_id", "tasks_dir": "tasks_dirs", "data_files": "data_files",
           "concurrency": "concurrency", "batch_size": "batch_size", "base_url": "base_url",
           "max_retries": "max_retries", "timeout": "timeout", "no_cache": "no_cache",
           "shard": "shard", "executor": "executor", "ray_address": "ray_address", "workers": "workers",
           "gpus_per_worker": "gpus_per_worker", "judge_gpus": "judge_gpus"}


def _one_of(value: str, flag: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise typer.BadParameter(f"'{value}'; valid choices: {', '.join(choices)}", param_hint=flag)
    return value


def build_options(ctx: typer.Context, given: dict[str, Any], resume: Path | None, retry_errors: Path | None
                  ) -> RunOptions:
    """RunOptions from the command line; a resumed run starts from its saved options and
    takes only the arguments the user actually typed on top of them."""
    if resume and retry_errors and resume != retry_errors:
        raise SafeevalError("--resume and --retry-errors name different folders; give one of them")
    run_dir = retry_errors or resume
    values: dict[str, Any] = {}
    if run_dir is not None:
        saved = load_options(run_dir)
        values = {k: v for k, v in saved.items() if k in RunOptions.model_fields}
    for param, field in _FIELDS.items():
        # By name: typer vendors its own click, whose ParameterSource is another enum class.
        source = getattr(ctx.get_parameter_source(param), "name", None)
        typed = source not in (None, "DEFAULT", "DEFAULT_MAP")
        if typed or field not in values:
            values[field] = given[param]
    values["data_files"] = values["data_files"] if isinstance(values["data_files"], dict) \
        else parse_data_files(values["data_files"])
    return RunOptions(**values, resume=run_dir, retry_errors=retry_errors is not None)


WORK_STEPS = 1000
MIN_WORK_FOR_ETA = 0.02  # share of the session's work done before the progress lines give an eta


class ProgressLines:
    """Progress with an ETA as plain lines on stderr, for logs and pipes (no TTY).

    A line every 10% of the samples or every 30 s, whichever comes first. The
    ETA extrapolates the estimated work done (long prompts and long answers
    weigh more), not the sample count, which misleads when costs differ.
    """

    def __init__(self, every_s: float = 30.0, every_fraction: float = 0.1):
        self.every_s, self.every_fraction = every_s, every_fraction
        self.start = time.monotonic()
        self.last_t = self.start
        self.last_done = 0
        self.first_work = 0.0

    def begin(self, done: int, work: float) -> None:
        self.start = self.last_t = time.monotonic()
        self.last_done = done
        self.first_work = work

    def update(self, done: int, total: int, work: float) -> None:
        now = time.monotonic()
        step = max(1, int(total * self.every_fraction))
        if done < total and now - self.last_t < self.every_s and done - self.last_done < step:
            return
        self.last_t, self.last_done = now, done
        elapsed = now - self.start
        rate = (work - self.first_work) / elapsed if elapsed > 0 else 0.0
        # Before MIN_WORK_FOR_ETA of the work, the rate rests on one batch or a few answers:
        # a local model's first 16 records once gave "eta 7540 s" for a 10-minute run.
        known = rate > 0 and (work - self.first_work >= MIN_WORK_FOR_ETA or work >= 1.0)
        eta = f"{(1.0 - work) / rate:.0f} s" if known else "unknown"
        pct = 100.0 * done / total if total else 100.0
        sys.stderr.write(f"progress: {done}/{total} samples ({pct:.0f}%), {elapsed:.0f} s elapsed, eta {eta}\n")
        sys.stderr.flush()


def terminal_bar(console: Any = None) -> Any:
    """The progress bar for a terminal. It runs on estimated work (WORK_STEPS = all of it),
    so its ETA holds when samples differ in cost. rich loads here, not at start-up."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[samples]}"),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console or err.console(),
                    transient=False)


def run(
    ctx: typer.Context,
    model: str = typer.Option("smollm2", "--model", "-m", help="smollm2, hf:<path>, vllm:<path>, openai:<model>, replay:<file.jsonl>."),
    tasks: str = typer.Option("all", "--tasks", "-t", help="Task names, categories, globs or tags, comma-separated; 'all' = the built-in suite."),
    attacks: str = typer.Option("none", "--attacks", "-a", help="Attack transforms for attackable tasks: 'none', 'all' or names."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Use this judge for every task instead of each task's default."),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="Model for LLM judges (overrides the judge spec)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="At most this many samples per task (a seeded subset)."),
    seed: int = typer.Option(0, "--seed", help="Seed for sample order, attacks and sampling."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Override each task's max new tokens."),
    out_dir: Path = typer.Option(Path("results"), "--out", "-o", help="Folder that receives the run folder."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Name of the run folder (default: model-timestamp)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Finish an interrupted run in this folder."),
    tasks_dir: list[Path] = typer.Option([], "--tasks-dir", help="Extra folder of task plugins (repeatable)."),
    data_files: list[str] = typer.Option([], "--data-files", help="TASK=PATH local copy for a public-benchmark task."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", min=1, help="Requests in flight (openai)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Prompts per batch (hf, smollm2; default 256, fewer for long prompts)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (else OPENAI_BASE_URL)."),
    max_retries: Optional[int] = typer.Option(None, "--max-retries", min=0, help="Retries per request on transient errors."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.1, help="Per-request timeout in seconds."),
    retry_errors: Optional[Path] = typer.Option(None, "--retry-errors", help="Redo only the errored samples of this run folder."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the shared response/verdict cache."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Run one deterministic slice i/n (0-based); combine with `safeeval merge`."),
    executor: str = typer.Option("local", "--executor", callback=lambda v: _one_of(v, "--executor", ("local", "ray")), help="local, or ray: generate on Ray worker actors."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster to join (else RAY_ADDRESS, else a local one)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Ray model workers (default: as many as the CPUs or GPUs allow)."),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", min=0.0, help="GPUs each Ray model worker reserves."),
    judge_gpus: float = typer.Option(0.0, "--judge-gpus", min=0.0, help="GPUs the Ray judge actor reserves."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Evaluate MODEL on TASKS: generate, judge, and write results/<run-id>/.

    Records are appended to samples.jsonl as they finish; an interrupted run
    resumes with --resume RUN_DIR and repeats no finished sample.
    """
    given = {k: v for k, v in locals().items() if k in _FIELDS}
    options = build_options(ctx, given, resume, retry_errors)
    terminal = sys.stderr.isatty()
    bar = terminal_bar() if terminal else None
    lines = None if terminal else ProgressLines()
    state: dict = {}

    def on_start(run_dir: Path, pending: int, total: int) -> None:
        state["run_dir"] = run_dir
        if not as_json:
            err.print(f"run folder: {run_dir}  ({pending} of {total} samples to do)")
        if bar is not None:
            state["task"] = bar.add_task("evaluating", total=WORK_STEPS, samples=f"{total - pending}/{total}")
        state["started"] = False

    def progress(done: int, total: int, work: float) -> None:
        if not state["started"]:  # the first report fixes where this session's work began (a resume)
            state["started"] = True
            if lines:
                lines.begin(done, work)
        if bar is not None:
            bar.update(state["task"], completed=work * WORK_STEPS, samples=f"{done}/{total}")
        if lines:
            lines.update(done, total, work)

    start = time.perf_counter()
    try:
        with bar if bar is not None else contextlib.nullcontext():
            result = run_suite(options, progress=progress, on_start=on_start)
    except KeyboardInterrupt:
        where = state.get("run_dir")
        raise SafeevalError(f"interrupted; finished records are kept; resume with --resume {where}") from None
    except SafeevalError as exc:
        if state.get("run_dir") and "--resume" not in str(exc):
            hinted = SafeevalError(f"{exc}; resume with --resume {state['run_dir']}")
            hinted.exit_code = exc.exit_code  # RunInterrupted keeps its own exit code (3)
            raise hinted from None
        raise
    if as_json:
        print_json({"run_dir": str(result.run_dir), **result.summary})
        return
    for title, rows in report.tables(result.summary).items():
        print_table(title, rows)
    out.print(f"wrote {result.run_dir} ({result.new_records} new records, {time.perf_counter() - start:.0f} s)")
