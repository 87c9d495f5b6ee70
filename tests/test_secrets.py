"""A known fake key must never reach the run folder, the cache, the output or error messages."""

from __future__ import annotations

import os
import subprocess
import sys

from safeeval.testing.openai_server import Faults, OpenAIServer
from safeeval.testing.tasks import make_task_dir

KEY = "sk-test-DO-NOT-LEAK-4f1c9e0b7a"


def test_api_key_and_authorization_header_never_leak(tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 30)
    env = {**os.environ, "OPENAI_API_KEY": KEY, "SAFEEVAL_CACHE_DIR": str(tmp_path / "cache")}
    # The server echoes the Authorization header in its error bodies: a leak trap for error messages.
    faults = Faults(error_500=0.3, seed=2)
    with OpenAIServer(api_key=KEY, echo_auth=True, faults=faults) as server:
        out = subprocess.run([sys.executable, "-m", "safeeval", "run", "--model", "openai:loop",
                              "--base-url", server.url, "--tasks-dir", str(tasks), "--tasks", "loopback-prompts",
                              "--out", str(tmp_path / "out"), "--run-id", "r", "--max-retries", "0", "--json",
                              "--max-error-rate", "1"],
                             env=env, capture_output=True, text=True, timeout=300)
        outcomes = server.stats()["outcomes"]
    assert out.returncode == 0, out.stderr
    assert outcomes.get("ok") and outcomes.get("500") and "401" not in outcomes  # the key was sent, and used
    scanned = 0
    for folder in (tmp_path / "out", tmp_path / "cache"):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert KEY.encode() not in data, f"key leaked into {path}"
                scanned += 1
    assert scanned >= 4  # manifest, options, samples, summary (+ cache)
    errors = (tmp_path / "out" / "r" / "samples.jsonl").read_text()
    assert "HTTP 500" in errors and "***" in errors  # the echoed header was scrubbed, not dropped silently
    assert KEY not in out.stdout and KEY not in out.stderr


def test_a_rejected_key_is_reported_without_the_key(tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 2)
    env = {**os.environ, "OPENAI_API_KEY": KEY, "SAFEEVAL_CACHE_DIR": str(tmp_path / "cache")}
    with OpenAIServer(api_key="another-key", echo_auth=True) as server:
        out = subprocess.run([sys.executable, "-m", "safeeval", "run", "--model", "openai:loop",
                              "--base-url", server.url, "--tasks-dir", str(tasks), "--tasks", "loopback-prompts",
                              "--out", str(tmp_path / "out"), "--run-id", "r"],
                             env=env, capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr + (tmp_path / "out" / "r" / "samples.jsonl").read_text()
    assert "HTTP 401" in (tmp_path / "out" / "r" / "samples.jsonl").read_text()
    assert KEY not in text
