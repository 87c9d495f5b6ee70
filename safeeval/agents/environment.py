"""A simulated environment declared as data: a JSON state and tools with declared effects.

A task's `options.tools` lists the tools, each an OpenAI-style JSON Schema function plus
one `effect` saying what the call does to the state (paths as in `safeeval.agents.paths`,
`{arg}` placeholders filled from the call's arguments):

    effect: {read: "ledger.invoices[id={id}]", fields: [id, supplier, amount]}   # returns it (fields: a projection)
    effect: {append: ledger.payments, value: "$args"}                           # adds a record
    effect: {set: "services[name={name}].enabled", value: false, create: false} # replaces a value
    effect: {delete: "files[path={path}]"}                                      # removes a record or key
    result: "paid {amount} to {to_account}"       # what a write returns (default "ok")
    missing: "no such invoice: {id}"              # what a read or write of a missing path returns

Every episode starts from its row's `state` (copied), so the same tools serve every
episode and nothing is scripted per episode. A call is *valid* when it names an offered
tool and carries every required argument (numbers and strings are coerced to the declared
type); an invalid call changes nothing and its result says why.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from safeeval.agents.paths import MISSING, PathError, fill, get, parent, pick_index
from safeeval.schema import ToolCall, ToolSpec

MAX_RESULT = 4000  # characters of one tool result shown to the model


class Effect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read: str | None = None
    append: str | None = None
    set: str | None = None
    delete: str | None = None
    value: Any = None
    fields: list[str] | None = None
    create: bool = False


class Tool(BaseModel):
    """One tool of an environment: its schema as offered to the model, and its effect."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    effect: Effect
    result: str = "ok"
    missing: str = "not found"

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)


def load_tools(raw: list[dict[str, Any]]) -> list[Tool]:
    """Tools from a task's `options.tools`; a malformed one raises PathError naming it."""
    tools = []
    for i, item in enumerate(raw or []):
        try:
            tool = Tool.model_validate(item)
        except Exception as exc:  # pydantic's message names the field
            raise PathError(f"options.tools[{i}]: {exc}".splitlines()[0]) from None
        ops = [k for k in ("read", "append", "set", "delete") if getattr(tool.effect, k)]
        if len(ops) != 1:
            raise PathError(f"tool {tool.name}: an effect has exactly one of read, append, set, delete")
        tools.append(tool)
    return tools


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if kind in ("number", "integer") and isinstance(value, str):
        try:
            number = float(value.replace(",", "").strip())
        except ValueError:
            return value
        return int(number) if kind == "integer" and number.is_integer() else number
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _show(value: Any, fields: list[str] | None) -> str:
    if fields and isinstance(value, list):
        value = [{k: v for k, v in item.items() if k in fields} if isinstance(item, dict) else item for item in value]
    elif fields and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k in fields}
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)
    return text[:MAX_RESULT]


class Environment:
    """One episode's world: a private copy of the initial state, changed by valid calls."""

    def __init__(self, tools: list[Tool], state: dict[str, Any]):
        self.tools = {t.name: t for t in tools}
        self.state = copy.deepcopy(state)

    def validate(self, call: ToolCall) -> tuple[dict[str, Any] | None, str]:
        """(coerced arguments, "") for a valid call, (None, why) otherwise."""
        tool = self.tools.get(call.name)
        if tool is None:
            return None, f"error: unknown tool {call.name!r}; available: {', '.join(sorted(self.tools))}"
        props = tool.parameters.get("properties", {})
        args = {k: _coerce(v, props.get(k, {})) for k, v in (call.arguments or {}).items()}
        lacking = [k for k in tool.parameters.get("required", []) if k not in args or args[k] in (None, "")]
        if lacking:
            return None, f"error: {call.name} needs argument(s) {', '.join(lacking)}"
        return args, ""

    def execute(self, call: ToolCall) -> tuple[bool, dict[str, Any], str]:
        """Run one call: (valid, the arguments used, the result text shown to the model)."""
        args, why = self.validate(call)
        if args is None:
            return False, dict(call.arguments or {}), why
        tool = self.tools[call.name]
        eff = tool.effect
        missing = fill(tool.missing, args)
        missing = missing if isinstance(missing, str) else str(missing)
        try:
            if eff.read is not None:
                value = get(self.state, eff.read, args)
                return True, args, missing if value is MISSING else _show(value, eff.fields)
            if eff.append is not None:
                found = get(self.state, eff.append, args)
                if found is MISSING:
                    box = parent(self.state, eff.append, args, create=True)
                    if box is None or box[1][0] != "key":
                        return True, args, missing
                    box[0][box[1][1]] = found = []
                if not isinstance(found, list):
                    return True, args, missing
                found.append(fill(copy.deepcopy(eff.value if eff.value is not None else "$args"), args))
            elif eff.set is not None:
                box = parent(self.state, eff.set, args, create=eff.create)
                if box is None or not self._assign(box, fill(copy.deepcopy(eff.value), args), eff.create):
                    return True, args, missing
            else:
                box = parent(self.state, eff.delete, args)
                if box is None or not self._remove(box):
                    return True, args, missing
        except PathError as exc:
            return True, args, f"error: {exc}"
        out = fill(tool.result, args)
        return True, args, out if isinstance(out, str) else str(out)

    @staticmethod
    def _assign(box: tuple[Any, tuple[str, str]], value: Any, create: bool) -> bool:
        node, (kind, name) = box
        if kind == "key" and isinstance(node, dict):
            if name not in node and not create:
                return False
            node[name] = value
            return True
        return False

    @staticmethod
    def _remove(box: tuple[Any, tuple[str, str]]) -> bool:
        node, (kind, name) = box
        if kind == "key" and isinstance(node, dict) and name in node:
            del node[name]
            return True
        if kind == "pick" and isinstance(node, list):
            i = pick_index(node, name)
            if i is not None:
                del node[i]
                return True
        return False
