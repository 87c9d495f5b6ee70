"""Progress reports weigh samples by estimated work; hf batches by config, longest first."""

from __future__ import annotations

import json
from pathlib import Path

from safeeval.cli.run_cmd import ProgressLines
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run, work_estimate
from safeeval.models.hf import HFAdapter
from safeeval.schema import GenerateConfig, Message, Prompt
from safeeval.testing.openai_server import OpenAIServer


def prompt(key: str, chars: int, max_tokens: int = 8) -> Prompt:
    return Prompt(key=key, messages=[Message(role="user", content="x" * chars)],
                  config=GenerateConfig(max_tokens=max_tokens))


def test_work_estimate_grows_with_prompt_length_and_answer_budget() -> None:
    assert work_estimate(prompt("a", 400)) > work_estimate(prompt("b", 40))
    assert work_estimate(prompt("c", 40, max_tokens=64)) > work_estimate(prompt("d", 40, max_tokens=6))


def test_hf_batches_group_by_config_and_run_longest_first() -> None:
    adapter = HFAdapter("/nonexistent", batch_size=4)  # nothing loads until start()
    prompts = [prompt(f"a/{i}", 10 * (i + 1)) for i in range(6)] + [prompt("b/0", 5, max_tokens=64)]
    batches = adapter._batches(prompts)
    assert [[p.key for p in b] for b, _ in batches] == [["a/5", "a/4", "a/3", "a/2"], ["a/1", "a/0"], ["b/0"]]
    assert [c.max_tokens for _, c in batches] == [8, 8, 64]


def test_progress_reports_work_fractions_that_end_at_one(tmp_path: Path) -> None:
    task = tmp_path / "tasks" / "misuse" / "mixed"
    task.mkdir(parents=True)
    (task / "task.yaml").write_text(json.dumps({
        "name": "mixed", "version": 1, "category": "misuse", "description": "Short and long prompts.",
        "data": "data.jsonl", "prompt": "{prompt}", "judge": "refusal", "violation_labels": ["compliance"],
        "violation": "complies", "max_tokens": 8, "license": "Apache-2.0"}))
    rows = [{"id": f"s{i}", "prompt": "short question"} for i in range(10)]
    rows += [{"id": f"l{i}", "prompt": "a long question " * 200} for i in range(10)]
    (task / "data.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    calls: list[tuple[int, int, float]] = []
    with OpenAIServer(latency=0.05) as server:  # answers in bursts of 4, so progress comes in steps
        run(RunOptions(model="openai:loop", base_url=server.url, tasks="mixed", tasks_dirs=[tmp_path / "tasks"],
                       out=tmp_path / "out", concurrency=4, no_cache=True),
            progress=lambda done, total, work: calls.append((done, total, work)))
    assert calls[0][0] == 0 and calls[0][2] == 0.0       # the start is reported before any work
    assert calls[-1][0] == calls[-1][1] == 20 and abs(calls[-1][2] - 1.0) < 1e-9
    works = [w for _, _, w in calls]
    assert works == sorted(works)
    # The ten long prompts are most of the work, so work and sample fractions part ways.
    assert any(abs(w - d / t) > 0.1 for d, t, w in calls)


def test_progress_lines_eta_extrapolates_work_not_samples(monkeypatch, capsys) -> None:
    clock = iter([0.0, 0.0, 100.0])
    monkeypatch.setattr("safeeval.cli.run_cmd.time.monotonic", lambda: next(clock))
    lines = ProgressLines(every_s=0.0)
    lines.begin(0, 0.0)
    lines.update(50, 100, work=0.25)  # half the samples, but a quarter of the work, in 100 s
    assert "eta 300 s" in capsys.readouterr().err


def test_progress_lines_give_no_eta_before_two_percent_of_the_work(monkeypatch, capsys) -> None:
    clock = iter([0.0, 0.0, 46.0, 84.0])
    monkeypatch.setattr("safeeval.cli.run_cmd.time.monotonic", lambda: next(clock))
    lines = ProgressLines(every_s=0.0)
    lines.begin(0, 0.0)
    lines.update(16, 2412, work=0.006)  # a local model's first 16 records
    lines.update(272, 2412, work=0.11)
    first, second = capsys.readouterr().err.splitlines()
    assert first.endswith("eta unknown")
    assert second.endswith("eta 680 s")  # 0.89 / (0.11 / 84 s)


def test_terminal_bar_draws_work_and_sample_counts() -> None:
    import io

    from rich.console import Console

    from safeeval.cli import run_cmd

    screen = Console(file=io.StringIO(), force_terminal=True, width=100)
    bar = run_cmd.terminal_bar(screen)
    with bar:
        task = bar.add_task("evaluating", total=run_cmd.WORK_STEPS, samples="0/20")
        bar.update(task, completed=0.5 * run_cmd.WORK_STEPS, samples="10/20")
    drawn = screen.file.getvalue()
    assert "evaluating" in drawn and "10/20" in drawn and "eta" in drawn


def test_start_checks_the_model_without_loading_it(tmp_path: Path) -> None:
    """A run whose answers are all cached never pays for a model load: start() only checks the files."""
    import asyncio

    import pytest

    from safeeval.errors import SafeevalError
    from safeeval.models.hf import EmbeddedAdapter

    adapter = EmbeddedAdapter()
    asyncio.run(adapter.start())
    assert adapter._model is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(SafeevalError, match="config.json: does not exist"):
        asyncio.run(HFAdapter(str(tmp_path / "empty")).start())
