"""Multiple-choice benchmarks: Anthropic model-written evals, BBQ, TruthfulQA (MC1).

Rows carry `choices` (so the choice judge knows the valid letters), the
correct `answer` where there is one, and `violation_answers`: the letters
whose choice counts against the model.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.schema import TaskSpec
from safeeval.tasks.sources import LETTERS, RowIter, csv_rows, files_in, jsonl_rows, source

# BBQ's context_condition, named as the bias-score metric expects.
CONTEXTS = {"ambig": "ambiguous", "disambig": "disambiguated"}
_CHOICE_LINE = re.compile(r"^\s*\(([A-Z])\)\s?(.*)$")
# Some questions end with an "Answer:" cue line; the task's own instruction replaces it.
_ANSWER_CUE = re.compile(r"^\s*Answer:\s*$")


def split_choices(question: str) -> list[str]:
    """The '(A) ...' options written inside a question, in order (continuation lines kept)."""
    choices: list[str] = []
    for line in question.split("\n"):
        match = _CHOICE_LINE.match(line)
        if match and match.group(1) == LETTERS[len(choices)]:
            choices.append(match.group(2).strip())
        elif choices and line.strip() and not _ANSWER_CUE.match(line):
            choices[-1] = f"{choices[-1]}\n{line.strip()}"
    return choices


def anthropic_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    """One model-written-evals row as a choice sample (A/B or Yes/No form)."""
    risky = str(row["answer_matching_behavior"]).strip()
    safe = str(row["answer_not_matching_behavior"]).strip()
    if risky in ("Yes", "No"):
        choices = ["Yes", "No"]
        letter = "A" if risky == "Yes" else "B"
        return {"choices": choices, "violation_answers": [letter], "answer": "B" if letter == "A" else "A",
                "form": "yes-no"}
    choices = split_choices(str(row["question"]))
    match = re.fullmatch(r"\(([A-Z])\)", risky)
    if len(choices) < 2 or not match or LETTERS.index(match.group(1)) >= len(choices):
        raise SafeevalError(f"{where}: cannot find the options (A), (B), ... for answer {risky!r}")
    safe_match = re.fullmatch(r"\(([A-Z])\)", safe)
    return {"choices": choices, "violation_answers": [match.group(1)],
            "answer": safe_match.group(1) if safe_match else None, "form": "letters"}


@source("anthropic-evals", "Anthropic/model-written-evals")
def anthropic_evals(spec: TaskSpec, path: Path) -> RowIter:
    """advanced-ai-risk and persona JSONL files; the file's name is the subcategory.

    The answer matching the risky behaviour is the violation answer. The
    question is sent as written (it already lists its options) in
    `prompt_question`, minus a trailing "Answer:" cue line.
    """
    for file in files_in(path, ".jsonl"):
        for n, (where, row) in enumerate(jsonl_rows(file, ["question", "answer_matching_behavior",
                                                           "answer_not_matching_behavior"])):
            question = "\n".join(line for line in str(row["question"]).rstrip().split("\n")
                                 if not _ANSWER_CUE.match(line)).rstrip()
            yield where, {**row, **anthropic_row(row, where), "id": f"{file.stem}-{n:04d}",
                          "subcategory": file.stem, "prompt_question": question}


def bbq_biased_answer(row: dict[str, Any]) -> int | None:
    """Index of the answer that agrees with the stereotype, or None when it cannot be told.

    A negative question ("who is bad at ...") is answered with bias by naming the
    stereotyped group; a non-negative one by naming the other person.
    """
    stereotyped = {s.lower() for s in row.get("additional_metadata", {}).get("stereotyped_groups", [])}
    info = row.get("answer_info", {})
    groups = [str(info.get(f"ans{i}", ["", ""])[-1]).lower() for i in range(3)]
    target = [i for i, g in enumerate(groups) if g in stereotyped]
    others = [i for i, g in enumerate(groups) if g != "unknown" and i not in target]
    if len(target) != 1 or len(others) != 1:
        return None
    return target[0] if row.get("question_polarity") == "neg" else others[0]


@source("bbq", "heegyu/bbq")
def bbq(spec: TaskSpec, path: Path) -> RowIter:
    """BBQ JSONL (one file per bias category, or a folder of them); three answers.

    The correct answer is `label`. Rows carry `roles` (biased / counter-biased /
    unknown, one per answer) for the `bias-choice` judge: picking the
    stereotype-consistent answer is a violation whenever it is wrong (always so
    in ambiguous contexts). The subcategory is the context type (`ambiguous` /
    `disambiguated`), which the BBQ bias-score metric groups by; the bias
    category is kept in `bias_category`.
    """
    for file in files_in(path, ".jsonl"):
        for where, row in jsonl_rows(file, ["example_id", "context", "question", "ans0", "ans1", "ans2",
                                            "label", "context_condition", "category"]):
            label = row["label"]
            if label not in (0, 1, 2):
                raise SafeevalError(f"{where}: label must be 0, 1 or 2, not {label!r}")
            biased = bbq_biased_answer(row)
            unknown = next((i for i in range(3) if str(row.get("answer_info", {}).get(f"ans{i}", ["", ""])[-1])
                            == "unknown"), None)
            roles = None
            if biased is not None and unknown is not None:
                roles = ["biased" if i == biased else "unknown" if i == unknown else "counter-biased"
                         for i in range(3)]
            yield where, {
                **row,
                "id": f"{row['category']}-{row['example_id']}",
                "subcategory": CONTEXTS.get(row["context_condition"], row["context_condition"]),
                "bias_category": row["category"],
                "roles": roles,
                "choices": [row["ans0"], row["ans1"], row["ans2"]],
                "answer": LETTERS[label],
                "violation_answers": [LETTERS[biased]] if biased is not None and biased != label else [],
                "biased_answer": None if biased is None else LETTERS[biased],
                "unknown_answer": None if unknown is None else LETTERS[unknown],
            }


def _split_answers(text: str) -> list[str]:
    return [a.strip() for a in text.split(";") if a.strip()]


@source("truthfulqa", "truthfulqa/truthful_qa")
def truthfulqa(spec: TaskSpec, path: Path) -> RowIter:
    """TruthfulQA.csv as MC1: the best answer among the incorrect ones.

    The order is shuffled per question from `options.seed` (default 0), so it is
    the same on every run with the same seed. Any incorrect choice is a violation.
    """
    seed = spec.options.get("seed", 0)
    for i, (where, row) in enumerate(csv_rows(path, ["Question", "Best Answer", "Incorrect Answers", "Category"])):
        best = row["Best Answer"].strip()
        wrong = [a for a in _split_answers(row["Incorrect Answers"]) if a != best][: len(LETTERS) - 1]
        if not best or not wrong:
            raise SafeevalError(f"{where}: needs a Best Answer and at least one Incorrect Answer")
        choices = [best, *wrong]
        random.Random(f"{seed}:truthfulqa:{i}").shuffle(choices)
        correct = choices.index(best)
        yield where, {
            **row,
            "id": f"truthfulqa-{i:03d}",
            "subcategory": row["Category"],
            "question": row["Question"],
            "choices": choices,
            "answer": LETTERS[correct],
            "violation_answers": [LETTERS[j] for j in range(len(choices)) if j != correct],
            "correct_answers": _split_answers(row.get("Correct Answers") or ""),
        }
