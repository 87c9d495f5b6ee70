"""Turn a GGUF file into a safetensors model folder, once, and cache it.

vLLM loads Hugging Face folders (config, safetensors weights, tokenizer with
its chat template) far more reliably than GGUF, so `vllm:<file.gguf>` and
`vllm:smollm2` go through here first. transformers reads the GGUF
(dequantising it) and writes the folder; the folder is keyed by the file's
content hash, so a changed file converts again and an unchanged one never does.

The cache lives in `$SAFEEVAL_CACHE_DIR/models` (default `~/.cache/safeeval/models`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from pathlib import Path

from safeeval.storage import CONVERTED_DIR, cache_dir
from safeeval.errors import SafeevalError
from safeeval.models.gguf_once import gguf_parsed_once

DONE = ".safeeval-converted"  # written last: a folder without it is half-made


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def converted_path(gguf: Path, dtype: str = "float16") -> Path:
    """Where the converted folder for this file (by content) and dtype lives."""
    return cache_dir() / CONVERTED_DIR / f"{gguf.stem}-{file_sha256(gguf)[:12]}-{dtype}"


def is_converted(folder: Path) -> bool:
    return (folder / DONE).is_file()


def convert_gguf(gguf: str | Path, dtype: str = "float16") -> Path:
    """The cached safetensors folder for `gguf`, converting it on first use.

    Safe to call from several processes at once: a file lock lets one convert
    while the others wait, and the folder appears by an atomic rename.
    """
    gguf = Path(gguf).expanduser().resolve()
    if not gguf.is_file():
        raise SafeevalError(f"{gguf}: model file does not exist")
    if gguf.suffix != ".gguf":
        raise SafeevalError(f"{gguf}: expected a .gguf file to convert")
    if dtype not in ("float16", "bfloat16", "float32"):
        raise SafeevalError(f"unknown dtype '{dtype}'; valid choices: bfloat16, float16, float32")
    target = converted_path(gguf, dtype)
    if is_converted(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = open(target.parent / f".{target.name}.lock", "w")  # noqa: SIM115  (held until done)
    except OSError as exc:
        raise SafeevalError(f"{target.parent}: cannot write the model cache ({exc.strerror}); "
                            f"set SAFEEVAL_CACHE_DIR to a writable folder") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_converted(target):  # another process finished while we waited
            return target
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _write_folder(gguf, tmp, dtype)
            (tmp / DONE).write_text(f"{gguf}\n")
            shutil.rmtree(target, ignore_errors=True)  # a half-made folder from a crash
            os.replace(tmp, target)
        except OSError as exc:
            raise SafeevalError(f"{target}: cannot write the converted model ({exc.strerror})") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_folder(gguf: Path, out: Path, dtype: str) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with gguf_parsed_once():
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                         local_files_only=True, dtype=getattr(torch, dtype))
    except (OSError, ValueError, KeyError) as exc:
        raise SafeevalError(f"{gguf}: cannot convert GGUF: {str(exc).splitlines()[0]}") from None
    if not tokenizer.chat_template:
        # Without a template vLLM cannot render chat messages; say so now, not mid-run.
        raise SafeevalError(f"{gguf}: the GGUF file carries no chat template")
    # The GGUF loader dequantised every weight into plain tensors, but leaves its
    # quantizer attached, and transformers refuses to save a "quantized" model.
    # Dropping it writes an ordinary checkpoint that vLLM and transformers load.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.dtype = getattr(torch, dtype)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
