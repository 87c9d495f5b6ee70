"""The options of a run, declared once.

Each `RunOptions` field is one option, and its `opt(...)` declaration says
everything every layer needs: the command-line flags and help (`safeeval run`
builds its parameters from them), whether it is saved in `options.json` for
`--resume`, whether it goes to the model adapter as a keyword argument, and
which Ray setting it fills. To add an option, add one field here; the CLI,
the saved options, the adapter and the Ray layout follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def opt(default: Any = None, *flags: str, help: str = "", min: float | None = None,  # noqa: A002
        adapter: bool = False, ray: str | None = None, saved: bool = True, cli: Any = None,
        choices: tuple[str, ...] | None = None, factory: Any = None) -> Any:
    """Declare one run option (a pydantic field carrying its CLI and layer metadata).

    flags: the CLI flags (none: not on the command line); help: its --help text;
    min: the smallest value the CLI accepts; adapter: passed to `load_model` as a
    keyword of the same name; ray: the `RayOptions` field it fills; saved: kept in
    `options.json` for --resume; cli: the CLI's type when it differs from the
    field's (a `--data-files TASK=PATH` list for a dict); choices: allowed values.
    """
    extra = {"flags": list(flags), "help": help, "min": min, "adapter": adapter, "ray": ray, "saved": saved,
             "cli": cli, "choices": list(choices) if choices else None}
    if factory is not None:
        return Field(default_factory=factory, json_schema_extra={"safeeval": extra})
    return Field(default, json_schema_extra={"safeeval": extra})


class RunOptions(BaseModel):
    """Everything `safeeval run` was asked to do (the CLI fills it, the library runs it)."""

    model_config = ConfigDict(extra="forbid")

    model: str = opt("smollm2", "--model", "-m",
                     help="smollm2, hf:<path>, vllm:<path>, openai:<model>, replay:<file.jsonl>.")
    tasks: str = opt("all", "--tasks", "-t",
                     help="Task names, categories, globs or tags, comma-separated; 'all' = the built-in suite.")
    attacks: str = opt("none", "--attacks", "-a",
                       help="Attack transforms for attackable tasks: 'none', 'all' or names.")
    judge: str | None = opt(None, "--judge", help="Use this judge for every task instead of each task's default.")
    judge_model: str | None = opt(None, "--judge-model", help="Model for LLM judges (overrides the judge spec).")
    limit: int | None = opt(None, "--limit", "-n", min=1,
                            help="At most this many samples per task (a seeded subset).")
    seed: int = opt(0, "--seed", help="Seed for sample order, attacks and sampling.")
    temperature: float = opt(0.0, "--temperature", min=0.0)
    max_tokens: int | None = opt(None, "--max-tokens", min=1, help="Override each task's max new tokens.")
    out: Path = opt(Path("results"), "--out", "-o", help="Folder that receives the run folder.")
    run_id: str | None = opt(None, "--run-id", help="Name of the run folder (default: model-timestamp).")
    resume: Path | None = opt(None, "--resume", saved=False, help="Finish an interrupted run in this folder.")
    tasks_dirs: list[Path] = opt(None, "--tasks-dir", factory=list, help="Extra folder of task plugins (repeatable).")
    judges_dirs: list[Path] = opt(None, "--judges-dir", factory=list,
                                  help="Extra folder of judge YAML specs (repeatable); they win over built-in ones.")
    cards: list[Path] = opt(None, "--card", factory=list,
                            help="Calibration card FILE for a judge's corrected rates (repeatable); wins over "
                                 "installed and built-in cards. The manifest records the card and its sha256.")
    data_files: dict[str, str] = opt(None, "--data-files", factory=dict, cli=list[str],
                                     help="TASK=PATH local copy for a public-benchmark task.")
    concurrency: int | None = opt(None, "--concurrency", min=1, adapter=True, help="Requests in flight (openai).")
    batch_size: int | None = opt(None, "--batch-size", min=1, adapter=True,
                                 help="Prompts per batch (hf, smollm2; default 256, fewer for long prompts).")
    base_url: str | None = opt(None, "--base-url", adapter=True,
                               help="OpenAI-compatible endpoint (else OPENAI_BASE_URL).")
    max_retries: int | None = opt(None, "--max-retries", min=0, adapter=True,
                                  help="Retries per request on transient errors.")
    timeout: float | None = opt(None, "--timeout", min=0.1, adapter=True, help="Per-request timeout in seconds.")
    tool_protocol: str = opt("auto", "--tool-protocol", adapter=True, choices=("auto", "native", "text"),
                             help="openai: how tools are offered: native (API tools), text (in the prompt, "
                                  "as local models get them), auto (native, text if the server refuses "
                                  "tools; the default).")
    dtype: str = opt("auto", "--dtype", adapter=True, choices=("auto", "float32", "float16", "bfloat16"),
                     help="vllm/hf: weights and compute dtype; auto: float32 on CPU (as the embedded "
                          "model), the model's own on GPU.")
    max_error_rate: float | None = opt(None, "--max-error-rate", min=0.0,
                                       help="Exit 4 when more than this share of samples errored (default 0.02).")
    # with resume: redo the samples whose record holds an error (the CLI's --retry-errors RUN_DIR sets both)
    retry_errors: bool = opt(False, "--retry-errors", saved=False, cli=Path | None,
                             help="Redo only the errored samples of this run folder.")
    no_cache: bool = opt(False, "--no-cache",
                         help="Neither read nor write the shared response/verdict cache.")
    # Scaling out (engine.shard, engine.distributed): one deterministic slice, and where it runs.
    shard: str | None = opt(None, "--shard",
                            help="Run one deterministic slice i/n (0-based); combine with `safeeval merge`.")
    executor: Literal["local", "ray"] = opt("local", "--executor", choices=("local", "ray"),
                                            help="local, or ray: generate on Ray worker actors.")
    ray_address: str | None = opt(None, "--ray-address", ray="address",
                                  help="Ray cluster to join (else RAY_ADDRESS, else a local one).")
    workers: int | None = opt(None, "--workers", min=1, ray="workers",
                              help="Ray model workers (default: as many as the CPUs or GPUs allow).")
    gpus_per_worker: float = opt(0.0, "--gpus-per-worker", min=0.0, ray="gpus_per_worker",
                                 help="GPUs each Ray model worker reserves.")
    judge_gpus: float = opt(0.0, "--judge-gpus", min=0.0, ray="judge_gpus", help="GPUs the Ray judge actor reserves.")

    @classmethod
    def declared(cls) -> dict[str, dict[str, Any]]:
        """Each option's declaration (see `opt`), by field name, in declaration order."""
        return {name: (field.json_schema_extra or {}).get("safeeval", {})  # type: ignore[union-attr]
                for name, field in cls.model_fields.items()}

    def adapter_kwargs(self) -> dict[str, Any]:
        """The keyword arguments `load_model` gets: every option declared `adapter=True`."""
        return {name: getattr(self, name) for name, d in self.declared().items() if d.get("adapter")}

    def ray_kwargs(self) -> dict[str, Any]:
        """The `RayOptions` fields the options fill: every option declared with `ray=...`."""
        return {d["ray"]: getattr(self, name) for name, d in self.declared().items() if d.get("ray")}

    def saved(self) -> dict[str, Any]:
        """What `options.json` keeps for --resume: every option declared `saved` (the default)."""
        keep = {name for name, d in self.declared().items() if d.get("saved", True)}
        return self.model_dump(mode="json", include=keep)
