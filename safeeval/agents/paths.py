"""Paths into an environment's state, and the predicate language checks are written in.

State is plain JSON: mappings, lists of records, strings and numbers. A path is
dot-separated keys, where a list segment picks records:

    services[name=monitoring].enabled     the `enabled` field of the record whose name is monitoring
    inbox[0].subject  inbox[-1]           by position
    ledger.payments                        a whole list

Arguments fill `{name}` placeholders segment by segment (`files[path={path}].content`),
so an argument holding dots or brackets cannot change the path's shape.

A predicate is a JSON object with one form:

    {"all": [P, ...]}  {"any": [P, ...]}  {"not": P}
    {"at": PATH, OP: VALUE, ...}           the value at PATH passes every OP (no OP: it exists)
    {"some": PATH, "where": {FIELD: COND}} some record of the list at PATH matches every FIELD
    {"none": PATH, "where": {...}}         no record matches
    {"count": PATH, "where": {...}, OP: N} the number of matching records passes OP
    {"called": TOOL, "where": {ARG: COND}} some valid call of TOOL had matching arguments

COND is a literal (equality) or a mapping of OPs: eq, ne, in, nin (not in), matches (regex, case-insensitive),
contains (substring, case-insensitive, or list member), gt, gte, lt, lte, exists (true/false).
Numbers compare as numbers when both sides parse as one ("1200" equals 1200.0).
"""

from __future__ import annotations

import json
import re
from typing import Any

_SEG_RE = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")
_PLACE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
OPS = ("eq", "ne", "in", "nin", "matches", "contains", "gt", "gte", "lt", "lte", "exists")
MISSING = object()


class PathError(ValueError):
    """A path or predicate that cannot be read (a task-authoring error)."""


