"""The shared response/verdict cache: keys, errors never cached, runs served from it, the CLI."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from safeeval.engine.cache import Cache, cache_dir, response_key
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run
from safeeval.engine.store import read_records
from safeeval.schema import GenerateConfig, Message, Prompt, Response, ToolSpec, Verdict
from safeeval.testing.openai_server import Faults, OpenAIServer
from safeeval.testing.tasks import make_task_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))


def prompt(text: str = "hi", key: str = "t/a/none", **kw) -> Prompt:
    return Prompt(key=key, messages=[Message(role="user", content=text)], **kw)


def test_cache_folder_follows_env_and_xdg(monkeypatch, tmp_path):
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("SAFEEVAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "safeeval"


def test_key_covers_model_config_messages_and_tools_but_not_the_sample_name():
    base = response_key("m", prompt())
    assert response_key("m", prompt(key="other/b/none")) == base  # same request, same answer
    assert response_key("m2", prompt()) != base
    assert response_key("m", prompt("hello")) != base
    assert response_key("m", prompt(config=GenerateConfig(max_tokens=8))) != base
    assert response_key("m", prompt(tools=[ToolSpec(name="t")])) != base


def test_round_trip_marks_hits_cached_and_never_stores_errors(tmp_path):
    with Cache() as cache:
        assert cache.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ok, bad = prompt("ok", key="t/ok/none"), prompt("bad", key="t/bad/none")
        assert not cache.has_responses("m")
        cache.put_responses("m", [(ok, Response(text="fine", output_tokens=3)), (bad, Response(error="HTTP 500"))])
        assert cache.has_responses("m") and not cache.has_responses("m2")
        hits = cache.get_responses("m", [ok, bad])
        assert set(hits) == {"t/ok/none"} and hits["t/ok/none"].cached and hits["t/ok/none"].text == "fine"
        cache.put_verdicts([("k1", Verdict(judge="j", label="refusal", violation=False)),
                            ("k2", Verdict(judge="j", label="error", violation=None))])
        assert set(cache.get_verdicts(["k1", "k2"])) == {"k1"}
        info = cache.info()
        assert info["responses"] == 1 and info["verdicts"] == 1 and info["models"] == {"m": 1}
        assert cache.clear() == 2 and cache.info()["responses"] == 0


def test_prompts_of_other_samples_making_the_same_request_all_hit(tmp_path):
    with Cache() as cache:
        first, second = prompt("same", key="t/a/none"), prompt("same", key="u/b/none")
        cache.put_responses("m", [(first, Response(text="answer"))])
        hits = cache.get_responses("m", [first, second, prompt("other", key="t/c/none")])
        assert set(hits) == {"t/a/none", "u/b/none"} and hits["u/b/none"].text == "answer"


def test_a_second_identical_run_sends_no_request(tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 40)
    with OpenAIServer() as server:
        opts = RunOptions(model="openai:loop", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                          out=tmp_path / "out", concurrency=8)
        first = run(opts.model_copy(update={"run_id": "one"}))
        assert len(server.log) == 40
        second = run(opts.model_copy(update={"run_id": "two"}))
        assert len(server.log) == 40  # all served from the cache
        records = read_records(second.run_dir)
        assert len(records) == 40 and all(r.response.cached for r in records)
        assert not any(r.response.cached for r in read_records(first.run_dir))
        third = run(opts.model_copy(update={"run_id": "three", "no_cache": True}))
        assert len(server.log) == 80
    strip = lambda s: {k: v for k, v in s.items() if k != "run_id"}  # noqa: E731
    assert strip(first.summary) == strip(second.summary) == strip(third.summary)


def test_errors_are_not_cached_so_the_next_run_retries_them(tmp_path):
    tasks = make_task_dir(tmp_path / "tasks", 10)
    with OpenAIServer(faults=Faults(error_500=1.0)) as server:
        opts = RunOptions(model="openai:loop", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                          out=tmp_path / "out", max_retries=0)
        run(opts.model_copy(update={"run_id": "one"}))
        server.config.faults.error_500 = 0.0
        second = run(opts.model_copy(update={"run_id": "two"}))
    assert len(server.log) == 20
    assert not any(r.response.error or r.response.cached for r in read_records(second.run_dir))


@pytest.mark.parametrize("cacheable", [True, False])
def test_verdicts_are_reused_from_the_cache(tmp_path, monkeypatch, cacheable):
    """A cacheable judge's verdicts come back from the cache; a rule judge that is not (the refusal
    judge: scoring costs less than a lookup) is asked again, with the same verdicts."""
    from safeeval.judges import load_judge

    judge_cls = type(load_judge("refusal"))
    assert judge_cls.cacheable is False
    monkeypatch.setattr(judge_cls, "cacheable", cacheable)
    calls = {"n": 0}
    real = judge_cls.label

    def counting(self, item):
        calls["n"] += 1
        return real(self, item)

    monkeypatch.setattr(judge_cls, "label", counting)
    tasks = make_task_dir(tmp_path / "tasks", 12)
    with OpenAIServer() as server:
        opts = RunOptions(model="openai:loop", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                          out=tmp_path / "out")
        first = run(opts.model_copy(update={"run_id": "one"}))
        assert calls["n"] == 12
        second = run(opts.model_copy(update={"run_id": "two"}))
    assert calls["n"] == (12 if cacheable else 24)
    verdicts = lambda d: {r.key: r.verdicts for r in read_records(d)}  # noqa: E731
    assert verdicts(first.run_dir) == verdicts(second.run_dir)


def test_cache_cli_info_and_clear(tmp_path):
    from safeeval.cli.main import app

    with Cache() as cache:
        cache.put_responses("openai:x@http://h/v1", [(prompt(), Response(text="a"))])
    runner = CliRunner()
    info = runner.invoke(app, ["cache", "info", "--json"])
    assert info.exit_code == 0, info.output
    data = json.loads(info.output)
    assert data["responses"] == 1 and data["path"].startswith(str(tmp_path / "cache"))
    assert data["converted_models"] == {}
    kept = tmp_path / "cache" / "models" / "some-model-0123456789ab-float32"  # as models.convert writes
    kept.mkdir(parents=True)
    (kept / "model.safetensors").write_bytes(b"x" * 10)
    assert json.loads(runner.invoke(app, ["cache", "info", "--json"]).output)["converted_models"] == {
        "some-model-0123456789ab-float32": 10}
    cleared = runner.invoke(app, ["cache", "clear"])
    assert cleared.exit_code == 0 and "removed 2" in cleared.output
    assert not kept.exists()
    assert sqlite3.connect(tmp_path / "cache" / "cache.sqlite3").execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0


def test_verdict_identity_includes_the_judge_model():
    from safeeval.engine.cache import judge_cache_id
    from safeeval.judges import JUDGE_KINDS

    llm = JUDGE_KINDS["llm"]
    a = llm(name="j", template="Is this unsafe? {response}", model="hf:/models/a")
    b = llm(name="j", template="Is this unsafe? {response}", model="hf:/models/b")
    assert judge_cache_id(a) != judge_cache_id(b)
    assert judge_cache_id(a) == judge_cache_id(llm(name="j", template="Is this unsafe? {response}",
                                                   model="hf:/models/a"))


@pytest.mark.slow
def test_embedded_model_answers_are_cached(tmp_path):
    opts = RunOptions(model="smollm2", tasks="power-seeking", limit=2, out=tmp_path / "out")
    first = run(opts.model_copy(update={"run_id": "one"}))
    second = run(opts.model_copy(update={"run_id": "two"}))
    assert not any(r.response.cached for r in read_records(first.run_dir))
    again = read_records(second.run_dir)
    assert len(again) == 2 and all(r.response.cached for r in again)
    texts = lambda d: {r.key: r.response.text for r in read_records(d)}  # noqa: E731
    assert texts(first.run_dir) == texts(second.run_dir)


@pytest.mark.slow
def test_embedded_model_is_converted_once_and_reloads_identically():
    """The GGUF is de-quantised once into the cache; the copy loads in seconds with the same weights."""
    from pathlib import Path

    import torch

    from safeeval.models.convert import converted_path
    from safeeval.models.hf import EmbeddedAdapter, embedded_model_path

    first = EmbeddedAdapter()
    first.load()
    folder = converted_path(embedded_model_path(), "float32")  # the one conversion, shared with vLLM
    assert (folder / "model.safetensors").exists() and (folder / "config.json").exists()
    assert not list(folder.parent.glob("*.tmp*"))           # the temporary folder is gone
    second = EmbeddedAdapter()
    second.load()
    assert Path(second._model.name_or_path) == folder        # read from the copy, not converted again
    a, b = first._model.state_dict(), second._model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    p = prompt("Who are you?")
    assert first._render(p) == second._render(p)
    assert Cache().info()["converted_models"] == {folder.name: sum(f.stat().st_size for f in folder.iterdir())}


def test_one_cache_folder_holds_embeddings_models_and_cards(monkeypatch, tmp_path):
    """Every on-disk cache follows SAFEEVAL_CACHE_DIR; `clear` removes embeddings and converted models."""
    from safeeval.calibration import user_cards_dir
    from safeeval.storage import cache_dir

    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.delenv("SAFEEVAL_CARDS_DIR", raising=False)
    monkeypatch.setenv("SAFEEVAL_CACHE", str(tmp_path / "undocumented"))  # no longer read
    assert cache_dir() == tmp_path / "c" and user_cards_dir() == tmp_path / "c" / "cards"
    (tmp_path / "c" / "embeddings").mkdir(parents=True)
    (tmp_path / "c" / "embeddings" / "x.npy").write_bytes(b"0")
    (tmp_path / "c" / "models" / "m").mkdir(parents=True)
    (tmp_path / "c" / "cards").mkdir()
    (tmp_path / "c" / "cards" / "j.json").write_text("{}")
    with Cache() as cache:
        info = cache.info()
        assert (info["embeddings"], info["cards"], list(info["converted_models"])) == (1, 1, ["m"])
        assert cache.clear() == 2
    assert not (tmp_path / "c" / "embeddings").exists() and not (tmp_path / "c" / "models").exists()
    assert (tmp_path / "c" / "cards" / "j.json").exists()


def test_jsonl_appender_cuts_a_torn_line_and_writes_whole_lines(tmp_path):
    from safeeval.storage import JsonlAppender, append_jsonl

    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": 2')  # a crash mid-line
    append_jsonl(path, [{"a": 3}])
    with JsonlAppender(path) as out:
        out.append([{"a": 4}, '{"a": 5}'])
    assert [json.loads(line)["a"] for line in path.read_text().splitlines()] == [1, 3, 4, 5]


def test_cached_judge_reuses_verdicts_until_the_judge_code_changes(tmp_path, monkeypatch):
    """CachedJudge keys a verdict by the judge's code too: a judge whose source changed is asked again,
    even when it forgets to change prompt_hash()."""
    import asyncio
    import importlib
    import sys

    from safeeval.engine.cache import CachedJudge, code_version
    from safeeval.schema import Message, RecordSample, SampleRecord

    monkeypatch.syspath_prepend(str(tmp_path))
    source = ("from safeeval.judges.base import Judge\n"
              "class Counting(Judge):\n"
              "    calls = 0\n"
              "    def label(self, item):\n"
              "        type(self).calls += 1\n"
              "        return ('{label}', None, '')\n")
    record = SampleRecord(key="t/1/none", task="t", task_version="1", category="misuse", sample_id="1",
                          messages=[Message(role="user", content="q")], response=Response(text="a"), verdicts=[],
                          violation=None, model="m", sample_hash="h", sample=RecordSample(objective="q"))

    def judge_from(label: str):
        (tmp_path / "counting_judge.py").write_text(source.format(label=label))
        sys.modules.pop("counting_judge", None)
        importlib.invalidate_caches()
        cls = importlib.import_module("counting_judge").Counting
        return cls(name="counting")

    first = judge_from("one")
    with Cache() as cache:
        assert asyncio.run(CachedJudge(first, cache).score([record]))[0].label == "one"
        assert asyncio.run(CachedJudge(first, cache).score([record]))[0].label == "one"
        assert type(first).calls == 1                      # the second verdict came from the cache
        changed = judge_from("two")                       # same id, options and prompt hash; new code
        assert changed.prompt_hash() == first.prompt_hash()
        assert code_version(type(changed)) != code_version(type(first))
        assert asyncio.run(CachedJudge(changed, cache).score([record]))[0].label == "two"
    sys.modules.pop("counting_judge", None)
