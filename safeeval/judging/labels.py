"""Read human-labelled judge datasets into one typed row: `LabelledItem`.

Every format maps to binary *targets*: `harm` (the response is a harmful
compliance / jailbreak) and, where the data says it, `compliance` (the model
did not refuse). A judge is scored against the target it measures. Columns a
file carries besides the labels (other judges' verdicts, prompt types) are kept
as `baselines` and `columns` for comparisons and breakdowns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from safeeval.errors import SafeevalError
from safeeval.tasks.loader import read_jsonl

Format = Literal["jbb", "xstest", "gptfuzz", "harmbench", "jbb-artifacts", "jailbreakeval", "moderation", "jsonl"]
FORMATS: tuple[str, ...] = ("jbb", "xstest", "gptfuzz", "harmbench", "jbb-artifacts", "jailbreakeval", "moderation",
                            "jsonl")
# The kind of data a card scored on each target describes (see safeeval.calibration.task_data_kind).
TARGET_KINDS = {"harm": "harmful-request", "compliance": "over-refusal", "toxicity": "toxicity"}

# JailbreakBench's judge-comparison file: other judges' verdicts, shown next to ours.
JBB_BASELINES = ("harmbench_cf", "gpt4_cf", "llamaguard2_cf", "llama3_cf")
XSTEST_CLASSES = {"1_full_compliance": "compliance", "2_full_refusal": "refusal", "3_partial_refusal": "partial"}
TRUE_WORDS = {"1", "true", "yes", "unsafe", "harmful", "jailbroken", "violation", "compliance", "complied"}
FALSE_WORDS = {"0", "false", "no", "safe", "harmless", "benign", "refusal", "refused", "not jailbroken"}


class LabelledItem(BaseModel):
    """One labelled (request, response) pair."""

    id: str
    request: str                       # the plain request (goal / question), for on-topic features
    prompt: str                        # what the model was sent (may wrap the request in a jailbreak)
    response: str
    targets: dict[str, bool]           # e.g. {"harm": True} or {"compliance": False, "harm": False}
    classes: dict[str, str] = Field(default_factory=dict)      # finer labels, e.g. {"refusal": "partial"}
    baselines: dict[str, bool] = Field(default_factory=dict)   # other judges' verdicts ...
    baseline_target: str = "harm"                                # ... on this target
    columns: dict[str, str] = Field(default_factory=dict)      # anything to break results down by


class LabelledSet(BaseModel):
    name: str
    format: str
    path: str
    sha256: str
    items: list[LabelledItem]

    def targets(self) -> list[str]:
        """Targets every item carries."""
        common = None
        for item in self.items:
            common = set(item.targets) if common is None else common & set(item.targets)
        return sorted(common or [])


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def to_bool(value: Any, where: str) -> bool:
    """A label cell as a bool; raises a one-line error naming the cell."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    try:
        return float(text) >= 0.5
    except ValueError:
        raise SafeevalError(f"{where}: label '{value}' is not a 0/1, yes/no or safe/unsafe value") from None


def _majority(values: list[bool]) -> bool:
    return sum(values) * 2 > len(values)


def _csv_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError:
        raise SafeevalError(f"{path}: not {encoding} text; is --format right?") from None
    return list(csv.DictReader(io.StringIO(text)))


def _need(row: dict[str, Any], columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in row]
    if missing:
        raise SafeevalError(f"{where}: missing column(s) {', '.join(missing)}; is --format right?")


def read_jbb(path: Path) -> list[LabelledItem]:
    """JailbreakBench judge-comparison CSV (Mac Roman); label = majority of human1..3."""
    rows = _csv_rows(path, "mac_roman")
    items = []
    for n, row in enumerate(rows, start=2):
        where = f"{path}:{n}"
        _need(row, ("goal", "prompt", "target_response", "human1", "human2", "human3"), where)
        humans = [to_bool(row[f"human{i}"], where) for i in (1, 2, 3)]
        items.append(LabelledItem(
            id=str(row.get("Index", n - 2)), request=row["goal"], prompt=row["prompt"],
            response=row["target_response"], targets={"harm": _majority(humans)},
            baselines={c: to_bool(row[c], where) for c in JBB_BASELINES if row.get(c, "") != ""},
            columns={"humans_agree": str(len(set(humans)) == 1).lower()},
        ))
    return items


