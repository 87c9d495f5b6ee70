"""`openai:<model>`: any OpenAI-compatible chat endpoint (vLLM, llama.cpp, Ollama, OpenAI).

The base URL comes from `--base-url` or OPENAI_BASE_URL and the key from
OPENAI_API_KEY. The client is a direct aiohttp one speaking the
chat-completions JSON (messages, tools, tool calls, usage): measured here it
costs a fraction of the CPU per request of the httpx-based SDK (see
benchmarks/README.md), and on a small machine CPU per request is what limits
throughput.

- Before the first sample, `start` reads `/v1/models` where the server has it:
  a model name it does not serve is one line listing those it does (exit 2),
  rejected credentials are one line too, and a `max_model_len` there becomes
  the adapter's context length (`models.answers.cut_reason`).
- One connection pool; requests in flight are capped by an adaptive limit
  that settles at the server's own cap under 429s (`models.retry.AdaptiveLimit`).
- Each request has a timeout. Transient failures (429, 5xx, resets, timeouts,
  a malformed body) are retried here and only here, waiting the server's
  Retry-After when given, else exponential backoff with jitter
  (`safeeval.models.retry`).
- A request still failing after `max_retries` becomes that sample's Response
  with `error` set: recorded, never dropped, never judged safe. Only when the
  endpoint as a whole is gone (a fresh connection to it is refused) does the
  run stop with `RunInterrupted`, so the unfinished samples stay pending for
  `--resume`.
- Tools go as OpenAI `tools` (native), as the local adapters' text protocol
  (text, `models.toolcalls`), or native falling back to text for the rest of
  the run when the server refuses tools (auto). Each response says which.
- Credentials: user:password in the URL are sent as Basic auth, the key as a
  Bearer token (as `X-Api-Key` when the URL's credentials take the
  Authorization header). Neither is saved; every text that leaves the adapter
  goes through `models.credentials.redact`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from safeeval.errors import RunInterrupted, SafeevalError
from safeeval.models.answers import finish
from safeeval.models.base import ModelAdapter
from safeeval.models.credentials import basic_auth, has_masked_credentials, public_url, redact, split_credentials
from safeeval.models.retry import (AdaptiveLimit, RetryPolicy, is_rate_limit, parse_retry_after, retry_delay,
                                   should_retry_status)
from safeeval.models.toolcalls import parse_tool_calls, to_chat_dicts, with_tools_in_system
from safeeval.schema import Prompt, Response, ToolCall

__all__ = ["OpenAIAdapter", "AdaptiveLimit", "public_url", "request_body", "parse_completion"]

TOOL_PROTOCOLS = ("auto", "native", "text")
PROBE_TIMEOUT_S = 5.0  # a fresh connection to the endpoint that takes longer than this: it is gone


def note(line: str) -> None:
    """One line to stderr for the user (stdout stays for --json)."""
    sys.stderr.write(f"note: {line}\n")
    sys.stderr.flush()


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


def request_body(model: str, prompt: Prompt, protocol: str = "native") -> dict[str, Any]:
    """The JSON body of one chat-completions request; `protocol` "text" writes tools into the prompt."""
    text_tools = protocol == "text" and bool(prompt.tools)
    messages = (to_chat_dicts(with_tools_in_system(prompt.messages, prompt.tools)) if text_tools
                else message_dicts(prompt))
    body: dict[str, Any] = {"model": model, "messages": messages,
                            "max_tokens": prompt.config.max_tokens, "temperature": prompt.config.temperature,
                            "seed": prompt.config.seed}
    if prompt.config.top_p != 1.0:
        body["top_p"] = prompt.config.top_p
    if prompt.config.stop:
        body["stop"] = prompt.config.stop
    if prompt.tools and not text_tools:
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


class _Transient(Exception):
    """A failure worth another attempt; `retry_after` from the server when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None, connection: bool = False,
                 rate_limited: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.connection = connection
        self.rate_limited = rate_limited


class _ToolsRefused(Exception):
    """The server answered a request carrying `tools` with a 4xx about tools."""


