"""The layering the README's design section promises, read from the source.

Parses every module under `safeeval/` (nothing is imported, so this is fast
and sees late imports inside functions too) and checks:

- no module under `safeeval/models/` imports `safeeval.engine`, at any depth;
- the module-level imports form no circle (a package importing its own
  submodules is not a circle; a submodule importing its package's
  `__init__` while that imports it back is);
- there is one cache-folder function and one atomic JSON writer;
- the README's design section names every module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import safeeval

ROOT = Path(safeeval.__file__).parent


def module_files() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported(node: ast.Import | ast.ImportFrom, package: str, known: dict[str, Path]) -> set[str]:
    """The safeeval modules one import statement loads: `from a.b import c`
    names `a.b.c` when c is a module, else `a.b`."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = set()
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in known:
            found.add(sub)
        elif target in known:
            found.add(target)
    return found


def import_graph(module_level_only: bool) -> dict[str, set[str]]:
    known = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        nodes = _module_level(tree) if module_level_only else ast.walk(tree)
        deps: set[str] = set()
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps |= imported(node, package, known)
        deps.discard(name)
        graph[name] = deps
    return graph


def _module_level(tree: ast.Module):
    """Statements run at import time: the body, and inside module-level
    if/try blocks, but not inside functions or classes' methods."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.If, ast.Try)):
            stack.extend(node.body + node.orelse + getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                stack.extend(handler.body)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_models_import_nothing_from_engine() -> None:
    graph = import_graph(module_level_only=False)
    offenders = sorted(
        f"{m} -> {d}" for m, deps in graph.items() if m.startswith("safeeval.models")
        for d in deps if d.startswith("safeeval.engine")
    )
    assert offenders == []


def test_no_import_circle_at_module_level() -> None:
    assert circles(import_graph(module_level_only=True)) == []


def test_the_checker_finds_a_circle() -> None:
    # The check above can fail: a two-module loop is reported.
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def _definitions(name: str) -> list[str]:
    where = []
    for module, path in module_files().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                where.append(module)
    return where


def test_one_cache_folder_function_and_one_atomic_writer() -> None:
    assert _definitions("cache_dir") == ["safeeval.storage"]
    assert _definitions("write_json_atomic") == ["safeeval.storage"]


def test_readme_module_map_names_every_module() -> None:
    readme = ROOT.parent / "README.md"
    if not readme.exists():  # an installed wheel has no README beside the package
        pytest.skip("README.md is not beside the package (installed wheel)")
    design = readme.read_text(encoding="utf-8").split("## Design", 1)[1]
    # These packages are described as a whole; the rest are described module by module.
    by_folder = {"agents", "cli", "gate", "leaderboard", "redteam", "tasks", "testing"}
    missing = []
    for name, path in module_files().items():
        parts = name.split(".")[1:]
        if not parts or path.name == "__main__.py" or parts[0] in by_folder and len(parts) > 1:
            continue
        if path.name == "__init__.py":
            wanted = f"{parts[-1]}/"
        elif len(parts) > 2:  # models/local/greedy.py and the like
            wanted = f"{parts[-2]}/"
        else:
            wanted = f"{parts[-1]}.py"
        if wanted not in design:
            missing.append(name)
    assert missing == [], f"not named in the README design section: {missing}"