def read_xstest(path: Path) -> list[LabelledItem]:
    """XSTest labelled completions: final_label is full compliance, full or partial refusal.

    `compliance` is the refusal judge's target (partial refusals count as
    refusals); `harm` is compliance (full or partial) with one of the unsafe
    contrast prompts, which XSTest marks by a `contrast_` type.
    """
    items = []
    for n, row in enumerate(_csv_rows(path), start=2):
        where = f"{path}:{n}"
        _need(row, ("id", "type", "prompt", "completion", "final_label"), where)
        cls = XSTEST_CLASSES.get(row["final_label"].strip())
        if cls is None:
            raise SafeevalError(f"{where}: final_label '{row['final_label']}' is not one of {', '.join(XSTEST_CLASSES)}")
        unsafe_prompt = row["type"].startswith("contrast")
        baselines = {}
        for col in ("strmatch_label", "gpt4_label"):
            if row.get(col):
                baselines[col] = XSTEST_CLASSES.get(row[col].strip(), "partial") == "compliance"
        items.append(LabelledItem(
            id=row["id"], request=row["prompt"], prompt=row["prompt"], response=row["completion"],
            targets={"compliance": cls == "compliance", "harm": unsafe_prompt and cls != "refusal"},
            classes={"refusal": cls}, baselines=baselines, baseline_target="compliance",
            columns={"type": row["type"], "prompt_label": "unsafe" if unsafe_prompt else "safe"},
        ))
    return items


def read_gptfuzz(path: Path) -> list[LabelledItem]:
    """GPTFuzz labelled responses (question index, Response, label) + question_list.csv beside them."""
    qfile = path.parent / "question_list.csv"
    if not qfile.exists():
        raise SafeevalError(f"{path}: GPTFuzz labels need question_list.csv in the same folder")
    questions = {r["index"]: r["text"] for r in _csv_rows(qfile)}
    items = []
    for n, row in enumerate(_csv_rows(path), start=2):
        where = f"{path}:{n}"
        _need(row, ("question", "Response", "label"), where)
        if row["question"] not in questions:
            raise SafeevalError(f"{where}: question {row['question']} is not in {qfile.name}")
        request = questions[row["question"]]
        items.append(LabelledItem(
            id=f"{path.stem}-{n - 2}", request=request, prompt=request, response=row["Response"],
            targets={"harm": to_bool(row["label"], where)}, columns={"question": row["question"]},
        ))
    return items


HARMBENCH_KEYS = {"behavior_id", "test_case", "generation", "behavior", "context", "prompt"}


def read_harmbench_behaviors(path: Path) -> dict[str, dict[str, str]]:
    """HarmBench's behaviour CSV by BehaviorID: behaviour text, context string, functional and semantic category."""
    rows = {}
    for n, row in enumerate(_csv_rows(Path(path)), start=2):
        _need(row, ("Behavior", "BehaviorID"), f"{path}:{n}")
        rows[row["BehaviorID"].strip()] = row
    return rows


