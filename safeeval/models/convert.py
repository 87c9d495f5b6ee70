"""Turn a GGUF file into a safetensors model folder, once, and cache it: the one conversion.

Both local backends load a `.gguf` through here: transformers (`hf:`,
`smollm2`) reads the folder in 0.5 s instead of de-quantising the GGUF again
(about 11 s), and vLLM (`vllm:`) loads Hugging Face folders (config,
safetensors weights, tokenizer with its chat template) far more reliably than
GGUF. transformers reads the GGUF (de-quantising it) and writes the folder.

The folder is keyed by the file's content hash and the dtype, so a changed
file converts again and an unchanged one never does. float32 is the default:
it keeps the de-quantised weights exactly, so answers do not change; float16
storage rounds them and greedy answers drift (benchmarks/README.md). The
content hash is remembered per (path, size, mtime) beside the folders, so a
load does not read the whole file again.

The cache lives in `storage.cache_dir()/models` ($SAFEEVAL_CACHE_DIR/models).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from safeeval.errors import SafeevalError
from safeeval.storage import CONVERTED_DIR, cache_dir, write_json_atomic
from safeeval.models.gguf_once import gguf_parsed_once

DONE = ".safeeval-converted"  # written last: a folder without it is half-made


DTYPES = ("float32", "float16", "bfloat16")
HASHES = ".sha256.json"  # {"<path>|<size>|<mtime_ns>": sha256} of the GGUF files seen


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The file's sha256, remembered per (path, size, mtime) in the converted-models folder."""
    stat = path.stat()
    memo_key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = cache_dir() / CONVERTED_DIR / HASHES
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if isinstance(memo, dict) and isinstance(memo.get(memo_key), str):
        return memo[memo_key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    memo = {k: v for k, v in (memo if isinstance(memo, dict) else {}).items() if not k.startswith(f"{path}|")}
    memo[memo_key] = digest.hexdigest()
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(memo_path, memo)
    except SafeevalError:
        pass  # a read-only cache: hash again next time
    return memo[memo_key]


def converted_path(gguf: Path, dtype: str = "float32") -> Path:
    """Where the converted folder for this file (by content) and dtype lives."""
    return cache_dir() / CONVERTED_DIR / f"{gguf.stem}-{file_sha256(gguf)[:12]}-{dtype}"


def is_converted(folder: Path) -> bool:
    return (folder / DONE).is_file()


def convert_gguf(gguf: str | Path, dtype: str = "float32", chat_template: bool = True) -> Path:
    """The cached safetensors folder for `gguf` in `dtype`, converting it on first use.

    With `chat_template` (vLLM needs one) a GGUF without a chat template is an
    error. Safe to call from several processes at once: a file lock lets one
    convert while the others wait, and the folder appears by an atomic rename.
    """
    gguf = Path(gguf).expanduser().resolve()
    if not gguf.is_file():
        raise SafeevalError(f"{gguf}: model file does not exist")
    if gguf.suffix != ".gguf":
        raise SafeevalError(f"{gguf}: expected a .gguf file to convert")
    if dtype not in DTYPES:
        raise SafeevalError(f"unknown dtype '{dtype}'; valid choices: {', '.join(DTYPES)}")
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
            _write_folder(gguf, tmp, dtype, chat_template)
            (tmp / DONE).write_text(f"{gguf}\n")
            shutil.rmtree(target, ignore_errors=True)  # a half-made folder from a crash
            os.replace(tmp, target)
        except OSError as exc:
            raise SafeevalError(f"{target}: cannot write the converted model ({exc.strerror})") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_folder(gguf: Path, out: Path, dtype: str, chat_template: bool) -> None:
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
    if chat_template and not tokenizer.chat_template:
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
