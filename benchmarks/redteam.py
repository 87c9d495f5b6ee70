"""Regenerate benchmarks/redteam.md: DART vs PAIR vs static at the same query budget.

The embedded SmolLM2-135M-Instruct is both the red model and the target
(offline, CPU). Two objective sets: the built-in canary objectives (judge
`canary`) and the `harmful-requests` task (judge `harm` when installed, else
the task's default). Each (set, method) campaign is independent, so on a
shared machine they can run as separate processes and be assembled after:

    python benchmarks/redteam.py                          # all campaigns in turn, writes redteam.md
    python benchmarks/redteam.py --only canary:dart --json-out /tmp/a.json   # one campaign
    python benchmarks/redteam.py --assemble /tmp/*.json   # write redteam.md from campaign files
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETS = ["canary", "harmful-requests"]
CAMPAIGNS = [f"{s}:{m}" for s in SETS for m in ("dart", "pair", "static")] + ["canary:dart-moving"]


def harm_judge() -> str | None:
    from safeeval.judges import available_judges

    return "harm" if "harm" in available_judges() else None


async def campaign(model, name: str, args, work: Path) -> dict:
    """Run one `set:method` campaign and return its report plus timing and settings."""
    from safeeval.redteam import RedteamOptions, execute

    objectives, method = name.split(":")
    moving = method.endswith("-moving")
    opts = RedteamOptions(target="smollm2", red_model="smollm2", objectives=objectives,
                          method=method.removesuffix("-moving"), rounds=args.rounds, per_round=args.k,
                          budget=args.budget, limit=args.objectives, seed=args.seed, moving_target=moving,
                          target_max_tokens=args.max_tokens, red_max_tokens=args.red_max_tokens, diversity="minilm",
                          judge=harm_judge() if objectives == "harmful-requests" else None,
                          out=work / name.replace(":", "-"))
    start = time.perf_counter()
    result = await execute(opts, target=model, red=model)
    return {"campaign": name, "seconds": round(time.perf_counter() - start, 1), "report": result.report,
            "settings": {k: getattr(args, k) for k in ("budget", "rounds", "k", "objectives", "max_tokens",
                                                       "red_max_tokens", "seed", "threads")}}


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def row(entry: dict) -> str:
    rep = entry["report"]
    div = rep["diversity_of_successes"]
    by_round = " / ".join(_f(r["rate"]) for r in rep["rounds"])
    red = rep["sources"].get("red-model", {"sent": 0, "successes": 0})
    method = entry["campaign"].split(":")[1].replace("-moving", " --moving-target")
    return (f"| {method} | {entry['settings']['seed']} | {rep['queries']} | {rep['successes']} | {_f(rep['asr']['rate'])} | "
            f"{rep['unique_successes']} | {rep['objectives_broken']}/{rep['n_objectives']} | "
            f"{_f(div['mean_pairwise_distance'])} | {_f(div['self_bleu'])} | {by_round} | "
            f"{red['sent']}/{red['successes']} | {entry['seconds']:.0f} |")


HEADER = ("| method | seed | queries | successes | ASR | unique successes | objectives broken | mean pairwise MiniLM "
          "distance of successes | self-BLEU of successes | ASR by round | red-model attacks sent/succeeded | "
          "seconds |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
POOLED_HEADER = ("| method | seeds | queries | successes | ASR (95% CI) | unique successes | objectives broken | "
                 "mean pairwise MiniLM distance of successes (mean over seeds) |\n|---|---|---|---|---|---|---|---|")


def pooled_row(entries: list[dict]) -> str:
    """One method over all seeds: counts summed, ASR pooled with a Wilson interval."""
    from safeeval.stats import wilson

    reps = [e["report"] for e in entries]
    k, n = sum(r["successes"] for r in reps), sum(r["queries"] for r in reps)
    low, high = wilson(k, n)
    dists = [r["diversity_of_successes"]["mean_pairwise_distance"] for r in reps]
    dists = [d for d in dists if d is not None]
    method = entries[0]["campaign"].split(":")[1].replace("-moving", " --moving-target")
    return (f"| {method} | {len(reps)} | {n} | {k} | {k / n:.3f} ({low:.3f}-{high:.3f}) | "
            f"{sum(r['unique_successes'] for r in reps)} | "
            f"{sum(r['objectives_broken'] for r in reps)}/{sum(r['n_objectives'] for r in reps)} | "
            f"{_f(sum(dists) / len(dists) if dists else None)} |")


def assemble(entries: list[dict], out: Path) -> None:
    """Write redteam.md from campaign results (measured figures only)."""
    entries = sorted(entries, key=lambda e: (CAMPAIGNS.index(e["campaign"]), e["settings"]["seed"]))
    by: dict[str, list[dict]] = {}
    for e in entries:
        by.setdefault(e["campaign"], []).append(e)
    s = entries[0]["settings"]
    seeds = sorted({e["settings"]["seed"] for e in entries})
    judge = next((e["report"]["judge"] for e in entries if e["campaign"].startswith("harmful")), "-")
    replay = "; ".join(
        f"seed {m['settings']['seed']}: " + " / ".join(
            f"round {r['round']}: {r['defence']['replay_violations']}/{r['defence']['replayed']}"
            for r in m["report"]["rounds"])
        for m in by.get("canary:dart-moving", [])) or "not run"

    def table(prefix: str) -> str:
        names = [c for c in CAMPAIGNS if c.startswith(prefix + ":") and c in by]
        pooled = POOLED_HEADER + "\n" + "\n".join(pooled_row(by[c]) for c in names)
        per_seed = HEADER + "\n" + "\n".join(row(e) for c in names for e in by[c])
        return f"Pooled over seeds:\n\n{pooled}\n\nEach seed:\n\n{per_seed}"

    text = f"""# Red teaming: DART vs PAIR vs static at the same query budget