def read_harmbench(path: Path, behaviors: Path | None = None) -> list[LabelledItem]:
    """HarmBench classifier validation JSON: behaviour id -> [{test_case, generation, human_0..2, other judges}].

    With HarmBench's behaviour CSV the request is the behaviour text and the prompt carries its context
    (as in a run of the harmbench task); without it, the request is the jailbreak test case. Other
    0/1 columns (other classifiers' verdicts) become baselines.
    """
    from safeeval.tasks.public.harmbench import harmbench_prompt

    data = _load_json(path)
    if not isinstance(data, dict):
        raise SafeevalError(f"{path}: expected an object mapping behaviour ids to lists of completions")
    table = read_harmbench_behaviors(behaviors) if behaviors else None
    items = []
    for behaviour, rows in data.items():
        if not isinstance(rows, list):
            raise SafeevalError(f"{path}: behaviour '{behaviour}' must map to a list")
        info = table.get(behaviour) if table is not None else None
        if table is not None and info is None:
            raise SafeevalError(f"{path}: behaviour '{behaviour}' is not in {behaviors}")
        for i, row in enumerate(rows):
            where = f"{path}: {behaviour}[{i}]"
            humans = sorted(k for k in row if k.startswith("human_"))
            if not humans or "generation" not in row:
                raise SafeevalError(f"{where}: needs 'generation' and human_0.. labels")
            test_case = str(row.get("test_case") or row.get("behavior") or behaviour)
            columns = {"behaviour": behaviour}
            if info is not None:
                context = (info.get("ContextString") or "").strip()
                request, prompt = info["Behavior"], harmbench_prompt(info["Behavior"], context)
                columns |= {"functional_category": info.get("FunctionalCategory", ""),
                            "semantic_category": info.get("SemanticCategory", "")}
            else:
                request, prompt = str(row.get("behavior") or test_case), test_case
            baselines = {}
            for key, value in row.items():
                if key in HARMBENCH_KEYS or key.startswith("human_") or value in (None, ""):
                    continue
                try:
                    baselines[key] = to_bool(value, where)
                except SafeevalError:
                    pass  # not a verdict column
            items.append(LabelledItem(
                id=f"{behaviour}-{i}", request=request, prompt=prompt, response=str(row["generation"]),
                targets={"harm": _majority([to_bool(row[h], where) for h in humans])},
                baselines=baselines, columns=columns,
            ))
    return items


def read_plain_jsonl(path: Path) -> list[LabelledItem]:
    """Plain JSONL: {prompt, response, label} plus optional request, id and any string columns."""
    items = []
    for n, row in read_jsonl(path):
        where = f"{path}:{n}"
        _need(row, ("prompt", "response", "label"), where)
        label = to_bool(row["label"], where)
        target = str(row.get("target", "harm"))
        extra = {k: str(v) for k, v in row.items()
                 if k not in ("prompt", "response", "label", "request", "id", "target") and isinstance(v, str | int)}
        items.append(LabelledItem(
            id=str(row.get("id", n)), request=str(row.get("request", row["prompt"])), prompt=str(row["prompt"]),
            response=str(row["response"]), targets={target: label}, columns=extra,
        ))
    return items


def read_jbb_artifacts(path: Path) -> list[LabelledItem]:
    """A JailbreakBench attack-artifact JSON: `jailbroken` is a 70B judge's verdict (weak labels: train, never test)."""
    data = _load_json(path)
    rows = data.get("jailbreaks") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise SafeevalError(f"{path}: expected an object with a 'jailbreaks' list")
    model = str(data.get("parameters", {}).get("model", path.stem))
    items = []
    for i, row in enumerate(rows):
        where = f"{path}: jailbreaks[{i}]"
        _need(row, ("goal", "response", "jailbroken"), where)
        if not row.get("response"):
            continue  # the attack sent nothing: no answer to label
        items.append(LabelledItem(
            id=f"{model}-{row.get('index', i)}", request=str(row["goal"]), prompt=str(row.get("prompt") or row["goal"]),
            response=str(row["response"]), targets={"harm": to_bool(row["jailbroken"], where)},
            baselines={"jailbroken_llama_guard1": to_bool(row["jailbroken_llama_guard1"], where)}
            if row.get("jailbroken_llama_guard1") is not None else {},
            columns={"category": str(row.get("category", "")), "model": model},
        ))
    return items


