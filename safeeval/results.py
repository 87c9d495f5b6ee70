"""The Python API over finished runs: records as a DataFrame, summaries, comparability.

Everything here reads a run folder through `engine.store` (manifest.json and
samples.jsonl) and nothing else; task files are never re-read, so a run can be
analysed on a machine that does not have its tasks.

    >>> from safeeval import results
    >>> df = results.load("results/smollm2-20250101-000000")
    >>> df.groupby("task")["violation"].mean()
    >>> results.summary("results/smollm2-20250101-000000")["categories"]
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from safeeval.engine.store import read_manifest, read_records
from safeeval.errors import SafeevalError
from safeeval.schema import RunManifest, SampleRecord
from safeeval.summary import summarize

if TYPE_CHECKING:  # pandas costs most of a second to import; only load() needs it
    import pandas as pd

# Columns of `load`, in order; one row per SampleRecord.
COLUMNS = [
    "run_id", "model", "key", "task", "task_version", "category", "subcategory", "measure", "sample_id",
    "attack", "violation", "label", "judge", "judge_version", "score", "rationale", "error", "prompt",
    "response", "tool_calls", "input_tokens", "output_tokens", "latency_s", "sample_hash", "created",
]


class Run(BaseModel):
    """A run folder read back: its manifest and its records."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path
    manifest: RunManifest
    records: list[SampleRecord]

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def model_name(self) -> str:
        """The model id the records carry (else the manifest's spec)."""
        if self.records:
            return self.records[0].model
        return str(self.manifest.model.get("id") or self.manifest.model.get("name") or self.run_id)


def open_run(run_dir: str | Path) -> Run:
    """Read a run folder; a missing folder or manifest is a one-line SafeevalError."""
    path = Path(run_dir)
    if not path.is_dir():
        raise SafeevalError(f"{path}: run folder does not exist")
    manifest = read_manifest(path)
    return Run(path=path, manifest=manifest, records=read_records(path))


def primary_label(record: SampleRecord) -> str:
    """What the first verdict decided, with errors and unscored answers named as such."""
    if record.response.error:
        return "error"
    if not record.verdicts:
        return "unscored"
    return record.verdicts[0].label


def outcome(record: SampleRecord) -> str:
    """One of unsafe, safe, error, unscored: the verdict a browser or gate filters on."""
    if record.response.error or (record.verdicts and record.verdicts[0].label == "error"):
        return "error"
    if record.violation is None:
        return "unscored"
    return "unsafe" if record.violation else "safe"


def _row(run: Run, rec: SampleRecord) -> dict[str, Any]:
    verdict = rec.verdicts[0] if rec.verdicts else None
    users = [m.content for m in rec.messages if m.role == "user"]
    return {
        "run_id": run.run_id, "model": rec.model, "key": rec.key, "task": rec.task,
        "task_version": rec.task_version, "category": rec.category, "subcategory": rec.subcategory,
        "measure": rec.measure, "sample_id": rec.sample_id, "attack": rec.attack,
        "violation": rec.violation, "label": primary_label(rec),
        "judge": verdict.judge if verdict else None, "judge_version": verdict.judge_version if verdict else None,
        "score": verdict.score if verdict else None, "rationale": verdict.rationale if verdict else "",
        "error": rec.response.error, "prompt": users[-1] if users else "", "response": rec.response.text,
        "tool_calls": [c.model_dump() for c in rec.response.tool_calls],
        "input_tokens": rec.response.input_tokens, "output_tokens": rec.response.output_tokens,
        "latency_s": rec.response.latency_s, "sample_hash": rec.sample_hash, "created": rec.created,
    }


def load(run_dir: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """A DataFrame with one row per record (sample x attack) of one or more runs.

    `violation` is True/False/None (None: errored or unscorable, never counted
    as safe); `label` is the primary judge's label; `prompt` is the last user
    message and `response` the model's text. Columns: `COLUMNS`.
    """
    dirs = [run_dir] if isinstance(run_dir, (str, Path)) else list(run_dir)
    rows = []
    for d in dirs:
        run = open_run(d)
        rows.extend(_row(run, rec) for rec in run.records)
    import pandas as pd

    frame = pd.DataFrame(rows, columns=COLUMNS)
    # Keep None as a missing value rather than letting pandas turn it into False.
    frame["violation"] = frame["violation"].astype("boolean")
    return frame


def summary_meta(run: Run) -> dict[str, Any]:
    """The header fields `safeeval run` writes at the top of summary.json."""
    return {"run_id": run.run_id, "model": run.model_name,
            "judges": [j.model_dump() for j in run.manifest.judges]}


def summary(run_dir: str | Path | Run) -> dict[str, Any]:
    """The numbers `safeeval run` and `safeeval report` print, recomputed from the records.

    Same structure as summary.json: rates with 95% Wilson intervals per task,
    category (violation next to over-refusal) and attack, with error counts.
    """
    from safeeval.health import assess

    run = run_dir if isinstance(run_dir, Run) else open_run(run_dir)
    out = summarize(run.records, summary_meta(run))
    limit = _saved_options(run.path).get("max_error_rate")  # as the run judged it: its --max-error-rate
    out["health"] = assess(run.records, limit)
    return out


def _saved_options(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(run_dir) / "options.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_output(path: str | Path, text: str) -> None:
    """Write a derived output file (site page, JUnit, Markdown), creating its folder; one-line error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SafeevalError(f"{path}: cannot write: {exc.strerror}") from None
