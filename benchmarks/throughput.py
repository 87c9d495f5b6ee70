"""Throughput against a loopback OpenAI-compatible server: safeeval (and optionally inspect_ai).

    python benchmarks/throughput.py                      # N=2000, concurrency 64, 200 ms, 16 tokens
    python benchmarks/throughput.py --inspect /tmp/inspect-venv/bin/python

The server (`safeeval.testing.openai_server`) runs in its own process. Each
scenario starts a fresh server and runs `safeeval run` as a child process:

- clean:  no faults, an empty cache;
- cached: the identical run again (should send 0 requests);
- faults: 5% HTTP 500s, 5% 429s with Retry-After: 1, 1% connection resets, decided
          per prompt and attempt, with an empty cache;
- bare:   the same N requests from a bare asyncio + aiohttp client (no harness), the
          floor the clean scenario is compared with; list it beside `clean` to take
          the ratio in one invocation, e.g. `--scenarios bare,clean,bare,clean`.

    python benchmarks/throughput.py --n 100000 --concurrency 512 --scenarios bare,clean

Reported per scenario: wall time (process start to exit) and the request phase
(first to last request) against the ideal N x latency / concurrency, the delay
to the first request, harness CPU seconds per sample (the child's user+sys,
with and without its start-up imports), the requests the server saw, the peak
concurrency it saw, answered samples, and the child's peak memory (its own, from
os.wait4, not the servers' beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from safeeval.testing.tasks import make_task_dir

FAULTS = ["--error-500", "0.05", "--error-429", "0.05", "--retry-after", "1", "--reset", "0.01"]


class Server:
    """The loopback server in a child process."""

    def __init__(self, latency: float, tokens: int, faults: list[str], port: int = 0):
        cmd = [sys.executable, "-m", "safeeval.testing.openai_server", "--latency", str(latency),
               "--tokens", str(tokens), "--port", str(port), *faults]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/stats") as resp:
            return json.load(resp)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> dict:
    """Run `cmd` to completion; its wall time, CPU (user + sys) and peak RSS, and the start time.

    CPU and memory are this child's own (os.wait4), not the servers' beside it.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.time() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.stderr.write(err.read()[-3000:].decode(errors="replace"))
    return {"rc": proc.returncode, "start": start, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024}


def startup_cpu(env: dict[str, str]) -> float:
    """CPU seconds the CLI spends importing before it can do anything."""
    return timed([sys.executable, "-c", "import safeeval.cli.main"], env)["cpu_s"]


def report(name: str, run: dict, stats: dict, n: int, ideal: float, startup: float, answered: int) -> dict:
    phase = (stats["last_request"] or 0) - (stats["first_request"] or 0)
    row = {
        "scenario": name, "rc": run["rc"], "answered": f"{answered}/{n}",
        "wall_s": round(run["wall_s"], 2), "wall/ideal": round(run["wall_s"] / ideal, 2),
        "request_phase_s": round(phase, 2), "phase/ideal": round(phase / ideal, 2) if stats["requests"] else None,
        "first_request_s": round(stats["first_request"] - run["start"], 2) if stats["first_request"] else None,
        "cpu_ms_per_sample": round(1000 * run["cpu_s"] / n, 3),
        "cpu_ms_per_sample_after_startup": round(1000 * max(0.0, run["cpu_s"] - startup) / n, 3),
        "requests": stats["requests"], "outcomes": stats["outcomes"], "max_in_flight": stats["max_in_flight"],
        "peak_rss_mb": round(run["peak_rss_mb"], 1),
    }
    print(json.dumps(row), flush=True)
    return row


def safeeval_scenario(name: str, args, tasks: Path, out: Path, cache: Path, faults: list[str],
                      run_id: str | None = None) -> dict:
    run_id = run_id or name
    if name == "clean" and (cache / "cache.sqlite3").exists():  # a repeated clean run starts empty too
        import shutil

        shutil.rmtree(cache)
    env = {**os.environ, "SAFEEVAL_CACHE_DIR": str(cache), "OPENAI_API_KEY": "sk-bench"}
    # One port for every scenario: the cache identity of an openai model includes its base URL.
    server = Server(args.latency, args.tokens, faults, port=args.port)
    try:
        cmd = [sys.executable, "-m", "safeeval", "run", "--model", "openai:loopback", "--base-url", server.url,
               "--tasks-dir", str(tasks), "--tasks", "loopback-prompts", "--concurrency", str(args.concurrency),
               "--max-retries", "6", "--out", str(out), "--run-id", run_id, "--json"]
        run = timed(cmd, env)
        stats = server.stats()
    finally:
        server.close()
    answered = count_answered(out / run_id) if run["rc"] == 0 else 0
    return report(f"safeeval {name}", run, stats, args.n, args.n * args.latency / args.concurrency,
                  args.startup_cpu, answered)


