"""Greedy generation for a transformers causal LM, faster than `generate` on a small CPU.

Two things make a safety suite slow on two cores, and `generate` does neither well:

1. **Prompts share stretches of tokens.** Every prompt starts with the chat
   template's system prompt, and a task's prompts often share a tool list, a
   context or a document. Here each stretch that several prompts of a batch
   share is computed once (`prefix_tree.plan_pieces`), and only the rest of
   each prompt per row, in chunks of like length, each left-padded only to
   its own longest piece.
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

from safeeval.events import Stopped, stop_requested
from safeeval.models.local.prefix_tree import Piece, plan_pieces

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
    """Run every prompt through the model, each stretch that several prompts share only once.

    Returns the batch's cache, its attention mask, and `longest`. In the cache
    each row holds the tokens it shares with others from column 0 on, and its
    own remainder right-aligned to end at column `longest`; the mask hides the
    gap between them, and the answer is written from `longest` on.
    """
    import torch

    config = model.config.get_text_config()
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dtype = next(model.parameters()).dtype
    longest = max(len(r.prompt) for r in rows)
    width = longest + max(r.max_new for r in rows)
    # One tensor per kind for all layers: a row's piece moves in one copy, not one per layer.
    shape = (config.num_hidden_layers, len(rows), heads, width, head_dim)
    keys = torch.zeros(shape, dtype=dtype, device=model.device)
    values = torch.zeros(shape, dtype=dtype, device=model.device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=model.device)
    for wave in plan_pieces([r.prompt for r in rows]):
        # Pieces go through in chunks of like length, each padded only to its own
        # longest piece: a chunk's activations stay in the CPU cache, and short
        # pieces do not pay for long ones (benchmarks/README.md).
        wave.sort(key=lambda p: p.start - p.end)
        for a, b in prefill_chunks([p.end - p.start for p in wave]):
            if stop_requested():  # Ctrl-C: no answer of this batch is finished yet
                raise Stopped()
            _prefill_chunk(model, rows, wave[a:b], (keys, values, mask), longest, eos)
    return _buffer_cache(list(keys), list(values), longest), mask, longest


def _prefill_chunk(model: Any, rows: list[Row], chunk: list[Piece], batch: tuple[Any, Any, Any],
                   longest: int, eos: set[int]) -> None:
    """Compute one chunk of pieces on top of their contexts, and put their keys and values in the batch's cache."""
    import torch

    keys, values, mask = batch
    device = model.device
    context = max(p.start for p in chunk)
    w = max(p.end - p.start for p in chunk)
    # The chunk's own cache: each piece's context right-aligned in the first `context`
    # columns, then the piece itself right-aligned in the next `w`. Keys carry their
    # rotary positions already, so where a context sits makes no difference.
    shape = (keys.shape[0], len(chunk), keys.shape[2], context + w, keys.shape[4])
    chunk_keys = torch.zeros(shape, dtype=keys.dtype, device=device)
    chunk_values = torch.zeros(shape, dtype=values.dtype, device=device)
    # Padding slots hold any real token id: the mask hides them from every other position.
    ids = torch.full((len(chunk), w), rows[0].prompt[0], dtype=torch.long, device=device)
    positions = torch.zeros((len(chunk), w), dtype=torch.long, device=device)
    chunk_mask = torch.zeros((len(chunk), context + w), dtype=torch.long, device=device)
    for i, piece in enumerate(chunk):
        n, first = piece.end - piece.start, piece.rows[0]  # every row of a piece holds its context
        ids[i, w - n:] = torch.tensor(rows[first].prompt[piece.start:piece.end], device=device)
        positions[i, w - n:] = torch.arange(piece.start, piece.end, device=device)
        chunk_mask[i, context - piece.start:context] = 1
        chunk_mask[i, context + w - n:] = 1
        chunk_keys[:, i, :, context - piece.start:context] = keys[:, first, :, :piece.start]
        chunk_values[:, i, :, context - piece.start:context] = values[:, first, :, :piece.start]
    out = model(input_ids=ids, attention_mask=chunk_mask, position_ids=positions, use_cache=True,
                past_key_values=_buffer_cache(list(chunk_keys), list(chunk_values), context), logits_to_keep=1)
    tokens = out.logits[:, -1].argmax(-1).tolist()
    for i, piece in enumerate(chunk):
        n = piece.end - piece.start
        new_keys, new_values = chunk_keys[:, i, :, context + w - n:], chunk_values[:, i, :, context + w - n:]
        if piece.last:  # a row's own remainder: right-aligned, and its logits give the first answer token
            row = piece.rows[0]
            keys[:, row, :, longest - n:longest], values[:, row, :, longest - n:longest] = new_keys, new_values
            mask[row, :piece.start] = 1
            mask[row, longest - n:longest] = 1
            rows[row].out.append(tokens[i])
            rows[row].stopped = tokens[i] in eos
        else:  # shared: the same columns of every row it begins
            where = torch.tensor(piece.rows, device=device)
            keys[:, where, :, piece.start:piece.end] = new_keys.unsqueeze(1)
            values[:, where, :, piece.start:piece.end] = new_values.unsqueeze(1)


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
    A stop request (`safeeval.events`) ends the loop between two decode steps and
    raises `Stopped` with the rows left as they are: `finished(row)` tells which are done.
    """
    import torch

    if not rows:
        return rows
    device = model.device
    # The cache's rows, longest prompt first. The prefill plans its own order now; this one
    # is kept because the suite's answers were checked identical with it (benchmarks/README.md).
    ordered = sorted(rows, key=lambda r: -len(r.prompt))
    with torch.inference_mode():
        cache, mask, longest = _prefill(model, ordered, eos)
        active = list(range(len(ordered)))  # rows still in the cache, in cache order
        step = 0
        halted = False
        while True:
            live = [i for i in active if not _done(ordered[i])]
            if not live:
                break
            if stop_requested():  # Ctrl-C: stop between two steps, a fraction of a second
                halted = True
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
    if halted:
        raise Stopped()
    return rows


def finished(row: Row) -> bool:
    """Whether a row's answer is complete (after `greedy_generate` returned or raised `Stopped`)."""
    return row.stopped or len(row.out) >= row.max_new


def _done(row: Row) -> bool:
    return row.stopped or len(row.out) >= row.max_new
