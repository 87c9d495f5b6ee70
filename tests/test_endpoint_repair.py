"""`safeeval repair RUN`: a corrupt line mid-file is set aside, every good record kept, the run resumable."""

from __future__ import annotations

import sys

import pytest

from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run
from safeeval.engine.store import read_records
from safeeval.testing.openai_server import OpenAIServer
from safeeval.testing.tasks import make_task_dir


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    from safeeval.cli.main import main

    monkeypatch.setattr(sys, "argv", ["safeeval", *args])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code or 0, captured.out + captured.err


def test_repair_sets_bad_lines_aside_and_resume_redoes_only_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAFEEVAL_CACHE_DIR", str(tmp_path / "cache"))
    tasks = make_task_dir(tmp_path / "tasks", 20)
    run_dir = tmp_path / "out" / "r"
    with OpenAIServer() as server:
        run(RunOptions(model="openai:loop", base_url=server.url, tasks="loopback-prompts", tasks_dirs=[tasks],
                       out=tmp_path / "out", run_id="r", no_cache=True))
        samples = run_dir / "samples.jsonl"
        lines = samples.read_bytes().split(b"\n")
        broken = lines[7][:40]  # line 8 cut in the middle, as a bad disk or a bad edit would leave it
        samples.write_bytes(b"\n".join(lines[:7] + [broken] + lines[8:]))
        code, text = cli(monkeypatch, capsys, "run", "--resume", str(run_dir))
        assert code == 2 and "samples.jsonl:8: corrupt record" in text and f"safeeval repair {run_dir}" in text
        code, text = cli(monkeypatch, capsys, "repair", str(run_dir))
        assert code == 0 and "kept 19 records; set 1 bad lines (line 8) aside" in " ".join(text.split())
        (bad_file,) = run_dir.glob("samples.bad-*.jsonl")
        assert bad_file.read_bytes() == broken + b"\n"  # set aside unchanged
        assert len(read_records(run_dir)) == 19
        sent = len(server.log)
        code, _ = cli(monkeypatch, capsys, "run", "--resume", str(run_dir))
        assert code == 0 and len(server.log) == sent + 1  # only the set-aside sample was asked again
    records = read_records(run_dir)
    assert len(records) == 20 and len({r.key for r in records}) == 20
    code, text = cli(monkeypatch, capsys, "repair", str(run_dir))
    assert code == 0 and "nothing to repair" in text
