"""Bad input gets one line naming the file or the valid choices, exit code 2, nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def safeeval(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "safeeval", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def write_task(root: Path, name: str = "mytask", yaml_text: str | None = None, data: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(yaml_text if yaml_text is not None else
                                      f"name: {name}\ncategory: misuse\nprompt: '{{prompt}}'\njudge: refusal\n")
    (folder / "data.jsonl").write_text(data if data is not None else '{"id": "a", "prompt": "hello"}\n')
    return folder


def test_unknown_task_lists_choices():
    proc = safeeval("run", "--model", "smollm2", "--tasks", "no-such-task")
    assert_one_line_error(proc, "unknown task 'no-such-task'", "harmful-requests", "misuse")


def test_unknown_model_lists_choices():
    proc = safeeval("run", "--model", "gpt9:foo", "--tasks", "harmful-requests")
    assert_one_line_error(proc, "unknown model 'gpt9:foo'", "smollm2", "hf:<...>")


def test_unknown_judge_lists_choices():
    proc = safeeval("run", "--model", "smollm2", "--tasks", "harmful-requests", "--judge", "nope")
    assert_one_line_error(proc, "unknown judge 'nope'", "refusal")


def test_malformed_yaml_names_file_and_line(tmp_path):
    folder = write_task(tmp_path, yaml_text="name: broken\ncategory: misuse\nprompt: [unclosed\n")
    proc = safeeval("list", "tasks", "--tasks-dir", str(tmp_path))
    assert_one_line_error(proc, str(folder / "task.yaml"), "invalid YAML")


def test_invalid_spec_field_names_file(tmp_path):
    folder = write_task(tmp_path, yaml_text="name: t\ncategory: nonsense\n")
    proc = safeeval("list", "tasks", "--tasks-dir", str(tmp_path))
    assert_one_line_error(proc, str(folder / "task.yaml"), "category")


def test_malformed_jsonl_names_file_and_line(tmp_path):
    folder = write_task(tmp_path, data='{"id": "a", "prompt": "ok"}\n{"id": "b", "prompt": \n')
    proc = safeeval("run", "--model", "smollm2", "--tasks", "mytask", "--tasks-dir", str(tmp_path),
                    "--out", str(tmp_path / "out"))
    assert_one_line_error(proc, f"{folder / 'data.jsonl'}:2", "invalid JSON")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("samples.jsonl"))


def test_row_missing_template_field_names_line(tmp_path):
    folder = write_task(tmp_path, data='{"id": "a", "prompt": "ok"}\n{"id": "b", "question": "x"}\n')
    proc = safeeval("tasks", "show", "mytask", "--tasks-dir", str(tmp_path))
    assert_one_line_error(proc, f"{folder / 'data.jsonl'}:2", "'prompt'")


def test_missing_model_file():
    proc = safeeval("run", "--model", "hf:/nonexistent/model.gguf", "--tasks", "harmful-requests", "--limit", "1")
    assert_one_line_error(proc, "/nonexistent/model.gguf", "does not exist")


def test_hub_id_offline_says_how_to_give_local_path(tmp_path):
    proc = safeeval("run", "--model", "hf:some-org/some-model", "--tasks", "harmful-requests", "--limit", "1",
                    "--out", str(tmp_path))
    assert_one_line_error(proc, "some-org/some-model", "pass its path")


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    replay = tmp_path / "r.jsonl"
    replay.write_text('{"sample_id": "hr-0000", "response": "no"}\n')
    proc = safeeval("run", "--model", f"replay:{replay}", "--tasks", "harmful-requests", "--limit", "1",
                    "--out", str(blocker / "sub"))
    assert_one_line_error(proc, str(blocker / "sub"), "not writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_readonly_output_folder(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    replay = tmp_path / "r.jsonl"
    replay.write_text('{"sample_id": "hr-0000", "response": "no"}\n')
    proc = safeeval("run", "--model", f"replay:{replay}", "--tasks", "harmful-requests", "--limit", "1",
                    "--out", str(out))
    assert_one_line_error(proc, "not writable")


def test_help_explains_commands():
    proc = safeeval("run", "--help")
    assert proc.returncode == 0
    for option in ("--model", "--tasks", "--limit", "--resume", "--json", "--judge"):
        assert option in proc.stdout


def test_added_task_is_not_built_in_and_keeps_its_licence_unset(tmp_path):
    import yaml

    from safeeval import listing
    from safeeval.testing.tasks import make_task_dir

    folder = make_task_dir(tmp_path / "mine", 3, name="my-own-task")
    spec_path = folder / "misuse" / "my-own-task" / "task.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    del spec["license"]
    spec_path.write_text(yaml.safe_dump(spec))
    rows = {r["name"]: r for r in listing.list_tasks([folder])}
    assert rows["my-own-task"]["source"] == "added"
    assert rows["harmful-requests"]["source"] == "built-in"
    assert rows["advbench"]["source"] == "public" and rows["advbench"]["samples"] == "needs data"
    assert listing.show_task("my-own-task", [folder], preview=0)["spec"]["license"] is None


def test_unknown_name_suggests_the_closest():
    proc = safeeval("run", "--model", "smollm2", "--tasks", "harmful-request", "--limit", "1")
    assert_one_line_error(proc, "did you mean 'harmful-requests'")
