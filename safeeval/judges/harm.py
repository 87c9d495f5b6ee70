"""Offline judges fine-tuned from all-MiniLM-L6-v2: `harm` (request + answer) and `toxicity` (answer alone).

One kind, `minilm-classifier`, configured by a YAML spec: the weights file
(LoRA updates of the top layers plus a head, trained by `safeeval judge
train`, see judges/harm/TRAINING.md), the label given above the threshold
(the violation) and below it, and which human label it measures. No network
and no GPU: the base model ships as a wheel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.judges.base import Judge, JudgeInput
from safeeval.schema import Verdict


def request_of(item: JudgeInput) -> str:
    """The plain request a response answers: the sample's objective, else the last user message."""
    if item.sample.objective:
        return item.sample.objective
    return next((m.content for m in reversed(item.sample.messages) if m.role == "user"), "")


class MiniLMClassifierJudge(Judge):
    kind = "minilm-classifier"
    description = ("Offline judge: all-MiniLM-L6-v2 fine-tuned (LoRA on the top layers + a head) on labelled "
                   "(request, answer) pairs or answers; p(violation) against a threshold.")
    violation_labels = ("unsafe",)
    measures = "harm"
    labels = ("unsafe", "safe")

    def __init__(self, name: str | None = None, version: str | None = None, **options: Any):
        super().__init__(name, version, **options)
        weights = options.get("weights")
        if not weights:
            raise SafeevalError(f"judge '{self.name}': a minilm-classifier judge needs `weights` (a .npz file)")
        path = Path(weights)
        if not path.is_absolute():
            path = Path(options.get("_spec_dir", ".")) / path
        if not path.is_file():
            raise SafeevalError(f"judge '{self.name}': weights file {path} not found (train one with "
                                f"`safeeval judge train`)")
        positive, negative = options.get("labels", ["unsafe", "safe"])
        self.violation_labels = (str(positive),)
        self.labels = (str(positive), str(negative))
        self.measures = str(options.get("measures", "harm"))
        from safeeval.judging.crossenc import MiniLMClassifier

        self.weights_path = path
        self.classifier = MiniLMClassifier.load(path)
        self.threshold = float(options.get("threshold", self.classifier.threshold))
        self._hash = self.classifier.weights_hash() if "threshold" not in options else \
            f"{self.classifier.weights_hash()[:12]}{int(self.threshold * 1000):04d}"

    def prompt_hash(self) -> str:
        """Hash of the trained weights, config and threshold: what steers this judge."""
        return self._hash

    def probabilities(self, requests: list[str], responses: list[str]) -> list[float]:
        if not self.classifier.config.pair:
            requests = [""] * len(responses)
        return self.classifier.proba(requests, responses)

    async def score(self, items: list[JudgeInput]) -> list[Verdict]:
        screened = [self.screen(item) for item in items]
        todo = [i for i, v in enumerate(screened) if v is None]
        probs = self.probabilities([request_of(items[i]) for i in todo], [items[i].response.text for i in todo]) \
            if todo else []
        by_index = dict(zip(todo, probs))
        positive, negative = self.labels
        out = []
        for i, item in enumerate(items):
            if screened[i] is not None:
                out.append(screened[i])
                continue
            p = by_index[i]
            label = positive if p >= self.threshold else negative
            out.append(self.verdict(item, label, p, f"p({positive})={p:.3f}, threshold {self.threshold:.2f}"))
        return out

