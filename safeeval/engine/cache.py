"""A content-addressed cache of responses and verdicts, shared by all runs.

One SQLite file in WAL mode (many readers, one writer at a time, safe across
processes) in the one cache folder (`storage.cache_dir()`), beside the
embeddings, converted models and cards that `info` and `clear` also cover.

- A response is keyed by the model's cache identity, the generation config,
  the messages and the tools: an identical request is never sent twice.
- A verdict is keyed by the judge's id, version and prompt hash, the task
  spec, the sample and the judged response.
- Errors are never cached (an error response, an `error` verdict), so a
  failure is retried by the next run. Hits come back with `cached: true`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.schema import Prompt, Response, SampleRecord, Verdict, stable_hash
from safeeval.storage import CARDS_DIR, CONVERTED_DIR, EMBEDDINGS_DIR, cache_dir

__all__ = ["Cache", "CachedJudge", "cache_dir", "cached_stream", "response_key", "verdict_key"]

DB_NAME = "cache.sqlite3"
# Hits are looked up in chunks: SQLite caps the number of bound parameters.
_CHUNK = 500
# Fresh answers are stored in transactions of this many.
PUT_BATCH = 32


def model_cache_id(model: Any) -> str | None:
    """The identity a model's answers are cached under, or None if it should not be cached.

    Adapters opt in with `cacheable = True` (models.base.ModelAdapter); replaying
    recorded answers, for one, gains nothing from a cache.
    """
    return model.cache_id if model.cacheable else None


def response_key(model_id: str, prompt: Prompt) -> str:
    """Key of one request: model, generation config, messages and tools (not the sample's name)."""
    return stable_hash({"model": model_id, "config": prompt.config.model_dump(mode="json"),
                        "messages": [m.model_dump(mode="json") for m in prompt.messages],
                        "tools": [t.model_dump(mode="json") for t in prompt.tools]})


def verdict_key(ident: str, record: SampleRecord) -> str:
    """Key of one verdict: the judge's identity (`judge_cache_id`) and everything it reads of the record."""
    return stable_hash({"judge": ident, "task": [record.task, record.measure],
                        "sample": record.sample.model_dump(mode="json") if record.sample else None,
                        "messages": [m.model_dump(mode="json") for m in record.messages],
                        "response": {"text": record.response.text,
                                     "tool_calls": [c.model_dump() for c in record.response.tool_calls]}})


def judge_cache_id(judge: Any) -> str:
    """A judge's cache identity: its id and class, plus its options (the judge model, a template...),
    so `--judge-model X` never reuses verdicts another judge model gave."""
    options = json.dumps(judge.public_options(), sort_keys=True, default=str)
    return f"{judge.id}|{type(judge).__module__}.{type(judge).__qualname__}|{stable_hash(options)[:16]}"


@functools.lru_cache(maxsize=None)
def code_version(cls: type) -> str:
    """A hash of the source files that define a judge class and its bases, so a judge whose code
    changed never reuses its old verdicts, whether or not it overrides `prompt_hash()`."""
    digest = hashlib.sha256()
    for klass in cls.__mro__:
        module = sys.modules.get(klass.__module__)
        path = getattr(module, "__file__", None)
        if klass is object or not path:
            continue
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(klass.__qualname__.encode())
    return digest.hexdigest()[:16]


class CachedJudge:
    """A judge behind the verdict cache, as `cached_stream` is a model behind the answer cache.

    `score(records)` returns one verdict per record: cached ones reused, the
    rest scored by the judge from what the record carries and stored. A
    verdict's key covers the judge's id, class, options, version, prompt hash
    and code, and everything the judge reads of the record. `error` verdicts
    and failed generations are never cached. A judge that is not `cacheable`
    (rules that score faster than a lookup) is always asked.
    """

    def __init__(self, judge: Any, cache: Cache | None):
        self.judge = judge
        self.cache = cache if judge.cacheable else None  # a rule judge scores faster than a lookup
        self.ident = "|".join((judge_cache_id(judge), judge.spec_version, judge.fixed_prompt_hash(),
                               code_version(type(judge))))

    async def score(self, records: list[SampleRecord]) -> list[Verdict]:
        from safeeval.judges import JudgeInput

        verdicts: dict[int, Verdict] = {}
        keys: dict[int, str] = {}
        if self.cache is not None:
            keys = {i: verdict_key(self.ident, r) for i, r in enumerate(records) if not r.response.error}
            hits = self.cache.get_verdicts(list(keys.values()))
            verdicts.update({i: hits[k] for i, k in keys.items() if k in hits})
        todo = [i for i in range(len(records)) if i not in verdicts]
        inputs = [JudgeInput(records[i].judge_task(), records[i].judge_sample(), records[i].response) for i in todo]
        scored = await self.judge.score(inputs) if inputs else []
        verdicts.update(zip(todo, scored))
        if self.cache is not None:
            self.cache.put_verdicts((keys[i], verdicts[i]) for i in todo if i in keys)
        return [verdicts[i] for i in range(len(records))]


class Cache:
    """The cache database. Cheap to open; use `close()` (or `with`) when done.

    Reads run on the caller's connection. Writes are handed to one writer thread
    with its own connection, so a run's event loop never waits on SQLite's commits
    (on 100,000 loopback answers they had cost the loop 6 s); a read first waits for
    the writes handed over before it, so the cache always reads its own writes.
    """

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else cache_dir()
        self.path = self.folder / DB_NAME
        self._writer: ThreadPoolExecutor | None = None
        self._write_db: sqlite3.Connection | None = None
        self._pending: list[Future] = []
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.db = self._connect()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, "
                            "created REAL, body TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, judge TEXT, "
                            "created REAL, body TEXT)")
            self.db.execute("CREATE INDEX IF NOT EXISTS responses_by_model ON responses (model)")
        except (OSError, sqlite3.Error) as exc:
            raise SafeevalError(f"{self.path}: cannot open the response cache ({exc}); "
                                f"set SAFEEVAL_CACHE_DIR or pass --no-cache") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        # NORMAL: a power cut may lose the last commits, never corrupt the file; the cache is rebuildable.
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Wait for the writes handed to the writer thread so far."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._write_db is not None:
            self._write_db.close()
            self._write_db = None
        self.db.close()

    # -- generic
    def _get(self, table: str, keys: list[str]) -> dict[str, str]:
        self.flush()
        found: dict[str, str] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(f"SELECT key, body FROM {table} WHERE key IN ({marks})", chunk))
        return found

    def _put(self, table: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Hand rows to the writer thread (one transaction per call); they are stored in order."""
        now = time.time()
        rows = [(key, owner, now, body) for key, owner, body in rows]
        if not rows:
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="safeeval-cache")
        still = []
        for future in self._pending:
            if future.done():
                future.result()  # a write that failed (other than a full or busy disk) surfaces here
            else:
                still.append(future)
        self._pending = still
        self._pending.append(self._writer.submit(self._write, table, rows))

    def _write(self, table: str, rows: list[tuple[str, str, float, str]]) -> None:
        owner = "model" if table == "responses" else "judge"
        try:
            if self._write_db is None:
                self._write_db = self._connect()
            with self._write_db:  # one transaction per batch
                self._write_db.execute("BEGIN")
                self._write_db.executemany(f"INSERT OR REPLACE INTO {table} (key, {owner}, created, body) "
                                           f"VALUES (?, ?, ?, ?)", rows)
        except sqlite3.OperationalError:
            # A full disk or a busy database must not stop a run: the cache is an optimisation.
            pass

    # -- responses
    def has_responses(self, model_id: str) -> bool:
        """Whether any answer of this model is cached (an index lookup)."""
        self.flush()
        found = self.db.execute("SELECT 1 FROM responses WHERE model = ? LIMIT 1", (model_id,)).fetchone()
        return found is not None

    def get_responses(self, model_id: str, prompts: list[Prompt],
                      keys: dict[str, str] | None = None) -> dict[str, Response]:
        """Cached responses by prompt key, marked `cached`.

        `keys` maps prompt keys to their `response_key`s when the caller has them already.
        """
        keys = keys or {p.key: response_key(model_id, p) for p in prompts}
        by_cache_key: dict[str, list[str]] = {}  # prompts of other samples may make the same request
        for p in prompts:
            by_cache_key.setdefault(keys[p.key], []).append(p.key)
        found: dict[str, Response] = {}
        for k, body in self._get("responses", list(by_cache_key)).items():
            response = Response.model_validate_json(body).model_copy(update={"cached": True})
            found.update((key, response) for key in by_cache_key[k])
        return found

    def put_responses(self, model_id: str, pairs: Iterable[tuple[Prompt, Response]],
                      keys: dict[str, str] | None = None) -> None:
        """Store successful, freshly generated responses; errors are never cached."""
        keys = keys or {}
        self._put("responses", [(keys.get(p.key) or response_key(model_id, p), model_id, r.model_dump_json())
                                for p, r in pairs if not r.error and not r.cached])

    # -- verdicts
    def get_verdicts(self, keys: list[str]) -> dict[str, Verdict]:
        return {k: Verdict.model_validate_json(body) for k, body in self._get("verdicts", keys).items()}

    def put_verdicts(self, rows: Iterable[tuple[str, Verdict]]) -> None:
        """Store verdicts; `error` verdicts (unscorable, judge failed) are never cached."""
        self._put("verdicts", [(k, v.judge, v.model_dump_json()) for k, v in rows if v.label != "error"])

    # -- maintenance
    def info(self) -> dict[str, Any]:
        """Where the cache is, its size, and entries per model and judge."""
        self.flush()
        size = sum(p.stat().st_size for p in self.folder.glob(DB_NAME + "*") if p.is_file())
        models = dict(self.db.execute("SELECT model, COUNT(*) FROM responses GROUP BY model ORDER BY model"))
        judges = dict(self.db.execute("SELECT judge, COUNT(*) FROM verdicts GROUP BY judge ORDER BY judge"))
        converted = self.folder / CONVERTED_DIR
        kept = {d.name: sum(f.stat().st_size for f in d.iterdir() if f.is_file())
                for d in sorted(converted.iterdir()) if d.is_dir()} if converted.is_dir() else {}
        embeddings = self.folder / EMBEDDINGS_DIR
        n_embeddings = sum(1 for _ in embeddings.glob("*.npy")) if embeddings.is_dir() else 0
        cards = self.folder / CARDS_DIR
        n_cards = sum(1 for _ in cards.glob("*.json")) if cards.is_dir() else 0
        return {"path": str(self.path), "bytes": size, "responses": sum(models.values()),
                "verdicts": sum(judges.values()), "models": models, "judges": judges, "converted_models": kept,
                "embeddings": n_embeddings, "cards": n_cards}

    def clear(self, model: str | None = None) -> int:
        """Delete every entry and converted model (or one model's responses); returns how many were removed."""
        self.flush()
        with self.db:
            self.db.execute("BEGIN")
            if model is not None:
                removed = self.db.execute("DELETE FROM responses WHERE model = ?", (model,)).rowcount
            else:
                removed = self.db.execute("DELETE FROM responses").rowcount
                removed += self.db.execute("DELETE FROM verdicts").rowcount
        self.db.execute("VACUUM")
        if model is None:  # also the converted models and embeddings (cards are measurements: kept)
            import shutil

            converted, embeddings = self.folder / CONVERTED_DIR, self.folder / EMBEDDINGS_DIR
            if converted.is_dir():
                removed += sum(1 for d in converted.iterdir() if d.is_dir())
                shutil.rmtree(converted, ignore_errors=True)
            if embeddings.is_dir():
                removed += sum(1 for _ in embeddings.glob("*.npy"))
                shutil.rmtree(embeddings, ignore_errors=True)
        return removed


async def cached_stream(model: Any, prompts: list[Prompt], cache: Cache | None
                        ) -> AsyncIterator[tuple[Prompt, Response]]:
    """`model.stream(prompts)` behind the cache: hits first, then misses as they finish.

    Fresh responses are stored in small batches as they arrive (and whatever
    is left when the stream stops), so an interrupted run loses almost no
    answer that was already paid for. With no cache (or an uncacheable model) this
    is `model.stream` unchanged.
    """
    model_id = model_cache_id(model) if cache is not None else None
    if model_id is None:
        async for pair in model.stream(prompts):
            yield pair
        return
    keys: dict[str, str] = {}  # prompt key -> response key, hashed once for the lookup and the store
    hits: dict[str, Response] = {}
    # A model with nothing cached (its first run) skips hashing every prompt before the first
    # request; each answer's key is then hashed as it is stored, while the model works.
    if cache.has_responses(model_id):
        keys = {p.key: response_key(model_id, p) for p in prompts}
        hits = cache.get_responses(model_id, prompts, keys)
    for prompt in prompts:
        if prompt.key in hits:
            yield prompt, hits[prompt.key]
    misses = [p for p in prompts if p.key not in hits]
    if not misses:
        return
    fresh: list[tuple[Prompt, Response]] = []
    try:
        async for prompt, response in model.stream(misses):
            fresh.append((prompt, response))
            if len(fresh) >= PUT_BATCH:  # one transaction per batch, not per answer
                cache.put_responses(model_id, fresh, keys)
                fresh = []
            yield prompt, response
    finally:
        cache.put_responses(model_id, fresh, keys)  # also on a crash-free stop (endpoint gone, Ctrl-C)
