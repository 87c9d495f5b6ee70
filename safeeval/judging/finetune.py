"""Fine-tune a `MiniLMClassifier` on CPU: cached lower-layer states, weighted BCE, AdamW.

The frozen lower layers are computed once per (config, request, response)
and cached one file per item under the cache folder, so folds of a
leave-one-source-out run, and a resumed job, share that work. Training
is seeded and single-threaded in its order of batches; the same rows and
options give the same weights on the same machine.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from safeeval.judging.crossenc import MiniLMClassifier
from safeeval.schema import stable_hash


def states_dir() -> Path:
    """Lower-layer states, beside the embeddings in the one cache folder (`safeeval cache clear` empties it)."""
    from safeeval.storage import EMBEDDINGS_DIR, cache_dir

    return cache_dir() / EMBEDDINGS_DIR / "minilm-states"


def cached_states(clf: MiniLMClassifier, requests: list[str], responses: list[str], batch: int = 32,
                  progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """Lower-layer states of each item, from the cache or computed (and stored) in length-sorted batches."""
    folder = states_dir() / clf.config.key()
    keys = [stable_hash([q if clf.config.pair else "", r])[:32] for q, r in zip(requests, responses)]
    out: list[np.ndarray | None] = [None] * len(keys)
    todo = []
    for i, key in enumerate(keys):
        path = folder / f"{key}.npy"
        if path.exists():
            try:
                out[i] = np.load(path)
                continue
            except (OSError, ValueError):
                pass
        todo.append(i)
    if todo:
        ids = clf.encode_ids([requests[i] for i in todo], [responses[i] for i in todo])
        order = sorted(range(len(todo)), key=lambda j: len(ids[j]))
        folder.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            for j, state in zip(chunk, clf.lower([ids[j] for j in chunk])):
                out[todo[j]] = state
                tmp = folder / f"{keys[todo[j]]}.{os.getpid()}.tmp.npy"
                np.save(tmp, state)
                os.replace(tmp, folder / f"{keys[todo[j]]}.npy")
            if progress:
                progress(min(start + batch, len(order)), len(order))
    return out  # type: ignore[return-value]


def fit(clf: MiniLMClassifier, states: list[np.ndarray], y: np.ndarray, w: np.ndarray, epochs: int = 2,
        lr: float = 1e-3, batch: int = 16, seed: int = 0, log: Callable[[str], None] | None = None) -> list[float]:
    """Train the LoRA updates and head by weighted binary cross-entropy; returns the mean loss per epoch."""
    import torch

    torch.manual_seed(seed)
    if clf.config.n_top == 0:
        return _fit_head(clf, states, y, w, log)
    params = list(clf.trainable().values())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * max(1, math.ceil(len(states) / batch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10))
                                              * max(0.0, 1 - s / steps))
    rng = np.random.default_rng(seed)
    yt = torch.tensor(y, dtype=torch.float32)
    wt = torch.tensor(w, dtype=torch.float32)
    clf.model.train()
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(states))
        total = 0.0
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            hidden, mask = clf.stack([states[i] for i in idx])
            logits = clf.upper(hidden, mask)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, yt[idx], weight=wt[idx], reduction="sum") / float(wt[idx].sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            if log and (start // batch) % 25 == 0:
                log(f"epoch {epoch + 1}/{epochs} {start + len(idx)}/{len(order)} loss {loss.item():.3f}")
        losses.append(total / len(order))
    clf.model.eval()
    for p in params:
        p.requires_grad_(False)
    return losses


HEAD_L2 = 1e-3


def _fit_head(clf: MiniLMClassifier, states: list[np.ndarray], y: np.ndarray, w: np.ndarray,
              log: Callable[[str], None] | None) -> list[float]:
    """Head only (frozen MiniLM): weighted logistic regression on the mean-pooled states, full batch, L-BFGS."""
    import torch

    x = torch.stack([torch.from_numpy(s.astype(np.float32)).mean(0) for s in states])
    yt, wt = torch.tensor(y, dtype=torch.float32), torch.tensor(w, dtype=torch.float32)
    head = clf.head
    for p in head.parameters():
        p.requires_grad_(True)
    opt = torch.optim.LBFGS(list(head.parameters()), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = head(x).squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yt, weight=wt) \
            + HEAD_L2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        loss = float(torch.nn.functional.binary_cross_entropy_with_logits(head(x).squeeze(-1), yt, weight=wt))
    for p in head.parameters():
        p.requires_grad_(False)
    if log:
        log(f"head fitted by L-BFGS on {len(states)} rows, loss {loss:.3f}")
    return [loss]


def choose_threshold(clf: MiniLMClassifier, states: list[np.ndarray], y: np.ndarray, w: np.ndarray,
                     folds: int = 5, seed: int = 0) -> float:
    """For a head-only classifier: the threshold that maximises agreement (unweighted) over k-fold
    out-of-fold predictions on the training rows alone. The head is refitted on all rows by the caller."""
    import torch

    saved = {k: v.detach().clone() for k, v in clf.head.state_dict().items()}
    fold_of = np.random.default_rng([seed, 7]).permutation(len(states)) % folds
    probs = np.zeros(len(states))
    for k in range(folds):
        train, test = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
        with torch.no_grad():
            clf.head.weight.zero_()
            clf.head.bias.zero_()
        _fit_head(clf, [states[i] for i in train], y[train], w[train] * len(train) / w[train].sum(), None)
        probs[test] = predict_states(clf, [states[i] for i in test])
    clf.head.load_state_dict(saved)
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    scores = [((probs >= t) == (y > 0.5)).mean() for t in grid]
    return float(grid[int(np.argmax(scores))])


def predict_states(clf: MiniLMClassifier, states: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """p(positive) from cached lower states."""
    import torch

    out = np.zeros(len(states), np.float32)
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    clf.model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            hidden, mask = clf.stack([states[i] for i in idx])
            out[idx] = torch.sigmoid(clf.upper(hidden, mask)).numpy()
    return out


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)