class OpenAIAdapter(ModelAdapter):
    prefix = "openai"
    description = "Any OpenAI-compatible chat endpoint; --base-url or OPENAI_BASE_URL, key from OPENAI_API_KEY."
    cacheable = True
    remote = True

    def __init__(self, target: str = "", base_url: str | None = None, concurrency: int = 32,
                 timeout: float = 60.0, max_retries: int = 4, tool_protocol: str = "auto",
                 context_length: int | None = None, **options: Any):
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not target:
            raise SafeevalError("--model openai:<model name> needs a model name")
        if not base_url:
            raise SafeevalError("--model openai:... needs --base-url or OPENAI_BASE_URL")
        if not base_url.startswith(("http://", "https://")):
            raise SafeevalError(f"--base-url '{public_url(base_url)}': expected an http:// or https:// URL")
        if has_masked_credentials(base_url):
            raise SafeevalError(f"the endpoint {public_url(base_url)} needs the user:password this run was started "
                                f"with, and they are never saved: give them again with "
                                f"--base-url {base_url.split('://')[0]}://USER:PASSWORD@{public_url(base_url).split('://', 1)[1]}")
        if tool_protocol not in TOOL_PROTOCOLS:
            raise SafeevalError(f"--tool-protocol '{tool_protocol}'; valid choices: {', '.join(TOOL_PROTOCOLS)}")
        hidden = ("api_key", "headers", "authorization", "dtype")
        options = {k: v for k, v in options.items() if k.lower() not in hidden}
        super().__init__(target, base_url=public_url(base_url), concurrency=concurrency, timeout=timeout,
                         max_retries=max_retries, tool_protocol=tool_protocol, **options)
        bare, user, password = split_credentials(base_url)
        self.base_url = bare.rstrip("/")
        self.public_base_url = public_url(self.base_url)
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.policy = RetryPolicy(max_retries=int(max_retries))
        self.tool_protocol = tool_protocol
        self.protocol = "text" if tool_protocol == "text" else "native"  # what tool prompts use now
        self.context_length = int(context_length) if context_length else None
        self.served: list[str] | None = None  # the names /v1/models listed (None: not checked)
        key = os.environ.get("OPENAI_API_KEY") or ""
        self._headers = {"Content-Type": "application/json"}
        if user is not None:
            self._headers["Authorization"] = basic_auth(user, password or "")
            if key:
                self._headers["X-Api-Key"] = key
        elif key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._secrets = tuple(v for v in (key, password, self._headers.get("Authorization")) if v)
        self._session = None
        self._proxy = None
        self._endpoint = f"{self.base_url}/chat/completions"
        self._client_timeout = None
        self._checked = False
        self.limit: AdaptiveLimit | None = None

    @property
    def cache_id(self) -> str:
        """The cache identity: the same model name on another server is another model."""
        return f"{self.model_id}@{self.public_base_url}"

    def spec(self) -> dict[str, Any]:
        spec = super().spec()
        if self.context_length:
            spec["context_length"] = self.context_length
        return spec

    def redact(self, text: str) -> str:
        """`text` with the key, the password, every Authorization value and URL credentials removed."""
        return redact(text, self._secrets)

    def _get_session(self):
        import aiohttp

        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0, ttl_dns_cache=300,
                                             enable_cleanup_closed=True)
            # trust_env would cost two thread hops per request (netrc, proxy lookup): look the
            # proxy up once here instead; cookies are of no use to an API client.
            try:
                from aiohttp.helpers import get_env_proxy_for_url
                from yarl import URL

                self._proxy = get_env_proxy_for_url(URL(self.base_url))[0]
            except (ImportError, LookupError):
                self._proxy = None
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers, trust_env=False,
                                                  cookie_jar=aiohttp.DummyCookieJar(), json_serialize=json.dumps)
        return self._session

    # -- the check before the first request
    async def start(self) -> None:
        """Read /v1/models once: the model name is served, the credentials are accepted, the context length."""
        if self._checked:
            return
        self._checked = True
        import aiohttp

        url = f"{self.base_url}/models"
        try:
            async with self._get_session().get(url, proxy=self._proxy,
                                               timeout=aiohttp.ClientTimeout(total=min(self.timeout, 30.0))) as resp:
                status, raw = resp.status, await resp.read()
        except asyncio.TimeoutError:
            note(f"{self.public_base_url}/models did not answer in time; model name and context length not checked")
            return
        except (aiohttp.ClientConnectionError, OSError) as exc:
            # Not fatal here: a run whose answers are all cached needs no endpoint; one that
            # does stops at its first request with exit code 3 (see `complete`).
            note(f"{self.public_base_url} unreachable ({type(exc).__name__}); model name not checked")
            return
        detail = self.redact(raw[:200].decode("utf-8", "replace").replace("\n", " "))
        if status in (401, 403):
            raise SafeevalError(f"endpoint {self.public_base_url} refused the credentials (HTTP {status}: {detail}); "
                                f"set OPENAI_API_KEY or give user:password in --base-url; no sample was sent")
        try:
            listed = json.loads(raw)["data"] if status == 200 else None
            entries = {str(d["id"]): d for d in listed} if isinstance(listed, list) else None
        except (ValueError, KeyError, TypeError):
            entries = None
        if not entries:
            note(f"{self.public_base_url}/models lists no models (HTTP {status}); "
                 f"model name and context length not checked")
            return
        self.served = sorted(entries)
        if self.target not in entries:
            raise SafeevalError(f"model '{self.target}' is not served by {self.public_base_url}; "
                                f"it serves: {', '.join(self.served[:20])}; no sample was sent")
        length = entries[self.target].get("max_model_len")
        if isinstance(length, int) and length > 0 and not self.context_length:
            self.context_length = length

    # -- one request
    async def _attempt(self, body: bytes) -> Response:
        """One HTTP request; raises _Transient for failures worth retrying, _ToolsRefused for refused tools."""
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
            message = self.redact(f"HTTP {status} from endpoint: {detail}")
            if should_retry_status(status):
                limited = is_rate_limit(status)
                if limited and self.limit is not None:
                    self.limit.rate_limited()
                raise _Transient(message, retry_after=retry_after, rate_limited=limited)
            if status in (400, 404, 422, 501) and b'"tools"' in body and b"tool" in raw.lower():
                raise _ToolsRefused(message)
            return Response(error=message, latency_s=round(latency, 4))
        try:
            return parse_completion(json.loads(raw), latency)
        except ValueError as exc:  # a malformed or cut-off body: transient on most proxies
            raise _Transient(f"malformed response: {str(exc)[:120]}") from None

    async def _endpoint_gone(self) -> bool:
        """True when a fresh connection to the endpoint's host is refused or times out."""
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), PROBE_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            return True
        writer.close()
        return False

    def _body(self, prompt: Prompt) -> bytes:
        return json.dumps(request_body(self.target, prompt, self.protocol)).encode("utf-8")

    async def complete(self, prompt: Prompt) -> Response:
        """One prompt, with retries; an error Response when they run out.

        Each attempt holds a slot of the adaptive limit only while it is in
        flight: a request waiting out a Retry-After leaves its slot to others.
        """
        protocol = self.protocol
        body = self._body(prompt)
        attempt = 0
        while True:
            if self.limit is not None:
                await self.limit.acquire()
            try:
                response = await self._attempt(body)
            except _Transient as exc:
                if self.limit is not None:
                    await self.limit.release()
                wait = retry_delay(attempt, self.policy, exc.retry_after)
                if wait is None:
                    tries = attempt + 1
                    if exc.connection and await self._endpoint_gone():
                        # The endpoint as a whole is gone: stop, keep the rest pending for --resume.
                        raise RunInterrupted(f"endpoint {self.public_base_url} unreachable after {tries} "
                                             f"attempts ({exc}); finished records are kept") from None
                    return self._finish(prompt, Response(error=self.redact(f"gave up after {tries} attempts: {exc}")),
                                        protocol)
                attempt += 1
                await asyncio.sleep(wait)
                continue
            except _ToolsRefused as exc:
                if self.limit is not None:
                    await self.limit.release()
                if self.tool_protocol != "auto" or protocol == "text":  # refused as text too: that is an answer
                    return self._finish(prompt, Response(error=str(exc)), protocol)
                if self.protocol == "native":
                    self.protocol = "text"
                    note(f"{self.public_base_url} refuses OpenAI tools ({str(exc)[:160]}); "
                         f"tool prompts use the text protocol for the rest of the run")
                protocol, body = self.protocol, self._body(prompt)
                continue
            except BaseException:
                if self.limit is not None:
                    await self.limit.release()
                raise
            if self.limit is not None:
                await self.limit.release()
                if not response.error:
                    await self.limit.succeeded()
            return self._finish(prompt, response, protocol)

    def _finish(self, prompt: Prompt, response: Response, protocol: str) -> Response:
        """Provenance, the tool protocol, text-protocol tool calls, clean text and the cut reason."""
        update: dict[str, Any] = {"endpoint": self.public_base_url}
        if prompt.tools:
            update["tool_protocol"] = protocol
            if protocol == "text" and not response.error and not response.tool_calls:
                update["tool_calls"] = parse_tool_calls(response.text)
        return finish(prompt, response.model_copy(update=update), self.context_length)

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[tuple[Prompt, Response]]:
        """Responses in completion order; a fixed pool of workers under the adaptive limit."""
        if not prompts:
            return
        await self.start()
        self.limit = self.limit or AdaptiveLimit(self.concurrency)
        todo = deque(prompts)
        done: asyncio.Queue = asyncio.Queue()

        async def worker() -> None:
            while todo:
                prompt = todo.popleft()
                try:
                    response = await self.complete(prompt)
                except RunInterrupted as exc:
                    done.put_nowait(exc)
                    return
                except Exception as exc:  # a bug or odd reply must not hang the run: record it
                    response = Response(error=self.redact(f"{type(exc).__name__}: {str(exc)[:200]}"),
                                        endpoint=self.public_base_url)
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