def fill(template: Any, args: dict[str, Any]) -> Any:
    """`{name}` placeholders filled from `args`; a string that is exactly "{name}" keeps the argument's type,
    "$args" is the whole argument mapping; mappings and lists are filled member by member."""
    if isinstance(template, str):
        if template == "$args":
            return dict(args)
        whole = _PLACE_RE.fullmatch(template)
        if whole and whole.group(1) in args:
            return args[whole.group(1)]
        return _PLACE_RE.sub(lambda m: _text(args.get(m.group(1), m.group(0))), template)
    if isinstance(template, dict):
        return {k: fill(v, args) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, args) for v in template]
    return template


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def segments(path: str, args: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """[("key", name) | ("pick", selector)], placeholders filled per segment."""
    out: list[tuple[str, str]] = []
    pos = 0
    path = path.strip()
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
            continue
        m = _SEG_RE.match(path, pos)
        if not m:
            raise PathError(f"bad path {path!r} at {pos}")
        key, pick = m.group(1), m.group(2)
        out.append(("key", fill(key, args or {})) if key is not None else ("pick", fill(pick, args or {})))
        pos = m.end()
    return out


def pick_index(items: list[Any], selector: str) -> int | None:
    selector = str(selector).strip()
    if re.fullmatch(r"-?\d+", selector):
        i = int(selector)
        return i if -len(items) <= i < len(items) else None
    field, sep, want = selector.partition("=")
    if not sep:
        raise PathError(f"bad selector [{selector}]: use [field=value] or [index]")
    for i, item in enumerate(items):
        if isinstance(item, dict) and _text(item.get(field.strip(), "")).strip() == want.strip():
            return i
    return None


def get(state: Any, path: str, args: dict[str, Any] | None = None) -> Any:
    """The value at `path`, or MISSING."""
    node = state
    for kind, name in segments(path, args):
        if kind == "key":
            if not isinstance(node, dict) or name not in node:
                return MISSING
            node = node[name]
        else:
            if not isinstance(node, list):
                return MISSING
            i = pick_index(node, name)
            if i is None:
                return MISSING
            node = node[i]
    return node


def parent(state: Any, path: str, args: dict[str, Any] | None = None,
           create: bool = False) -> tuple[Any, tuple[str, str]] | None:
    """(container, last segment) of `path`; with `create`, a [field=value] record missing from a list is added."""
    segs = segments(path, args)
    if not segs:
        raise PathError("empty path")
    node = state
    for kind, name in segs[:-1]:
        if kind == "key":
            if not isinstance(node, dict):
                return None
            if name not in node:
                if not create:
                    return None
                node[name] = {}
            node = node[name]
        else:
            if not isinstance(node, list):
                return None
            i = pick_index(node, name)
            if i is None:
                field, sep, want = name.partition("=")
                if not (create and sep):
                    return None
                node.append({field.strip(): want.strip()})
                i = len(node) - 1
            node = node[i]
    return node, segs[-1]


# ---------------------------------------------------------------- predicates


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").replace("£", "").replace("$", "").strip())
        except ValueError:
            return None
    return None


def _equal(a: Any, b: Any) -> bool:
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return abs(na - nb) < 1e-9
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def test(value: Any, cond: Any) -> bool:
    """Whether `value` (MISSING when absent) passes a condition: a literal or a mapping of OPs."""
    if not isinstance(cond, dict):
        return value is not MISSING and _equal(value, cond)
    unknown = set(cond) - set(OPS)
    if unknown:
        raise PathError(f"unknown condition {sorted(unknown)[0]!r}; use one of {', '.join(OPS)}")
    for op, want in cond.items():
        if op == "exists":
            if (value is not MISSING) != bool(want):
                return False
            continue
        if value is MISSING:
            return op in ("ne", "nin")
        if op == "eq" and not _equal(value, want):
            return False
        if op == "ne" and _equal(value, want):
            return False
        if op == "in" and not any(_equal(value, w) for w in want):
            return False
        if op == "nin" and any(_equal(value, w) for w in want):
            return False
        if op == "matches" and not re.search(str(want), _text(value), re.IGNORECASE | re.DOTALL):
            return False
        if op == "contains":
            if isinstance(value, list):
                if not any(_equal(v, want) for v in value):
                    return False
            elif str(want).lower() not in _text(value).lower():
                return False
        if op in ("gt", "gte", "lt", "lte"):
            a, b = _num(value), _num(want)
            if a is None or b is None:
                return False
            if not {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]:
                return False
    return True


def _records(state: Any, path: str) -> list[Any]:
    found = get(state, path)
    if found is MISSING:
        return []
    if isinstance(found, dict):
        return list(found.values())
    return list(found) if isinstance(found, list) else []


def _matches(record: Any, where: dict[str, Any]) -> bool:
    return all(test(get(record, field) if isinstance(record, dict) else MISSING, cond)
               for field, cond in (where or {}).items())


def check(pred: dict[str, Any], state: Any, calls: list[dict[str, Any]]) -> bool:
    """Evaluate a predicate over a state and the valid calls made so far ({"name", "arguments"} each)."""
    if not isinstance(pred, dict):
        raise PathError(f"a predicate is a JSON object, not {type(pred).__name__}")
    if "all" in pred:
        return all(check(p, state, calls) for p in pred["all"])
    if "any" in pred:
        return any(check(p, state, calls) for p in pred["any"])
    if "not" in pred:
        return not check(pred["not"], state, calls)
    if "at" in pred:
        ops = {k: v for k, v in pred.items() if k != "at"}
        return test(get(state, pred["at"]), ops or {"exists": True})
    if "some" in pred:
        return any(_matches(r, pred.get("where", {})) for r in _records(state, pred["some"]))
    if "none" in pred:
        return not any(_matches(r, pred.get("where", {})) for r in _records(state, pred["none"]))
    if "count" in pred:
        n = sum(_matches(r, pred.get("where", {})) for r in _records(state, pred["count"]))
        ops = {k: v for k, v in pred.items() if k not in ("count", "where")}
        return test(n, ops or {"gte": 1})
    if "called" in pred:
        return any(c["name"] == pred["called"] and _matches(c.get("arguments", {}), pred.get("where", {}))
                   for c in calls)
    raise PathError(f"unknown predicate form {sorted(pred)}; use all/any/not/at/some/none/count/called")
