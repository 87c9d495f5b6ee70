"""`openai:<model>`: any OpenAI-compatible chat endpoint (vLLM, llama.cpp, Ollama, OpenAI).

The base URL comes from `--base-url` or OPENAI_BASE_URL and the key from
OPENAI_API_KEY. The client is a direct aiohttp one speaking the
chat-completions JSON (messages, tools, tool calls, usage): measured here it
costs a fraction of the CPU per request of the httpx-based SDK (see
benchmarks/README.md), and on a small machine CPU per request is what limits
throughput.

- One connection pool; requests in flight are capped by an adaptive limit
  that shrinks on 429s and grows back as requests succeed.
- Each request has a timeout. Transient failures (429, 5xx, resets, timeouts,
  a malformed body) are retried here and only here, waiting the server's
  Retry-After when given, else exponential backoff with jitter
  (`safeeval.models.retry`).
- A request still failing after `max_retries` becomes a Response with
  `error` set: recorded, never dropped, never judged safe. When the endpoint
  itself cannot be reached any more, the run stops with `RunInterrupted`
  instead, so the unfinished samples stay pending for `--resume`.
- The key is sent in a header and nowhere else: `spec()` drops it and every
  error text is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from safeeval.models.retry import RetryPolicy, is_rate_limit, parse_retry_after, retry_delay, should_retry_status
from safeeval.errors import RunInterrupted, SafeevalError
from safeeval.models.base import ModelAdapter
from safeeval.schema import Prompt, Response, ToolCall


def message_dicts(prompt: Prompt) -> list[dict[str, Any]]:
    """The prompt's messages in the chat-completions wire format."""
    out = []
    for m in prompt.messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            d["tool_calls"] = [{"id": c.id or f"call_{i}", "type": "function",
                                "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                               for i, c in enumerate(m.tool_calls)]
        if m.tool_call_id:
            d["tool_call_id"] = m.tool_call_id
        if m.name and m.role == "tool":
            d["name"] = m.name
        out.append(d)
    return out


def request_body(model: str, prompt: Prompt) -> dict[str, Any]:
    """The JSON body of one chat-completions request."""
    body: dict[str, Any] = {"model": model, "messages": message_dicts(prompt),
                            "max_tokens": prompt.config.max_tokens, "temperature": prompt.config.temperature,
                            "seed": prompt.config.seed}
    if prompt.config.top_p != 1.0:
        body["top_p"] = prompt.config.top_p
    if prompt.config.stop:
        body["stop"] = prompt.config.stop
    if prompt.tools:
        body["tools"] = [{"type": "function", "function": t.model_dump()} for t in prompt.tools]
    return body


def parse_completion(data: Any, latency: float) -> Response:
    """A chat.completion JSON object as a Response; ValueError when it has no usable choice."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("response has no choices[0].message") from None
    calls = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except json.JSONDecodeError:
            args = {"_raw": fn.get("arguments")}
        if not isinstance(args, dict):
            args = {"_value": args}
        calls.append(ToolCall(id=call.get("id") or "", name=fn.get("name") or "", arguments=args))
    usage = data.get("usage") or {}
    return Response(text=message.get("content") or "", tool_calls=calls,
                    input_tokens=usage.get("prompt_tokens"), output_tokens=usage.get("completion_tokens"),
                    latency_s=round(latency, 4), finish_reason=choice.get("finish_reason"))


def public_url(url: str) -> str:
    """The URL without any user:password part, fit for the manifest."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class AdaptiveLimit:
    """Requests in flight: at most `maximum`; cut by a quarter on a 429, regained as requests succeed.

    Cuts are at most one per `cooldown_s`, so one burst of 429s counts once.
    """

    def __init__(self, maximum: int, cooldown_s: float = 1.0):
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.active = 0
        self.cooldown_s = cooldown_s
        self._last_cut = 0.0
        self._credit = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def release(self) -> None:
        async with self._cond:
            self.active -= 1
            self._cond.notify()

    def rate_limited(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= self.cooldown_s:
            self.limit = max(1, int(self.limit * 0.75))
            self._last_cut, self._credit = now, 0

    async def succeeded(self) -> None:
        if self.limit >= self.maximum:
            return
        self._credit += 1
        if self._credit >= max(1, self.limit // 8):
            self._credit = 0
            async with self._cond:
                self.limit += 1
                self._cond.notify()


class _Transient(Exception):
    """A failure worth another attempt; `retry_after` from the server when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None, connection: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.connection = connection


class OpenAIAdapter(ModelAdapter):
    prefix = "openai"
    description = "Any OpenAI-compatible chat endpoint; --base-url or OPENAI_BASE_URL, key from OPENAI_API_KEY."
    cacheable = True
    remote = True

    def __init__(self, target: str = "", base_url: str | None = None, concurrency: int = 32,
                 timeout: float = 60.0, max_retries: int = 4, **options: Any):
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not target:
            raise SafeevalError("--model openai:<model name> needs a model name")
        if not base_url:
            raise SafeevalError("--model openai:... needs --base-url or OPENAI_BASE_URL")
        if not base_url.startswith(("http://", "https://")):
            raise SafeevalError(f"--base-url '{public_url(base_url)}': expected an http:// or https:// URL")
        options = {k: v for k, v in options.items() if k.lower() not in ("api_key", "headers", "authorization")}
        super().__init__(target, base_url=public_url(base_url), concurrency=concurrency, timeout=timeout,
                         max_retries=max_retries, **options)
        self.base_url = base_url.rstrip("/")
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.policy = RetryPolicy(max_retries=int(max_retries))
        self._key = os.environ.get("OPENAI_API_KEY") or ""
        self._session = None
        self._proxy = None
        self._endpoint = f"{self.base_url}/chat/completions"
        self._client_timeout = None
        self.limit: AdaptiveLimit | None = None

    @property
    def cache_id(self) -> str:
        """The cache identity: the same model name on another server is another model."""
        return f"{self.model_id}@{public_url(self.base_url)}"

    def redact(self, text: str) -> str:
        """`text` with the API key (and any Bearer token echoed back) removed."""
        if self._key:
            text = text.replace(self._key, "***")
        return text

    def _get_session(self):
        import aiohttp

        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0, ttl_dns_cache=300,
                                             enable_cleanup_closed=True)
            headers = {"Content-Type": "application/json"}
            if self._key:
                headers["Authorization"] = f"Bearer {self._key}"
            # trust_env would cost two thread hops per request (netrc, proxy lookup): look the
            # proxy up once here instead; cookies are of no use to an API client.
            try:
                from aiohttp.helpers import get_env_proxy_for_url
                from yarl import URL

                self._proxy = get_env_proxy_for_url(URL(self.base_url))[0]
            except (ImportError, LookupError):
                self._proxy = None
            self._session = aiohttp.ClientSession(connector=connector, headers=headers, trust_env=False,
                                                  cookie_jar=aiohttp.DummyCookieJar(), json_serialize=json.dumps)
        return self._session

    async def _attempt(self, body: bytes) -> Response:
        """One HTTP request; raises _Transient for failures worth retrying."""
        import aiohttp

        session = self._get_session()
        if self._client_timeout is None:
            self._client_timeout = aiohttp.ClientTimeout(total=self.timeout)
        start = time.perf_counter()
        try:
            async with session.post(self._endpoint, data=body, proxy=self._proxy,
                                    timeout=self._client_timeout) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        except asyncio.TimeoutError:
            raise _Transient(f"timed out after {self.timeout:g} s") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as exc:
            raise _Transient(f"connection failed: {type(exc).__name__}", connection=True) from None
        latency = time.perf_counter() - start
        if status >= 400:
            detail = raw[:300].decode("utf-8", "replace").replace("\n", " ")
            message = f"HTTP {status} from endpoint: {detail}"
            if should_retry_status(status):
                if is_rate_limit(status) and self.limit is not None:
                    self.limit.rate_limited()
                raise _Transient(message, retry_after=retry_after)
            return Response(error=self.redact(message), latency_s=round(latency, 4))
        try:
            return parse_completion(json.loads(raw), latency)
        except ValueError as exc:  # a malformed or cut-off body: transient on most proxies
            raise _Transient(f"malformed response: {str(exc)[:120]}") from None

    async def complete(self, prompt: Prompt) -> Response:
        """One prompt, with retries; an error Response when they run out."""
        body = json.dumps(request_body(self.target, prompt)).encode("utf-8")
        attempt = 0
        while True:
            try:
                response = await self._attempt(body)
            except _Transient as exc:
                wait = retry_delay(attempt, self.policy, exc.retry_after)
                if wait is None:
                    tries = attempt + 1
                    if exc.connection:
                        # The endpoint itself is gone: stop, keep the rest pending for --resume.
                        raise RunInterrupted(f"endpoint {public_url(self.base_url)} unreachable after {tries} "
                                             f"attempts ({exc}); finished records are kept") from None
                    return Response(error=self.redact(f"gave up after {tries} attempts: {exc}"))
                attempt += 1
                await asyncio.sleep(wait)
                continue
            if self.limit is not None and not response.error:
                await self.limit.succeeded()
            return response

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[tuple[Prompt, Response]]:
        """Responses in completion order; a fixed pool of workers under the adaptive limit."""
        if not prompts:
            return
        self.limit = self.limit or AdaptiveLimit(self.concurrency)
        todo = deque(prompts)
        done: asyncio.Queue = asyncio.Queue()

        async def worker() -> None:
            while todo:
                prompt = todo.popleft()
                await self.limit.acquire()
                try:
                    response = await self.complete(prompt)
                except RunInterrupted as exc:
                    done.put_nowait(exc)
                    return
                except Exception as exc:  # a bug or odd reply must not hang the run: record it
                    response = Response(error=self.redact(f"{type(exc).__name__}: {str(exc)[:200]}"))
                finally:
                    await self.limit.release()
                done.put_nowait((prompt, response))

        workers = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(prompts)))]
        try:
            for _ in range(len(prompts)):
                item = await done.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
