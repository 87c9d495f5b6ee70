"""Load a GGUF file through transformers with its metadata parsed once, not three times.

For architectures its newer reader does not cover (llama among them, so the
embedded SmolLM2), transformers' legacy GGUF path parses the whole file for the
tokenizer's config, again for the model's config and a third time for the
weights, and rebuilds gguf's tensor-name table for every one of the model's
~400 submodules. Memoising them took a first load of the embedded model
(tokenizer, model and its kept float32 copy) from 22.6 s to 10.8 s
(benchmarks/README.md).

`gguf_parsed_once()` memoises those three steps for the length of one load.
It replaces module attributes that transformers looks up at call time (it
imports them inside its functions), and puts them back on exit, so nothing
outside the `with` block changes. If a transformers or gguf release renames
them, the block simply loads the slow way.
"""

from __future__ import annotations

import copy
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The patch swaps process-wide attributes, so two loads at once must not interleave.
_LOCK = threading.RLock()  # re-entrant: a nested block restores what the outer one set


@contextmanager
def gguf_parsed_once() -> Iterator[None]:
    """While active, each GGUF file is parsed once and gguf's name tables are built once."""
    targets = _targets()
    if targets is None:  # no gguf installed (transformers says so itself), or renamed attributes
        yield
        return
    with _LOCK:
        real_reader, real_name_map, real_load = (getattr(m, n) for m, n in targets)
        readers: dict[tuple[str, str], Any] = {}
        metadata: dict[str, dict] = {}

        def reader(path: Any, mode: str = "r") -> Any:
            # A reader only memory-maps the file and indexes its fields: sharing it is safe.
            key = (os.fspath(path), mode)
            if key not in readers:
                readers[key] = real_reader(path, mode)
            return readers[key]

        def load(path: Any, return_tensors: bool = False, *args: Any, **kwargs: Any) -> dict:
            if return_tensors:  # the weights: read once anyway
                return real_load(path, return_tensors, *args, **kwargs)
            key = os.fspath(path)
            if key not in metadata:
                metadata[key] = real_load(path, False, *args, **kwargs)
            return copy.deepcopy(metadata[key])  # callers pop and rename keys in what they get

        replacements = [reader, functools.lru_cache(maxsize=None)(real_name_map), load]
        for (module, name), new in zip(targets, replacements):
            setattr(module, name, new)
        try:
            yield
        finally:
            for (module, name), old in zip(targets, (real_reader, real_name_map, real_load)):
                setattr(module, name, old)


def _targets() -> list[tuple[Any, str]] | None:
    """The attributes to memoise, or None when they are not all there."""
    try:
        import gguf
        from transformers import modeling_gguf_pytorch_utils as legacy
    except ImportError:
        return None
    targets = [(gguf, "GGUFReader"), (gguf, "get_tensor_name_map"), (legacy, "load_gguf_checkpoint")]
    return targets if all(hasattr(module, name) for module, name in targets) else None
