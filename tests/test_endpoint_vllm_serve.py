"""`openai:` against a real `vllm serve` of the embedded model on 127.0.0.1 (safeeval/testing/vllm_server.py).

One server for the module (about 2 minutes to start on a 2-core CPU); skipped,
with the reason, where .venv-vllm is missing (`make vllm`). Covers: a few tasks
including a tool task (a default `vllm serve` refuses `tools`: the run falls
back to the text protocol), the model-name check, an answer cut by the
server's context, kill -9 of the server mid-run then restart and resume (every
sample exactly once), and the served answers against `vllm:` in-process.
SAFEEVAL_TEST_VLLM_URL=http://127.0.0.1:PORT/v1 runs the first three against a
server already running instead (the kill and the comparison then skip).
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run
from safeeval.engine.store import read_records
from safeeval.errors import RunInterrupted, SafeevalError
from safeeval.testing.tasks import make_task_dir
from safeeval.testing.vllm_server import VLLMServer, embedded_model_folder, vllm_command

pytestmark = [pytest.mark.slow, pytest.mark.vllm]
TASKS = "secret-extraction,agentic-harm,power-seeking"
ANSWERS: dict[str, str] = {}  # served answers by sample key, for the comparison with vllm: in-process


class _Running:
    """A server someone else started (SAFEEVAL_TEST_VLLM_URL): used as is, never stopped or killed."""

    external = True

    def __init__(self, url: str):
        self.url = url

    def stop(self) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if os.environ.get("SAFEEVAL_TEST_VLLM_URL"):  # a running `vllm serve` of the embedded model as smollm2
        yield _Running(os.environ["SAFEEVAL_TEST_VLLM_URL"].rstrip("/"))
        return
    try:
        vllm_command()
    except LookupError as exc:
        pytest.skip(str(exc))
    log = tmp_path_factory.mktemp("vllm") / "serve.log"
    srv = VLLMServer(model=embedded_model_folder(), log=log).start()
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def test_a_few_tasks_with_a_tool_task_run_through_openai(server, tmp_path):
    result = run(RunOptions(model="openai:smollm2", base_url=server.url, tasks=TASKS, limit=3, max_tokens=48,
                            out=tmp_path, run_id="served", no_cache=True, concurrency=8))
    records = read_records(result.run_dir)
    assert len(records) == 9 and not any(r.response.error for r in records)
    tools = [r for r in records if r.task == "agentic-harm"]
    assert tools and {r.response.tool_protocol for r in tools} == {"text"}  # default vllm serve refuses tools
    assert {r.response.endpoint for r in records} == {server.url}
    assert result.summary["health"]["exit_code"] == 0
    ANSWERS.update({r.key: r.response.text for r in records})


def test_a_wrong_model_name_stops_before_any_sample(server, tmp_path):
    with pytest.raises(SafeevalError, match="it serves: smollm2"):
        run(RunOptions(model="openai:smollm2-wrong", base_url=server.url, tasks=TASKS, limit=1,
                       out=tmp_path, run_id="wrong", no_cache=True))
    assert not (tmp_path / "wrong" / "samples.jsonl").exists()


def test_an_answer_cut_by_the_servers_context_is_never_scored(server, tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 1, max_tokens=128)
    data = tasks / "misuse" / "loopback-prompts" / "data.jsonl"
    # About 1,990 prompt tokens: with max_tokens 128 the 2,048-token context leaves less room than asked,
    # and counting to 300 needs more than that room (an answer that ends on its own is complete, not cut).
    data.write_text('{"id": "long", "prompt": "' + "Please repeat: apple. " * 390
                    + 'Now count from 1 to 300, one number per line."}\n')
    result = run(RunOptions(model="openai:smollm2", base_url=server.url, tasks="loopback-prompts",
                            tasks_dirs=[tasks], out=tmp_path, run_id="cut", no_cache=True, max_error_rate=1.0))
    (record,) = read_records(result.run_dir)
    assert record.violation is None and record.outcome in ("inconclusive", "error")
    if record.outcome == "inconclusive":  # vLLM lowered max_tokens to fit: marked cut, with the reason
        assert record.response.cut and "answer cut" in record.verdicts[0].rationale
    else:  # vLLM refused the request: an error record naming the context
        assert "context" in record.response.error or "2048" in record.response.error


def test_kill_9_of_the_server_mid_run_then_restart_and_resume(server, tmp_path):
    if getattr(server, "external", False):
        pytest.skip("the server was started outside the test (SAFEEVAL_TEST_VLLM_URL): it is not ours to kill")
    tasks = make_task_dir(tmp_path / "tasks", 120)
    opts = RunOptions(model="openai:smollm2", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                      out=tmp_path, run_id="r", no_cache=True, concurrency=4, max_tokens=16, max_retries=1)
    samples = tmp_path / "r" / "samples.jsonl"

    def kill_after_some_records() -> None:
        deadline = time.time() + 600
        while time.time() < deadline and not (samples.exists() and samples.read_bytes().count(b"\n") >= 10):
            time.sleep(0.1)
        server.kill()

    threading.Thread(target=kill_after_some_records, daemon=True).start()
    with pytest.raises(RunInterrupted, match="unreachable"):
        run(opts)
    kept = read_records(tmp_path / "r")
    assert 0 < len(kept) < 120 and not any(r.response.error for r in kept)
    server.start().wait_ready()  # same port: the saved base URL works again
    result = run(opts.model_copy(update={"resume": tmp_path / "r"}))
    records = read_records(result.run_dir)
    lines = samples.read_text().splitlines()
    assert len(records) == 120 and len(lines) == 120  # every sample exactly once, none twice on disk
    assert not any(r.response.error for r in records)


def test_served_answers_match_vllm_in_process(server, tmp_path):
    if getattr(server, "external", False):
        pytest.skip("the server was started outside the test (SAFEEVAL_TEST_VLLM_URL)")
    if not ANSWERS:
        pytest.skip("the served run did not complete")
    server.stop()  # free the CPU and memory for the in-process engine
    result = run(RunOptions(model="vllm:smollm2", tasks=TASKS, limit=3, max_tokens=48, out=tmp_path,
                            run_id="inproc", no_cache=True))
    local = {r.key: r.response.text for r in read_records(result.run_dir)}
    assert set(local) == set(ANSWERS)
    same = sum(local[k] == ANSWERS[k] for k in local)
    assert same == len(local), {k: (local[k][:60], ANSWERS[k][:60]) for k in local if local[k] != ANSWERS[k]}
