"""`safeeval run`: evaluate a model on tasks and write a results folder."""

from __future__ import annotations

import contextlib
import inspect
import sys
import time
import typing
from pathlib import Path
from typing import Any, Literal, Optional

import typer

from safeeval.cli.common import err, out, print_json
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import load_options, run as run_suite
from safeeval.errors import SafeevalError
from safeeval.events import Stopped
from safeeval.cli.display import print_report
from safeeval.cli.progress import INTERRUPTED, interrupts, phase_lines
from safeeval.cli.report_cmd import run_context as report_context


def parse_data_files(values: list[str]) -> dict[str, str]:
    parsed = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SafeevalError(f"--data-files '{value}': expected TASK=PATH")
        parsed[name] = path
    return parsed


def _one_of(value: str, flag: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise typer.BadParameter(f"'{value}'; valid choices: {', '.join(choices)}", param_hint=flag)
    return value


def _cli_param(name: str, declared: dict[str, Any]) -> inspect.Parameter:
    """The typer parameter of one run option, from its declaration (engine.options.opt)."""
    field = RunOptions.model_fields[name]
    kind = declared.get("cli") or field.annotation
    listed = typing.get_origin(kind) is list
    default = [] if listed else None if declared.get("cli") else field.get_default(call_default_factory=True)
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) is Literal:
        kind = str
    elif not listed and len(args) == 1:  # X | None: typer wants Optional[X]
        kind = Optional[args[0]]
    extra: dict[str, Any] = {}
    if declared.get("min") is not None:
        extra["min"] = declared["min"]
    if declared.get("choices"):
        flag, choices = declared["flags"][0], tuple(declared["choices"])
        extra["callback"] = lambda v: _one_of(v, flag, choices)
    option = typer.Option(default, *declared["flags"], help=declared.get("help") or None, **extra)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)


def cli_options() -> dict[str, dict[str, Any]]:
    """The run options that have command-line flags, by field name."""
    return {name: d for name, d in RunOptions.declared().items() if d.get("flags")}


def build_options(ctx: typer.Context, given: dict[str, Any]) -> RunOptions:
    """RunOptions from the command line; a resumed run starts from its saved options and
    takes only the arguments the user actually typed on top of them."""
    resume, retry_errors = given.get("resume"), given.get("retry_errors")
    if resume and retry_errors and resume != retry_errors:
        raise SafeevalError("--resume and --retry-errors name different folders; give one of them")
    run_dir = retry_errors or resume
    values: dict[str, Any] = {}
    if run_dir is not None:
        saved = load_options(run_dir)
        values = {k: v for k, v in saved.items() if k in RunOptions.model_fields}
    for name, declared in cli_options().items():
        if not declared.get("saved", True):
            continue  # resume and retry_errors: set below
        # By name: typer vendors its own click, whose ParameterSource is another enum class.
        source = getattr(ctx.get_parameter_source(name), "name", None)
        typed = source not in (None, "DEFAULT", "DEFAULT_MAP")
        if typed or name not in values:
            values[name] = given[name]
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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from safeeval.cli.progress import eta_column

    # The eta is this session's measured rate, recomputed as the bar is drawn (cli.progress).
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[samples]}"),
                    TimeElapsedColumn(), eta_column(WORK_STEPS), console=console or err.console(),
                    transient=False, refresh_per_second=2)


def run(ctx: typer.Context, **given: Any) -> None:
    """Evaluate MODEL on TASKS: generate, judge, and write results/<run-id>/.

    Records are appended to samples.jsonl as they finish; an interrupted run
    resumes with --resume RUN_DIR and repeats no finished sample.
    """
    as_json = given.pop("as_json")
    options = build_options(ctx, given)
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
                bar.update(state["task"], t0=time.monotonic(), w0=work)
        if bar is not None:
            bar.update(state["task"], completed=work * WORK_STEPS, samples=f"{done}/{total}")
        if lines:
            lines.update(done, total, work)

    start = time.perf_counter()
    try:
        with interrupts(), phase_lines(err), bar if bar is not None else contextlib.nullcontext():
            result = run_suite(options, progress=progress, on_start=on_start)
    except (KeyboardInterrupt, Stopped):
        where = state.get("run_dir")
        stopped = SafeevalError(f"interrupted; every finished record is kept in {where}; "
                                f"resume with --resume {where}" if where else "interrupted before the run began")
        stopped.exit_code = INTERRUPTED
        raise stopped from None
    except SafeevalError as exc:
        if state.get("run_dir") and "--resume" not in str(exc):
            hinted = SafeevalError(f"{exc}; resume with --resume {state['run_dir']}")
            hinted.exit_code = exc.exit_code  # RunInterrupted keeps its own exit code (3)
            raise hinted from None
        raise
    health = result.summary.get("health") or {}
    if as_json:
        print_json({"run_dir": str(result.run_dir), **result.summary})
    else:
        print_report(result.summary, report_context(result.run_dir)[0])
        out.print(f"wrote {result.run_dir} ({result.new_records} new records, {time.perf_counter() - start:.0f} s)")
    if health.get("exit_code"):  # a run that measured (almost) nothing never looks like a pass (safeeval.health)
        sys.stderr.write(health["line"].replace("RUN_DIR", str(result.run_dir)) + "\n")
        raise typer.Exit(health["exit_code"])
    if health and not as_json:
        sys.stdout.write(health["line"] + "\n")


# `safeeval run`'s parameters: one per declared run option (engine.options), then --json.
run.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
    inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
    *(_cli_param(name, declared) for name, declared in cli_options().items()),
    inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                      default=typer.Option(False, "--json", help="Print the summary as JSON on stdout.")),
])
