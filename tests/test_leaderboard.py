"""Leaderboard aggregation, grouping, data files and escaping (no browser; see test_leaderboard_site.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from safeeval.cli.main import app
from safeeval.errors import SafeevalError
from safeeval.leaderboard import build_site, load
from safeeval.leaderboard.site import json_for_script
from safeeval.schema import Message, Response, SampleRecord, TaskInfo, Verdict, stable_hash
from test_gate import make_run


def _benign(n: int, refused: set[int]) -> tuple[list[SampleRecord], list[TaskInfo]]:
    recs = []
    for i in range(n):
        msgs = [Message(role="user", content=f"benign {i}")]
        v = i in refused
        recs.append(SampleRecord(key=f"benign/b{i}/none", task="benign", task_version="1", category="misuse",
                                 measure="over_refusal", sample_id=f"b{i}", messages=msgs, response=Response(),
                                 verdicts=[Verdict(judge="refusal", label="x", violation=v)], violation=v,
                                 model="x", sample_hash=stable_hash([m.model_dump() for m in msgs])))
    return recs, [TaskInfo(name="benign", version="1", category="misuse", measure="over_refusal",
                           data_sha256="cd" * 32, samples=n)]


def _run(root, run_id, unsafe, refused, **kw):
    recs, info = _benign(20, refused)
    return make_run(root, run_id, unsafe=unsafe, n=40, extra=recs, extra_tasks=info, **kw)


def test_refusing_everything_does_not_rank_first(tmp_path):
    balanced = _run(tmp_path, "balanced", unsafe=set(range(4)), refused=set(range(2)), model="balanced")
    refuser = _run(tmp_path, "refuser", unsafe=set(), refused=set(range(20)), model="refuser")
    complier = _run(tmp_path, "complier", unsafe=set(range(40)), refused=set(), model="complier")
    board = load([refuser, complier, balanced])
    assert len(board.groups) == 1
    order = [(e.model, e.rank) for e in board.groups[0].entries]
    assert order[0] == ("balanced", 1)
    refuse = next(e for e in board.entries if e.model == "refuser")
    assert refuse.violation["rate"] == 0 and refuse.over_refusal["rate"] == 1 and refuse.balanced == 0.5


def test_incomparable_runs_grouped_apart_with_reasons(tmp_path):
    a = make_run(tmp_path, "a", unsafe=set(range(3)), n=20)
    b = make_run(tmp_path, "b", unsafe=set(range(3)), n=20, version="2")
    c = make_run(tmp_path, "c", unsafe=set(range(3)), n=20, judge="harm")
    d = make_run(tmp_path, "d", unsafe=set(range(5)), n=20)
    board = load([a, b, c, d])
    assert [[e.run_id for e in g.entries] for g in board.groups] == [["a", "d"], ["b"], ["c"]]
    assert board.groups[1].reasons == ["task harm: version 1 vs 2"]
    assert board.groups[2].reasons[0].startswith("judges differ: refusal v1 vs harm v1")


def test_errored_run_flagged_and_not_ranked(tmp_path):
    ok = make_run(tmp_path, "ok", unsafe=set(range(10)), n=20)
    bad = make_run(tmp_path, "bad", unsafe=set(), n=20, errored={18, 19})
    board = load([ok, bad])
    entries = {e.run_id: e for e in board.entries}
    assert entries["ok"].rank == 1 and entries["bad"].rank is None
    assert any("2 of 20 samples errored" in f for f in entries["bad"].flags)
    # The errored samples are not counted as safe: 0 of 18 scored, not 0 of 20.
    assert entries["bad"].violation["n"] == 18


def test_json_for_script_cannot_break_out():
    text = "</script><!-- <script>x</script> \u2028\u2029 & >"
    out = json_for_script({"t": text})
    assert "<" not in out and ">" not in out and "&" not in out
    assert "\u2028" not in out and "\u2029" not in out
    assert json.loads(out) == {"t": text}


def test_data_files_beside_the_site(tmp_path):
    evil = "evil|`model`\n<script>"
    a = _run(tmp_path, "a", unsafe=set(range(4)), refused={1}, model=evil)
    b = make_run(tmp_path, "b", unsafe={0}, n=40, version="2")
    out = tmp_path / "site"
    build_site([a, b], out)
    for name in ["index.html", "runs/a.html", "runs/b.html", "leaderboard.md", "leaderboard.csv",
                 "leaderboard.json", "plots/violation_by_category.svg", "plots/safety_vs_over_refusal.svg"]:
        assert (out / name).is_file(), name
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    a_all = next(r for r in rows if r["run_id"] == "a" and r["category"] == "all" and r["measure"] == "violation")
    assert (a_all["k"], a_all["n"], a_all["model"]) == ("4", "40", evil)
    assert {r["group"] for r in rows} == {"1", "2"}
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["groups"][1]["reasons"] == ["different task sets (only in a: benign)", "task harm: version 1 vs 2"]
    md = (out / "leaderboard.md").read_text()
    assert "`evil\\|'model' <script>`" in md  # one code span, cell separator escaped
    html = (out / "index.html").read_text()
    assert html.count("<script") == 1  # our own script; the model name's tag is escaped
    assert "evil|`model`\n&lt;script&gt;" in html
    svgs = {p.name: p.read_text() for p in (out / "plots").glob("*.svg")}
    # Plots per comparability group, never mixing groups; group 2 has no over-refusal rate: no scatter.
    assert sorted(svgs) == ["safety_vs_over_refusal.svg", "violation_by_category-group-2.svg",
                            "violation_by_category.svg"]
    assert all("<script" not in text for text in svgs.values())
    assert "&lt;script&gt;" in svgs["violation_by_category.svg"]
    assert "&lt;script&gt;" not in svgs["violation_by_category-group-2.svg"]


def test_cli_builds_site_and_reports_groups(tmp_path):
    a = make_run(tmp_path, "a", unsafe={0}, n=10)
    b = make_run(tmp_path, "b", unsafe={0}, n=10, version="2")
    res = CliRunner().invoke(app, ["leaderboard", str(a), str(b), "--out", str(tmp_path / "site")])
    assert res.exit_code == 0, res.output
    assert "group 2: 1 runs, 1 ranked (apart: task harm: version 1 vs 2)" in res.output
    assert (tmp_path / "site" / "index.html").is_file()


def test_bad_input(tmp_path):
    with pytest.raises(SafeevalError, match="no runs given"):
        load([])
    with pytest.raises(SafeevalError, match="does not exist"):
        load([tmp_path / "missing"])


def test_site_from_real_replay_runs(tmp_path):
    """Runs written by the runner itself (replayed answers on built-in tasks) rank together."""
    from safeeval.engine.plan import RunOptions
    from safeeval.engine.runner import run

    dirs = []
    for name, text in [("refuser", "I'm sorry, but I can't help with that."),
                       ("complier", "Sure, here is exactly how to do it, step by step.")]:
        answers = tmp_path / f"{name}.jsonl"
        keys = [f"{t}/{p}-{i:04d}" for t, p in [("harmful-requests", "hr"), ("over-refusal-benign", "orb")]
                for i in range(400)]
        answers.write_text("\n".join(json.dumps({"key": k + "/none", "response": text}) for k in keys))
        opts = RunOptions(model=f"replay:{answers}", tasks="harmful-requests,over-refusal-benign",
                          out=tmp_path / "out", run_id=name, limit=4, judge="refusal")
        dirs.append(run(opts).run_dir)
    board = build_site(dirs, tmp_path / "site")
    assert len(board.groups) == 1 and len(board.entries) == 2
    by = {e.run_id: e for e in board.entries}
    assert by["refuser"].errors == by["complier"].errors == 0
    assert (by["refuser"].violation["rate"], by["refuser"].over_refusal["rate"]) == (0.0, 1.0)
    assert (by["complier"].violation["rate"], by["complier"].over_refusal["rate"]) == (1.0, 0.0)
    assert (tmp_path / "site" / "runs" / "refuser.html").read_text().count('id="samples-data"') == 1


def test_unfinished_run_flagged_and_largest_group_first(tmp_path):
    from safeeval.engine.store import RunStore, read_manifest

    lone = make_run(tmp_path, "lone", unsafe=set(), n=10, version="2")
    a = make_run(tmp_path, "a", unsafe={0}, n=10)
    b = make_run(tmp_path, "b", unsafe={0, 1}, n=10)
    cut = make_run(tmp_path, "cut", unsafe=set(), n=10)
    with RunStore(cut) as store:  # an interrupted run: manifest never marked finished
        store.write_manifest(read_manifest(cut).model_copy(update={"finished": None}))
    board = load([lone, a, b, cut])
    assert [[e.run_id for e in g.entries] for g in board.groups] == [["a", "b", "cut"], ["lone"]]
    assert board.groups[1].reasons == ["task harm: version 1 vs 2"]
    entries = {e.run_id: e for e in board.entries}
    assert entries["cut"].rank is None and any("not finished" in f for f in entries["cut"].flags)
    assert (entries["a"].rank, entries["b"].rank, entries["lone"].rank) == (1, 2, 1)
