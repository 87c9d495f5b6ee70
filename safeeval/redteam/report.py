"""The red-team report, from `attacks.jsonl` and `rounds.jsonl` alone: report.json and report.md.

It gives ASR per round (95% Wilson intervals), cumulative unique successes,
the diversity of the successful attacks (mean pairwise distance in the run's
similarity space, and self-BLEU), queries to the first success per
objective, and which source (red model or mutation operator) produced what.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safeeval.storage import write_json_atomic
from safeeval.redteam.novelty import Space, cluster, mean_pairwise_distance, self_bleu
from safeeval.redteam.objectives import Objective
from safeeval.redteam.selector import BetaSelector
from safeeval.redteam.types import AttackRecord, RedteamOptions, RoundRecord
from safeeval.stats import rate
from safeeval.tasks.loader import read_jsonl


def read_run(out: Path) -> tuple[list[AttackRecord], list[RoundRecord]]:
    """The attack and round records of a red-team run folder."""
    attacks = [AttackRecord.model_validate(row) for _, row in read_jsonl(out / "attacks.jsonl")]
    rounds = [RoundRecord.model_validate(row) for _, row in read_jsonl(out / "rounds.jsonl")]
    return attacks, rounds


def _source_group(source: str) -> str:
    # "mutation:library:x" and "mutation:combine:a+b" are grouped by operator family.
    parts = source.split(":")
    return ":".join(parts[:2]) if parts[0] == "mutation" else source


def diversity(texts: list[str], space: Space) -> dict[str, Any]:
    """Mean pairwise distance (1 - cosine in `space`) and self-BLEU of a set of attacks."""
    mpd = mean_pairwise_distance(space.encode(texts)) if len(texts) > 1 else None
    sb = self_bleu(texts)
    return {"n": len(texts), "space": space.name,
            "mean_pairwise_distance": None if mpd is None else round(mpd, 4),
            "self_bleu": None if sb is None else round(sb, 4)}


def build_report(attacks: list[AttackRecord], rounds: list[RoundRecord], space: Space,
                 objectives: list[Objective], options: RedteamOptions, selector: BetaSelector | None = None,
                 red_calls: int = 0, heldout_before: dict[str, Any] | None = None,
                 first_replay: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report as a dict (what report.json holds)."""
    scored = [a for a in attacks if a.success is not None]
    wins = [a for a in attacks if a.success]
    win_texts = list(dict.fromkeys(a.attack for a in wins))
    unique = len(set(cluster(space.encode(win_texts), space.dup_threshold))) if win_texts else 0
    first: dict[str, int | None] = {}
    for o in objectives:
        mine = [a for a in attacks if a.objective_id == o.id]
        first[o.id] = next((i + 1 for i, a in enumerate(mine) if a.success), None)
    sources: dict[str, dict[str, int]] = {}
    for a in attacks:
        entry = sources.setdefault(_source_group(a.source), {"sent": 0, "successes": 0})
        entry["sent"] += 1
        entry["successes"] += int(bool(a.success))
    per_round = []
    for r in rounds:
        mine = [a for a in attacks if a.round == r.round and a.success is not None]
        row = {"round": r.round, "queries": r.queries, **rate(sum(bool(a.success) for a in mine), len(mine)),
               "cumulative_unique_successes": r.cumulative_unique_successes,
               "rejected": r.rejected, "sources": r.sources}
        if r.defence:
            row["defence"] = r.defence
        if r.training:
            row["training"] = r.training
        if r.heldout:
            row["heldout"] = r.heldout
        round_wins = list(dict.fromkeys(a.attack for a in mine if a.success))
        row["diversity_of_successes"] = diversity(round_wins, space)
        per_round.append(row)
    return {
        "method": options.method, "target": options.target, "red_model": options.red_model,
        "judge": attacks[0].verdict.judge if attacks else options.judge, "objectives": options.objectives,
        "n_objectives": len(objectives), "diversity_space": space.name, "seed": options.seed,
        "defence": options.defence, "moving_target": options.moving_target,
        "train_selection": options.train_selection if options.defence == "train" else None,
        "train_budget": options.train_budget if options.defence == "train" else None,
        "heldout_before": heldout_before or None, "first_round_replay": first_replay,
        "queries": len(attacks), "red_calls": red_calls,
        "asr": rate(len(wins), len(scored)), "successes": len(wins),
        "distinct_successful_attacks": len(win_texts), "unique_successes": unique,
        "diversity_of_successes": diversity(win_texts, space),
        "diversity_of_all_attacks": diversity(list(dict.fromkeys(a.attack for a in attacks)), space),
        "queries_to_first_success": first, "objectives_broken": sum(v is not None for v in first.values()),
        "sources": dict(sorted(sources.items())), "rounds": per_round,
        "posterior": selector.posterior() if selector else {},
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def to_markdown(rep: dict[str, Any]) -> str:
    """A readable report.md."""
    asr = rep["asr"]
    div = rep["diversity_of_successes"]
    lines = [
        f"# Red-team report: {rep['method']} against {rep['target']}",
        "",
        f"red model `{rep['red_model']}`, judge `{rep['judge']}`, objectives `{rep['objectives']}` "
        f"({rep['n_objectives']}), seed {rep['seed']}, defence: {rep.get('defence', 'none')}"
        + (f" ({rep['train_selection']} selection, {rep['train_budget']} failures a round)"
           if rep.get("train_selection") else ""),
        "",
        f"- target queries: {rep['queries']} (red-model calls: {rep['red_calls']})",
        f"- ASR: {_fmt(asr['rate'])} ({asr['k']}/{asr['n']}, 95% CI {asr['ci_low']:.3f}-{asr['ci_high']:.3f})",
        f"- unique successful attacks: {rep['unique_successes']} (distinct texts: {rep['distinct_successful_attacks']})",
        f"- diversity of successes ({div['space']}): mean pairwise distance {_fmt(div['mean_pairwise_distance'])}, "
        f"self-BLEU {_fmt(div['self_bleu'])}",
        f"- objectives broken: {rep['objectives_broken']} of {rep['n_objectives']}",
        "",
        "| round | queries | successes | ASR | 95% CI | cumulative unique | defended replay violations |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rep["rounds"]:
        d = r.get("defence")
        replay = f"{d['replay_violations']}/{d['replayed']}" if d else "-"
        lines.append(f"| {r['round']} | {r['queries']} | {r['k']} | {_fmt(r['rate'])} | "
                     f"{r['ci_low']:.3f}-{r['ci_high']:.3f} | {r['cumulative_unique_successes']} | {replay} |")
    lines += heldout_table(rep)
    lines += ["", "| objective | queries to first success |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in rep["queries_to_first_success"].items()]
    lines += ["", "| source | sent | successes |", "|---|---|---|"]
    lines += [f"| {k} | {v['sent']} | {v['successes']} |" for k, v in rep["sources"].items()]
    return "\n".join(lines) + "\n"


def _rate(r: dict[str, Any] | None) -> str:
    if not r or r.get("rate") is None:
        return "-"
    return f"{r['rate']:.3f} ({r['k']}/{r['n']}, {r['ci_low']:.3f}-{r['ci_high']:.3f})"


def heldout_table(rep: dict[str, Any]) -> list[str]:
    """The trained target round by round: held-out violation, over-refusal, red success and diversity."""
    if not rep.get("heldout_before") and not any(r.get("heldout") for r in rep["rounds"]):
        return []
    before = rep.get("heldout_before") or {}
    lines = ["", "Target after each round (held-out harmful requests never attacked; paired benign controls):", "",
             "| after round | held-out violation rate (95% CI) | over-refusal rate (95% CI) | red ASR this round | "
             "diversity of this round's successes | pairs trained | train seconds |",
             "|---|---|---|---|---|---|---|",
             f"| 0 (untrained) | {_rate(before.get('violation'))} | {_rate(before.get('over_refusal'))} | - | - | 0 | - |"]
    for r in rep["rounds"]:
        h, t = r.get("heldout") or {}, r.get("training") or {}
        div = (r.get("diversity_of_successes") or {}).get("mean_pairwise_distance")
        lines.append(f"| {r['round']} | {_rate(h.get('violation'))} | {_rate(h.get('over_refusal'))} | "
                     f"{_fmt(r['rate'])} | {_fmt(div)} | {t.get('pairs_trained', '-')} | {t.get('seconds', '-')} |")
    replay = rep.get("first_round_replay")
    if replay:
        lines += ["", f"Round {replay['round']}'s {replay['replayed']} successes replayed against the final target: "
                      f"{replay['violations_after']} violations (all {replay['violations_before']} were violations "
                      "when found)."]
    return lines


def heldout_plot(rep: dict[str, Any]) -> str | None:
    """The site's violation-vs-over-refusal scatter, one point per round of the trained target."""
    from safeeval.leaderboard.aggregate import Entry
    from safeeval.leaderboard.plots import scatter_plot

    points = [("round 0 (untrained)", rep.get("heldout_before") or {})]
    points += [(f"after round {r['round']}", r.get("heldout") or {}) for r in rep["rounds"]]
    entries = [Entry(run_id=name, slug=f"r{i}", model=name, path="", categories={}, violation=h["violation"],
                     over_refusal=h.get("over_refusal"), balanced=None, records=0, errors=0, unscored=0, judges=[],
                     task_versions={}, attacks=[])
               for i, (name, h) in enumerate(points) if h.get("violation")]
    return scatter_plot(entries) if entries else None


def write_report(out: Path, space: Space, objectives: list[Objective], options: RedteamOptions,
                 selector: BetaSelector | None = None, red_calls: int = 0,
                 first_replay: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the run folder back and write report.json, report.md (and heldout.svg for a trained target)."""
    from safeeval.redteam.learner import read_heldout

    attacks, rounds = read_run(out)
    rep = build_report(attacks, rounds, space, objectives, options, selector, red_calls,
                       read_heldout(out).get("before"), first_replay)
    write_json_atomic(out / "report.json", rep)
    svg = heldout_plot(rep)
    if svg:
        (out / "heldout.svg").write_text(svg, encoding="utf-8")
    (out / "report.md").write_text(to_markdown(rep), encoding="utf-8")
    return rep
