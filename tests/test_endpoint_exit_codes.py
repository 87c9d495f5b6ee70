"""Exit codes a CI can trust: a run that measured nothing or mostly errors never exits 0."""

from __future__ import annotations

import json
import sys

import pytest

from safeeval.health import EXIT_NOTHING_RUN, EXIT_TOO_MANY_ERRORS
from safeeval.testing.openai_server import Faults, OpenAIServer
from safeeval.testing.tasks import make_task_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from safeeval.cli.main import main

    monkeypatch.setattr(sys, "argv", ["safeeval", "run", *args])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code or 0, captured.out, captured.err


def loop_args(tmp_path, server, n: int, *extra: str) -> list[str]:
    tasks = make_task_dir(tmp_path / "tasks", n)
    return ["--model", "openai:loop", "--base-url", server.url, "--tasks-dir", str(tasks), "--tasks",
            "loopback-prompts", "--out", str(tmp_path / "out"), "--run-id", "r", "--no-cache", *extra]


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_a_401_on_every_request_exits_non_zero(tmp_path, monkeypatch, capsys):
    with OpenAIServer(api_key="the-right-key") as server:  # no /v1/models: only the chat requests say 401
        code, out, err = cli(monkeypatch, capsys, *loop_args(tmp_path, server, 6))
    assert code == EXIT_TOO_MANY_ERRORS
    assert last_line(err).startswith("FAILED: every answer errored (6 of 6)") and "HTTP 401" in last_line(err)
    summary = json.loads((tmp_path / "out" / "r" / "summary.json").read_text())
    assert summary["health"]["exit_code"] == EXIT_TOO_MANY_ERRORS and summary["health"]["errors"] == 6
    assert len((tmp_path / "out" / "r" / "samples.jsonl").read_text().splitlines()) == 6  # nothing lost


def test_a_hung_endpoint_exits_non_zero(tmp_path, monkeypatch, capsys):
    with OpenAIServer(faults=Faults(slow=1.0, slow_s=5.0)) as server:
        code, _, err = cli(monkeypatch, capsys, *loop_args(tmp_path, server, 4, "--timeout", "0.3",
                                                            "--max-retries", "0"))
    assert code == EXIT_TOO_MANY_ERRORS and "timed out" in last_line(err)


def test_an_error_share_above_max_error_rate_exits_4_and_below_it_exits_0(tmp_path, monkeypatch, capsys):
    with OpenAIServer(faults=Faults(error_500=0.1, seed=7)) as server:
        args = loop_args(tmp_path, server, 60, "--max-retries", "0", "--json")
        code, out, err = cli(monkeypatch, capsys, *args, "--max-error-rate", "0")
        health = json.loads(out)["health"]
        assert 0 < health["errors"] < 60
        assert code == EXIT_TOO_MANY_ERRORS
        assert last_line(err).startswith(f"FAILED: {health['errors']} of 60 samples errored")
        assert "--retry-errors " + str(tmp_path / "out" / "r") in last_line(err)
        # The same run's records read again with a tolerant limit: the exit code follows the option.
        code, out, err = cli(monkeypatch, capsys, "--resume", str(tmp_path / "out" / "r"), "--max-error-rate", "0.5",
                             "--json")
    assert code == 0 and json.loads(out)["health"]["line"].startswith("OK:")


def test_a_replay_that_matches_nothing_exits_4(tmp_path, monkeypatch, capsys):
    replay = tmp_path / "answers.jsonl"
    replay.write_text('{"sample_id": "not-a-sample", "text": "hi"}\n')
    tasks = make_task_dir(tmp_path / "tasks", 5)
    code, _, err = cli(monkeypatch, capsys, "--model", f"replay:{replay}", "--tasks-dir", str(tasks), "--tasks",
                       "loopback-prompts", "--out", str(tmp_path / "out"), "--run-id", "r")
    assert code == EXIT_TOO_MANY_ERRORS and "replay file matched none of the 5 samples" in last_line(err)


def test_an_empty_data_file_exits_5(tmp_path, monkeypatch, capsys):
    with OpenAIServer() as server:
        args = loop_args(tmp_path, server, 1)
        (tmp_path / "tasks" / "misuse" / "loopback-prompts" / "data.jsonl").write_text("")
        code, _, err = cli(monkeypatch, capsys, *args)
        assert len(server.log) == 0
    # Either the loader refuses the empty file in one line (exit 2), or the empty run exits 5.
    assert (code == EXIT_NOTHING_RUN and "nothing was measured" in last_line(err)) or \
        (code == 2 and "data.jsonl" in last_line(err)), (code, err)
