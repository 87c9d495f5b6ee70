"""Adaptive concurrency against a server that caps requests in flight (429 + Retry-After past the cap).

    .venv/bin/python benchmarks/endpoint_concurrency.py --samples 1000 --concurrency 128 --cap 16

The loopback server (safeeval/testing/openai_server.py) runs as its own process
and answers at most `--cap` requests at once; more get 429 with Retry-After.
One `safeeval run` (first pass, no cache) sends `--samples` prompts at
`--concurrency`; then, on a fresh server, the adapter alone (no judging, no
records: less client CPU per request) does the same. Printed for each: errored
samples, requests and 429s, the server's time-weighted mean of requests being
answered against the cap, and (adapter alone) the limit the adapter settled at.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--cap", type=int, default=16)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--retry-after", type=float, default=1.0)
    args = p.parse_args()

    from safeeval.engine.plan import RunOptions
    from safeeval.engine.runner import run
    from safeeval.engine.store import read_records
    from safeeval.models.openai_api import OpenAIAdapter
    from safeeval.schema import Message, Prompt
    from safeeval.testing.tasks import make_task_dir

    def serve() -> tuple[subprocess.Popen, str]:
        proc = subprocess.Popen([sys.executable, "-m", "safeeval.testing.openai_server", "--latency",
                                 str(args.latency), "--max-concurrency", str(args.cap), "--retry-after",
                                 str(args.retry_after)], stdout=subprocess.PIPE, text=True)
        return proc, proc.stdout.readline().strip()

    def report(kind: str, url: str, responses: list, wall: float, extra: dict) -> None:
        stats = json.loads(urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/stats").read())
        mean = stats["mean_concurrency"] or 0.0
        print(json.dumps({"mode": kind, "samples": len(responses), "errored": sum(1 for r in responses if r.error),
                          "requests": stats["requests"], "refused_429": stats["outcomes"].get("429", 0),
                          "mean_concurrency": round(mean, 2), "cap": args.cap, "mean_over_cap": round(mean / args.cap, 3),
                          "wall_s": round(wall, 2), "ideal_wall_s": round(args.samples * args.latency / args.cap, 2),
                          **extra}))

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SAFEEVAL_CACHE_DIR"] = str(Path(tmp) / "cache")
        tasks = make_task_dir(Path(tmp) / "tasks", args.samples)
        server, url = serve()
        try:
            start = time.perf_counter()
            result = run(RunOptions(model="openai:loop", base_url=url, tasks="loopback-prompts", tasks_dirs=[tasks],
                                    out=Path(tmp) / "out", run_id="r", concurrency=args.concurrency, no_cache=True))
            wall = time.perf_counter() - start
            report("safeeval run", url, [r.response for r in read_records(result.run_dir)], wall, {})
        finally:
            server.terminate()
            server.wait()
    server, url = serve()
    try:
        adapter = OpenAIAdapter("loop", base_url=url, concurrency=args.concurrency)
        prompts = [Prompt(key=f"t/{i}/none", messages=[Message(role="user", content=f"request {i}")])
                   for i in range(args.samples)]

        async def go() -> list:
            try:
                return await adapter.generate(prompts)
            finally:
                await adapter.aclose()

        start = time.perf_counter()
        responses = asyncio.run(go())
        report("adapter alone", url, responses, time.perf_counter() - start, {"settled_limit": adapter.limit.limit})
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
