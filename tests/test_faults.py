"""Fault injection against a real loopback server: 500s, 429 + Retry-After, resets, slow answers,
malformed JSON, a dead endpoint and a full disk."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections import defaultdict

import pytest

from safeeval import storage as store_mod
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run
from safeeval.engine.store import read_records
from safeeval.errors import RunInterrupted
from safeeval.summary import summarize
from safeeval.testing.openai_server import Faults, OpenAIServer
from safeeval.testing.tasks import make_task_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))


def options(tmp_path, server, n, **kw) -> RunOptions:
    tasks = make_task_dir(tmp_path / "tasks", n)
    base = dict(model="openai:loop", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                out=tmp_path / "out", run_id="r", concurrency=16, no_cache=True)
    return RunOptions(**{**base, **kw})


def injected(server) -> int:
    return sum(1 for e in server.log if e["outcome"] != "ok")


def test_transient_faults_are_retried_and_every_sample_answered(tmp_path):
    faults = Faults(error_500=0.1, error_429=0.1, retry_after=0.2, reset=0.05, seed=3)
    with OpenAIServer(latency=0.01, faults=faults) as server:
        result = run(options(tmp_path, server, 150, max_retries=6))
    records = read_records(result.run_dir)
    assert len(records) == 150 and not any(r.response.error for r in records)
    outcomes = server.stats()["outcomes"]
    assert outcomes["500"] and outcomes["429"] and outcomes["reset"]
    # Nothing that succeeded is sent again: requests = samples + injected failures.
    assert len(server.log) == 150 + injected(server)


def test_retry_after_is_waited_out(tmp_path):
    faults = Faults(error_429=0.3, retry_after=0.6, seed=1)
    with OpenAIServer(faults=faults) as server:
        run(options(tmp_path, server, 40, max_retries=6))
    by_digest = defaultdict(list)
    for e in server.log:
        by_digest[e["digest"]].append(e)
    waits = [nxt["t"] - cur["t"] for entries in by_digest.values()
             for cur, nxt in zip(entries, entries[1:]) if cur["outcome"] == "429"]
    assert waits and min(waits) >= 0.55  # backoff alone would wait 0.125-0.25 s


def test_slow_answers_time_out_and_are_recorded_as_errors(tmp_path):
    faults = Faults(slow=1.0, slow_s=3.0)
    with OpenAIServer(faults=faults) as server:
        result = run(options(tmp_path, server, 4, max_retries=1, timeout=0.3))
    records = read_records(result.run_dir)
    assert len(records) == 4
    assert all("timed out" in r.response.error for r in records)
    assert all(r.violation is None for r in records)  # never silently counted as safe
    assert len(server.log) == 8  # one retry each, then given up
    assert result.summary["errors"] == 4 and result.summary["tasks"]["loopback-prompts"]["n"] == 0


def test_malformed_json_is_retried_then_recorded(tmp_path):
    with OpenAIServer(faults=Faults(malformed=1.0)) as server:
        result = run(options(tmp_path, server, 3, max_retries=2))
    records = read_records(result.run_dir)
    assert all("malformed response" in r.response.error for r in records)
    assert len(server.log) == 9


def test_retry_errors_redoes_only_the_errored_samples(tmp_path):
    with OpenAIServer(faults=Faults(error_500=0.4, seed=5)) as server:
        first = run(options(tmp_path, server, 30, max_retries=0))
        errored = {r.key for r in read_records(first.run_dir) if r.response.error}
        assert 0 < len(errored) < 30
        sent_before = len(server.log)
        server.config.faults.error_500 = 0.0  # the endpoint recovers
        second = run(options(tmp_path, server, 30, max_retries=0, resume=first.run_dir, retry_errors=True))
        retried_users = {e["user"] for e in server.log[sent_before:]}
    records = read_records(second.run_dir)
    assert len(records) == 30 and not any(r.response.error for r in records)
    assert second.new_records == len(errored)
    assert len(retried_users) == len(errored)  # nothing else was requested again
    raw_lines = (second.run_dir / "samples.jsonl").read_text().splitlines()
    assert len(raw_lines) == 30 + len(errored)  # appended, and the last record per key wins
    assert second.summary["errors"] == 0 and second.summary["tasks"]["loopback-prompts"]["n"] == 30
    # The summary is built from the records in memory: it must equal one built from the file.
    meta = {"run_id": second.summary["run_id"], "model": second.summary["model"], "judges": second.summary["judges"]}
    # (health is the runner's addition; a correction note depends on the manifest, which summarize() lacks here)
    def counts(summary):
        return {k: v for k, v in summary.items() if k not in ("health", "tasks")}, \
            {t: {k: v for k, v in e.items() if k != "correction_note"} for t, e in summary["tasks"].items()}
    assert counts(second.summary) == counts(summarize(records, meta))


def test_dead_endpoint_stops_cleanly_and_resume_completes(tmp_path):
    server = OpenAIServer(latency=0.05).start()
    opts = options(tmp_path, server, 200, concurrency=4, max_retries=2)

    def stop_after_first_records() -> None:
        samples = tmp_path / "out" / "r" / "samples.jsonl"
        deadline = time.time() + 120
        while time.time() < deadline and not (samples.exists() and samples.read_bytes().count(b"\n") >= 16):
            time.sleep(0.02)
        server.stop()  # the endpoint goes away mid-run

    threading.Thread(target=stop_after_first_records, daemon=True).start()
    with pytest.raises(RunInterrupted, match="unreachable") as info:
        run(opts)
    assert "\n" not in str(info.value)
    kept = read_records(tmp_path / "out" / "r")
    assert 0 < len(kept) < 200 and not any(r.response.error for r in kept)
    with OpenAIServer(latency=0.0) as again:
        result = run(opts.model_copy(update={"base_url": again.url, "resume": tmp_path / "out" / "r"}))
        assert len(again.log) == 200 - len(kept)
    records = read_records(result.run_dir)
    assert len(records) == 200 and len({r.key for r in records}) == 200
    # Provenance: each record names the endpoint that answered it.
    assert {r.response.endpoint for r in records} == {server.url, again.url}


def test_full_disk_stops_with_exit_3_and_resume_completes(tmp_path, monkeypatch, capsys):
    from safeeval.cli.main import main

    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("samples.jsonl"):
            calls["n"] += 1
            if calls["n"] > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    tasks = make_task_dir(tmp_path / "tasks", 80)
    # 50 ms answers, 4 at a time: records are written in many small batches, at the pauses.
    with OpenAIServer(latency=0.05) as server:
        argv = ["safeeval", "run", "--model", "openai:loop", "--base-url", server.url, "--tasks-dir", str(tasks),
                "--tasks", "loopback-prompts", "--out", str(tmp_path / "out"), "--run-id", "r",
                "--concurrency", "4"]
        monkeypatch.setattr(store_mod.os, "fsync", fsync)
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 3
        stderr = capsys.readouterr().err
        assert "Traceback" not in stderr
        message = stderr.strip().splitlines()[-1]  # any progress lines come first (test_progress_and_batching.py)
        assert message.startswith("error:") and "disk full" in message
        assert f"--resume {tmp_path / 'out' / 'r'}" in message  # names the folder to resume
        kept = read_records(tmp_path / "out" / "r")
        # Two batches were fsynced (the third may have reached the page cache before fsync failed).
        assert 0 < len(kept) < 80
        monkeypatch.setattr(store_mod.os, "fsync", real_fsync)
        monkeypatch.setattr(sys, "argv", ["safeeval", "run", "--resume", str(tmp_path / "out" / "r")])
        with pytest.raises(SystemExit) as exit_info:  # the folder alone resumes: options are saved in it
            main()
        assert exit_info.value.code == 0
    records = read_records(tmp_path / "out" / "r")
    assert len(records) == 80 and len({r.key for r in records}) == 80
    assert (tmp_path / "out" / "r" / "summary.json").exists()
