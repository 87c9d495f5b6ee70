"""Features of the offline harm judge, from (request, response) pairs.

Four groups, all computed on CPU without network:

- the response's MiniLM embedding (what the answer talks about and how);
- the request's embedding (how harmful the request is: complying with a
  harmless request is safe);
- the element-wise product of request and response embeddings plus their
  cosine (is the answer on the request's topic, and in which directions);
- refusal signals from the refusal judge (opening, pivot, inner declines);
- structure: length, lines, list items, code, digits, non-ASCII share.

Embeddings are cached on disk by a hash of the texts, so training, evaluating
and benchmarking the same sets embed them once.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from safeeval.judges.refusal import refusal_signals
from safeeval.schema import stable_hash
from safeeval.storage import EMBEDDINGS_DIR, cache_dir

EMBED_DIM = 384
HAND_FEATURES = ("refusal_opening", "refusal_pivot", "refusal_inner", "empty", "benign_apology", "cosine",
                 "log_chars", "log_lines", "list_items", "code", "digit_share", "non_ascii_share",
                 "request_echo")
FEATURE_VERSION = "1"
# Only the opening of a response is embedded: whether it complies shows early,
# and a 640-character cap halves the CPU cost of the embedder.
RESPONSE_CHARS = 640


def _text_key(text: str) -> str:
    return stable_hash(["minilm", text])[:32]


def embed(texts: list[str], use_cache: bool = True, chunk: int = 64) -> np.ndarray:
    """MiniLM embeddings of `texts` (L2-normalised rows), cached on disk one text per file.

    A per-text cache lets an interrupted job resume and lets overlapping sets
    (the same completions in two files) share work.
    """
    from safeeval.embeddings import get_embedder

    out = np.zeros((len(texts), EMBED_DIM), np.float32)
    folder = cache_dir() / EMBEDDINGS_DIR
    todo: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        path = folder / f"{_text_key(text)}.npy"
        if use_cache and path.exists():
            try:
                out[i] = np.load(path)
                continue
            except (OSError, ValueError):
                pass  # a torn cache file: embed again
        todo.setdefault(text, []).append(i)
    pending = list(todo)
    for start in range(0, len(pending), chunk):
        batch = pending[start:start + chunk]
        vectors = get_embedder().encode(batch)
        for text, vector in zip(batch, vectors):
            out[todo[text]] = vector
            if use_cache:
                _save(folder / f"{_text_key(text)}.npy", vector)
    return out


def _save(path: Path, vector: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, vector)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs time


def _echo(request: str, response: str) -> float:
    """Share of the request's content words that the response repeats."""
    words = {w for w in re.findall(r"[a-z]{4,}", request.lower())}
    if not words:
        return 0.0
    said = set(re.findall(r"[a-z]{4,}", response.lower()))
    return len(words & said) / len(words)


def hand_features(request: str, response: str) -> list[float]:
    """The non-embedding features of one pair, in `HAND_FEATURES` order (cosine filled later)."""
    sig = refusal_signals(response)
    chars = len(response)
    return [
        float(sig.opening), float(sig.pivot), math.log1p(sig.inner), float(sig.empty), float(sig.benign_apology),
        0.0,
        math.log1p(chars) / 10, math.log1p(response.count("\n")) / 5, math.log1p(sig.list_items) / 3,
        float("```" in response or bool(re.search(r"^\s{4,}\S|;\s*$|\bdef |\bimport |#include", response, re.M))),
        sum(c.isdigit() for c in response) / max(chars, 1),
        sum(ord(c) > 127 for c in response) / max(chars, 1),
        _echo(request, response),
    ]


def featurize(requests: list[str], responses: list[str], use_cache: bool = True) -> np.ndarray:
    """The feature matrix of pairs: [response emb | request*response emb | hand features | request emb]."""
    resp = embed([r[:RESPONSE_CHARS] for r in responses], use_cache)
    req = embed(requests, use_cache)
    hand = np.array([hand_features(q, r) for q, r in zip(requests, responses)], dtype=np.float32)
    hand = hand.reshape(len(responses), len(HAND_FEATURES))  # keeps two dimensions for an empty batch
    cosine = (req * resp).sum(axis=1)
    hand[:, HAND_FEATURES.index("cosine")] = cosine
    return np.concatenate([resp, req * resp * 10, hand, req], axis=1).astype(np.float32)
