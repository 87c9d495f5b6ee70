"""Run ids that stay inside --out, unique default ids, and a resume that moves to another endpoint."""

from __future__ import annotations

import json
import sys

import pytest

from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import new_run_id, run
from safeeval.engine.store import read_records
from safeeval.errors import SafeevalError
from safeeval.testing.openai_server import OpenAIServer
from safeeval.testing.tasks import make_task_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("run_id", ["../../escape", "/abs/path", "a/b", "..", "bad\x01id"])
def test_run_ids_that_leave_out_are_refused_in_one_line(tmp_path, monkeypatch, capsys, run_id):
    from safeeval.cli.main import main

    tasks = make_task_dir(tmp_path / "tasks", 2)
    out = tmp_path / "deep" / "out"
    monkeypatch.setattr(sys, "argv", ["safeeval", "run", "--model", "replay:/dev/null", "--tasks-dir", str(tasks),
                                      "--tasks", "loopback-prompts", "--out", str(out), "--run-id", run_id])
    replay = tmp_path / "r.jsonl"
    replay.write_text('{"sample_id": "p-00000", "text": "no"}\n')
    sys.argv[sys.argv.index("replay:/dev/null")] = f"replay:{replay}"
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and err[-1].startswith("error: --run-id") and "inside --out" in err[-1]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".json"]
    assert written == []  # no manifest anywhere, in --out or outside it


def test_default_run_ids_of_runs_started_in_the_same_second_differ():
    ids = {new_run_id("openai:loop") for _ in range(50)}
    assert len(ids) == 50


def test_a_resume_on_another_base_url_says_so_and_the_saved_options_follow(tmp_path, capsys):
    tasks = make_task_dir(tmp_path / "tasks", 30)
    opts = RunOptions(model="openai:loop", tasks="loopback-prompts", tasks_dirs=[tasks], out=tmp_path / "out",
                      run_id="r", no_cache=True, limit=10)
    with OpenAIServer() as first:
        run(opts.model_copy(update={"base_url": first.url}))
    capsys.readouterr()
    more = opts.model_copy(update={"limit": None})
    with pytest.raises(SafeevalError, match="cannot resume"):  # a changed --limit is another run
        with OpenAIServer() as second:
            run(more.model_copy(update={"base_url": second.url, "resume": tmp_path / "out" / "r"}))
    # Same settings, new port: the resume goes on there, says so, and the saved options follow.
    with OpenAIServer() as second:
        run(opts.model_copy(update={"base_url": second.url, "resume": tmp_path / "out" / "r", "retry_errors": True}))
    err = capsys.readouterr().err
    assert f"answered by {first.url}" in err and f"goes on at {second.url}" in err
    saved = json.loads((tmp_path / "out" / "r" / "options.json").read_text())
    assert saved["base_url"] == second.url
    assert {r.response.endpoint for r in read_records(tmp_path / "out" / "r")} == {first.url}
