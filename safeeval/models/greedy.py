"""Greedy generation for a transformers causal LM, faster than `generate` on a small CPU.

Two things make a safety suite slow on two cores, and `generate` does neither well:

1. **Prompts share their beginning.** Every prompt starts with the chat
   template's system prompt, and a task's prompts often share a tool list or an
   instruction. Here a batch's shared beginning is computed once, and only the
   rest of each prompt is computed per row, in chunks of rows of like length,
   each left-padded only to its own longest row.
2. **Finished rows are dead weight.** `generate` steps every row until the
   last one finishes. Here finished rows leave the batch, and the key/value
   cache is allocated once instead of being copied on every step.

The arithmetic is the model's own forward pass, so the answers are those of
`generate` with greedy decoding, up to float rounding from other matrix shapes
(tests/test_greedy.py compares the two token for token).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PREFILL_CHUNK_TOKENS = 1024  # tokens per prefill pass: see _prefill


@dataclass
class Row:
    """One prompt's token ids in, its new token ids out."""

    prompt: list[int]
    max_new: int
    out: list[int] = field(default_factory=list)
    stopped: bool = False  # ended on an end-of-sequence token, not on max_new


def supports(config: Any) -> bool:
    """Whether the loop suits a model: decoder-only, with attention layers only.

    Models with other cache layers (linear attention, state-space blocks) or an
    encoder go through transformers' `generate` instead.
    """
    if getattr(config, "is_encoder_decoder", False):
        return False
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    layer_types = getattr(text, "layer_types", None) or ["full_attention"]
    return set(layer_types) <= {"full_attention", "sliding_attention"}


def shared_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _buffer_cache(keys: list[Any], values: list[Any], length: int) -> Any:
    """A transformers Cache whose layers append into preallocated buffers."""
    from transformers.cache_utils import Cache, DynamicLayer

    class BufferLayer(DynamicLayer):
        # DynamicLayer's update concatenates, copying the whole cache on every step.
        def __init__(self, kbuf: Any, vbuf: Any) -> None:
            super().__init__()
            self.kbuf, self.vbuf, self.length = kbuf, vbuf, length
            self.dtype, self.device, self.is_initialized = kbuf.dtype, kbuf.device, True
            self._views()

        def _views(self) -> None:
            self.keys, self.values = self.kbuf[:, :, :self.length], self.vbuf[:, :, :self.length]

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            end = self.length + key_states.shape[-2]
            self.kbuf[:, :, self.length:end] = key_states
            self.vbuf[:, :, self.length:end] = value_states
            self.length = end
            self._views()
            return self.keys, self.values

        def batch_select_indices(self, indices: Any) -> None:
            self.kbuf, self.vbuf = self.kbuf[indices], self.vbuf[indices]
            self._views()

    return Cache(layers=[BufferLayer(k, v) for k, v in zip(keys, values)])


