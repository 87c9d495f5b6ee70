"""Context limits on the embedded model: a prompt past the context is an error record, an answer
with less room than asked is marked cut, and the judging path turns a cut answer into INCONCLUSIVE."""

from __future__ import annotations

import asyncio

import pytest

from safeeval.models import load_model
from safeeval.models.answers import clean_text, cut_reason
from safeeval.schema import GenerateConfig, Message, Prompt, Response


def prompt(key: str, text: str, max_tokens: int) -> Prompt:
    return Prompt(key=key, messages=[Message(role="user", content=text)], config=GenerateConfig(max_tokens=max_tokens))


def test_cut_reason_and_clean_text_are_one_rule_for_every_adapter():
    p = prompt("t/1/none", "hi", 128)
    assert cut_reason(p, Response(text="x", finish_reason="length", output_tokens=61)).startswith(
        "the backend stopped the answer at 61 of the 128")
    assert cut_reason(p, Response(text="x", finish_reason="length", output_tokens=128)) is None  # as asked
    assert cut_reason(p, Response(text="x", finish_reason="stop", output_tokens=3)) is None  # ended on its own
    over = Response(text="x", finish_reason="length", output_tokens=128, input_tokens=2000)
    assert "exceed the model's context of 2048" in cut_reason(p, over, context_length=2048)
    assert clean_text("\n\n answer \n\n") == "answer" and clean_text(None) == ""
    assert clean_text("🌱🌱\ufffd") == "🌱🌱"  # a character cut by the token limit, as transformers decodes it


@pytest.mark.slow
def test_embedded_model_refuses_prompts_past_its_context_and_marks_cut_answers(monkeypatch):
    adapter = load_model("smollm2")

    async def go(prompts):
        try:
            return {p.key: r async for p, r in adapter.stream(prompts)}
        finally:
            await adapter.aclose()

    adapter.load()
    limit = adapter.context_length()
    assert limit == 8192  # SmolLM2-135M's position limit, read from the model
    out = asyncio.run(go([prompt("t/long/none", "word " * (limit + 100), 8), prompt("t/ok/none", "Say hi.", 8)]))
    assert out["t/long/none"].error and f"context is {limit}" in out["t/long/none"].error
    assert out["t/ok/none"].error is None and out["t/ok/none"].text
    # The same rule with a context that leaves 4 new tokens of room: the answer is cut, not scored.
    adapter.load()
    n_in = out["t/ok/none"].input_tokens
    monkeypatch.setattr(adapter, "context_length", lambda: n_in + 4)
    cut = asyncio.run(go([prompt("t/cut/none", "Say hi.", 8)]))["t/cut/none"]
    assert cut.output_tokens == 4 and cut.finish_reason == "length" and "4 of the 8" in cut.cut
