"""An endpoint checked before the first sample, tools on servers that refuse them, cut answers,
per-sample failures, credentials in the URL, and a server's concurrency cap: all against the
real loopback server (safeeval/testing/openai_server.py)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time

import pytest

from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run
from safeeval.engine.store import read_records
from safeeval.errors import SafeevalError
from safeeval.models.credentials import redact, saved_url
from safeeval.models.openai_api import OpenAIAdapter
from safeeval.schema import Message, Prompt, ToolSpec
from safeeval.testing.openai_server import Faults, OpenAIServer
from safeeval.testing.tasks import make_task_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def options(tmp_path, server, n, **kw) -> RunOptions:
    tasks = make_task_dir(tmp_path / "tasks", n)
    base = dict(model="openai:loop", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                out=tmp_path / "out", run_id="r", concurrency=8, no_cache=True)
    return RunOptions(**{**base, **kw})


def chat_requests(server) -> int:
    return len(server.log)  # the log holds chat requests only (GET /v1/models is not logged)


def test_unknown_model_name_is_one_line_naming_the_served_ones_before_any_sample(tmp_path):
    with OpenAIServer(models=["smollm2"]) as server:
        with pytest.raises(SafeevalError) as info:
            run(options(tmp_path, server, 5, model="openai:smollm2-wrong"))
        assert chat_requests(server) == 0
    message = str(info.value)
    assert "smollm2-wrong" in message and "it serves: smollm2" in message and "\n" not in message
    assert info.value.exit_code == 2
    assert not (tmp_path / "out" / "r" / "samples.jsonl").exists()


def test_a_server_without_v1_models_goes_on_with_a_note(tmp_path, capsys):
    with OpenAIServer() as server:  # no /v1/models route
        result = run(options(tmp_path, server, 4))
    assert len(read_records(result.run_dir)) == 4
    assert "note:" in capsys.readouterr().err


def test_answers_cut_by_the_context_are_inconclusive_with_a_reason(tmp_path):
    # The prompts are 9 "tokens" (words); a context of 40 leaves 31 of the 64 asked for.
    with OpenAIServer(models=["loop"], max_model_len=40, tokens=64, refuse_rate=0.0) as server:
        result = run(options(tmp_path, server, 6, max_tokens=64))
    records = read_records(result.run_dir)
    assert len(records) == 6
    for r in records:
        assert r.response.finish_reason == "length" and r.response.output_tokens < 64
        assert r.response.cut and "64" in r.response.cut
        assert r.outcome == "inconclusive" and r.violation is None  # never scored
        assert "answer cut" in r.verdicts[0].rationale
    with OpenAIServer(models=["loop"], max_model_len=40) as server:
        adapter = OpenAIAdapter("loop", base_url=server.url)
        generate(adapter, [])
        asyncio.run(adapter.start())
        assert adapter.context_length == 40 and adapter.served == ["loop"]


def tool_prompts(n: int) -> list[Prompt]:
    spec = [ToolSpec(name="lookup", description="Look something up.")]
    return [Prompt(key=f"t/{i}/none", messages=[Message(role="user", content=f"question {i}")], tools=spec)
            for i in range(n)]


def generate(adapter, prompts):
    async def go():
        try:
            return await adapter.generate(prompts)
        finally:
            await adapter.aclose()
    return asyncio.run(go())


def test_auto_tool_protocol_falls_back_to_text_for_the_whole_run(capsys):
    with OpenAIServer(refuse_tools=True, refuse_rate=0.0) as server:
        out = generate(OpenAIAdapter("loop", base_url=server.url, concurrency=1), tool_prompts(6))
        outcomes = [e["outcome"] for e in server.log]
    assert not any(r.error for r in out)
    assert all(r.tool_protocol == "text" for r in out)
    assert outcomes.count("400") == 1 and len(outcomes) == 7  # refused once, then text for every prompt
    assert "text protocol" in capsys.readouterr().err
    with OpenAIServer(refuse_tools=True) as server:
        native = generate(OpenAIAdapter("loop", base_url=server.url, tool_protocol="native"), tool_prompts(2))
    assert all(r.error and "HTTP 400" in r.error and r.tool_protocol == "native" for r in native)
    with OpenAIServer(refuse_rate=0.0) as server:
        ok = generate(OpenAIAdapter("loop", base_url=server.url), tool_prompts(2))
    assert all(r.tool_protocol == "native" and r.tool_calls for r in ok)


def test_agentic_harm_against_a_server_that_refuses_tools_has_no_error_records(tmp_path):
    with OpenAIServer(refuse_tools=True) as server:
        result = run(RunOptions(model="openai:loop", base_url=server.url, tasks="agentic-harm", limit=8,
                                out=tmp_path / "out", run_id="a", no_cache=True))
    records = read_records(result.run_dir)
    assert len(records) == 8 and not any(r.response.error for r in records)
    assert {r.response.tool_protocol for r in records} == {"text"}
    assert {r.response.endpoint for r in records} == {server.url}


def test_a_reset_on_a_samples_last_retry_is_that_samples_error_not_the_runs_end(tmp_path):
    with OpenAIServer(faults=Faults(reset=0.3, seed=4)) as server:
        result = run(options(tmp_path, server, 120, max_retries=0))
    records = read_records(result.run_dir)
    errored = [r for r in records if r.response.error]
    assert len(records) == 120  # the run finished
    assert 15 < len(errored) < 60 and all("connection failed" in r.response.error for r in errored)


def test_url_credentials_and_an_api_key_work_together_and_echoes_are_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-key-SECRET-123")
    with OpenAIServer(basic_auth="alice:pw-SECRET-456", echo_auth=True, faults=Faults(error_500=0.5, seed=1)) \
            as server:
        url = server.url.replace("http://", "http://alice:pw-SECRET-456@")
        result = run(options(tmp_path, server, 20, base_url=url, max_retries=0))
        outcomes = server.stats()["outcomes"]
    assert "401" not in outcomes and outcomes.get("ok")
    text = (result.run_dir / "samples.jsonl").read_text()
    assert "(auth was ***)" in text  # the echoed header was scrubbed
    basic = base64.b64encode(b"alice:pw-SECRET-456").decode()
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_text(errors="replace")
            assert "SECRET" not in data and basic not in data, path


def test_redaction_covers_every_authorization_value_and_url_credentials():
    line = "HTTP 401: got 'Authorization: Basic YWxpY2U6cHc=' from http://bob:pa55@h:1/v1, Bearer sk-abcdef"
    clean = redact(line)
    assert "YWxpY2U6cHc=" not in clean and "pa55" not in clean and "sk-abcdef" not in clean
    assert "http://***@h:1/v1" in clean
    assert saved_url("http://bob:pa55@h:1/v1") == "http://***:***@h:1/v1"


def test_resume_after_kill_9_against_basic_auth_needs_the_credentials_again(tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 300)
    env = {**os.environ, "SAFEEVAL_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("OPENAI_API_KEY", None)
    out = tmp_path / "out"
    with OpenAIServer(basic_auth="carol:pw-SECRET-789", models=["loop"], latency=0.05) as server:
        url = server.url.replace("http://", "http://carol:pw-SECRET-789@")
        argv = [sys.executable, "-m", "safeeval", "run", "--model", "openai:loop", "--base-url", url,
                "--tasks-dir", str(tasks), "--tasks", "loopback-prompts", "--out", str(out), "--run-id", "r",
                "--concurrency", "4"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = out / "r" / "samples.jsonl"
        deadline = time.time() + 120
        while time.time() < deadline and not (samples.exists() and samples.read_bytes().count(b"\n") >= 20):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kept = len(read_records(out / "r"))
        assert 0 < kept < 300
        sent = len(server.log)
        plain = subprocess.run([sys.executable, "-m", "safeeval", "run", "--resume", str(out / "r")],
                               env=env, capture_output=True, text=True, timeout=120)
        assert plain.returncode == 2 and len(server.log) == sent  # nothing was sent without them
        line = plain.stderr.strip().splitlines()[-1]
        assert "USER:PASSWORD@" in line and "never saved" in line
        again = subprocess.run([sys.executable, "-m", "safeeval", "run", "--resume", str(out / "r"),
                                "--base-url", url], env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
    records = read_records(out / "r")
    assert len(records) == 300 and len({r.key for r in records}) == 300 and not any(r.response.error for r in records)
    basic = base64.b64encode(b"carol:pw-SECRET-789").decode()
    for folder in (out, tmp_path / "cache"):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert b"SECRET" not in data and basic.encode() not in data, path


def test_adaptive_concurrency_settles_at_the_servers_cap_without_errors(tmp_path):
    # The quantitative figure (mean in flight against the cap) is benchmarks/endpoint_concurrency.py's:
    # here the server shares the test's process and CPU, so only convergence and errors are asserted.
    with OpenAIServer(max_concurrency=8, latency=0.05, faults=Faults(retry_after=0.2)) as server:
        result = run(options(tmp_path, server, 300, concurrency=64, max_retries=4))
        assert server.stats()["outcomes"].get("429", 0) >= 56  # the first burst was refused past the cap
        records = read_records(result.run_dir)
        assert len(records) == 300 and not any(r.response.error for r in records)
        adapter = OpenAIAdapter("loop", base_url=server.url, concurrency=64, max_retries=4)
        out = generate(adapter, [Prompt(key=f"t/{i}/none", messages=[Message(role="user", content=f"again {i}")])
                                 for i in range(300)])
    assert not any(r.error for r in out)
    assert adapter.limit.limit in (8, 9)  # at the cap, or probing one above it
