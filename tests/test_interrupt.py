"""Ctrl-C: a run stops within seconds, keeps every finished record, exits 130 and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safeeval import events
from safeeval.cli.progress import eta_seconds, format_eta


def test_eta_grows_while_no_work_arrives() -> None:
    # 10% of the work in 60 s: 540 s left; with no progress 60 s later the honest estimate is longer.
    assert eta_seconds(0.1, 0.0, 60.0) == pytest.approx(540.0)
    assert eta_seconds(0.1, 0.0, 120.0) > eta_seconds(0.1, 0.0, 60.0)
    assert eta_seconds(0.01, 0.0, 5.0) is None  # too little done to extrapolate
    assert format_eta(None) == "eta –" and format_eta(3725) == "eta 1:02:05"


def test_stop_request_stops_the_greedy_loop_and_keeps_finished_rows() -> None:
    """The greedy loop checks the stop flag between decode steps: rows already done are handed on."""
    torch = pytest.importorskip("torch")
    from safeeval.models.local.greedy import Row, finished, greedy_generate

    events.request_stop()
    try:
        with pytest.raises(events.Stopped):
            # prefill checks the flag before its first chunk, so no model call is made
            greedy_generate(_FakeModel(), [Row(prompt=[1, 2, 3], max_new=4)], eos={0})
    finally:
        events.clear_stop()
    done = Row(prompt=[1], max_new=2, out=[5, 6])
    assert finished(done) and not finished(Row(prompt=[1], max_new=4, out=[5]))


class _FakeModel:
    """Just enough of a transformers model for `_prefill` to size its cache."""

    class config:  # noqa: N801 - mimics transformers' attribute
        num_hidden_layers, num_attention_heads, num_key_value_heads, hidden_size, head_dim = 1, 1, 1, 2, 2

        @classmethod
        def get_text_config(cls):
            return cls

    device = "cpu"

    def parameters(self):
        import torch

        yield torch.zeros(1)


@pytest.mark.slow
def test_sigint_mid_batch_stops_within_5_s_and_keeps_records(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "80"}
    args = [sys.executable, "-m", "safeeval", "run", "--model", "smollm2", "--tasks", "over-refusal-benign",
            "--limit", "16", "--batch-size", "4", "--max-tokens", "96", "--no-cache", "--out", str(tmp_path),
            "--run-id", "sig"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = tmp_path / "sig" / "samples.jsonl"
    deadline = time.monotonic() + 900
    while not (samples.exists() and samples.read_text().strip()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.2)
    before = len(samples.read_text().splitlines())
    assert 0 < before < 16, "SIGINT must land mid-run"
    time.sleep(0.5)  # inside the next batch's decoding
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < 5.0, f"stopped after {took:.1f} s"
    assert "Ctrl-C: stopping" in err and "--resume" in err
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(records) >= before and len({r["key"] for r in records}) == len(records)
    # --resume finishes the rest, repeating no finished sample.
    done = subprocess.run([sys.executable, "-m", "safeeval", "run", "--resume", str(tmp_path / "sig")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    keys = [json.loads(line)["key"] for line in samples.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 16
    assert [r["key"] for r in records] == keys[:len(records)]