def count_answered(run_dir: Path) -> int:
    """Samples whose last record holds an answer, read line by line.

    This process must stay small: a child started from it inherits its peak
    RSS as a floor (Linux keeps the larger of the two across fork and exec),
    so holding 100,000 records here (870 MB) showed up as every later
    scenario's peak memory.
    """
    errored: dict[str, bool] = {}  # the last record per key wins (engine.store)
    with open(run_dir / "samples.jsonl", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                errored[row["key"]] = bool(row["response"].get("error"))
    return sum(1 for failed in errored.values() if not failed)


BARE_CLIENT = textwrap.dedent('''
    import asyncio, json, sys
    import aiohttp

    async def main(url, data, concurrency, tokens):
        rows = [json.loads(line) for line in open(data) if line.strip()]
        limit = asyncio.Semaphore(concurrency)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=120)  # a loaded machine must not time it out
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                         timeout=timeout) as session:
            async def one(row):
                body = {"model": "loopback", "max_tokens": tokens, "temperature": 0.0,
                        "messages": [{"role": "user", "content": row["prompt"]}]}
                async with limit:
                    async with session.post(url + "/chat/completions", json=body,
                                            headers={"Authorization": "Bearer sk-bench"}) as resp:
                        return (await resp.json())["choices"][0]["message"]["content"]
            answers = await asyncio.gather(*(one(r) for r in rows))
        assert len(answers) == len(rows)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
''')


def bare_scenario(args, tasks: Path) -> dict:
    """The same requests from a bare asyncio + aiohttp client (no harness): the floor safeeval is held to."""
    data = tasks / "misuse" / "loopback-prompts" / "data.jsonl"
    server = Server(args.latency, args.tokens, [], port=args.port)
    try:
        run = timed([sys.executable, "-c", BARE_CLIENT, server.url, str(data), str(args.concurrency),
                     str(args.tokens)], dict(os.environ))
        stats = server.stats()
    finally:
        server.close()
    answered = stats["outcomes"].get("ok", 0) if run["rc"] == 0 else 0
    return report("bare aiohttp client", run, stats, args.n, args.n * args.latency / args.concurrency,
                  args.startup_cpu, min(answered, args.n))


INSPECT_TASK = textwrap.dedent('''
    import json
    from inspect_ai import Task, task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    @task
    def loopback():
        rows = [json.loads(l) for l in open({data!r}) if l.strip()]
        return Task(dataset=[Sample(input=r["prompt"], target="can't", id=r["id"]) for r in rows],
                    solver=generate(), scorer=includes())
''')


def inspect_scenario(args, tasks: Path, work: Path) -> dict:
    """The same workload through inspect_ai's CLI, from its own virtual environment."""
    data = tasks / "misuse" / "loopback-prompts" / "data.jsonl"
    task_file = work / "inspect_task.py"
    task_file.write_text(INSPECT_TASK.format(data=str(data)))
    server = Server(args.latency, args.tokens, [])
    inspect_bin = str(Path(args.inspect).parent / "inspect")
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.url,
           "INSPECT_LOG_DIR": str(work / "inspect-logs")}
    try:
        # -M responses_api=false: chat completions, the API the loopback server (and safeeval) speaks.
        cmd = [inspect_bin, "eval", task_file.name, "--model", "openai/loopback", "-M", "responses_api=false",
               "--max-connections",
               str(args.concurrency), "--max-tokens", str(args.tokens), "--display", "none"]
        run = timed(cmd, env, cwd=work)  # inspect wants a task path relative to its working folder
        stats = server.stats()
    finally:
        server.close()
    answered = stats["outcomes"].get("ok", 0)
    return report("inspect_ai", run, stats, args.n, args.n * args.latency / args.concurrency, args.startup_cpu,
                  min(answered, args.n))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--tokens", type=int, default=16)
    p.add_argument("--inspect", help="python of a venv with inspect-ai installed, to run the same workload")
    p.add_argument("--json-out", help="write all rows to this JSON file")
    p.add_argument("--scenarios", default="clean,cached,faults",
                   help="scenarios to run, comma-separated: clean, cached (needs clean first), faults, and "
                        "bare (a bare aiohttp client, the floor); bare and clean alternate when repeated")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="safeeval-bench-") as tmp:
        work = Path(tmp)
        tasks = make_task_dir(work / "tasks", args.n, max_tokens=args.tokens)
        args.startup_cpu = startup_cpu(dict(os.environ))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
        print(json.dumps({"n": args.n, "concurrency": args.concurrency, "latency_s": args.latency,
                          "ideal_s": args.n * args.latency / args.concurrency,
                          "cli_import_cpu_s": round(args.startup_cpu, 2), "cpus": os.cpu_count(),
                          "load_avg": os.getloadavg()}), flush=True)
        plan = {"clean": (work / "cache", []), "cached": (work / "cache", []), "faults": (work / "cache-faults", FAULTS)}
        rows = []
        for i, name in enumerate(args.scenarios.split(",")):
            if name == "bare":
                rows.append(bare_scenario(args, tasks))
            elif name in plan:
                run_id = name if name != "clean" or "clean" not in args.scenarios.split(",")[:i] else f"clean{i}"
                rows.append(safeeval_scenario(name, args, tasks, work / "out", *plan[name], run_id=run_id))
        if args.inspect:
            rows.append(inspect_scenario(args, tasks, work))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
