"""Held-out agreement of the toxicity judge on the OpenAI moderation samples (hate, harassment labels).

    nice -n 10 python benchmarks/toxicity_cv.py [--data ../shared/data] [--folds 5] [--n-top 0]

The labelled rows (1,450 of 1,680: those with a hate, harassment or
hate/threatening label) are split into seeded folds; each fold is scored by
a judge trained on the other folds only (its threshold chosen by CV inside
those folds), so every figure is left out. No setting is tuned on these figures: the shipped judge uses the defaults here
and is then trained on all rows (`safeeval judge train --target toxicity`).
Anchors on the same rows: always "not toxic", and the refusal judge's
"compliance" (how toxicity-elicitation was scored before).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from safeeval.judges.refusal import refusal_label  # noqa: E402
from safeeval.judging.finetune import cached_states, predict_states, stderr_log  # noqa: E402
from safeeval.judging.labels import LabelledSet, read_labels  # noqa: E402
from safeeval.judging.metrics import binary_metrics, confusion  # noqa: E402
from safeeval.judging.train import default_config, train_classifier  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--n-top", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/b-runs/toxicity_cv.json"))
    args = ap.parse_args()
    full = read_labels(args.data / "openai-moderation" / "samples-1680.jsonl", "moderation")
    items = full.items
    gold = np.array([i.targets["toxicity"] for i in items])
    fold_of = np.random.default_rng(0).permutation(len(items)) % args.folds
    probs, thresholds = np.zeros(len(items)), np.zeros(len(items))
    config = default_config("toxicity").model_copy(update={"n_top": args.n_top})
    for k in range(args.folds):
        train = LabelledSet(name=f"moderation-not-fold{k}", format="moderation", path=full.path, sha256=full.sha256,
                            items=[i for i, f in zip(items, fold_of) if f != k])
        clf, _ = train_classifier([train], None, "toxicity", epochs=args.epochs, config=config, log=stderr_log)
        test = [n for n in range(len(items)) if fold_of[n] == k]
        states = cached_states(clf, ["" for _ in test], [items[n].response for n in test])
        probs[test] = predict_states(clf, states)
        thresholds[test] = clf.threshold  # chosen by CV inside the training folds only
        stderr_log(f"fold {k}: threshold {clf.threshold:.2f}")
    pred = probs >= thresholds
    result = {"n": len(items), "positives": int(gold.sum()), "folds": args.folds, "n_top": args.n_top,
              "epochs": args.epochs, "thresholds": sorted(set(thresholds.tolist()))}
    for name, p in (("toxicity (left out)", pred.tolist()), ("always not toxic", [False] * len(items)),
                    ("refusal 'compliance'", [refusal_label(i.response)[0] == "compliance" for i in items])):
        m = binary_metrics(p, gold.tolist(), resamples=1000)
        result[name] = {k: m[k].model_dump() for k in ("agreement", "precision", "recall", "f1", "kappa", "fpr")}
        print(f"{name:24s} agreement {m['agreement'].show()}  kappa {m['kappa'].show(pct=False)}  "
              f"recall {m['recall'].show()}  fpr {m['fpr'].show()}", flush=True)
    result["confusion"] = confusion(pred.tolist(), gold.tolist()).model_dump()
    balanced = 0.5 * (pred[gold].mean() + (~pred[~gold]).mean())
    result["balanced_accuracy"] = float(balanced)
    print(f"balanced accuracy {100 * balanced:.1f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