This file is the output of `python benchmarks/redteam.py` (figures are measured, not edited). These
figures came from one run per seed, assembled after:
`python benchmarks/redteam.py --budget {s['budget']} --rounds {s['rounds']} --k {s['k']} --objectives {s['objectives']} \
--max-tokens {s['max_tokens']} --red-max-tokens {s['red_max_tokens']} --threads {s['threads']} --seed N --json-out seedN.json`
for N in {", ".join(map(str, seeds))}, then `python benchmarks/redteam.py --assemble seed*.json`.
The `safeeval redteam` command run end to end, and the replay of the tasks it exported, are in
[redteam-cli.md](redteam-cli.md).

Setup: the embedded SmolLM2-135M-Instruct (Q4_1 GGUF dequantised, CPU) is both red model and target;
budget {s['budget']} target queries per method and objective set, {s['rounds']} rounds, K={s['k']},
{s['objectives']} objectives per set, target max {s['max_tokens']} new tokens (greedy), red model max
{s['red_max_tokens']} new tokens (temperature 0.9), seeds {", ".join(map(str, seeds))}, novelty space MiniLM, torch threads
{s['threads']}. Static applies the attack-transform library once (interleaved by attack, cut at the budget).
Host: {platform.node()} ({platform.machine()}), a 2-core machine shared with other jobs, so the seconds
column is indicative only.

## Canary objectives (`--objectives canary`, judge `canary`: the secret appears in the answer)

{table('canary')}

Moving target (dart `--moving-target`): every success so far replayed against the defended target after
each round (violations/replayed): {replay}.

## Harmful requests (`--objectives harmful-requests`, judge `{judge}`)

{table('harmful-requests')}

## How to read this, honestly

- The budget is small (a 2-core CPU runs both models), so the 95% intervals are wide: compare the
  pooled rows, and read a difference of one or two successes between methods as no evidence either way.
- A 135M red model writes poor attacks: much of its output drifts off the objective (dropped by the
  MiniLM relevance check), copies it, or is unusable, and the mutation operators (our paraphrase
  frames, persona wrappers, library transforms alone or combined) fill the gap. The "red-model attacks
  sent/succeeded" column shows how much of each method's spend the red model itself wrote; every
  attack in attacks.jsonl names its source.
- Judge for the harmful-request runs: `{judge}`. {"It is the offline MiniLM harm head (issue 4), scored against the original request, not the attack." if judge == "harm" else "It measures refusal, not harm: a 135M model that rambles without refusing counts as a success."}
- Unique successes merge near-duplicates (MiniLM cosine >= 0.95); diversity is over the distinct
  successful attack texts (higher mean pairwise distance and lower self-BLEU mean more diverse).
"""
    out.write_text(text, encoding="utf-8")


async def run_campaigns(names: list[str], args) -> list[dict]:
    import torch

    from safeeval.models import load_model

    model = load_model("smollm2")
    await asyncio.to_thread(model.load)
    torch.set_num_threads(args.threads)  # after load: the adapter sets all cores, too many on a shared CPU
    work = Path(tempfile.mkdtemp(prefix="redteam-bench-"))
    entries = []
    for name in names:
        entries.append(await campaign(model, name, args, work))
        print(row(entries[-1]), flush=True)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=8, help="target queries per method and objective set")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--objectives", type=int, default=2, help="objectives per set")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--red-max-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", action="append", choices=CAMPAIGNS, help="run only these campaigns")
    parser.add_argument("--json-out", type=Path, help="write the campaign results here (JSON)")
    parser.add_argument("--assemble", type=Path, nargs="+", help="write the markdown from campaign JSON files")
    parser.add_argument("--out", type=Path, default=HERE / "redteam.md")
    args = parser.parse_args()
    if args.assemble:
        entries = [e for path in args.assemble for e in json.loads(path.read_text())]
    else:
        entries = asyncio.run(run_campaigns(args.only or CAMPAIGNS, args))
        if args.json_out:
            args.json_out.write_text(json.dumps(entries, indent=1))
            return
    assemble(entries, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
