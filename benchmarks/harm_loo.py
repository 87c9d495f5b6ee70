"""Leave-one-source-out transfer of the fine-tuned harm judge, against the refusal proxy and a keyword list.

    nice -n 10 python benchmarks/harm_loo.py [--data ../shared/data] [--out /tmp/b-runs/loo] [--folds gptfuzz,jbb,xstest]

For each labelled source (GPTFuzz, JBB judge-comparison, XSTest completions)
the judge is trained on every other source plus the always-train-only ones
(JBB attack artifacts: weak labels from a 70B judge; judges/harm/synthetic.jsonl:
our own examples of the error modes) and tested on the one left out. With
JBB left out, the JBB artifacts are left out too: they share JBB's 100 goals.
Anchors are scored on the same held-out rows. One JSON per fold in --out;
the table is printed and read into benchmarks/judges.md by benchmarks/judges.py. Each fold's
weights are kept beside its JSON (<fold>-weights.npz and .json), so a fold model can be shipped as it was measured.
Not part of `make test` (CPU training: minutes per fold).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from anchors import keyword_jailbroken, refusal_proxy  # noqa: E402

from safeeval.judging.finetune import cached_states, predict_states, stderr_log  # noqa: E402
from safeeval.judging.labels import LabelledSet, read_labels  # noqa: E402
from safeeval.judging.metrics import binary_metrics  # noqa: E402
from safeeval.judging.train import train_classifier, training_rows  # noqa: E402

# Seeded caps on training rows per set (CPU time); held-out rows are all scored.
CAPS = {"gptfuzz": 600, "xstest": 250}
GPTFUZZ_TEST_ROWS = 600  # of evaluate.csv's 1,540, a seeded sample (CPU time on a shared machine)
SYNTHETIC = REPO / "judges" / "harm" / "synthetic.jsonl"


def train_sets(data: Path) -> dict[str, list[LabelledSet]]:
    x = data / "xstest"
    art = sorted((data / "jailbreakbench" / "attack-artifacts").rglob("*.json"))
    return {
        "gptfuzz": [read_labels(data / "gptfuzz" / "train.csv", "gptfuzz")],
        "jbb": [read_labels(data / "jailbreakbench" / "judge-comparison.csv", "jbb")],
        "xstest": [read_labels(x / f"xstest_v2_completions_{m}_streval.csv", "xstest")
                   for m in ("gpt4", "llama2new", "mistralinstruct")],
        "jbb-artifacts": [read_labels(p, "jbb-artifacts") for p in art],
        "synthetic": [read_labels(SYNTHETIC, "jsonl")] if SYNTHETIC.exists() else [],
    }


def capped(s: LabelledSet, seed: int) -> LabelledSet:
    """A seeded sample of a set's rows, at most its source's cap (the same sample in every fold)."""
    rows = training_rows(s, int(s.sha256[:8], 16), seed, CAPS.get(s.format))
    return s.model_copy(update={"items": rows})


def test_set(data: Path, source: str, sets: dict[str, list[LabelledSet]]) -> LabelledSet:
    if source == "gptfuzz":  # other answers than train.csv (same 100 questions: GPTFuzz's own held-out file)
        full = read_labels(data / "gptfuzz" / "evaluate.csv", "gptfuzz")
        return full.model_copy(update={"items": training_rows(full, 1, 0, GPTFUZZ_TEST_ROWS)})  # seeded sample
    parts = sets[source]
    return LabelledSet(name=source, format=parts[0].format, path="", sha256="",
                       items=[i for s in parts for i in s.items])


def metrics(pred, gold) -> dict:
    m = binary_metrics(list(pred), list(gold), resamples=1000)
    return {k: m[k].model_dump() for k in ("agreement", "f1", "kappa", "fpr", "fnr")}


def run_fold(data: Path, left_out: str, sets: dict[str, list[LabelledSet]], args) -> dict:
    excluded = {left_out} | ({"jbb-artifacts"} if left_out == "jbb" else set())
    train = [capped(s, args.seed) for name, group in sets.items() if name not in excluded for s in group]
    started = time.monotonic()
    weights = args.out / f"{left_out}-weights.npz" if args.out else None
    clf, report = train_classifier(train, weights, "harm", seed=args.seed, epochs=args.epochs,
                                   lr=args.lr, source_weight={"jsonl": 0.5}, log=stderr_log)
    train_s = time.monotonic() - started
    test = test_set(data, left_out, sets)
    items = [i for i in test.items if "harm" in i.targets]
    gold = [i.targets["harm"] for i in items]
    started = time.monotonic()
    states = cached_states(clf, [i.request for i in items], [i.response for i in items],
                           progress=lambda d, t: stderr_log(f"test states {d}/{t}"))
    probs = predict_states(clf, states)
    test_s = time.monotonic() - started
    pred = [bool(p >= clf.threshold) for p in probs]
    result = {
        "left_out": left_out, "test_rows": len(items), "positives": sum(gold),
        "trained_on": [t.model_dump() for t in report.sets], "train_seconds": round(train_s, 1),
        "test_seconds": round(test_s, 1), "losses": report.losses,
        "harm-minilm": metrics(pred, gold),
        "refusal proxy": metrics([refusal_proxy(i.response) for i in items], gold),
        "keyword list": metrics([keyword_jailbroken(i.response) for i in items], gold),
        "probs": [round(float(p), 4) for p in probs], "ids": [i.id for i in items],
    }
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{left_out}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path("/tmp/b-runs/loo"))
    ap.add_argument("--folds", default="jbb,gptfuzz,xstest")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sets = train_sets(args.data)
    rows = []
    for fold in args.folds.split(","):
        r = run_fold(args.data, fold, sets, args)
        for judge in ("harm-minilm", "refusal proxy", "keyword list"):
            m = r[judge]
            rows.append(f"{fold:8s} {judge:14s} n={r['test_rows']:5d} agreement {100 * m['agreement']['value']:.1f} "
                        f"kappa {m['kappa']['value']:.2f}")
        print("\n".join(rows[-3:]), flush=True)


if __name__ == "__main__":
    main()
