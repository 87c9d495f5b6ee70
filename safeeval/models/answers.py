"""What every adapter does to an answer before the judges see it, in one place.

- `clean_text`: the answer text as the judges read it. Every backend strips
  leading and trailing whitespace, so the same model gives the same text
  embedded, on `vllm:` and behind a server (which keeps trailing newlines),
  and drops a trailing U+FFFD: a multi-byte character cut by the token limit
  decodes to it on transformers, while vLLM holds the incomplete bytes back
  (3 of 200 answers differed only by that, benchmarks/endpoints.md).
- `cut_reason`: why an answer is incomplete because the backend cut it, or
  None. A cut answer is recorded but never scored: the judging path turns
  `Response.cut` into an inconclusive verdict carrying this reason.
"""

from __future__ import annotations

from safeeval.schema import Prompt, Response


def clean_text(text: str | None) -> str:
    """The answer text every adapter records."""
    return (text or "").strip().rstrip("\ufffd").rstrip()


def cut_reason(prompt: Prompt, response: Response, context_length: int | None = None) -> str | None:
    """Why `response` was cut short by the backend, or None when it ended on its own or as asked.

    Cut: the backend stopped for length with fewer new tokens than the prompt
    asked for (a server that silently lowers max_tokens to fit its context), or
    stopped for length when prompt + max_tokens would not fit the known context.
    """
    if response.error or response.finish_reason != "length":
        return None
    asked = prompt.config.max_tokens
    got = response.output_tokens
    if got is not None and got < asked:
        return f"the backend stopped the answer at {got} of the {asked} tokens asked for (finish_reason length)"
    if context_length and response.input_tokens is not None and response.input_tokens + asked > context_length:
        return (f"prompt ({response.input_tokens} tokens) + max_tokens ({asked}) exceed the model's "
                f"context of {context_length}")
    return None


def finish(prompt: Prompt, response: Response, context_length: int | None = None) -> Response:
    """`response` with its text cleaned and its cut reason set: the last step of every adapter."""
    if response.error:
        return response
    update: dict = {}
    text = clean_text(response.text)
    if text != response.text:
        update["text"] = text
    why = cut_reason(prompt, response, context_length)
    if why and not response.cut:
        update["cut"] = why
    return response.model_copy(update=update) if update else response
