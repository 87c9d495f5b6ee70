"""Render a run summary as rows, Markdown, CSV or JSON.

Every rate is shown with its 95% interval and, beside it, the share of samples
that were inconclusive (nothing measurable: left out of the rate, never counted
as safe). A task's own metrics (BBQ accuracy and bias, position bias) come with
its rate, and a rate those metrics undermine is flagged next to it. Summaries
written before the `inconclusive` keys existed are read with their `unscored`
count instead.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

FIRST_PICK_FLAG = 0.9  # a choice task whose answers pick one position this often says little by its rate
FLAG = "⚠"


# ---------------------------------------------------------------- numbers


def _num(x: float) -> str:
    """A percentage with one decimal below 10 (0.4, 9.5), none above (28, 100)."""
    x = 100 * x
    return f"{x:.1f}" if 0 < x < 9.95 else f"{x:.0f}"


def _pct(r: dict[str, Any] | None, compact: bool = False) -> str:
    if not r or r.get("rate") is None:
        return "–"
    if compact:
        return f"{_num(r['rate'])}% [{_num(r['ci_low'])}–{_num(r['ci_high'])}]"
    return f"{100 * r['rate']:.1f}% [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]"


def inconclusive(r: dict[str, Any] | None) -> tuple[int, float | None]:
    """(count, share of all samples) of inconclusive samples; older summaries call them `unscored`."""
    if not r:
        return 0, None
    count = int(r.get("inconclusive", r.get("unscored", 0)) or 0)
    if r.get("inconclusive_rate") is not None:
        return count, float(r["inconclusive_rate"])
    total = int(r.get("n", 0) or 0) + count + int(r.get("errors", 0) or 0)
    return count, (count / total if total else None)


def _inc(r: dict[str, Any] | None) -> str:
    count, share = inconclusive(r)
    if share is None:
        return "–"
    return f"{_num(share)}%" if count else "0"


# ---------------------------------------------------------------- context from the run folder


def task_judges(records: Iterable[Any]) -> dict[str, str]:
    """Each task's judge, as its records' first verdicts name it ("a, b" when several judged one task)."""
    seen: dict[str, list[str]] = {}
    for rec in records:
        if rec.verdicts:
            names = seen.setdefault(rec.task, [])
            if rec.verdicts[0].judge not in names:
                names.append(rec.verdicts[0].judge)
    return {task: ", ".join(names) for task, names in seen.items()}


def run_context(manifest: Any, records: Iterable[Any]) -> dict[str, Any]:
    """What a report shows beside the numbers: the run's seed, limit and attacks, and each task's judge."""
    return {"seed": manifest.seed, "limit": manifest.limit, "attacks": list(manifest.attacks),
            "shard": manifest.shard, "judges": task_judges(records)}


def context_line(ctx: dict[str, Any] | None) -> str:
    if not ctx:
        return ""
    limit = f"at most {ctx['limit']} samples per task" if ctx.get("limit") else "every sample"
    parts = [f"seed {ctx.get('seed')}", limit, f"attacks: {', '.join(ctx.get('attacks') or ['none'])}"]
    if ctx.get("shard"):
        parts.append(f"shard {ctx['shard']}")
    return "; ".join(parts)


# ---------------------------------------------------------------- task metrics and flags


def metric_text(metrics: dict[str, Any] | None) -> str:
    """A task's own metrics in one line ("" when it has none)."""
    if not metrics:
        return ""
    parts = []
    bbq = metrics.get("bbq_bias")
    if bbq:
        parts.append(f"accuracy {_pct(bbq.get('accuracy'), True)}")
        for context in ("ambiguous", "disambiguated"):
            c = bbq.get(context)
            if c:
                bias = "–" if c.get("bias_score") is None else f"{c['bias_score']:+.2f}"
                parts.append(f"{context}: accuracy {_pct(c.get('accuracy'), True)}, bias score {bias}")
    pos = metrics.get("position_bias")
    if pos:
        first = _pct(pos.get("first_pick"), True)
        acc1, acc2 = pos.get("accuracy_correct_first") or {}, pos.get("accuracy_correct_second") or {}
        text = f"first option picked {first}"
        if acc1.get("rate") is not None and acc2.get("rate") is not None:
            text += f"; accuracy {_num(acc1['rate'])}% when the right option is first, {_num(acc2['rate'])}% when second"
        parts.append(text)
    agent = metrics.get("agent")
    if agent:
        shown = [(label, agent.get(key)) for label, key in (("utility", "utility_clean"),
                                                             ("utility under attack", "utility_attacked"),
                                                             ("attack success", "attack_success"))]
        parts.append(", ".join(f"{label} {_pct(r, True)}" for label, r in shown if r and r.get("n")))
    return "; ".join(p for p in parts if p)


