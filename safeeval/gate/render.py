"""The gate's outputs: a Markdown PR comment, JUnit XML and JSON.

Sample keys come from task data and are shown inside code spans with
backticks removed, so a crafted id cannot inject links or images into a PR
comment. No model text is copied into these outputs.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from safeeval.gate.decide import GateResult, GroupCheck

MAX_LISTED = 50  # flipped or missing samples named before "... and N more"

_ICON = {"pass": "✅", "regression": "❌", "underpowered": "⚠️", "no data": "➖"}


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("\n", " ").replace("|", "\\|") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _opt(x: float | None) -> str:
    return "–" if x is None else _pct(x)


def _listing(title: str, keys: list[str]) -> list[str]:
    if not keys:
        return []
    lines = [f"**{title}** ({len(keys)}):", ""]
    lines += [f"- {_code(k)}" for k in keys[:MAX_LISTED]]
    if len(keys) > MAX_LISTED:
        lines.append(f"- ... and {len(keys) - MAX_LISTED} more")
    return lines + [""]


def headline(result: GateResult) -> str:
    """The verdict in one line: what a CI log or a PR comment title shows."""
    if result.status == "pass" and result.all_underpowered:
        return "⚠️ safety gate passed only because --allow-underpowered was given: no group had enough samples"
    return {"pass": "✅ safety gate passed", "fail": "❌ safety gate failed",
            "incomparable": "⛔ safety gate: runs cannot be compared",
            "underpowered": "⚠️ safety gate inconclusive: no group had enough samples to show non-inferiority "
                            "(exit 3; --allow-underpowered to accept)"}[result.status]


def _inc(g: GroupCheck) -> str:
    if not g.total:
        return "-"
    return f"{_pct(g.baseline_inconclusive / g.total)} → {_pct(g.candidate_inconclusive / g.total)}"


def _read_hint(result: GateResult, keys: list[str]) -> list[str]:
    if not keys or not result.candidate_path:
        return []
    return [f"Read a listed sample's prompt, answer and verdict: `safeeval report {result.candidate_path} "
            f"--key KEY` (the baseline's: `safeeval report {result.baseline_path} --key KEY`).", ""]


def _flips(result: GateResult) -> list[str]:
    lines = []
    for measure, worse, better in (("violation", "Flipped safe → unsafe", "Flipped unsafe → safe"),
                                   ("over_refusal", "Newly over-refused (a benign prompt now refused)",
                                    "No longer over-refused (a benign prompt now answered)")):
        lines += _listing(worse, [f.key for f in result.flips_to_unsafe if f.measure == measure])
        lines += _listing(better, [f.key for f in result.flips_to_safe if f.measure == measure])
    return lines


def to_markdown(result: GateResult) -> str:
    """A PR-comment-ready summary naming the samples that flipped from safe to unsafe."""
    head = headline(result)
    lines = [f"## {head}", "",
             f"Candidate {_code(result.candidate)} ({_code(result.candidate_model)}) vs baseline "
             f"{_code(result.baseline)} ({_code(result.baseline_model)}); non-inferiority margin "
             f"{_pct(result.margin)}, alpha {result.alpha:g}, {result.shared} shared samples.", ""]
    if result.incomparable:
        lines += ["Why the runs cannot be compared:", ""] + [f"- {_cell(r)}" for r in result.incomparable] + [""]
        return printable("\n".join(lines))
    if result.reasons:
        lines += ["Why it failed:", ""] + [f"- {_cell(r)}" for r in result.reasons] + [""]
    if result.groups:
        lines += ["| | level | group | baseline | candidate | inconclusive | diff | upper bound | worse | better "
                  "| McNemar p |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for g in result.groups:
            s = g.stats
            name = g.name + (" (over-refusal)" if g.measure == "over_refusal" else "")
            base = f"{s.baseline_k}/{s.n} ({_pct(s.baseline_k / s.n)})" if s.n else "-"
            cand = f"{s.candidate_k}/{s.n} ({_pct(s.candidate_k / s.n)})" if s.n else "-"
            lines.append(f"| {_ICON[g.decision]} | {g.level} | {_cell(name)} | {base} | {cand} | {_inc(g)} | "
                         f"{100 * s.diff:+.1f} pp | {100 * s.upper:+.1f} pp | {s.worse} | {s.better} | "
                         f"{s.p_two_sided:.3g} |")
        lines += ["", "Rates are over the samples both runs scored; *inconclusive* is the share of the group's "
                  "samples with nothing measured (baseline → candidate), left out of the pairs. *worse*: safe → "
                  "unsafe (for over-refusal: a benign prompt newly refused); *better*: the reverse.", ""]
        if any(g.decision == "underpowered" for g in result.groups):
            lines += ["⚠️ underpowered: too few shared samples to show non-inferiority within the margin; "
                      "these groups fail only on a significant worsening. Add samples or widen `--margin`.", ""]
    if result.scores:
        lines += ["Task scores beside the rates (utility: the task done; attack success: an injection worked):", "",
                  "| task | score | baseline | candidate |", "|---|---|---|---|"]
        lines += [f"| {_cell(t.task)} | {_cell(t.score)} | {_opt(t.baseline)} | {_opt(t.candidate)} |"
                  for t in result.scores]
        lines.append("")
    if result.policy:
        lines += ["Policy:", ""] + [f"- {'✅' if p.passed else '❌'} {_cell(p.message)}" for p in result.policy]
        lines.append("")
    lines += _flips(result)
    lines += _listing("Missing from the candidate", result.missing)
    lines += _listing("Errored or inconclusive in the candidate", result.unscored)
    lines += _read_hint(result, [f.key for f in result.flips_to_unsafe + result.flips_to_safe] + result.unscored)
    if result.baseline_unscored:
        lines += [f"{result.baseline_unscored} samples errored or were unscored in the baseline and are not "
                  "compared.", ""]
    return printable("\n".join(lines))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    """`text` with control characters (invalid in XML, invisible in Markdown) written as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def to_junit(result: GateResult) -> str:
    """JUnit XML: one test case per group, policy rule and completeness check."""
    suite = ET.Element("testsuite", name="safeeval-gate")
    cases = 0
    failures = 0

    def case(classname: str, name: str, failure: str | None = None, skipped: str | None = None) -> None:
        nonlocal cases, failures
        el = ET.SubElement(suite, "testcase", classname=classname, name=name)
        cases += 1
        if failure is not None:
            failures += 1
            ET.SubElement(el, "failure", message=failure.splitlines()[0][:500]).text = failure
        elif skipped is not None:
            ET.SubElement(el, "skipped", message=skipped[:500])

    if result.incomparable:
        case("safeeval.gate", "comparable", failure="\n".join(result.incomparable))
    if result.status == "underpowered":
        case("safeeval.gate", "powered", failure=headline(result))
    for g in result.groups:
        name = f"{g.level}:{g.name}" + (":over-refusal" if g.measure == "over_refusal" else "")
        case("safeeval.gate.noninferiority", name,
             failure=g.message if g.failed else None,
             skipped=g.message if g.decision in ("underpowered", "no data") else None)
    for p in result.policy:
        case("safeeval.gate.policy", f"{p.rule}:{p.subject}", failure=None if p.passed else p.message)
    if not result.incomparable:
        lacking = result.missing + result.unscored
        msg = (f"candidate lacks {len(result.missing)} and failed to score {len(result.unscored)} samples: "
               + ", ".join(lacking[:MAX_LISTED]))
        case("safeeval.gate", "samples-complete",
             failure=msg if lacking and not result.allow_missing else None,
             skipped=msg if lacking and result.allow_missing else None)
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + printable(ET.tostring(suite, encoding="unicode")) + "\n"


def to_json(result: GateResult) -> str:
    return json.dumps({**result.model_dump(mode="json"), "exit_code": result.exit_code}, indent=2,
                      ensure_ascii=False)

