"""`--defence train`: the target learns from its failures between rounds (peft LoRA).

After each round the selector (active.py) picks failures up to the data
budget; each becomes training pairs (the attack, and the plain objective, each
answered with a safe reply), benign requests answered by the untrained target
itself are mixed in, and one LoRA adapter on the target's weights is trained
further. The next round attacks the updated target. Each round's adapter is
saved in the run folder (`adapters/round-N`, with the tokenizer), so any
round's target can be measured again: `load_round`, or `--target hf:<that folder>`.

The safe reply is the target's own refusal to a near attack on the same
objective (MiniLM cosine >= NEAR), when it gave one; else a refusal with a
short reason (templates/safe_reason.txt).

Only targets whose weights are local can train: the embedded model and `hf:`
paths. Training runs on the GPU when there is one, else on the CPU.
"""

from __future__ import annotations

import json
import random
import time
from importlib import resources
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.judges.refusal import refusal_label
from safeeval.models import ModelAdapter
from safeeval.models.hf import HFAdapter
from safeeval.redteam.novelty import Space
from safeeval.redteam.objectives import Objective
from safeeval.redteam.types import AttackRecord, RedteamOptions

NEAR = 0.8          # cosine at which another attack on the same objective counts as near
MAX_TOKENS = 320    # training sequence cap: the prompt is cut from the left, the answer kept
BATCH = 4           # sequences per step: 8 x 320 tokens peaked at 8.5 GB resident on the CPU
Example = dict[str, Any]  # {"messages": [...], "meta": {...}}


def check_trainable(target: ModelAdapter, spec: str) -> None:
    if not isinstance(target, HFAdapter):
        raise SafeevalError(f"--defence train needs a target with local weights (smollm2 or hf:<path>), "
                            f"not '{spec}'; use --defence guard or filter for an endpoint")
    try:
        import peft  # noqa: F401
    except ImportError:
        raise SafeevalError("--defence train needs peft: pip install 'safeeval[train]'") from None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117].rsplit(" ", 1)[0] + "..."


def reasoned_refusal(objective: Objective) -> str:
    template = resources.files("safeeval.redteam").joinpath("templates/safe_reason.txt").read_text("utf-8")
    return template.strip().format(request=_short(objective.text))


def safe_reply(win: AttackRecord, objective: Objective, records: list[AttackRecord], space: Space) -> tuple[str, str]:
    """(reply, kind): the target's own refusal to the nearest attack on this objective, else a reasoned refusal."""
    own = [r for r in records if r.objective_id == win.objective_id and r.success is False and not r.blocked
           and not r.response_error and not r.context and refusal_label(r.response)[0] == "refusal"]
    if own:
        vecs = space.encode([win.attack] + [r.attack for r in own])
        sims = vecs[1:] @ vecs[0]
        best = int(sims.argmax())
        if sims[best] >= NEAR:
            return own[best].response, f"own refusal to {own[best].id} (cosine {sims[best]:.2f})"
    return reasoned_refusal(objective), "reasoned refusal"


def _chat(objective: Objective, user: str, answer: str, context: list[dict[str, str]] | None = None) -> list[dict]:
    system = [{"role": "system", "content": objective.system}] if objective.system else []
    return system + list(context or []) + [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]


def attack_pairs(picks: list[tuple[AttackRecord, float]], objectives: dict[str, Objective],
                 records: list[AttackRecord], space: Space, round_no: int) -> list[Example]:
    """Two pairs per picked failure: the attack (with its turns) and the plain objective, each with a safe reply."""
    out = []
    for win, score in picks:
        objective = objectives[win.objective_id]
        reply, kind = safe_reply(win, objective, records, space)
        meta = {"round": round_no, "kind": "attack", "attack_id": win.id, "objective_id": win.objective_id,
                "informativeness": score, "safe_reply": kind}
        out.append({"messages": _chat(objective, win.attack, reply, win.context), "meta": meta})
        out.append({"messages": _chat(objective, objective.text, reply), "meta": {**meta, "kind": "objective"}})
    return out


