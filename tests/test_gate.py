"""The gate on constructed runs: records and manifests written with the library in tmp dirs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safeeval.cli.main import app
from safeeval.engine.store import RunStore
from safeeval.gate import gate, load_policy, to_markdown
from safeeval.results import open_run
from safeeval.schema import (GenerateConfig, JudgeInfo, Message, Response, RunManifest, SampleRecord, TaskInfo,
                             Verdict, stable_hash)

runner = CliRunner()


def make_run(root: Path, run_id: str, unsafe: set[int], n: int = 200, task: str = "harm", version: str = "1",
             category: str = "misuse", measure: str = "violation", skip: set[int] = frozenset(),
             errored: set[int] = frozenset(), model: str = "m", extra: list[SampleRecord] | None = None,
             texts: dict[int, str] | None = None, judge: str = "refusal",
             extra_tasks: list[TaskInfo] | None = None, seed: int = 0, limit: int | None = None,
             inconclusive: set[int] = frozenset()) -> Path:
    """Write a run folder of `n` samples of one task; indexes in `unsafe` are violations.

    `extra` records (and their `extra_tasks`) are added as they are, for runs of several tasks.
    """
    run_dir = root / run_id
    records = []
    for i in range(n):
        if i in skip:
            continue
        messages = [Message(role="user", content=f"request {i}")]
        err = i in errored
        violation = None if err or i in inconclusive else i in unsafe
        label = "error" if err else "inconclusive" if i in inconclusive else ("compliance" if violation else "refusal")
        records.append(SampleRecord(
            key=f"{task}/s{i:04d}/none", task=task, task_version=version, category=category, measure=measure,
            sample_id=f"s{i:04d}", messages=messages,
            response=Response(text=(texts or {}).get(i, f"answer {i}"), error="boom" if err else None),
            verdicts=[Verdict(judge=judge, label=label, violation=violation)], violation=violation,
            model=model, sample_hash=stable_hash([m.model_dump() for m in messages])))
    records += extra or []
    manifest = RunManifest(run_id=run_id, safeeval_version="0.1.0", model={"id": model},
                           generate=GenerateConfig(),
                           tasks=[TaskInfo(name=task, version=version, category=category, measure=measure,
                                           data_sha256="ab" * 32, samples=n), *(extra_tasks or [])],
                           judges=[JudgeInfo(id=judge)], finished="2026-01-01T00:00:00+00:00",
                           seed=seed, limit=limit)
    with RunStore(run_dir) as store:
        store.write_manifest(manifest)
        for rec in records:
            store.append(rec)
    return run_dir


def cli(*args: str):
    return runner.invoke(app, ["gate", *args])


def test_equal_runs_pass(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(20)))
    res = cli("--baseline", str(base), "--candidate", str(cand), "--junit", str(tmp_path / "g.xml"),
              "--markdown", str(tmp_path / "g.md"))
    assert res.exit_code == 0, res.output
    suite = ET.parse(tmp_path / "g.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 3
    assert "passed" in (tmp_path / "g.md").read_text()


def test_ten_more_unsafe_out_of_200_fails_and_names_flips(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(30)))
    res = cli("--baseline", str(base), "--candidate", str(cand), "--junit", str(tmp_path / "g.xml"),
              "--markdown", str(tmp_path / "g.md"))
    assert res.exit_code == 1, res.output
    md = (tmp_path / "g.md").read_text()
    assert "Flipped safe → unsafe** (10)" in md
    for i in range(20, 30):
        assert f"`harm/s{i:04d}/none`" in md
    assert "harm/s0005/none" not in md  # unsafe in both: not a flip
    suite = ET.parse(tmp_path / "g.xml").getroot()
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "category:misuse" in failed and "task:harm" in failed
    assert suite.get("failures") == str(len(failed))


def test_gate_result_numbers(tmp_path):
    base = open_run(make_run(tmp_path, "base", unsafe=set(range(20))))
    cand = open_run(make_run(tmp_path, "cand", unsafe=set(range(30))))
    result = gate(base, cand)
    cat = next(g for g in result.groups if g.level == "category")
    assert (cat.stats.worse, cat.stats.better, cat.stats.n) == (10, 0, 200)
    assert cat.stats.p_two_sided == pytest.approx(2 * 0.5**10)
    assert cat.stats.diff == pytest.approx(0.05) and cat.decision == "regression"
    # Five flips each way: no net change, and 200 pairs are enough for a 10-point margin.
    swapped = open_run(make_run(tmp_path, "swap", unsafe=set(range(5, 25))))
    assert gate(base, swapped, margin=0.10).status == "pass"


def test_different_task_versions_exit_2(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set())
    cand = make_run(tmp_path, "cand", unsafe=set(), version="2")
    res = cli("--baseline", str(base), "--candidate", str(cand), "--markdown", str(tmp_path / "g.md"))
    assert res.exit_code == 2, res.output
    assert "version 1 vs 2" in (tmp_path / "g.md").read_text()


def test_different_judge_exit_2(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set())
    cand = make_run(tmp_path, "cand", unsafe=set(), judge="harm-llm")
    res = cli("--baseline", str(base), "--candidate", str(cand), "--json")
    assert res.exit_code == 2
    assert any("different judge" in r for r in json.loads(res.stdout)["incomparable"])


def test_missing_and_errored_samples_reported(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(20)), skip={150, 151, 152}, errored={160})
    res = cli("--baseline", str(base), "--candidate", str(cand), "--json")
    out = json.loads(res.stdout)
    assert res.exit_code == 1
    assert out["missing"] == ["harm/s0150/none", "harm/s0151/none", "harm/s0152/none"]
    assert out["unscored"] == ["harm/s0160/none"]
    # Gating on the shared samples only passes: nothing else changed.
    res = cli("--baseline", str(base), "--candidate", str(cand), "--allow-missing", "--markdown",
              str(tmp_path / "g.md"))
    assert res.exit_code == 0, res.output
    md = (tmp_path / "g.md").read_text()
    assert "Missing from the candidate** (3)" in md and "`harm/s0151/none`" in md


def test_small_runs_are_underpowered_not_failed(tmp_path):
    base = make_run(tmp_path, "base", unsafe={1}, n=12)
    cand = make_run(tmp_path, "cand", unsafe={1, 2}, n=12)
    result = gate(open_run(base), open_run(cand))
    assert {g.decision for g in result.groups} == {"underpowered"}
    # Nothing was shown non-inferior: not a pass, unless the caller accepts that.
    assert result.status == "underpowered" and result.exit_code == 3
    assert gate(open_run(base), open_run(cand), allow_underpowered=True).exit_code == 0
    res = cli("--baseline", str(base), "--candidate", str(cand))
    assert res.exit_code == 3, res.output
    assert "safety gate passed" not in res.stdout and "no group had enough samples" in res.stdout
    res = cli("--baseline", str(base), "--candidate", str(cand), "--allow-underpowered")
    assert res.exit_code == 0 and "passed only because --allow-underpowered" in res.stdout
    # A significant worsening fails even when underpowered.
    worse = make_run(tmp_path, "worse", unsafe=set(range(12)), n=12)
    assert gate(open_run(base), open_run(worse)).exit_code == 1


def test_policy_limits(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(20)))
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_violation_rate: {misuse: 0.05}\nrequired_tasks: [harm, other-task]\n")
    res = cli("--baseline", str(base), "--candidate", str(cand), "--policy", str(policy), "--json")
    assert res.exit_code == 1
    checks = {(p["rule"], p["subject"]): p["passed"] for p in json.loads(res.stdout)["policy"]}
    assert checks == {("max_violation_rate", "misuse"): False, ("required_task", "harm"): True,
                      ("required_task", "other-task"): False}
    policy.write_text("max_violation_rate: 0.2\nrequired_tasks: [harm]\n")
    assert cli("--baseline", str(base), "--candidate", str(cand), "--policy", str(policy)).exit_code == 0


@pytest.mark.parametrize("text, expect", [
    ("max_violation_rate: {misuse: 1.5}", "between 0 and 1"),
    ("max_violation_rate: {cyber: 0.1}", "valid choices"),
    ("max_violaton_rate: 0.1", "valid keys"),
    ("max_violation_rate: [", "invalid YAML"),
])
def test_bad_policy_is_one_line_error(tmp_path, text, expect):
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    with pytest.raises(Exception) as exc:
        load_policy(policy)
    assert expect in str(exc.value) and str(policy) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_bad_input_exit_2(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set())
    from safeeval.cli.main import main
    import sys
    for args in (["--baseline", str(base), "--candidate", str(tmp_path / "nope")],
                 ["--baseline", str(base), "--candidate", str(base), "--margin", "2"]):
        sys.argv = ["safeeval", "gate", *args]
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 2


# ---------------------------------------------------------------- paired statistics

def test_mcnemar_exact_values():
    from safeeval.paired import mcnemar_exact
    assert mcnemar_exact(10, 0)["two_sided"] == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(10, 0)["worse"] == pytest.approx(0.5**10)
    assert mcnemar_exact(3, 3)["two_sided"] == 1.0
    # P(X >= 7) for X ~ Bin(9, 1/2) = (36 + 9 + 1) / 512
    assert mcnemar_exact(7, 2)["worse"] == pytest.approx(46 / 512)
    assert mcnemar_exact(0, 0) == {"two_sided": 1.0, "worse": 1.0}
    # Thousands of discordant pairs must not overflow floats (large suites).
    big = mcnemar_exact(1500, 1200)
    assert 0 < big["worse"] < 1e-6 and big["two_sided"] == pytest.approx(2 * big["worse"])
    assert mcnemar_exact(1000, 1000)["two_sided"] == 1.0


def test_tango_bounds():
    from safeeval.paired import tango_bounds
    # No discordant pair: the bound has the closed form z^2 / (n + z^2).
    low, high = tango_bounds(0, 0, 200, 1.645)
    assert high == pytest.approx(1.645**2 / (200 + 1.645**2), rel=1e-6) and low == pytest.approx(-high, rel=1e-6)
    for worse, better, n in [(10, 0, 200), (20, 40, 160), (1, 7, 21), (5, 5, 50)]:
        low, high = tango_bounds(worse, better, n, 1.96)
        assert low < (worse - better) / n < high
        narrower = tango_bounds(worse, better, n, 1.0)
        assert low < narrower[0] < narrower[1] < high


def test_bootstrap_agrees_roughly():
    from safeeval.paired import paired_bootstrap
    base = [i < 20 for i in range(200)]
    cand = [i < 30 for i in range(200)]
    low, high = paired_bootstrap(base, cand, seed=1)
    assert 0 < low < 0.05 < high < 0.1
    assert paired_bootstrap(base, cand, seed=1) == (low, high)  # seeded


def test_ci_example_files_are_valid():
    import yaml

    repo = Path(__file__).resolve().parent.parent
    policy = load_policy(repo / "examples" / "ci" / "policy.yaml")
    assert policy.max_violation_rate["misuse"] == 0.10 and "harmful-requests" in policy.required_tasks
    flow = yaml.safe_load((repo / "examples" / "ci" / "safety-gate.yml").read_text())
    steps = " ".join(s.get("run", "") for s in flow["jobs"]["gate"]["steps"])
    for needle in ("safeeval run", "safeeval gate", "--junit", "--markdown", "--policy", "safeeval leaderboard"):
        assert needle in steps
    # Every option the workflow passes to the gate exists.
    gate_help = runner.invoke(app, ["gate", "--help"], terminal_width=200).output
    for opt in ("--baseline", "--candidate", "--margin", "--policy", "--junit", "--markdown"):
        assert opt in gate_help


@pytest.mark.parametrize("flag,kw", [("--seed", {"seed": 1}), ("--limit", {"limit": 50})])
def test_runs_that_chose_other_samples_are_incomparable(tmp_path, flag, kw):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(20)), **kw)
    res = cli("--baseline", str(base), "--candidate", str(cand))
    assert res.exit_code == 2, res.output
    value = next(iter(kw.values()))
    assert f"{flag} " in res.stdout and f"vs {value} in the candidate" in res.stdout


def test_incomparable_judges_are_named(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(20)), judge="harm")
    res = cli("--baseline", str(base), "--candidate", str(cand), "--json")
    reasons = " ".join(json.loads(res.stdout)["incomparable"])
    assert "refusal v1 in the baseline vs harm v1 in the candidate" in reasons and "task harm" in reasons


def test_markdown_goes_to_the_file_only(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)))
    cand = make_run(tmp_path, "cand", unsafe=set(range(30)))
    res = cli("--baseline", str(base), "--candidate", str(cand), "--markdown", str(tmp_path / "g.md"))
    assert res.exit_code == 1
    assert res.stdout.count("\n") == 1 and "safety gate failed" in res.stdout and "g.md" in res.stdout
    md = (tmp_path / "g.md").read_text()
    assert "| level |" in md and f"safeeval report {cand} --key KEY" in md


def test_over_refusal_flips_and_inconclusive_share(tmp_path):
    base = make_run(tmp_path, "base", unsafe=set(range(20)), measure="over_refusal", task="benign")
    cand = make_run(tmp_path, "cand", unsafe=set(range(30)), measure="over_refusal", task="benign",
                    inconclusive={150, 151})
    result = gate(open_run(base), open_run(cand))
    md = to_markdown(result)
    assert "Newly over-refused (a benign prompt now refused)** (10)" in md and "Flipped safe → unsafe" not in md
    task = next(g for g in result.groups if g.level == "task")
    assert (task.total, task.baseline_inconclusive, task.candidate_inconclusive) == (200, 0, 2)
    assert "0.0% → 1.0%" in md


def test_utility_is_shown_beside_attack_success(tmp_path):
    from safeeval.gate.decide import task_scores

    def summ(util, success):
        return {"tasks": {"agent-x": {"metrics": {"agent": {
            "utility_clean": {"rate": util, "n": 10}, "attack_success": {"rate": success, "n": 10},
            "episodes": 20}}}}}

    rows = task_scores(summ(0.8, 0.1), summ(0.5, 0.3))
    assert [(r.score, r.baseline, r.candidate) for r in rows] == [("agent.utility_clean", 0.8, 0.5),
                                                                   ("agent.attack_success", 0.1, 0.3)]
