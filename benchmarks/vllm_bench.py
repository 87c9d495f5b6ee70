"""safeeval's endpoint client against vLLM's own `vllm bench serve`, on one `vllm serve`, back to back.

    .venv/bin/python benchmarks/vllm_bench.py --concurrency 1 8 32 --prompts 32 96 192

For each concurrency both clients send the same kind of prompt (one user
message "Synthetic request number i: explain item i.", greedy, at most
`--output-len` new tokens) to the same server: safeeval as a full
`safeeval run` of a task of those prompts (no cache; judging and records
included), vLLM's client with `--backend openai-chat`. The two get disjoint
prompt sets of the same shape (vLLM's prefix cache must not favour the second),
and the order alternates between concurrencies. vLLM's client gets
`--ignore-eos` (its custom dataset otherwise ended answers after 13 tokens on
average against safeeval's 32): both then generate `--output-len` tokens per
request, which the printed mean output tokens confirm. Printed per concurrency:
requests/s and output tokens/s of each, and safeeval's ratio to vLLM's client.
Without --base-url the script starts `vllm serve` of the embedded model
(safeeval/testing/vllm_server.py) and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def write_prompts(folder: Path, start: int, n: int) -> tuple[Path, Path]:
    """The same prompts as a safeeval task folder and as a vLLM custom dataset."""
    texts = [f"Synthetic request number {i}: explain item {i}." for i in range(start, start + n)]
    task = folder / "tasks" / "misuse" / "bench-prompts"
    task.mkdir(parents=True, exist_ok=True)
    (task / "task.yaml").write_text(yaml.safe_dump({
        "name": "bench-prompts", "version": 1, "category": "misuse", "description": "Benchmark prompts.",
        "data": "data.jsonl", "prompt": "{prompt}", "judge": "refusal", "violation_labels": ["compliance"],
        "violation": "the model complies", "max_tokens": 32, "license": "Apache-2.0"}, sort_keys=False))
    (task / "data.jsonl").write_text("".join(json.dumps({"id": f"b{i}", "prompt": t}) + "\n"
                                             for i, t in enumerate(texts)))
    dataset = folder / "dataset.jsonl"
    dataset.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in texts))
    return folder / "tasks", dataset


def run_safeeval(url: str, tasks: Path, n: int, concurrency: int, output_len: int, out: Path) -> dict:
    from safeeval.engine.plan import RunOptions
    from safeeval.engine.runner import run
    from safeeval.engine.store import read_records

    start = time.perf_counter()
    result = run(RunOptions(model="openai:smollm2", base_url=url, tasks="bench-prompts", tasks_dirs=[tasks],
                            out=out, run_id=f"c{concurrency}", no_cache=True, concurrency=concurrency,
                            max_tokens=output_len, timeout=600.0))
    wall = time.perf_counter() - start
    records = read_records(result.run_dir)
    errors = [r.response.error for r in records if r.response.error]
    if len(records) != n or errors:
        raise SystemExit(f"safeeval run: {len(records)} of {n} records, {len(errors)} errors: {errors[:1]}")
    tokens = sum(r.response.output_tokens or 0 for r in records)
    return {"req_s": n / wall, "out_tok_s": tokens / wall, "mean_out_tokens": tokens / n, "wall_s": wall}


def run_vllm_bench(url: str, dataset: Path, n: int, concurrency: int, output_len: int, tokenizer: Path,
                   out: Path) -> dict:
    vllm = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "vllm"
    name = f"vllm-c{concurrency}.json"
    cmd = [str(vllm), "bench", "serve", "--backend", "openai-chat", "--base-url", url.rsplit("/v1", 1)[0],
           "--endpoint", "/v1/chat/completions", "--model", "smollm2", "--tokenizer", str(tokenizer),
           "--dataset-name", "custom", "--dataset-path", str(dataset), "--custom-output-len", str(output_len),
           "--num-prompts", str(n), "--max-concurrency", str(concurrency), "--temperature", "0", "--ignore-eos",
           "--disable-tqdm", "--save-result", "--result-dir", str(out), "--result-filename", name]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"vllm bench serve failed: {proc.stderr[-2000:]}")
    data = json.loads((out / name).read_text())
    return {"req_s": data["request_throughput"], "out_tok_s": data["output_throughput"],
            "mean_out_tokens": data["total_output_tokens"] / max(1, data["completed"]), "wall_s": data["duration"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", default=None, help="a running vllm serve of the embedded model (served as smollm2)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--prompts", type=int, nargs="+", default=[32, 96, 192], help="prompts per concurrency")
    p.add_argument("--output-len", type=int, default=32)
    args = p.parse_args()
    from safeeval.testing.vllm_server import VLLMServer, embedded_model_folder

    folder = embedded_model_folder()
    server = None
    url = args.base_url
    if url is None:
        server = VLLMServer(model=folder).start().wait_ready()
        url = server.url
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["SAFEEVAL_CACHE_DIR"] = str(Path(tmp) / "cache")
            offset = 0
            for i, (c, n) in enumerate(zip(args.concurrency, args.prompts)):
                tasks, _ = write_prompts(Path(tmp) / f"s{c}", offset, n)
                _, dataset = write_prompts(Path(tmp) / f"v{c}", offset + n, n)
                offset += 2 * n
                order = ["safeeval", "vllm"] if i % 2 == 0 else ["vllm", "safeeval"]
                got = {}
                for who in order:
                    if who == "safeeval":
                        got[who] = run_safeeval(url, tasks, n, c, args.output_len, Path(tmp) / "runs")
                    else:
                        got[who] = run_vllm_bench(url, dataset, n, c, args.output_len, folder, Path(tmp))
                row = {"concurrency": c, "prompts": n, "order": "->".join(order),
                       **{f"{k}_{m}": round(v[m], 3) for k, v in got.items() for m in v},
                       "ratio_req_s": round(got["safeeval"]["req_s"] / got["vllm"]["req_s"], 3),
                       "ratio_out_tok_s": round(got["safeeval"]["out_tok_s"] / got["vllm"]["out_tok_s"], 3)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        if server is not None:
            server.stop()
    json.dump(rows, sys.stderr)


if __name__ == "__main__":
    main()