def benign_pairs(items: list[Objective], answers: list[str], n: int, seed: int, round_no: int) -> list[Example]:
    """Up to `n` benign requests with the untrained target's own answers (refusals left out)."""
    usable = [(o, a) for o, a in zip(items, answers) if a.strip() and refusal_label(a)[0] == "compliance"]
    random.Random(f"benign:{seed}:{round_no}").shuffle(usable)
    return [{"messages": [m.model_dump(include={"role", "content"}) for m in o.sample.messages]
             + [{"role": "assistant", "content": a}],
             "meta": {"round": round_no, "kind": "benign", "objective_id": o.id}} for o, a in usable[:n]]


class LoraTrainer:
    """One LoRA adapter on the target's own model object, trained further after each round."""

    def __init__(self, target: HFAdapter, options: RedteamOptions, folder: Path):
        import torch
        from peft import LoraConfig, get_peft_model

        target.load()
        self.target, self.options, self.folder = target, options, folder
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.manual_seed(options.seed)
        config = LoraConfig(r=options.lora_rank, lora_alpha=2 * options.lora_rank, lora_dropout=0.0,
                            target_modules="all-linear", task_type="CAUSAL_LM")
        # Wraps the target's model in place: its linear layers now carry the (zero-initialised) adapter,
        # so the target answers exactly as before until the first training step.
        self.model = get_peft_model(target._model, config)
        self.model.eval()
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad],
                                           lr=options.train_lr)
        self.examples: list[Example] = []

    def encode(self, example: Example) -> tuple[list[int], list[int]]:
        tok = self.target._tokenizer
        messages = example["messages"]
        prompt = tok.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tok(messages[-1]["content"], add_special_tokens=False)["input_ids"][:MAX_TOKENS // 2]
        a_ids = a_ids + [tok.eos_token_id]
        p_ids = p_ids[-(MAX_TOKENS - len(a_ids)):]
        return p_ids + a_ids, [-100] * len(p_ids) + a_ids

    def train(self, new: list[Example], round_no: int) -> dict[str, Any]:
        """Train on every pair so far (this round's and earlier), save the adapter; returns the stats."""
        import torch

        start = time.perf_counter()
        self.examples.extend(new)
        rows = [self.encode(e) for e in self.examples]
        rng = random.Random(f"train:{self.options.seed}:{round_no}")
        model = self.model
        model.to(self.device)
        model.train()
        losses, steps = [], 0
        pad = self.target._tokenizer.pad_token_id
        for _ in range(self.options.train_epochs):
            order = list(range(len(rows)))
            rng.shuffle(order)
            for b in range(0, len(order), BATCH):
                batch = [rows[i] for i in order[b:b + BATCH]]
                width = max(len(ids) for ids, _ in batch)
                ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in batch], device=self.device)
                labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch], device=self.device)
                mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in batch], device=self.device)
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                self.optimizer.step()
                self.optimizer.zero_grad()
                losses.append(round(float(loss.detach()), 4))
                steps += 1
        model.eval()
        model.to("cpu")
        adapter = self.folder / "adapters" / f"round-{round_no}"
        self.save(adapter)
        return {"round": round_no, "new_pairs": len(new), "pairs_trained": len(rows),
                "kinds": _count(e["meta"]["kind"] for e in new), "steps": steps,
                "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
                "epochs": self.options.train_epochs, "device": self.device,
                "adapter": str(adapter), "seconds": round(time.perf_counter() - start, 1)}

    def save(self, folder: Path) -> None:
        try:
            self.model.save_pretrained(str(folder))
            self.target._tokenizer.save_pretrained(str(folder))
        except OSError as exc:
            raise SafeevalError(f"{folder}: cannot save the adapter: {exc.strerror}") from None


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def load_round(run: Path, round_no: int, target: HFAdapter) -> HFAdapter:
    """`target` (a fresh, untrained adapter of the run's target) with round `round_no`'s LoRA applied."""
    from peft import PeftModel

    folder = Path(run) / "adapters" / f"round-{round_no}"
    if not (folder / "adapter_config.json").is_file():
        raise SafeevalError(f"{folder}: no saved adapter for round {round_no}")
    target.load()
    target._model = PeftModel.from_pretrained(target._model, str(folder)).get_base_model()
    target._model.eval()
    return target


def write_examples(path: Path, examples: list[Example]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples))

