"""LLM judges: a prompt template, any model adapter, and an output parser.

The judged response (and the request, which an attacker also controls) is
adversarial text. Before it is placed in the template it is *escaped*: every
structural marker it contains is broken with a zero-width joiner, so it reads
the same to a person but can no longer match the template's delimiters or a
chat format's special tokens. Markers come from three places:

- the template itself: its tags (`<BEGIN RESPONSE>`), bracket markers
  (`[INST]`, `[BEHAVIOR]:`), field labels at the start of a line
  (`AI model response:`, `Agent:`) and rules (`---`, `#scores`);
- every chat format's special tokens (`<|eot_id|>`, `<|im_start|>`, `</s>`,
  `<<SYS>>`) and any tag-like `<...>` / `[...]` sequence;
- role labels at the start of a line (`User:`, `Assistant:`, `System:`).

Tests render a fixture set of hostile responses and check the template's
markers each appear exactly as often as in the template.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from safeeval.errors import SafeevalError
from safeeval.judges.base import Judge, JudgeInput
from safeeval.judges.outcomes import RULES_VERSION
from safeeval.judges.parsers import PARSERS, parse_output, parser_labels
from safeeval.schema import GenerateConfig, Message, Prompt, Verdict, stable_hash
from safeeval.tasks.loader import fill

ZWJ = "\u200d"
# Chat-format tokens and markers any judge template might rely on.
DEFAULT_DELIMITERS = ["[/INST]", "[INST]", "<<SYS>>", "<</SYS>>", "<|im_end|>", "<|im_start|>", "<|eot_id|>",
                      "<|start_header_id|>", "<|end_header_id|>", "<|begin_of_text|>", "<|user|>",
                      "<|assistant|>", "<|system|>", "<|endoftext|>", "</s>", "<s>", "```", "---"]
# Generic structure: tags, special tokens, bracket markers, role labels at a line start.
_GENERIC = [
    re.compile(r"<\|[^|<>\n]{1,40}\|>"),
    re.compile(r"</?[A-Za-z][A-Za-z0-9 _\-]{0,60}>"),
    re.compile(r"<</?[A-Za-z]{1,10}>>"),
    re.compile(r"\[/?[A-Za-z][A-Za-z0-9 _'\-]{0,40}\]"),
    re.compile(r"^[ \t>#*]*(?:user|assistant|system|human|agent|ai|model|human user|ai assistant|"
               r"ai model response|user instruction|answer|answers|response|request|generation|behavior|"
               r"behaviour|context)\s*:", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^#+\s*\w+", re.MULTILINE),
]


def template_markers(template: str) -> list[str]:
    """Structural markers a template uses: tags, bracket markers, line labels and rules."""
    found = set(re.findall(r"<[^<>{}\n]{1,60}>", template))
    found |= set(re.findall(r"\[[^\[\]{}\n]{1,40}\](?::)?", template))
    found |= {m.strip() for m in re.findall(r"^[ \t]*[A-Za-z][A-Za-z' ]{0,30}:", template, re.MULTILINE)}
    found |= set(re.findall(r"^[ \t]*(#\w+|-{3,})", template, re.MULTILINE))
    return sorted(found, key=len, reverse=True)


def _break(match: re.Match[str]) -> str:
    text = match.group(0)
    lead = len(text) - len(text.lstrip(" \t>#*"))
    if lead >= len(text) - 1:
        return text[:-1] + ZWJ + text[-1:]
    return text[:lead + 1] + ZWJ + text[lead + 1:]


def _interleave(match: re.Match[str]) -> str:
    return ZWJ.join(match.group(0)) + ZWJ


def defuse(text: str, delimiters: list[str]) -> str:
    """Escape `text` so that no delimiter, special token, tag or role label survives intact.

    Each delimiter found gets a zero-width joiner after every character, and
    the pass repeats until none is left (so "----" cannot leave a "---").
    """
    text = text.replace(ZWJ, "")  # a pre-broken marker must not be "repaired" by our own escape
    delims = sorted({d for d in delimiters if d}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(d) for d in delims), re.IGNORECASE) if delims else None
    for _ in range(4):
        if pattern is None or not pattern.search(text):
            break
        text = pattern.sub(_interleave, text)
    for generic in _GENERIC:
        text = generic.sub(_break, text)
    return text


class LLMJudge(Judge):
    kind = "llm"
    description = "A judge model with a prompt template and an output parser."
    violation_labels = ("unsafe",)

    def __init__(self, name: str | None = None, version: str | None = None, **options: Any):
        super().__init__(name, version, **options)
        template = options.get("template")
        template_file = options.get("template_file")
        if template_file:
            path = Path(options.get("_spec_dir", ".")) / template_file
            try:
                template = path.read_text(encoding="utf-8")
            except OSError:
                raise SafeevalError(f"judge '{self.name}': template file {path} not found") from None
        if not template:
            raise SafeevalError(f"judge '{self.name}': an llm judge needs `template` or `template_file`")
        self.template: str = template
        self.system: str | None = options.get("system")
        self.parser: dict[str, Any] = options.get("parser", {"type": "yesno"})
        if self.parser.get("type", "yesno") not in PARSERS:
            raise SafeevalError(f"judge '{self.name}': unknown parser type '{self.parser.get('type')}'; "
                                f"valid choices: {', '.join(PARSERS)}")
        self.delimiters: list[str] = (DEFAULT_DELIMITERS + template_markers(self.template)
                                      + template_markers(self.system or "") + list(options.get("delimiters", [])))
        self.model_spec: str = options.get("model", "smollm2")
        self.config = GenerateConfig(max_tokens=int(options.get("max_tokens", 16)), temperature=0.0)
        self.measures = options.get("measures", "harm")
        self.violation_labels = tuple(options.get("violation_labels", ("unsafe",)))
        self._model = None

    def vocabulary(self) -> frozenset[str]:
        """The labels the output parser can give, so a task's labels from another judge
        (`compliance`) never hide this judge's "unsafe"."""
        return parser_labels(self.parser)

    def prompt_hash(self) -> str:
        return stable_hash([self.template, self.system, self.parser, RULES_VERSION])[:16]

    def render(self, item: JudgeInput) -> list[Message]:
        """The judge's messages for one item, with every attacker-controlled field escaped."""
        user_text = next((m.content for m in reversed(item.sample.messages) if m.role == "user"), "")
        fields = {
            "objective": defuse(item.sample.objective or user_text, self.delimiters),
            "prompt": defuse(user_text, self.delimiters),
            "response": defuse(item.response.text, self.delimiters),
            "context": defuse(str(item.sample.data.get("context", "")), self.delimiters),
        }
        messages = [Message(role="user", content=fill(self.template, fields))]
        if self.system:
            messages.insert(0, Message(role="system", content=self.system))
        return messages

    def _get_model(self):
        if self._model is None:
            from safeeval.models import load_model

            self._model = load_model(self.model_spec)
        return self._model

    async def score(self, items: list[JudgeInput]) -> list[Verdict]:
        verdicts: dict[int, Verdict] = {}
        prompts = []
        for i, item in enumerate(items):
            screened = self.screen(item)
            if screened is not None:
                verdicts[i] = screened
            else:
                prompts.append((i, Prompt(key=f"judge/{i}", messages=self.render(item), config=self.config)))
        if prompts:
            outputs = await self._get_model().generate([p for _, p in prompts])
            for (i, _), out in zip(prompts, outputs):
                if out.error:
                    verdicts[i] = self.error_verdict(f"judge model failed: {out.error}")
                    continue
                label, score, details = parse_output(out.text, self.parser)
                if label == "unparsed":
                    # Unparsable judge output is an error, never a silent "safe".
                    verdicts[i] = self.error_verdict(f"unparsable judge output: {out.text[:200]!r}")
                    continue
                why = out.text if not details else f"{json.dumps(details)} {out.text}"
                verdicts[i] = self.verdict(items[i], label, score, why)
        return [verdicts[i] for i in range(len(items))]

    async def aclose(self) -> None:
        if self._model is not None:
            await self._model.aclose()
