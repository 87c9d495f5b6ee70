"""Start-up stays lean: the CLI imports no heavy library until a command needs it.

Speed itself is measured in benchmarks/throughput.py, not here; this checks
the cause that matters, which modules `import safeeval.cli.main` pulls in.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

# rich is not heavy, but 25 ms before a `run --json`'s first request: it loads when something is drawn.
HEAVY = ("numpy", "pandas", "torch", "transformers", "aiohttp", "ray", "datasets", "rich.console")


def test_cli_import_pulls_in_no_heavy_library() -> None:
    code = ("import json, sys, safeeval.cli.main; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_entry_point_freezes_start_up_objects_out_of_the_gc(monkeypatch) -> None:
    from safeeval.cli.main import main

    monkeypatch.setattr("sys.argv", ["safeeval", "list", "tasks", "--json"])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code in (0, None)
        assert gc.get_freeze_count() > 10_000  # modules, classes and schemas, not just a few objects
    finally:
        gc.unfreeze()


def test_entry_point_freezes_what_a_command_made_before_exit(monkeypatch) -> None:
    """Python's last collection at exit skips frozen objects, so exit stays fast after a run."""
    import safeeval.cli.main as cli

    made: list[object] = []

    def command() -> None:
        made.append([object()])  # a container the GC tracks, made after start-up
        raise SystemExit(0)

    monkeypatch.setattr(cli, "app", command)
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit):
            cli.main()
        assert not any(obj is made[0] for obj in gc.get_objects())  # frozen: out of every generation
    finally:
        gc.unfreeze()
    assert any(obj is made[0] for obj in gc.get_objects())  # back in, so the check above can fail
