"""The prefill plan: every shared stretch computed once, every prompt covered exactly once, in order."""

from __future__ import annotations

import random

from safeeval.models.local.prefix_tree import Piece, common_length, plan_pieces


def covered(prompts: list[list[int]], waves: list[list[Piece]]) -> None:
    """Each row's pieces tile its prompt, and each piece's context is finished by an earlier wave."""
    done = [0] * len(prompts)  # tokens of each row computed by the waves so far
    for wave in waves:
        for piece in wave:
            assert piece.end > piece.start
            for row in piece.rows:
                assert done[row] == piece.start, (row, piece)
                assert prompts[row][:piece.end] == prompts[piece.rows[0]][:piece.end]
        for piece in wave:
            for row in piece.rows:
                done[row] = piece.end
            assert piece.last == (piece.end == len(prompts[piece.rows[0]]))
            assert not piece.last or len(piece.rows) == 1
    assert done == [len(p) for p in prompts]


def trie_size(prompts: list[list[int]]) -> int:
    root: dict = {}
    size = 0
    for prompt in prompts:
        node = root
        for token in prompt:
            if token not in node:
                node[token], size = {}, size + 1
            node = node[token]
    return size


def test_common_length() -> None:
    assert common_length([[1, 2, 3], [1, 2, 4], [1, 2, 3, 5]]) == 2
    assert common_length([[1, 2], [1, 2]]) == 2
    assert common_length([[5], [6]]) == 0


def test_shared_stretches_become_one_piece_each() -> None:
    system, tools_a, tools_b = list(range(100, 124)), list(range(200, 260)), list(range(300, 340))
    prompts = [system + tools_a + [1, 2], system + tools_a + [3], system + tools_b + [4, 5, 6],
               system + tools_b + [7], system + [8, 9]]
    waves = plan_pieces(prompts, min_shared=8)
    covered(prompts, waves)
    assert [(p.rows, p.start, p.end) for p in waves[0]] == [([0, 1, 2, 3, 4], 0, 24)]
    shared = sorted((p.rows, p.start, p.end) for p in waves[1] if not p.last)
    assert shared == [([0, 1], 24, 84), ([2, 3], 24, 64)]
    # Every token computed once, except where rows split: the radix tree's size exactly.
    assert sum(p.end - p.start for wave in waves for p in wave) == trie_size(prompts)


def test_duplicates_and_prompts_that_begin_others_keep_a_last_token() -> None:
    base = list(range(50))
    prompts = [base, base, base + [7, 8], [9]]
    waves = plan_pieces(prompts, min_shared=8)
    covered(prompts, waves)
    lasts = {p.rows[0]: (p.start, p.end) for wave in waves for p in wave if p.last}
    assert lasts[0] == (49, 50) and lasts[1] == (49, 50)  # each duplicate computes its final token
    assert lasts[3] == (0, 1)


def test_short_shared_stretches_are_not_split_out() -> None:
    prompts = [[1, 2, 3, 10, 11], [1, 2, 3, 20, 21, 22]]
    assert [[(p.start, p.end) for p in wave] for wave in plan_pieces(prompts, min_shared=8)] == [[(0, 5), (0, 6)]]
    waves = plan_pieces(prompts, min_shared=2)
    assert [(p.start, p.end) for p in waves[0]] == [(0, 3)]
    covered(prompts, waves)


def test_random_batches_are_covered_and_never_cost_more_than_unshared() -> None:
    rng = random.Random(0)
    for _ in range(200):
        stems = [[rng.randrange(5) for _ in range(rng.randrange(0, 30))] for _ in range(3)]
        prompts = [rng.choice(stems) + [rng.randrange(5) for _ in range(rng.randrange(1, 12))]
                   for _ in range(rng.randrange(1, 12))]
        for min_shared in (1, 4, 8):
            waves = plan_pieces(prompts, min_shared)
            covered(prompts, waves)
            cost = sum(p.end - p.start for wave in waves for p in wave)
            assert trie_size(prompts) <= cost <= sum(map(len, prompts))
        assert sum(p.end - p.start for wave in plan_pieces(prompts, 1) for p in wave) == \
            trie_size(prompts) + sum(1 for i, p in enumerate(prompts) if p in prompts[:i] or
                                     any(q[:len(p)] == p and len(q) > len(p) for q in prompts))


def test_no_prompts_no_waves() -> None:
    assert plan_pieces([]) == []
