"""A real `vllm serve` on 127.0.0.1 for tests and benchmarks: the embedded model, served as a user would.

    server = VLLMServer().start()      # the embedded SmolLM2, float32, 2,048-token context
    server.wait_ready()                # about 2 minutes on a 2-core CPU
    ... --model openai:smollm2 --base-url server.url ...
    server.stop()                      # or server.kill() for a kill -9

The `vllm` command comes from `.venv-vllm` (`make vllm`); `vllm_command()`
raises `LookupError` with the reason when there is none, for tests to skip.
On a CPU, `VLLM_CPU_KVCACHE_SPACE` (GiB of RAM for the KV cache) is the memory
setting: vLLM's default `--gpu-memory-utilization 0.92` asks for 92% of the
machine's memory and fails on a shared one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVED_NAME = "smollm2"


def vllm_command() -> Path:
    """The `vllm` command of .venv-vllm; LookupError (the reason) when it is missing."""
    command = Path(os.environ.get("SAFEEVAL_VLLM_SERVE") or REPO / ".venv-vllm" / "bin" / "vllm")
    if not command.exists():
        raise LookupError(f"{command} not found: run `make vllm` to serve models with vLLM")
    return command


def embedded_model_folder() -> Path:
    """The embedded GGUF as a float32 safetensors folder (converted once, cached)."""
    from safeeval.models.convert import convert_gguf
    from safeeval.models.hf import embedded_model_path

    return convert_gguf(embedded_model_path(), "float32")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """One `vllm serve` process (in its own process group) and its base URL."""

    def __init__(self, model: Path | None = None, port: int | None = None, max_model_len: int = 2048,
                 kv_cache_gib: int = 1, log: Path | None = None, extra: list[str] | None = None):
        self.model = model
        self.port = port or free_port()
        self.max_model_len = max_model_len
        self.kv_cache_gib = kv_cache_gib
        self.log = log
        self.extra = extra or []
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [str(vllm_command()), "serve", str(self.model or embedded_model_folder()),
                "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(self.port),
                "--dtype", "float32", "--max-model-len", str(self.max_model_len), *self.extra]

    def start(self) -> VLLMServer:
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib), "VLLM_NO_USAGE_STATS": "1",
               "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
        env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0" if (os.cpu_count() or 1) <= 4 else "1")
        env.pop("PYTHONPATH", None)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115  (the child keeps it)
        self.proc = subprocess.Popen(self.command(), env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/models", timeout=2) as resp:
                return bool(json.loads(resp.read()).get("data"))
        except (OSError, ValueError):
            return False

    def wait_ready(self, timeout: float = 900.0) -> VLLMServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return self
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"vllm serve exited with code {self.proc.returncode} (log: {self.log})")
            time.sleep(1.0)
        raise TimeoutError(f"vllm serve not ready after {timeout:.0f} s (log: {self.log})")

    def kill(self) -> None:
        """kill -9 of the whole server (API process and engine core)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
