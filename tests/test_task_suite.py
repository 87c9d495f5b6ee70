"""The built-in task suite: size and coverage, fields per kind, no item in two tasks,
paired controls, reproducible data and order, file:line errors, canary and metric checks."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from safeeval.engine.plan import RunOptions, pick_samples
from safeeval.engine.runner import run
from safeeval.errors import SafeevalError
from safeeval.judges import JudgeInput, load_judge
from safeeval.listing import show_task
from safeeval.registry import builtin_dir, discover_tasks
from safeeval.schema import CATEGORIES, Response
from safeeval.tasks.loader import LETTERS, load_task

REPO = Path(__file__).resolve().parent.parent
HARM_AREAS = {"cyber", "weapons", "chem-bio", "fraud", "harassment", "self-harm", "drugs", "hate",
              "misinformation", "privacy"}


@pytest.fixture(scope="module")
def builtin():
    root = builtin_dir("tasks").resolve()
    return {n: t for n, t in discover_tasks().items()
            if not t.spec.source and root in t.root.resolve().parents}


def test_size_and_coverage(builtin):
    assert len(builtin) >= 16
    per_category = Counter(t.spec.category for t in builtin.values())
    assert all(per_category[c] >= 4 for c in CATEGORIES), per_category
    assert sum(len(t.samples()) for t in builtin.values()) >= 1500


def test_every_task_folder_is_complete(builtin):
    for task in builtin.values():
        spec = task.spec
        assert (task.root / "CARD.md").is_file(), task.root
        card = (task.root / "CARD.md").read_text(encoding="utf-8").lower()
        assert "measures" in card and "written" in card and "limits" in card, task.root
        assert spec.violation and spec.description and spec.subcategory, spec.name
        assert spec.max_tokens <= {"choice": 24, "agent": 160}.get(spec.kind, 64), spec.name  # agent: per step
        if spec.kind == "choice":
            # Enough tokens to state the option after its letter (the choice judges read both):
            # 90% of the options' words, plus the "(A) " marker, fit.
            words = sorted(len(c.split()) for s in task.samples() for c in s.choices or [])
            assert spec.max_tokens >= 3 + words[int(0.9 * len(words))], spec.name
        assert task.root.name == spec.name and task.root.parent.name == spec.category


def test_fields_per_kind(builtin):
    for task in builtin.values():
        for s in task.samples():
            where = f"{task.name}/{s.id}"
            if task.spec.kind == "choice":
                letters = LETTERS[:len(s.choices or [])]
                assert s.choices and len(s.choices) >= 2 and len(set(s.choices)) == len(s.choices), where
                assert set(s.violation_answers or []) <= set(letters), where
                assert s.answer is None or s.answer in letters, where
                assert s.answer not in (s.violation_answers or []), where
            if task.spec.kind == "canary":
                assert s.canary or s.data.get("pii"), where
            if task.spec.kind == "tool":
                assert s.tools and s.forbidden, where


def _item_text(sample) -> str:
    parts = [m.content for m in sample.messages if m.role in ("user", "tool")] + (sample.choices or [])
    return re.sub(r"\W+", " ", " ".join(parts)).strip().lower()


def test_no_item_appears_twice_or_in_two_tasks(builtin):
    seen: dict[str, str] = {}
    objectives: dict[str, str] = {}
    for task in builtin.values():
        # An agent episode's clean and injected runs share their messages; their states differ.
        whole = Counter(json.dumps([[m.model_dump() for m in s.messages], s.data.get("state")], sort_keys=True)
                        for s in task.samples())
        assert whole.most_common(1)[0][1] == 1, f"{task.name} repeats a sample"
        for s in task.samples():
            # Across tasks, the user-facing text alone must differ (a new system prompt is not a new item).
            text = _item_text(s)
            owner = seen.setdefault(text, task.name)
            assert owner == task.name, f"{task.name}/{s.id} repeats an item of {owner}"
            goal = re.sub(r"\W+", " ", s.objective).strip().lower()
            owner = objectives.setdefault(goal, task.name)
            assert owner == task.name, f"'{s.objective}' is in {owner} and {task.name}"


def test_controls_are_paired_both_ways_by_area(builtin):
    paired = [t for t in builtin.values() if t.spec.control]
    assert len(paired) >= 4
    for task in paired:
        control = builtin[task.spec.control]
        assert control.spec.control == task.name
        assert {task.spec.measure, control.spec.measure} == {"violation", "over_refusal"}
        assert {s.subcategory for s in task.samples()} == {s.subcategory for s in control.samples()}
    assert {s.subcategory for s in builtin["harmful-requests"].samples()} == HARM_AREAS
    assert builtin["harmful-requests"].spec.attackable and builtin["harmful-cover-story"].spec.attackable


def test_lookalike_kinds_and_dispositions_cover_the_issue(builtin):
    kinds = {s.data["lookalike"] for s in builtin["over-refusal-benign"].samples()}
    assert kinds == {"homonym", "figurative", "safe-target", "history", "fiction"}
    autonomy = {s.subcategory for n in ("shutdown-disposition", "power-seeking", "oversight-deception")
                for s in builtin[n].samples()}
    assert autonomy == {"self-preservation", "corrigibility", "power-seeking", "resource-acquisition",
                        "oversight-evasion", "deception"}


def test_data_files_match_the_seeded_authoring_script():
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "author_tasks.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_order_is_deterministic_per_seed(builtin):
    task = builtin["harmful-requests"]
    first = [s.id for s in pick_samples(task, seed=3, limit=20)]
    assert first == [s.id for s in pick_samples(task, seed=3, limit=20)]
    assert first != [s.id for s in pick_samples(task, seed=4, limit=20)]
    assert [s.id for s in load_task(task.root).samples()] == [s.id for s in task.samples()]


def _write_task(tmp_path: Path, lines: list[str], prompt: str = "{prompt}") -> Path:
    folder = tmp_path / "misuse" / "broken"
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(f"name: broken\ncategory: misuse\nprompt: \"{prompt}\"\n")
    (folder / "data.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize("lines, prompt, expected", [
    (['{"prompt": "a"}', '{"prompt": "b"}', '{"prompt": "c",}'], "{prompt}", r"data\.jsonl:3: invalid JSON"),
    (['{"prompt": "a"}', '["not", "an", "object"]'], "{prompt}", r"data\.jsonl:2: each line must be a JSON object"),
    (['{"prompt": "a"}', '{"question": "b"}'], "{prompt}", r"data\.jsonl:2: .*field 'prompt'"),
    (['{"prompt": "a", "choices": "AB"}'], "{prompt}", r"data\.jsonl:1: 'choices' must be a list"),
    (['{"id": "x", "prompt": "a"}', '', '{"id": "x", "prompt": "b"}'], "{prompt}", r"data\.jsonl:3: duplicate"),
])
def test_malformed_rows_name_file_and_line(tmp_path, lines, prompt, expected):
    task = load_task(_write_task(tmp_path, lines, prompt))
    with pytest.raises(SafeevalError, match=expected):
        task.samples()


def test_tasks_show_reports_counts_and_preview():
    info = show_task("over-refusal-benign", preview=2)
    assert info["samples"] == sum(info["subcategories"].values()) and set(info["subcategories"]) == HARM_AREAS
    assert len(info["preview"]) == 2 and len(info["data_sha256"]) == 64


def _judge(name: str, task, sample, text: str, tool_calls=None):
    response = Response(text=text, tool_calls=tool_calls or [])
    return asyncio.run(load_judge(name).score([JudgeInput(task.spec, sample, response)]))[0]


@pytest.mark.parametrize("name", ["injection-documents", "injection-tool-results", "task-hijack"])
def test_injection_canary_only_fires_when_the_model_obeys(builtin, name):
    task = builtin[name]
    for s in task.samples():
        echo = "\n".join(m.content for m in s.messages if m.role in ("user", "tool"))
        assert _judge("canary", task, s, echo).violation is False, s.id   # quoting the input is not obeying
        assert _judge("canary", task, s, f"Sure. {s.canary}").violation is True, s.id


def test_privacy_leak_detects_each_pii_string_but_not_the_request(builtin):
    task = builtin["privacy-leak"]
    for s in task.samples():
        user = next(m.content for m in s.messages if m.role == "user")
        assert _judge("pii-leak", task, s, f"I can't share that. You asked: {user}").violation is False, s.id
        for value in s.data["pii"]:
            assert _judge("pii-leak", task, s, f"Here it is: {value}").violation is True, (s.id, value)


def test_preference_positions_are_balanced(builtin):
    samples = builtin["preference-pairs"].samples()
    for frame in {s.data["frame"] for s in samples}:
        firsts = [s.answer == "A" for s in samples if s.data["frame"] == frame]
        assert sum(firsts) * 2 == len(firsts)


def test_bias_rows_are_consistent(builtin):
    samples = builtin["bias-ambiguous"].samples()
    assert {s.subcategory for s in samples} == {"ambiguous", "disambiguated"}
    for s in samples:
        roles = s.data["roles"]
        assert sorted(roles) == ["biased", "counter-biased", "unknown"]
        answer_role = roles[LETTERS.index(s.answer)]
        assert (answer_role == "unknown") == (s.subcategory == "ambiguous"), s.id
    dis = Counter(s.data["roles"][LETTERS.index(s.answer)] for s in samples if s.subcategory == "disambiguated")
    assert dis["biased"] == dis["counter-biased"]


def _replay_run(tmp_path: Path, task_name: str, answer) -> dict:
    task = discover_tasks()[task_name]
    tmp_path.mkdir(parents=True, exist_ok=True)
    replay = tmp_path / "answers.jsonl"
    replay.write_text("\n".join(json.dumps({"task": task_name, "sample_id": s.id, "response": answer(s)})
                                for s in task.samples()))
    return run(RunOptions(model=f"replay:{replay}", tasks=task_name, out=tmp_path / "out")).summary


def test_bbq_metrics_in_summary(tmp_path):
    def biased(s):
        return f"({LETTERS[s.data['roles'].index('biased')]})"

    summary = _replay_run(tmp_path / "a", "bias-ambiguous", biased)
    task = summary["tasks"]["bias-ambiguous"]
    m = task["metrics"]["bbq_bias"]
    # Always the stereotyped answer: ambiguous accuracy 0 so s_AMB = 1; disambiguated s_DIS = 1, accuracy 0.5.
    assert m["ambiguous"]["bias_score"] == 1.0 and m["ambiguous"]["accuracy"]["rate"] == 0.0
    assert m["disambiguated"]["bias_score"] == 1.0 and m["disambiguated"]["accuracy"]["rate"] == 0.5
    n_amb = m["ambiguous"]["accuracy"]["n"]
    assert task["k"] == n_amb + m["disambiguated"]["accuracy"]["n"] // 2   # wrong biased picks only

    def unknown_or_counter(s):
        role = "unknown" if s.subcategory == "ambiguous" else "counter-biased"
        return LETTERS[s.data["roles"].index(role)]

    m2 = _replay_run(tmp_path / "b", "bias-ambiguous", unknown_or_counter)["tasks"]["bias-ambiguous"]
    assert m2["k"] == 0
    assert m2["metrics"]["bbq_bias"]["ambiguous"]["bias_score"] is None      # never answered a person
    assert m2["metrics"]["bbq_bias"]["disambiguated"]["bias_score"] == -1.0


def test_position_bias_in_summary(tmp_path):
    summary = _replay_run(tmp_path, "preference-pairs", lambda s: "A")
    m = summary["tasks"]["preference-pairs"]["metrics"]["position_bias"]
    assert m["first_pick"]["rate"] == 1.0 and m["correct_first_share"] == 0.5
    assert m["accuracy_correct_first"]["rate"] == 1.0 and m["accuracy_correct_second"]["rate"] == 0.0
    assert m["accuracy_gap"] == 1.0
    assert summary["tasks"]["preference-pairs"]["rate"] == 0.5
    assert "metrics" not in _replay_run(tmp_path / "s", "sycophancy", lambda s: "A")["tasks"]["sycophancy"]
