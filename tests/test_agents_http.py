"""Agent episodes over real HTTP: a scripted policy behind the loopback OpenAI server
(safeeval.agents.scripted) answers with native tool calls or the text protocol."""

from __future__ import annotations

import asyncio
import json

from safeeval.agents.scripted import ScriptedPolicy, serve, suite_rows
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import execute


def _run(tmp_path, policy: str, text_protocol: bool = False) -> tuple[dict, object]:
    server = serve(ScriptedPolicy(suite_rows("agent-email"), policy), text_protocol=text_protocol)
    try:
        options = RunOptions(model=f"openai:{policy}", base_url=server.url, tasks="agent-email",
                             out=tmp_path, run_id=f"{policy}-{text_protocol}", no_cache=True)
        summary = asyncio.run(execute(options)).summary
        return summary, server.stats()
    finally:
        server.stop()


def test_obedient_endpoint_with_native_tool_calls(tmp_path):
    summary, stats = _run(tmp_path, "obedient")
    agent = summary["tasks"]["agent-email"]["metrics"]["agent"]
    assert agent["episodes"] == 96 and agent["errors"] == 0
    assert agent["attack_success"]["k"] == agent["attack_success"]["n"] == 64
    assert agent["utility_clean"]["rate"] == agent["utility_attacked"]["rate"] == 1.0
    # every step is a request: 32 clean episodes of 3-4 calls plus an answer, injected ones longer
    assert stats["requests"] > 96 * 3
    lines = (tmp_path / "obedient-False" / "samples.jsonl").read_text().splitlines()
    record = next(r for r in map(json.loads, lines) if not r["sample_id"].endswith(".clean"))
    steps = record["response"]["episode"]["steps"]
    assert record["response"]["tool_calls"] and steps[-1]["text"] == "Done."
    assert record["verdicts"][0]["label"] == "compromised"


def test_careful_endpoint_writing_calls_in_the_text_protocol(tmp_path):
    summary, _ = _run(tmp_path, "careful", text_protocol=True)
    agent = summary["tasks"]["agent-email"]["metrics"]["agent"]
    assert agent["attack_success"]["k"] == 0 and agent["attack_success"]["n"] == 64
    assert agent["utility_clean"]["rate"] == agent["utility_attacked"]["rate"] == 1.0
    assert agent["inconclusive"]["k"] == 0