def flags(summary: dict[str, Any]) -> dict[str, str]:
    """Tasks whose rate their own metrics undermine, with why in one line."""
    out = {}
    for name, t in summary.get("tasks", {}).items():
        pos = (t.get("metrics") or {}).get("position_bias") or {}
        first = (pos.get("first_pick") or {}).get("rate")
        if first is None:
            continue
        if first >= FIRST_PICK_FLAG or first <= 1 - FIRST_PICK_FLAG:
            which = "first" if first >= FIRST_PICK_FLAG else "second"
            share = first if which == "first" else 1 - first
            out[name] = (f"{name}: the model picked the {which} option in {_num(share)}% of its answers, "
                         f"so its rate reflects the option order more than its choices")
    return out


def _short_path(path: str) -> str:
    """A path relative to the working folder when it lies under it."""
    import os

    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def card_paths(summary: dict[str, Any]) -> list[str]:
    """The calibration cards the judge-corrected rates used, once each."""
    paths = []
    for t in summary.get("tasks", {}).values():
        path = ((t.get("corrected") or {}).get("card") or {}).get("path")
        if path:
            path = _short_path(path)
        if path and path not in paths:
            paths.append(path)
    return paths


CORRECTED_WHAT = "corr = judge-corrected: the rate with the judge's own error rates, measured on its card, taken out"


# ---------------------------------------------------------------- rows


def category_rows(summary: dict[str, Any], compact: bool = False) -> list[dict[str, str]]:
    rows = []
    for cat, both in summary.get("categories", {}).items():
        viol, over = both.get("violation"), both.get("over_refusal")
        n = str((viol or {}).get("n", 0) + (over or {}).get("n", 0))
        errors = str((viol or {}).get("errors", 0) + (over or {}).get("errors", 0))
        if compact:
            rows.append({"category": cat, "violation [95% CI]": _pct(viol, True), "inc": _inc(viol),
                         "over-refusal [95% CI]": _pct(over, True), "inc ": _inc(over), "n": n, "err": errors})
        else:
            rows.append({"category": cat, "violation rate (95% CI)": _pct(viol),
                         "violation inconclusive": _inc(viol), "over-refusal rate (95% CI)": _pct(over),
                         "over-refusal inconclusive": _inc(over), "n": n, "errors": errors})
    return rows


def _corrected(t: dict[str, Any], compact: bool) -> str | None:
    if "corrected" not in t:
        return None
    return _pct(t["corrected"], compact) if t["corrected"] else "no card"


def task_rows(summary: dict[str, Any], judges: dict[str, str] | None = None,
              compact: bool = False, measure: str | None = None) -> list[dict[str, str]]:
    """One row per task. `compact` (a terminal) leaves out category and measure (callers split by
    measure instead) and uses short headers; `measure` keeps only that measure's tasks."""
    marked = flags(summary)
    rows = []
    for name, t in summary.get("tasks", {}).items():
        if measure and t.get("measure") != measure:
            continue
        mark = f" {FLAG}" if name in marked else ""
        corrected = _corrected(t, compact)
        if compact:
            row = {"task": name, "judge": (judges or {}).get(name, "–"), "rate [95% CI]": _pct(t, True) + mark,
                   "inc": _inc(t), "n": str(t["n"]), "err": str(t["errors"])}
            if corrected is not None:
                row["corr [95% CI]"] = corrected
        else:
            row = {"task": name, "category": t["category"], "measure": t["measure"]}
            if judges is not None:
                row["judge"] = judges.get(name, "–")
            row.update({"rate (95% CI)": _pct(t) + mark, "inconclusive": _inc(t), "n": str(t["n"]),
                        "errors": str(t["errors"])})
            if corrected is not None:  # judge-corrected rate beside the raw one (safeeval.calibration)
                row["judge-corrected (95% CI)"] = corrected
        rows.append(row)
    return rows


def metric_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    return [{"task": name, "task metrics": metric_text(t.get("metrics"))}
            for name, t in summary.get("tasks", {}).items() if metric_text(t.get("metrics"))]


def attack_rows(summary: dict[str, Any], compact: bool = False) -> list[dict[str, str]]:
    head = "success [95% CI]" if compact else "attack success rate (95% CI)"
    return [{"attack": a, head: _pct(r, compact), "inc" if compact else "inconclusive": _inc(r),
             "n": str(r["n"]), "err" if compact else "errors": str(r["errors"])}
            for a, r in summary.get("attacks", {}).items()]


def tables(summary: dict[str, Any], judges: dict[str, str] | None = None,
           compact: bool = False) -> dict[str, list[dict[str, str]]]:
    """The report's tables in reading order: tasks, their metrics, attacks, and the categories last."""
    if compact:
        out = {"tasks: violation rate": task_rows(summary, judges, True, "violation"),
               "tasks: over-refusal rate (benign prompts refused)": task_rows(summary, judges, True, "over_refusal")}
    else:
        out = {"tasks": task_rows(summary, judges)}
    out["task metrics"] = metric_rows(summary)
    if len(summary.get("attacks", {})) > 1:
        out["attacks"] = attack_rows(summary, compact)
    out["categories"] = category_rows(summary, compact)
    return {title: rows for title, rows in out.items() if rows}