def _prefill(model: Any, rows: list[Row], eos: set[int]) -> tuple[Any, Any, int]:
    """Run every prompt through the model: the batch's shared prefix once, then the rest per row.

    Returns the batch's cache (rows in order, each prompt right-aligned to end
    at column `longest`), its attention mask, and `longest`.
    """
    import torch

    device = model.device
    prefix = min(min(shared_prefix(rows[0].prompt, r.prompt) for r in rows),
                 min(len(r.prompt) for r in rows) - 1)  # each row keeps a token: its logits start the answer
    suffix = max(len(r.prompt) for r in rows) - prefix
    longest = prefix + suffix
    width = longest + max(r.max_new for r in rows)
    config = model.config.get_text_config()
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dtype = next(model.parameters()).dtype
    shape = (len(rows), heads, width, head_dim)
    layers = config.num_hidden_layers
    keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
    values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
    if prefix:
        shared = _buffer_cache([k[:1] for k in keys], [v[:1] for v in values], 0)
        model(input_ids=torch.tensor([rows[0].prompt[:prefix]], device=device), past_key_values=shared,
              use_cache=True, logits_to_keep=1)
        for k, v in zip(keys, values):  # the first row holds it; copy to the others
            k[1:, :, :prefix] = k[:1, :, :prefix]
            v[1:, :, :prefix] = v[:1, :, :prefix]
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    mask[:, :prefix] = 1
    # The rest goes through in chunks of rows, each padded only to its own longest
    # row: a chunk's activations stay in the CPU cache, and short rows no longer pay
    # for the batch's longest (benchmarks/README.md). A chunk works in a cache of its
    # own, prefix + its width, then moves its keys and values to the batch's cache,
    # where every prompt ends at column `longest`.
    for a, b in prefill_chunks([len(r.prompt) - prefix for r in rows]):
        rests = [r.prompt[prefix:] for r in rows[a:b]]
        w = max(len(rest) for rest in rests)
        # Padding slots hold any real token id: the mask hides them from every other position.
        ids = torch.full((b - a, w), rows[0].prompt[0], dtype=torch.long, device=device)
        positions = torch.full((b - a, w), prefix, dtype=torch.long, device=device)
        chunk_mask = torch.zeros((b - a, prefix + w), dtype=torch.long, device=device)
        chunk_mask[:, :prefix] = 1
        for i, rest in enumerate(rests):
            ids[i, w - len(rest):] = torch.tensor(rest, device=device)
            positions[i, w - len(rest):] = torch.arange(prefix, prefix + len(rest), device=device)
            chunk_mask[i, prefix + w - len(rest):] = 1
            mask[a + i, longest - len(rest):longest] = 1
        ck = [k[a:a + 1, :, :prefix + w].repeat(b - a, 1, 1, 1) for k in keys]  # row a holds the prefix
        cv = [v[a:a + 1, :, :prefix + w].repeat(b - a, 1, 1, 1) for v in values]
        out = model(input_ids=ids, attention_mask=chunk_mask, position_ids=positions,
                    past_key_values=_buffer_cache(ck, cv, prefix), use_cache=True, logits_to_keep=1)
        for k, v, kc, vc in zip(keys, values, ck, cv):
            k[a:b, :, longest - w:longest] = kc[:, :, prefix:]
            v[a:b, :, longest - w:longest] = vc[:, :, prefix:]
        for row, token in zip(rows[a:b], out.logits[:, -1].argmax(-1).tolist()):
            row.out.append(token)
            row.stopped = token in eos
    cache = _buffer_cache(keys, values, longest)
    return cache, mask, longest


def prefill_chunks(lengths: list[int], budget: int | None = None) -> list[tuple[int, int]]:
    """Split rows, longest first, into runs `[a, b)` of at most `budget` padded tokens (one row at least)."""
    budget = budget or PREFILL_CHUNK_TOKENS
    chunks, a = [], 0
    while a < len(lengths):
        width, b = lengths[a], a + 1
        while b < len(lengths) and (b - a + 1) * max(width, lengths[b]) <= budget:
            width, b = max(width, lengths[b]), b + 1
        chunks.append((a, b))
        a = b
    return chunks


def greedy_generate(model: Any, rows: list[Row], eos: set[int]) -> list[Row]:
    """Greedy-decode every row (one batch): fill each `Row.out`, stopping at an eos id or `max_new`.

    The end-of-sequence token itself is not kept in `out`, as `generate` pads it away.
    """
    import torch

    if not rows:
        return rows
    device = model.device
    ordered = sorted(rows, key=lambda r: -len(r.prompt))  # longest first: prefill chunks of like lengths
    with torch.inference_mode():
        cache, mask, longest = _prefill(model, ordered, eos)
        active = list(range(len(ordered)))  # rows still in the cache, in cache order
        step = 0
        while True:
            live = [i for i in active if not _done(ordered[i])]
            if not live:
                break
            if len(live) < len(active):  # drop finished rows: they would cost a full step each
                keep = torch.tensor([active.index(i) for i in live], device=device)
                cache.batch_select_indices(keep)
                mask = mask[keep]
                active = live
            batch = [ordered[i] for i in active]
            ids = torch.tensor([[r.out[-1]] for r in batch], device=device)
            positions = torch.tensor([[len(r.prompt) + len(r.out) - 1] for r in batch], device=device)
            mask[:, longest + step] = 1
            out = model(input_ids=ids, attention_mask=mask[:, :longest + step + 1], position_ids=positions,
                        past_key_values=cache, use_cache=True)
            step += 1
            for row, token in zip(batch, out.logits[:, -1].argmax(-1).tolist()):
                row.out.append(token)
                row.stopped = token in eos
    for row in rows:
        if row.stopped:
            row.out.pop()
    return rows


def _done(row: Row) -> bool:
    return row.stopped or len(row.out) >= row.max_new
