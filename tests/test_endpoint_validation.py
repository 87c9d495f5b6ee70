"""Bad input is refused at the boundary in one line naming the file and line (or the flag), before any request."""

from __future__ import annotations

import json
import sys

import pytest

from safeeval.testing.tasks import make_task_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))


def run_cli(monkeypatch, capsys, tasks, *extra: str, full: bool = False) -> tuple[int, str]:
    from safeeval.cli.main import main

    # Nothing listens on port 9: a run that got past validation would stop with exit 3, not 2.
    monkeypatch.setattr(sys, "argv", ["safeeval", "run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1",
                                      "--tasks-dir", str(tasks), "--tasks", "loopback-prompts", "--out",
                                      str(tasks.parent / "out"), *extra])
    with pytest.raises(SystemExit) as info:
        main()
    text = capsys.readouterr().err
    err = text.strip().splitlines()
    return info.value.code, text if full else (err[-1] if err else "")


def task_files(tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 3)
    folder = tasks / "misuse" / "loopback-prompts"
    return tasks, folder / "task.yaml", folder / "data.jsonl"


def test_non_positive_max_tokens_in_a_task_file(tmp_path, monkeypatch, capsys):
    tasks, spec, _ = task_files(tmp_path)
    spec.write_text(spec.read_text().replace("max_tokens: 16", "max_tokens: -5"))
    code, line = run_cli(monkeypatch, capsys, tasks)
    assert code == 2 and str(spec) in line and "max_tokens" in line and "positive" in line


def test_non_positive_max_tokens_flag(tmp_path, monkeypatch, capsys):
    tasks, _, _ = task_files(tmp_path)
    code, text = run_cli(monkeypatch, capsys, tasks, "--max-tokens", "0", full=True)
    assert code == 2 and "max-tokens" in text and "greater than or equal to 1" in text


@pytest.mark.parametrize("row, words", [
    ({"id": "a", "prompt": None}, "field 'prompt' is null"),
    ({"id": "a", "prompt": ["x"]}, "field 'prompt' is list"),
    ({"id": "a/b", "prompt": "hi"}, "sample id 'a/b'"),
    ({"id": "a\x0bb", "prompt": "hi"}, "control characters"),
])
def test_bad_rows_name_file_and_line(tmp_path, monkeypatch, capsys, row, words):
    tasks, _, data = task_files(tmp_path)
    data.write_text('{"id": "ok", "prompt": "fine"}\n' + json.dumps(row) + "\n")
    code, line = run_cli(monkeypatch, capsys, tasks)
    assert code == 2 and f"{data}:2" in line and words in line


def test_a_task_name_with_a_path_separator(tmp_path, monkeypatch, capsys):
    tasks, spec, _ = task_files(tmp_path)
    spec.write_text(spec.read_text().replace("name: loopback-prompts", "name: bad/t"))
    code, line = run_cli(monkeypatch, capsys, tasks)
    assert code == 2 and "task name 'bad/t'" in line and str(spec) in line


def test_invalid_utf8_is_one_line_with_file_and_line(tmp_path, monkeypatch, capsys):
    tasks, _, data = task_files(tmp_path)
    data.write_bytes(b'{"id": "a", "prompt": "fine"}\n{"id": "b", "prompt": "caf\xe9"}\n')
    code, line = run_cli(monkeypatch, capsys, tasks)
    assert code == 2 and f"{data}:2: invalid UTF-8" in line


def test_gate_junit_and_markdown_survive_control_characters_in_sample_ids():
    import xml.etree.ElementTree as ET

    from safeeval.gate.decide import GateResult
    from safeeval.gate.render import to_junit, to_markdown

    # Records made before ids were validated (or by another tool) may still carry them.
    result = GateResult(status="fail", baseline="b", candidate="c", baseline_model="m", candidate_model="m",
                        margin=0.05, alpha=0.05, missing=["t/a\x01b/none", "t/c\x0bd/none"],
                        reasons=["candidate lacks t/a\x01b/none"])
    xml = to_junit(result)
    suite = ET.fromstring(xml.split("\n", 1)[1])  # well-formed XML
    assert "\\x01" in xml and "\x01" not in xml and "\x0b" not in xml and suite.get("failures") == "1"
    markdown = to_markdown(result)
    assert "\x01" not in markdown and "\\x01" in markdown