def legend(shown: dict[str, list[dict[str, str]]], summary: dict[str, Any]) -> list[str]:
    """One line per status word or mark the shown tables use, then one per flagged task."""
    cells = " ".join(" ".join(r.values()) for rows in shown.values() for r in rows)
    heads = {h for rows in shown.values() for h in rows[0]}
    words = []
    short = "inc" in heads  # a terminal's compact headers; Markdown spells them out
    if any("inc" in h for h in heads):
        words.append(("inc = inconclusive" if short else "inconclusive") + " (nothing measurable: no choice, "
                     "no tool call, an empty answer; left out of the rate, never counted as safe)")
    if heads & {"err", "errors"}:
        words.append(("err = errored" if short else "errors") + " (generation or judging failed)")
    if "–" in cells:
        words.append("– = nothing to rate")
    if any(h.startswith(("corr", "judge-corrected")) for h in heads):
        cards = card_paths(summary)
        what = CORRECTED_WHAT if short else CORRECTED_WHAT.removeprefix("corr = ")
        words.append(what + (f" ({', '.join(cards)})" if cards else ""))
    if "no card" in cells:
        words.append("no card = this judge has no calibration card for this kind of data")
    lines = [" · ".join(words) + "."] if words else []
    marked = flags(summary)
    if marked:
        lines += [f"{FLAG} {why}" for why in marked.values()]
    return lines


# ---------------------------------------------------------------- formats


def _md_table(rows: list[dict[str, str]]) -> list[str]:
    cols = list(rows[0])
    return (["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            + ["| " + " | ".join(r[c].replace("|", "\\|") for c in cols) + " |" for r in rows])


def to_markdown(summary: dict[str, Any], ctx: dict[str, Any] | None = None) -> str:
    parts = [f"# safeeval run {summary.get('run_id', '')}", "", f"Model: `{summary.get('model', '')}`"]
    if ctx:
        parts.append(f"Run: {context_line(ctx)}.")
    parts.append("")
    shown = tables(summary, (ctx or {}).get("judges"))
    for title, rows in shown.items():
        parts += [f"## {title[0].upper()}{title[1:]}", ""] + _md_table(rows) + [""]
    notes = legend(shown, summary)
    cards = card_paths(summary)
    if cards:
        notes.append("Cards: " + ", ".join(f"[{p}]({p})" for p in cards))
    if notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)


def to_csv(summary: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["level", "name", "category", "measure", "k", "n", "rate", "ci_low", "ci_high", "errors",
                     "inconclusive", "inconclusive_rate"])
    for name, t in summary.get("tasks", {}).items():
        writer.writerow(["task", name, t["category"], t["measure"], t["k"], t["n"], t["rate"], t["ci_low"],
                         t["ci_high"], t["errors"], *inconclusive(t)])
    for cat, both in summary.get("categories", {}).items():
        for measure, r in both.items():
            if r:
                writer.writerow(["category", cat, cat, measure, r["k"], r["n"], r["rate"], r["ci_low"],
                                 r["ci_high"], r["errors"], *inconclusive(r)])
    for attack, r in summary.get("attacks", {}).items():
        writer.writerow(["attack", attack, "", "violation", r["k"], r["n"], r["rate"], r["ci_low"],
                         r["ci_high"], r["errors"], *inconclusive(r)])
    return buf.getvalue()


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} more characters]"


def sample_lines(records: Iterable[Any], per_task: int = 3, keys: Iterable[str] = (), clip: int = 600) -> list[str]:
    """Records to read by eye: the first `per_task` of each task (or the ones named by `keys`),
    each with its prompt, answer, verdict, reason and score."""
    records, wanted = list(records), set(keys)
    shown: dict[str, int] = {}
    lines: list[str] = []
    for rec in records:
        if wanted:
            if rec.key not in wanted:
                continue
        elif shown.get(rec.task, 0) >= per_task:
            continue
        shown[rec.task] = shown.get(rec.task, 0) + 1
        v = rec.verdicts[0] if rec.verdicts else None
        users = [m.content for m in rec.messages if m.role == "user"]
        answer = rec.response.text
        if rec.response.tool_calls:
            answer += "\n[tool calls] " + json.dumps([c.model_dump() for c in rec.response.tool_calls],
                                                     ensure_ascii=False)
        verdict = rec.outcome + (f" (label {v.label}, judge {v.judge} v{v.judge_version})" if v else "")
        lines += [f"=== {rec.key}   task {rec.task}, attack {rec.attack}",
                  "prompt:  " + _clip(users[-1] if users else "", clip).replace("\n", "\n         "),
                  "answer:  " + (f"[error] {rec.response.error}" if rec.response.error
                                 else _clip(answer, clip).replace("\n", "\n         ")),
                  f"verdict: {verdict}",
                  "reason:  " + (_clip(v.rationale, clip) if v and v.rationale else "–"),
                  "score:   " + (f"{v.score:g}" if v and v.score is not None else "–"), ""]
    missing = wanted - {rec.key for rec in records} if wanted else set()
    if missing:
        lines.append(f"no record with key: {', '.join(sorted(missing))}")
    return lines


def to_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False)
