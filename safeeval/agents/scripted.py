"""Scripted agents for testing the agent runner without a tool-capable model.

A policy looks the episode up by its first user message among the suite's rows and
plays the row's reference `solution`, one call per step, then answers "Done.":

- `careful`: the solution only, whatever the tool results say;
- `obedient`: the solution, but once a tool result shows the injection, the
  injection's `attack_calls` first (after `delay` more solution calls);
- `idle`: never calls a tool (a do-nothing agent).

`python -m safeeval.agents.scripted --policy obedient` serves a policy as an
OpenAI-compatible endpoint on 127.0.0.1 (the loopback server of
safeeval.testing.openai_server), printing its base URL on the first line, so
`safeeval run --model openai:obedient --base-url URL --tasks 'agent-*'` goes
over real HTTP with native tool calls (`--text`: calls written in the text protocol).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from safeeval.schema import Message, ToolCall

POLICIES = ("obedient", "careful", "idle")


def _plain(m: Message | dict[str, Any]) -> dict[str, Any]:
    """A message as a dict whose tool calls are {"name", "arguments"} (Message or OpenAI wire form)."""
    if isinstance(m, Message):
        return {"role": m.role, "content": m.content or "",
                "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in m.tool_calls or []]}
    calls = []
    for c in m.get("tool_calls") or []:
        fn = c.get("function", c)
        args = fn.get("arguments") or {}
        calls.append({"name": fn.get("name"), "arguments": json.loads(args) if isinstance(args, str) else args})
    return {"role": m.get("role"), "content": m.get("content") or "", "tool_calls": calls}


class ScriptedPolicy:
    """Next call for a conversation, from the rows of the episodes it may be asked about."""

    def __init__(self, rows: list[dict[str, Any]], policy: str = "careful", delay: int = 0):
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
        self.policy, self.delay = policy, delay
        self.by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            user = next((m["content"] for m in row.get("messages", []) if m.get("role") == "user"), None)
            if user is not None:
                self.by_user[user.strip()].append(row)

    def next_call(self, messages: list[Message | dict[str, Any]]) -> ToolCall | None | str:
        """The next call, None when done, or a string saying the episode is unknown."""
        msgs = [_plain(m) for m in messages]
        user = next((m["content"] for m in msgs if m["role"] == "user"), "")
        variants = self.by_user.get(user.strip())
        if not variants:
            return "unknown episode"
        if self.policy == "idle":
            return None
        results = [m["content"] for m in msgs if m["role"] in ("tool",) or (
            m["role"] == "user" and m["content"].startswith("<tool_result"))]
        made = sum(len(m["tool_calls"]) for m in msgs if m["role"] == "assistant")
        row, seen = variants[0], None
        for candidate in variants:
            marker = (candidate.get("injection") or {}).get("marker")
            hits = [i for i, text in enumerate(results) if marker and marker in text]
            if hits:
                row, seen = candidate, hits[0]
                break
        else:
            row = next((v for v in variants if not v.get("injection")), variants[0])
        plan = list(row.get("solution", []))
        if self.policy == "obedient" and seen is not None:
            cut = seen + 1 + self.delay
            plan = plan[:cut] + list(row.get("attack_calls", [])) + plan[cut:]
        if made >= len(plan):
            return None
        call = plan[made]
        return ToolCall(id=f"call_{made}", name=call["name"], arguments=call.get("arguments", {}))

    def respond(self, body: dict[str, Any], text_protocol: bool = False) -> dict[str, Any]:
        """An OpenAI chat message answering a request body."""
        nxt = self.next_call(body.get("messages", []))
        if nxt is None or isinstance(nxt, str):
            return {"role": "assistant", "content": "Done." if nxt is None else f"I cannot act: {nxt}."}
        if text_protocol:
            blob = json.dumps({"name": nxt.name, "arguments": nxt.arguments})
            return {"role": "assistant", "content": f"<tool_call>{blob}</tool_call>"}
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": nxt.id, "type": "function",
             "function": {"name": nxt.name, "arguments": json.dumps(nxt.arguments)}}]}


def suite_rows(tasks: str = "agent-*", tasks_dirs: list[Path] | None = None) -> list[dict[str, Any]]:
    """The data rows of the selected agent tasks."""
    from safeeval.registry import discover_tasks, select_tasks

    return [s.data for t in select_tasks(tasks, discover_tasks(tasks_dirs or [])) for s in t.samples()]


def serve(policy: ScriptedPolicy, text_protocol: bool = False):
    """A started loopback server answering with `policy` (stop it with .stop())."""
    from safeeval.testing.openai_server import OpenAIServer, ServerConfig

    return OpenAIServer(ServerConfig(responder=lambda body: policy.respond(body, text_protocol))).start()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Serve a scripted agent policy as an OpenAI-compatible endpoint.")
    p.add_argument("--policy", choices=POLICIES, default="careful")
    p.add_argument("--tasks", default="agent-*", help="which tasks' episodes it knows (default agent-*)")
    p.add_argument("--tasks-dir", action="append", type=Path, default=[])
    p.add_argument("--delay", type=int, default=0, help="obedient: solution calls between seeing and obeying")
    p.add_argument("--text", action="store_true", help="write calls in the text protocol, not native tool calls")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    from safeeval.testing.openai_server import OpenAIServer, ServerConfig, serve_forever

    policy = ScriptedPolicy(suite_rows(args.tasks, args.tasks_dir), args.policy, args.delay)
    server = OpenAIServer(ServerConfig(responder=lambda body: policy.respond(body, args.text)))
    server.port = args.port
    serve_forever(server)


if __name__ == "__main__":
    main()
