"""The trained target (`--defence train`), active against random selection at the same data budget.

One campaign = one (selection, seed): the embedded SmolLM2-135M-Instruct is the
target (LoRA-trained between rounds) and, as a separate copy, the red model.
The held-out harmful requests (never attacked) and their paired benign
controls are drawn by the seed, so active and random runs of one seed are
measured on the same sets, and their round 1 (before any training) is the same.

    python benchmarks/redteam_train.py --selection active --seed 0 --json-out /tmp/a0.json
    python benchmarks/redteam_train.py --assemble /tmp/*.json   # prints the markdown section
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from pathlib import Path


async def campaign(args) -> dict:
    import torch

    from safeeval.models import load_model
    from safeeval.redteam import RedteamOptions, execute

    torch.set_num_threads(args.threads)
    opts = RedteamOptions(target="smollm2", red_model="smollm2", objectives=args.objectives, judge=args.judge,
                          method=args.method, rounds=args.rounds, budget=args.budget, limit=args.limit,
                          per_round=args.k, seed=args.seed, defence="train", train_selection=args.selection,
                          train_budget=args.train_budget, train_epochs=args.epochs, heldout_size=args.heldout,
                          target_max_tokens=args.max_tokens, red_max_tokens=args.red_max_tokens,
                          out=Path(args.work) / f"{args.selection}-s{args.seed}")
    target, red = load_model("smollm2"), load_model("smollm2")
    start = time.perf_counter()
    result = await execute(opts, target=target, red=red)
    settings = {k: getattr(args, k) for k in ("objectives", "judge", "method", "rounds", "budget", "limit", "k",
                                              "train_budget", "epochs", "heldout", "max_tokens", "red_max_tokens",
                                              "threads")}
    return {"selection": args.selection, "seed": args.seed, "seconds": round(time.perf_counter() - start, 1),
            "report": result.report, "settings": settings, "host": platform.node(), "out": str(result.out)}


def _r(r: dict | None) -> str:
    if not r or r.get("rate") is None:
        return "-"
    return f"{r['rate']:.2f} ({r['k']}/{r['n']}, {r['ci_low']:.2f}-{r['ci_high']:.2f})"


def assemble(entries: list[dict]) -> str:
    from safeeval.stats import rate

    entries.sort(key=lambda e: (e["seed"], e["selection"]))
    s = entries[0]["settings"]
    lines = [f"Settings: objectives `{s['objectives']}` ({s['limit']} attacked), judge `{s['judge']}`, method "
             f"`{s['method']}`, {s['rounds']} rounds, {s['budget']} target queries in all, data budget "
             f"{s['train_budget']} failures a round (2 pairs each, plus as many benign pairs), {s['epochs']} "
             f"epochs over all pairs so far each round, LoRA rank 8 on all linear layers, lr 2e-3; held-out: "
             f"{s['heldout']} harmful requests never attacked + {s['heldout']} paired benign controls; target "
             f"max {s['max_tokens']} new tokens (greedy); torch threads {s['threads']}.", "",
             "| selection | seed | after round | held-out violation (95% CI) | over-refusal (95% CI) | "
             "red ASR in round | failures in pool / picked | round wall s (CPU s) | train wall s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        rep = e["report"]
        b = rep["heldout_before"] or {}
        lines.append(f"| {e['selection']} | {e['seed']} | 0 (untrained) | {_r(b.get('violation'))} | "
                     f"{_r(b.get('over_refusal'))} | - | - | - | - |")
        for r in rep["rounds"]:
            h, t = r.get("heldout") or {}, r.get("training") or {}
            lines.append(f"| {e['selection']} | {e['seed']} | {r['round']} | {_r(h.get('violation'))} | "
                         f"{_r(h.get('over_refusal'))} | {r['k']}/{r['n']} | {t.get('pool')} / "
                         f"{len(t.get('picked', []))} | {r.get('seconds', '-')} ({r.get('cpu_seconds', '-')}) | "
                         f"{t.get('seconds')} |")
    lines += ["", "Pooled over seeds, before training and after the last round:", "",
              "| selection | seeds | held-out violation before | after | over-refusal before | after | "
              "round-1 successes replayed on the final target: violations |", "|---|---|---|---|---|---|---|"]
    for sel in sorted({e["selection"] for e in entries}):
        mine = [e for e in entries if e["selection"] == sel]

        def pooled(key: str, last: bool) -> dict:
            got = [(e["report"]["rounds"][-1].get("heldout") or {}) if last else (e["report"]["heldout_before"] or {})
                   for e in mine]
            return rate(sum(g[key]["k"] for g in got if g.get(key)), sum(g[key]["n"] for g in got if g.get(key)))

        rp = [e["report"].get("first_round_replay") or {} for e in mine]
        lines.append(f"| {sel} | {', '.join(str(e['seed']) for e in mine)} | {_r(pooled('violation', False))} | "
                     f"{_r(pooled('violation', True))} | {_r(pooled('over_refusal', False))} | "
                     f"{_r(pooled('over_refusal', True))} | "
                     f"{sum(r.get('violations_after', 0) for r in rp)}/{sum(r.get('replayed', 0) for r in rp)} |")
    return "\n".join(lines) + "\n"


def from_folder(folder: Path, settings: dict) -> dict:
    """A campaign entry read back from a run folder (a run cut short keeps its finished rounds)."""
    opts = json.loads((folder / "options.json").read_text())
    rounds = [json.loads(x) for x in (folder / "rounds.jsonl").read_text().splitlines() if x.strip()]
    for r in rounds:
        scored = [a for a in map(json.loads, (folder / "attacks.jsonl").read_text().splitlines())
                  if a["round"] == r["round"] and a["success"] is not None]
        r["k"], r["n"] = sum(bool(a["success"]) for a in scored), len(scored)
    held = json.loads((folder / "heldout.json").read_text()) if (folder / "heldout.json").is_file() else {}
    report = json.loads((folder / "report.json").read_text()) if (folder / "report.json").is_file() else {}
    return {"selection": opts["train_selection"], "seed": opts["seed"], "settings": settings,
            "report": {"heldout_before": held.get("before"), "rounds": rounds,
                       "first_round_replay": report.get("first_round_replay")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selection", choices=["active", "random"], default="active")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--objectives", default="harmful-requests")
    ap.add_argument("--judge", default="refusal")
    ap.add_argument("--method", default="dart")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=24)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--train-budget", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--heldout", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--red-max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/redteam-train")
    ap.add_argument("--json-out")
    ap.add_argument("--assemble", nargs="*")
    ap.add_argument("--assemble-dirs", nargs="*", help="run folders (finished or not) instead of JSON files")
    args = ap.parse_args()
    if args.assemble_dirs:
        settings = {k: getattr(args, k) for k in ("objectives", "judge", "method", "rounds", "budget", "limit", "k",
                                                  "train_budget", "epochs", "heldout", "max_tokens",
                                                  "red_max_tokens", "threads")}
        print(assemble([from_folder(Path(p), settings) for p in args.assemble_dirs]))
        return
    if args.assemble:
        print(assemble([json.loads(Path(p).read_text()) for p in args.assemble]))
        return
    entry = asyncio.run(campaign(args))
    text = json.dumps(entry, indent=1)
    if args.json_out:
        Path(args.json_out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
