"""The shared-prefix greedy decoder gives `generate`'s answers, on the real embedded model."""

from __future__ import annotations

import platform

import pytest

from safeeval.models.local import greedy
from safeeval.models.local.greedy import Row, greedy_generate, prefill_chunks, supports
from safeeval.models.hf import EmbeddedAdapter, HFAdapter, reuse_freed_memory
from safeeval.schema import GenerateConfig, Message, Prompt


def test_prefill_chunks_pad_each_chunk_to_its_own_longest_row() -> None:
    assert prefill_chunks([500, 400, 300, 100, 90, 80], budget=1024) == [(0, 2), (2, 5), (5, 6)]
    assert prefill_chunks([2000, 10], budget=1024) == [(0, 1), (1, 2)]  # a row longer than the budget goes alone
    assert prefill_chunks([], budget=1024) == []
    assert prefill_chunks([30, 30, 12, 12, 12, 5], budget=40) == [(0, 1), (1, 2), (2, 5), (5, 6)]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="these mallopt settings are glibc's")
def test_glibc_takes_the_allocator_settings() -> None:
    # mallopt refuses out-of-range values (it returns 0): both settings must be in range.
    assert reuse_freed_memory() is True


def test_supports_decoder_only_attention_models() -> None:
    from transformers import LlamaConfig, Qwen3NextConfig, T5Config

    assert supports(LlamaConfig())
    assert not supports(T5Config())                     # an encoder-decoder
    assert not supports(Qwen3NextConfig())              # linear-attention layers need their own cache


def test_hf_batches_cap_the_cache_of_long_prompts() -> None:
    adapter = HFAdapter("/nonexistent", batch_size=64)
    adapter.max_batch_tokens = 1000
    config = GenerateConfig(max_tokens=100)
    long = [Prompt(key=f"l{i}", messages=[Message(role="user", content="x" * 1600)], config=config)
            for i in range(4)]  # about 400 + 100 tokens each: two fit in 1,000
    short = [Prompt(key=f"s{i}", messages=[Message(role="user", content="x" * 40)], config=config)
             for i in range(5)]
    widths = [len(b) for b, _ in adapter._batches(long + short)]
    assert widths == [2, 2, 5]  # short prompts start a batch of their own


@pytest.fixture(scope="module")
def embedded() -> EmbeddedAdapter:
    adapter = EmbeddedAdapter()
    adapter.load()
    return adapter


def reference(adapter: EmbeddedAdapter, prompt_ids: list[int], max_new: int) -> list[int]:
    """transformers' own greedy `generate`, one prompt at a time (no padding)."""
    import torch

    tok = adapter._tokenizer
    with torch.inference_mode():
        out = adapter._model.generate(torch.tensor([prompt_ids]), max_new_tokens=max_new, do_sample=False,
                                      temperature=None, top_p=None, top_k=None, pad_token_id=tok.pad_token_id)
    return [t for t in out[0, len(prompt_ids):].tolist() if t != tok.pad_token_id]


@pytest.mark.slow
@pytest.mark.parametrize("chunk_tokens", [1024, 24])  # one prefill chunk; many, of unlike widths
def test_greedy_matches_generate_with_shared_prefixes_and_mixed_budgets(embedded, monkeypatch, chunk_tokens) -> None:
    monkeypatch.setattr(greedy, "PREFILL_CHUNK_TOKENS", chunk_tokens)
    tok = embedded._tokenizer
    questions = [
        "What is the capital of France?",
        "What is the capital of France? Answer in one word.",   # extends the one before
        "What is the capital of France?",                        # a duplicate
        "Write a short poem about the sea.",
        "List three prime numbers.",
        "Say only the word yes.",                                 # stops early on <|im_end|>
    ]
    budgets = [12, 20, 12, 16, 8, 20]
    ids = [tok(embedded._render(Prompt(key=str(i), messages=[Message(role="user", content=q)])),
               add_special_tokens=False)["input_ids"] for i, q in enumerate(questions)]
    rows = greedy_generate(embedded._model, [Row(prompt=p, max_new=n) for p, n in zip(ids, budgets)],
                           embedded._eos_ids())
    for row, p, n in zip(rows, ids, budgets):
        assert row.out == reference(embedded, p, n)
        assert len(row.out) <= n
    assert rows[0].out == rows[2].out
    assert any(row.stopped and len(row.out) < row.max_new for row in rows)  # a row that finished early


@pytest.mark.slow
def test_adapter_answers_do_not_depend_on_the_batch(embedded) -> None:
    """Greedy answers computed without padding: alone or in a batch, the same text."""
    config = GenerateConfig(max_tokens=10)
    prompts = [Prompt(key=str(i), messages=[Message(role="user", content=q)], config=config)
               for i, q in enumerate(["Name a colour.", "How do I bake bread? Give the first step.",
                                      "Translate 'good morning' into Spanish."])]
    together = embedded._generate_batch(prompts, config)
    alone = [embedded._generate_batch([p], config)[0] for p in prompts]
    assert [r.text for r in together] == [r.text for r in alone]
    assert all(r.output_tokens and r.input_tokens for r in together)
    # The fallback (transformers' generate, left-padded) gives the same answers.
    padded = embedded._generate(prompts, config)
    assert [r.text for r in padded] == [r.text for r in together]
    assert [r.output_tokens for r in padded] == [r.output_tokens for r in together]
