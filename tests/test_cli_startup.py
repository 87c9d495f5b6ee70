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

HEAVY = ("numpy", "pandas", "torch", "transformers", "aiohttp", "ray", "datasets")


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
