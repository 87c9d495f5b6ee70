"""A real OpenAI-compatible chat server on 127.0.0.1, with latency and fault knobs.

Tests run it on a background thread (`OpenAIServer`); benchmarks run it as a
separate process (`python -m safeeval.testing.openai_server --latency 0.2`),
which prints its base URL on the first line and serves `GET /stats`.

Faults are decided per prompt and attempt: the n-th request carrying the same
messages draws one deterministic number from (seed, messages, n), so a retry
of a failed request can succeed, and a re-run injects the same faults.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Faults:
    """Probabilities (0..1) of each injected fault, per prompt and attempt."""

    error_500: float = 0.0
    error_429: float = 0.0
    retry_after: float = 1.0        # the Retry-After header sent with a 429
    reset: float = 0.0              # the connection is closed with no response
    malformed: float = 0.0          # 200 with a body that is not JSON
    slow: float = 0.0               # the answer comes after `slow_s` (past a client timeout)
    slow_s: float = 30.0
    seed: int = 0


@dataclass
class ServerConfig:
    latency: float = 0.0            # seconds before each successful answer
    tokens: int = 16                # completion tokens per answer
    refuse_rate: float = 0.5        # share of prompts answered with a refusal
    api_key: str | None = None      # when set, requests must carry "Authorization: Bearer <key>"
    echo_auth: bool = False         # error bodies echo the Authorization header (a leak trap for tests)
    basic_auth: str | None = None   # "user:password": requests must carry that Basic auth instead of a key
    models: list[str] | None = None  # names served at GET /v1/models (None: no such route, as on some servers)
    max_model_len: int | None = None  # the context: listed with the models; longer answers are cut (as vLLM does)
    refuse_tools: bool = False      # a request with `tools` is a 400, as on a default `vllm serve`
    max_concurrency: int | None = None  # more requests in flight than this get 429 + Retry-After
    faults: Faults = field(default_factory=Faults)
    # When set, answers come from it: request body -> assistant message, or None for the default answer
    # (safeeval.agents.scripted scripts multi-step tool calls with it).
    responder: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None


def _unit(*parts: Any) -> float:
    """A deterministic number in [0, 1) from `parts`."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()
    return struct.unpack(">Q", digest[:8])[0] / 2 ** 64


class _State:
    def __init__(self, config: ServerConfig):
        self.config = config
        self.log: list[dict[str, Any]] = []
        self.seen: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = time.time()
        self.busy = 0  # requests being answered (admitted past the concurrency cap)
        self.busy_area = 0.0  # integral of `busy` over time: mean concurrency = area / span
        self.busy_since = None
        self.busy_last = None

    def admit(self, delta: int) -> None:
        now = time.monotonic()
        if self.busy_last is not None:
            self.busy_area += self.busy * (now - self.busy_last)
        if self.busy_since is None:
            self.busy_since = now
        self.busy_last = now
        self.busy += delta

    def mean_busy(self) -> float | None:
        if self.busy_since is None or self.busy_last is None or self.busy_last <= self.busy_since:
            return None
        return self.busy_area / (self.busy_last - self.busy_since)