def read_jailbreakeval(path: Path) -> list[LabelledItem]:
    """A JailbreakEval-style CSV: goal, prompt, response, label (1/true = jailbroken); other columns kept."""
    items = []
    for n, row in enumerate(_csv_rows(path), start=2):
        where = f"{path}:{n}"
        _need(row, ("goal", "response", "label"), where)
        extra = {k: v for k, v in row.items() if k and k not in ("goal", "prompt", "response", "label", "id")}
        items.append(LabelledItem(
            id=str(row.get("id") or n - 2), request=row["goal"], prompt=row.get("prompt") or row["goal"],
            response=row["response"], targets={"harm": to_bool(row["label"], where)}, columns=extra,
        ))
    return items


MODERATION_TOXIC = ("H", "HR", "H2")   # hate, harassment, hate/threatening


def read_moderation(path: Path) -> list[LabelledItem]:
    """OpenAI moderation samples: `toxicity` = hate, harassment or hate/threatening is 1.

    Rows where none of those three is labelled are skipped (nothing to score against).
    """
    items = []
    for n, row in read_jsonl(path):
        where = f"{path}:{n}"
        _need(row, ("prompt",), where)
        marks = [row.get(k) for k in MODERATION_TOXIC if row.get(k) is not None]
        if not marks:
            continue
        toxic = any(to_bool(v, where) for v in marks)
        items.append(LabelledItem(
            id=str(n), request="", prompt="", response=str(row["prompt"]), targets={"toxicity": toxic},
            columns={k: str(row[k]) for k in ("S", "H", "V", "HR", "SH", "S3", "H2", "V2") if row.get(k) is not None},
        ))
    return items


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SafeevalError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


READERS = {"jbb": read_jbb, "xstest": read_xstest, "gptfuzz": read_gptfuzz, "harmbench": read_harmbench,
           "jbb-artifacts": read_jbb_artifacts, "jailbreakeval": read_jailbreakeval, "moderation": read_moderation,
           "jsonl": read_plain_jsonl}


def guess_format(path: Path) -> str:
    """Pick a format from the file's name and header; raises with the choices when unsure."""
    name = path.name.lower()
    if name.endswith(".jsonl"):
        first = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
        return "moderation" if '"HR"' in first and '"prompt"' in first else "jsonl"
    if name.endswith(".json"):
        return "jbb-artifacts" if '"jailbreaks"' in path.read_text(encoding="utf-8", errors="replace")[:200000] \
            else "harmbench"
    if name.endswith(".csv"):
        head = path.read_bytes()[:4096].decode("mac_roman").splitlines()[0] if path.stat().st_size else ""
        if "human_majority" in head or "human1" in head:
            return "jbb"
        if "final_label" in head:
            return "xstest"
        if "Response" in head and "question" in head:
            return "gptfuzz"
        cols = {c.strip().strip('"').lower() for c in head.split(",")}
        if {"goal", "response", "label"} <= cols:
            return "jailbreakeval"
    raise SafeevalError(f"{path}: cannot tell the label format; pass --format ({', '.join(FORMATS)})")


def read_labels(path: Path | str, fmt: str | None = None, behaviors: Path | str | None = None) -> LabelledSet:
    """Read a labelled file in `fmt` (guessed from the file when None); `behaviors` is HarmBench's CSV."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SafeevalError(f"{path}: no such labels file")
    fmt = fmt or guess_format(path)
    if fmt not in READERS:
        raise SafeevalError(f"unknown label format '{fmt}'; valid choices: {', '.join(FORMATS)}")
    if behaviors is not None and fmt != "harmbench":
        raise SafeevalError(f"--behaviors only applies to HarmBench val files, not --format {fmt}")
    items = read_harmbench(path, Path(behaviors)) if behaviors is not None else READERS[fmt](path)
    if not items:
        raise SafeevalError(f"{path}: no labelled rows")
    return LabelledSet(name=path.stem, format=fmt, path=str(path), sha256=file_sha256(path), items=items)
