"""Plan a batch's prefill so that every stretch of tokens several prompts share is computed once.

A safety suite's prompts share far more than the chat template's system
prompt: the same tool list heads every prompt of an agent scenario, the same
context every question about it, the same document every injection into it.
The prompts of a batch form a tree (a radix tree of token ids). Each branch
that at least two prompts share, and that is at least `min_shared` tokens
long, becomes one *piece*, computed once for all its prompts; each prompt's
own remainder is a piece of its own.

On the built-in suite this takes the prefill from 230,450 tokens (the batch's
common prefix shared, as before) to 169,212 (benchmarks/README.md).

Pieces come in *waves*: a piece's context (the tokens before it) belongs to
pieces of earlier waves, so a wave can run once the waves before it have.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SHARED_TOKENS = 8  # a shorter shared branch costs an extra piece for little saving


@dataclass
class Piece:
    """Tokens `[start, end)` of the prompts of `rows`, which all agree up to `end`."""

    rows: list[int]  # indices into the batch; rows[0] stands for all when its context is read
    start: int
    end: int
    last: bool  # the piece ends its (single) row's prompt: its logits start the answer


def common_length(prompts: list[list[int]]) -> int:
    """How many leading tokens all `prompts` share."""
    low, high = min(prompts), max(prompts)  # lexicographic bounds: what they share, all share
    n = min(len(low), len(high))
    i = 0
    while i < n and low[i] == high[i]:
        i += 1
    return i


def plan_pieces(prompts: list[list[int]], min_shared: int = MIN_SHARED_TOKENS) -> list[list[Piece]]:
    """Split the prompts into pieces, in waves: every piece's context is computed by earlier waves.

    Every prompt ends with a piece of at least one token of its own (`last`),
    so each has logits to start its answer from. A prompt that is a prefix of
    another, or a duplicate, still gets that last token to itself.
    """
    waves: list[list[Piece]] = []
    if prompts:
        _split(prompts, list(range(len(prompts))), done=0, depth=0, min_shared=min_shared, waves=waves)
    return waves


def _split(prompts: list[list[int]], rows: list[int], done: int, depth: int, min_shared: int,
           waves: list[list[Piece]]) -> None:
    """Plan `rows`, whose first `done` tokens (which they share) earlier waves compute."""
    def add(piece: Piece) -> None:
        while len(waves) <= depth:
            waves.append([])
        waves[depth].append(piece)

    if len(rows) == 1:
        add(Piece(rows, done, len(prompts[rows[0]]), last=True))
        return
    group = [prompts[r] for r in rows]
    # Each row keeps at least its final token out of any shared piece.
    upto = min(common_length(group), min(len(p) for p in group) - 1)
    if upto - done >= min_shared:
        add(Piece(rows, done, upto, last=False))
        done, depth = upto, depth + 1
    ending, branches = [], {}
    for r in rows:
        if len(prompts[r]) - 1 == upto:  # nothing left to share: its final token is its own piece
            ending.append(r)
        else:
            branches.setdefault(prompts[r][upto], []).append(r)
    for r in ending:
        _split(prompts, [r], done, depth, min_shared, waves)
    for branch in branches.values():
        _split(prompts, branch, done, depth, min_shared, waves)
