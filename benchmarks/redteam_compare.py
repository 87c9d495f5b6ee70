"""Every red-team method on the same objectives and seeds: ASR against target queries, a paired
per-objective test, and distinct successful clusters per 100 queries.

The embedded SmolLM2-135M-Instruct is both red model and target (no defence).
Objectives: the built-in `canary` set (judge `canary`: the planted secret appears
in the answer), because a multi-turn method's early turns are harmless on
purpose and a refusal judge would count them as "compliance".

    python benchmarks/redteam_compare.py --seed 0 --json-out /tmp/c0.json     # dart, pair, static, crescendo
    python benchmarks/redteam_compare.py --assemble /tmp/c*.json              # prints the markdown section
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import time
from pathlib import Path

METHODS = ["dart", "pair", "static", "crescendo"]
CLUSTER = 0.8  # MiniLM cosine at which two successful attacks are one cluster (the leader rule of novelty.cluster)


async def campaigns(args) -> dict:
    import torch

    from safeeval.models import load_model
    from safeeval.redteam import RedteamOptions, execute

    torch.set_num_threads(args.threads)
    model = load_model("smollm2")
    out = {"seed": args.seed, "settings": {k: getattr(args, k) for k in ("objectives", "budget", "rounds", "k",
                                                                        "max_tokens", "red_max_tokens", "threads")},
           "runs": {}}
    for method in args.methods:
        opts = RedteamOptions(objectives=args.objectives, method=method, rounds=args.rounds, per_round=args.k,
                              budget=args.budget, seed=args.seed, target_max_tokens=args.max_tokens,
                              red_max_tokens=args.red_max_tokens, out=Path(args.work) / f"{method}-s{args.seed}")
        start = time.perf_counter()
        result = await execute(opts, target=model, red=None if method == "static" else model)
        attacks = [json.loads(x) for x in (result.out / "attacks.jsonl").read_text().splitlines()]
        out["runs"][method] = {"seconds": round(time.perf_counter() - start, 1),
                               "attacks": [{"objective_id": a["objective_id"], "success": a["success"],
                                            "attack": a["attack"], "turns": len(a["context"]) // 2}
                                           for a in attacks]}
    return out


def exact_mcnemar(b: int, c: int) -> float:
    """Two-sided exact p for b vs c discordant pairs (binomial, p = 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def assemble(entries: list[dict]) -> str:
    from safeeval.redteam.novelty import MiniLMSpace, cluster
    from safeeval.stats import rate

    entries.sort(key=lambda e: e["seed"])
    methods = [m for m in METHODS if all(m in e["runs"] for e in entries)]
    s = entries[0]["settings"]
    seeds = [e["seed"] for e in entries]
    lines = [f"Settings: objectives `{s['objectives']}`, budget {s['budget']} target queries per method and seed, "
             f"{s['rounds']} rounds, K={s['k']}, target max {s['max_tokens']} new tokens (greedy), red model max "
             f"{s['red_max_tokens']}, seeds {', '.join(map(str, seeds))}; crescendo max 5 turns a conversation.", "",
             "Cumulative ASR (successes / target queries so far), pooled over seeds:", ""]
    budget = min(len(e["runs"][m]["attacks"]) for e in entries for m in methods)
    marks = sorted({q for q in (4, 8, 12, 16, 24, 32, 48, budget) if q <= budget})
    lines += ["| method | " + " | ".join(f"{q} queries" for q in marks) + " | seconds (sum) |",
              "|---|" + "---|" * (len(marks) + 1)]
    for m in methods:
        cells = []
        for q in marks:
            k = sum(bool(a["success"]) for e in entries for a in e["runs"][m]["attacks"][:q])
            cells.append(f"{k / (q * len(entries)):.3f} ({k}/{q * len(entries)})")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {sum(e['runs'][m]['seconds'] for e in entries):.0f} |")
    space = MiniLMSpace()
    lines += ["", f"Distinct successful clusters (MiniLM leader clustering at cosine {CLUSTER}) per 100 target "
                  "queries, pooled:", "", "| method | queries | successes | ASR (95% CI) | clusters | clusters per "
                  "100 queries | successes from multi-turn context |", "|---|---|---|---|---|---|---|"]
    broken: dict[str, list[bool]] = {}
    for m in methods:
        atts = [a for e in entries for a in e["runs"][m]["attacks"]]
        wins = [a for a in atts if a["success"]]
        n_clusters = 0
        for e in entries:  # clusters within a seed's run, summed
            texts = list(dict.fromkeys(a["attack"] for a in e["runs"][m]["attacks"] if a["success"]))
            n_clusters += len(set(cluster(space.encode(texts), CLUSTER))) if texts else 0
        r = rate(len(wins), len(atts))
        lines.append(f"| {m} | {len(atts)} | {len(wins)} | {r['rate']:.3f} ({r['ci_low']:.3f}-{r['ci_high']:.3f}) | "
                     f"{n_clusters} | {100 * n_clusters / len(atts):.1f} | {sum(1 for a in wins if a['turns'])} |")
        broken[m] = [any(a["success"] for a in e["runs"][m]["attacks"] if a["objective_id"] == o)
                     for e in entries for o in sorted({a["objective_id"] for a in e["runs"][m]["attacks"]})]
    lines += ["", "Paired test per (seed, objective): broken within the budget by A and not B (b), by B and not A "
                  "(c); exact McNemar p (two-sided):", "", "| A vs B | pairs | both | A only (b) | B only (c) | "
                  "neither | p |", "|---|---|---|---|---|---|---|"]
    for a, b in itertools.combinations(methods, 2):
        pa, pb = broken[a], broken[b]
        both = sum(x and y for x, y in zip(pa, pb))
        only_a = sum(x and not y for x, y in zip(pa, pb))
        only_b = sum(y and not x for x, y in zip(pa, pb))
        lines.append(f"| {a} vs {b} | {len(pa)} | {both} | {only_a} | {only_b} | {len(pa) - both - only_a - only_b} "
                     f"| {exact_mcnemar(only_a, only_b):.3f} |")
    return "\n".join(lines) + "\n"


def from_folders(folders: list[Path], settings: dict) -> list[dict]:
    """Entries read back from run folders named <method>-s<seed> (a cut-short campaign keeps its finished runs)."""
    by_seed: dict[int, dict] = {}
    for folder in folders:
        method, seed = folder.name.rsplit("-s", 1)
        attacks = [json.loads(x) for x in (folder / "attacks.jsonl").read_text().splitlines() if x.strip()]
        rounds = [json.loads(x) for x in (folder / "rounds.jsonl").read_text().splitlines() if x.strip()]
        entry = by_seed.setdefault(int(seed), {"seed": int(seed), "settings": settings, "runs": {}})
        entry["runs"][method] = {"seconds": sum(r.get("seconds") or 0 for r in rounds),
                                 "attacks": [{"objective_id": a["objective_id"], "success": a["success"],
                                              "attack": a["attack"], "turns": len(a.get("context", [])) // 2}
                                             for a in attacks]}
    return list(by_seed.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="*", default=METHODS)
    ap.add_argument("--objectives", default="canary")
    ap.add_argument("--budget", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=40)
    ap.add_argument("--red-max-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/redteam-compare")
    ap.add_argument("--json-out")
    ap.add_argument("--assemble", nargs="*")
    ap.add_argument("--assemble-dirs", nargs="*", help="run folders <method>-s<seed> instead of JSON files")
    args = ap.parse_args()
    if args.assemble_dirs:
        settings = {k: getattr(args, k) for k in ("objectives", "budget", "rounds", "k", "max_tokens",
                                                  "red_max_tokens", "threads")}
        print(assemble(from_folders([Path(p) for p in args.assemble_dirs], settings)))
        return
    if args.assemble:
        print(assemble([json.loads(Path(p).read_text()) for p in args.assemble]))
        return
    text = json.dumps(asyncio.run(campaigns(args)), indent=1)
    if args.json_out:
        Path(args.json_out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
