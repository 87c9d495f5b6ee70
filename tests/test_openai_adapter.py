"""The openai adapter against a real loopback HTTP server, and the retry policy's pure functions."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from safeeval.models.retry import RetryPolicy, backoff_s, parse_retry_after, retry_delay, should_retry_status
from safeeval.errors import SafeevalError
from safeeval.models import load_model
from safeeval.models.openai_api import AdaptiveLimit, OpenAIAdapter, parse_completion, public_url
from safeeval.schema import Message, Prompt, ToolSpec
from safeeval.testing.openai_server import OpenAIServer


def prompts(n: int, tools: bool = False) -> list[Prompt]:
    spec = [ToolSpec(name="lookup", description="Look something up.")] if tools else []
    return [Prompt(key=f"t/{i}/none", messages=[Message(role="user", content=f"question {i}")], tools=spec)
            for i in range(n)]


def generate(adapter: OpenAIAdapter, items: list[Prompt]):
    async def go():
        try:
            return await adapter.generate(items)
        finally:
            await adapter.aclose()
    return asyncio.run(go())


def test_answers_have_the_openai_shape_and_keep_order():
    with OpenAIServer(tokens=5) as server:
        adapter = load_model("openai:loop", base_url=server.url, concurrency=8)
        out = generate(adapter, prompts(20))
    assert len(out) == 20 and not any(r.error for r in out)
    assert all(r.output_tokens == 5 and r.input_tokens == 2 and r.finish_reason == "stop" for r in out)
    assert {r.text.split()[0] for r in out} <= {"I", "Sure,"}
    assert server.stats()["requests"] == 20


def test_tools_are_sent_and_tool_calls_parsed():
    with OpenAIServer(refuse_rate=0.0) as server:
        out = generate(OpenAIAdapter("loop", base_url=server.url), prompts(3, tools=True))
    assert all(r.tool_calls and r.tool_calls[0].name == "lookup" for r in out)
    assert out[0].tool_calls[0].arguments == {"q": "x"}


def test_concurrency_limit_is_respected_and_used():
    with OpenAIServer(latency=0.1) as server:
        generate(OpenAIAdapter("loop", base_url=server.url, concurrency=4), prompts(24))
        peak = server.stats()["max_in_flight"]
    assert 2 <= peak <= 4


def test_adaptive_limit_drops_to_what_the_server_took_and_recovers():
    async def go():
        limit = AdaptiveLimit(32)
        limit.rate_limited(in_flight=20)  # refused while 20 were out: the server takes at most 19
        assert limit.limit == 19
        limit.rate_limited(in_flight=30)  # a late refusal from the burst never raises it
        assert limit.limit == 19
        limit.rate_limited(in_flight=1)
        assert limit.limit == 1  # never below one
        for _ in range(8 + 16 + 24):
            await limit.succeeded()
        assert limit.limit == 4  # from the refused level up it probes slowly: 8 x limit successes a step
        free = AdaptiveLimit(32)
        free.limit = 10  # below any refused level: one step per `limit` successes
        for _ in range(10 + 11 + 12):
            await free.succeeded()
        assert free.limit == 13
    asyncio.run(go())


def test_parse_completion_rejects_a_body_without_choices():
    with pytest.raises(ValueError):
        parse_completion({"error": "x"}, 0.1)
    r = parse_completion({"choices": [{"message": {"content": None, "tool_calls": [
        {"id": "a", "function": {"name": "f", "arguments": "not json"}}]}, "finish_reason": "tool_calls"}]}, 0.1)
    assert r.tool_calls[0].arguments == {"_raw": "not json"} and r.text == ""


def test_base_url_is_required_and_credentials_stay_out_of_the_spec(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(SafeevalError, match="--base-url"):
        OpenAIAdapter("loop")
    adapter = OpenAIAdapter("loop", base_url="http://user:hunter2@127.0.0.1:9/v1")
    assert "hunter2" not in str(adapter.spec()) and "hunter2" not in adapter.cache_id
    assert public_url("https://a:b@example.org/v1") == "https://example.org/v1"


# ---------------------------------------------------------------- retry policy (pure)

def test_retry_after_beats_backoff():
    policy = RetryPolicy(max_retries=3, base_s=0.25, cap_s=8)
    assert retry_delay(0, policy, retry_after=1.5) == 1.5
    assert 0.125 <= retry_delay(0, policy, rng=random.Random(1)) <= 0.25
    assert retry_delay(3, policy, retry_after=1.0) is None  # out of retries
    assert retry_delay(0, policy, retry_after=10_000) is None  # not worth stalling the run


def test_backoff_grows_with_jitter_and_is_capped():
    policy = RetryPolicy(base_s=0.5, cap_s=4)
    rng = random.Random(0)
    delays = [backoff_s(a, policy, rng) for a in range(8)]
    assert 0.25 <= delays[0] <= 0.5 and 1.0 <= delays[2] <= 2.0
    assert all(2.0 <= d <= 4.0 for d in delays[3:])


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0


def test_which_statuses_are_retried():
    assert all(should_retry_status(s) for s in (429, 500, 502, 503, 504))
    assert not any(should_retry_status(s) for s in (400, 401, 403, 404, 422))