def _answer(config: ServerConfig, body: dict[str, Any], digest: str) -> dict[str, Any]:
    refuse = _unit("refuse", digest) < config.refuse_rate
    words = ["I", "can't", "help", "with", "that."] if refuse else ["Sure,", "here", "is", "an", "answer."]
    prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
    n = max(1, config.tokens)
    finish = "stop"
    if config.max_model_len:  # like vLLM: max_tokens silently lowered to what the context has room for
        room = config.max_model_len - prompt_tokens
        asked = int(body.get("max_tokens") or n)
        if min(n, asked) > room:
            n, finish = max(1, room), "length"
    words = (words + ["more"] * n)[:n]
    message: dict[str, Any] = {"role": "assistant", "content": " ".join(words)}
    tools = body.get("tools") or []
    if tools and not refuse:
        name = tools[0].get("function", {}).get("name", "tool")
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": name, "arguments": json.dumps({"q": "x"})}}]}
        finish = "tool_calls"
    scripted = config.responder(body) if config.responder is not None else None
    if scripted is not None:
        message, finish = scripted, "tool_calls" if scripted.get("tool_calls") else "stop"
    prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
    return {"id": f"chatcmpl-{digest[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "loopback"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n}}


def make_app(state: _State) -> web.Application:
    """The aiohttp application: POST /v1/chat/completions, GET /stats."""
    config = state.config

    async def chat(request: web.Request) -> web.StreamResponse:
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            return await _chat(request)
        finally:
            state.in_flight -= 1

    async def _chat(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        raw = await request.read()
        body = json.loads(raw)
        messages = body.get("messages", [])
        digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        attempt = state.seen[digest]
        state.seen[digest] += 1
        user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
        entry = {"t": time.time(), "user": user, "digest": digest, "attempt": attempt, "outcome": "ok"}
        state.log.append(entry)
        wanted = (f"Bearer {config.api_key}" if config.api_key is not None else None) if config.basic_auth is None \
            else "Basic " + base64.b64encode(config.basic_auth.encode()).decode()
        if wanted is not None and auth != wanted:
            entry["outcome"] = "401"
            return web.json_response({"error": {"message": f"bad key {auth if config.echo_auth else ''}"}},
                                     status=401)
        if config.refuse_tools and body.get("tools"):
            entry["outcome"] = "400"
            return web.json_response({"error": {"message": '"auto" tool choice requires --enable-auto-tool-choice '
                                                           'and --tool-call-parser to be set'}}, status=400)
        if config.max_concurrency is not None and state.busy >= config.max_concurrency:
            entry["outcome"] = "429"
            return web.json_response({"error": {"message": "too many requests in flight"}}, status=429,
                                     headers={"Retry-After": f"{config.faults.retry_after:g}"})
        f = config.faults
        u = _unit(f.seed, digest, attempt)
        edges = [("500", f.error_500), ("429", f.error_429), ("reset", f.reset),
                 ("malformed", f.malformed), ("slow", f.slow)]
        outcome, acc = "ok", 0.0
        for name, p in edges:
            acc += p
            if u < acc:
                outcome = name
                break
        entry["outcome"] = outcome
        echo = f" (auth was {auth})" if config.echo_auth else ""
        if outcome == "500":
            return web.json_response({"error": {"message": f"injected server error{echo}"}}, status=500)
        if outcome == "429":
            return web.json_response({"error": {"message": f"rate limited{echo}"}}, status=429,
                                     headers={"Retry-After": f"{f.retry_after:g}"})
        if outcome == "reset":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # the handler ends with nothing sent
        state.admit(+1)
        try:
            await asyncio.sleep(f.slow_s if outcome == "slow" else config.latency)
        finally:
            state.admit(-1)
        if outcome == "malformed":
            return web.Response(text='{"choices": [ {"message": ', content_type="application/json")
        return web.Response(text=json.dumps(_answer(config, body, digest)), content_type="application/json")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(summarize_log(state))

    async def models(request: web.Request) -> web.Response:
        data = [{"id": name, "object": "model", "owned_by": "loopback",
                 **({"max_model_len": config.max_model_len} if config.max_model_len else {})}
                for name in config.models or []]
        return web.json_response({"object": "list", "data": data})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    if config.models is not None:
        app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", stats)
    return app


def summarize_log(state: _State) -> dict[str, Any]:
    """Request counts by outcome, the first request time and the peak concurrency."""
    log = state.log
    return {"requests": len(log), "outcomes": dict(Counter(e["outcome"] for e in log)),
            "first_request": log[0]["t"] if log else None, "last_request": log[-1]["t"] if log else None,
            "max_in_flight": state.max_in_flight, "distinct_prompts": len(state.seen),
            "mean_concurrency": state.mean_busy()}


class OpenAIServer:
    """The loopback server on a background thread; use as a context manager.

    `url` is the base URL to pass as `--base-url`; `log` lists every request
    (time, last user message, messages digest, attempt number, outcome).
    """

    def __init__(self, config: ServerConfig | None = None, **knobs: Any):
        self.config = config or ServerConfig(**knobs)
        self.state = _State(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def log(self) -> list[dict[str, Any]]:
        return self.state.log

    def stats(self) -> dict[str, Any]:
        return summarize_log(self.state)

    def start(self) -> OpenAIServer:
        ready = threading.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._runner = web.AppRunner(make_app(self.state), access_log=None, handle_signals=False)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.SockSite(self._runner, sock, backlog=1024).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="openai-loopback", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection: the endpoint goes away."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve in the foreground; print the base URL, then serve until killed."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--tokens", type=int, default=16)
    p.add_argument("--api-key", default=None)
    p.add_argument("--max-concurrency", type=int, default=None, help="more in flight than this get 429 + Retry-After")
    p.add_argument("--models", default=None, help="comma-separated names served at GET /v1/models")
    for name in ("error_500", "error_429", "retry_after", "reset", "malformed", "slow", "slow_s"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(Faults(), name))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    faults = Faults(**{k: getattr(args, k) for k in asdict(Faults()) if k != "seed"}, seed=args.seed)
    server = OpenAIServer(ServerConfig(latency=args.latency, tokens=args.tokens, api_key=args.api_key,
                                       max_concurrency=args.max_concurrency,
                                       models=args.models.split(",") if args.models else None, faults=faults))
    server.port = args.port
    serve_forever(server)


def serve_forever(server: OpenAIServer) -> None:
    """Start `server`, print its base URL on the first line of stdout, serve until interrupted."""
    server.start()
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
