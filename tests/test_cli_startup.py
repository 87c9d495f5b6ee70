"""Start-up stays lean: the CLI imports no heavy library until a command needs it.

Speed itself is measured in benchmarks/throughput.py, not here; this checks
the cause that matters, which modules `import safeeval.cli.main` pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "torch", "transformers", "aiohttp", "ray", "datasets")


def test_cli_import_pulls_in_no_heavy_library() -> None:
    code = ("import json, sys, safeeval.cli.main; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
