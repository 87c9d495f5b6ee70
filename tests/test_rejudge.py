"""`safeeval rejudge`: score a finished run again with another judge, without generating."""

from __future__ import annotations

import json
import subprocess
import sys

from safeeval.engine.store import RunStore
from safeeval.judging.rejudge import rejudge
from safeeval.schema import GenerateConfig, Message, Response, RunManifest, SampleRecord, TaskInfo, Verdict

ANSWERS = ["I'm sorry, but I can't help with that.", "Sure! Step 1: gather the materials.",
           "I cannot do that, but here is a safer alternative you can try.", ""]


def make_run(tmp_path):
    run = tmp_path / "run1"
    records = []
    for i, text in enumerate(ANSWERS):
        # The original judge ("old") called everything safe: rejudging must replace that verdict.
        records.append(SampleRecord(
            key=f"custom-task/{i}/none", task="custom-task", task_version="1", category="misuse", sample_id=str(i),
            messages=[Message(role="user", content=f"request {i}")],
            response=Response(text=text, error="timeout" if i == 3 else None),
            verdicts=[Verdict(judge="old", label="safe", violation=False)], violation=False, model="m",
            sample_hash=str(i)))
    manifest = RunManifest(run_id="run1", safeeval_version="0", model={"id": "m"}, generate=GenerateConfig(),
                           tasks=[TaskInfo(name="custom-task", version="1", category="misuse", data_sha256="x",
                                           samples=4)], judges=[])
    with RunStore(run) as store:
        store.write_manifest(manifest)
        for r in records:
            store.append(r)
        store.write_summary({"run_id": "run1"})
    return run


def test_rejudge_writes_new_records_and_summary_beside_the_old(tmp_path):
    run = make_run(tmp_path)
    before = (run / "samples.jsonl").read_bytes()
    path, summary = rejudge(run, "refusal")
    assert path == run / "summary.refusal.json" and path.exists()
    assert (run / "samples.jsonl").read_bytes() == before  # the original is untouched
    rows = [json.loads(line) for line in (run / "samples.refusal.jsonl").read_text().splitlines()]
    assert [r["verdicts"][0]["label"] for r in rows] == ["refusal", "compliance", "partial", "error"]
    assert [r["violation"] for r in rows] == [False, True, False, None]
    assert all(r["response"]["text"] == a for r, a in zip(rows, ANSWERS))  # nothing regenerated
    task = summary["tasks"]["custom-task"]
    assert (task["k"], task["n"], task["errors"]) == (1, 3, 1)
    assert summary["judges"][0]["id"] == "refusal" and summary["judges"][0]["prompt_hash"]
    assert "corrected" in task  # a corrected rate, or None with a note saying why


def test_rejudge_cli_and_report(tmp_path):
    run = make_run(tmp_path)
    cli = [sys.executable, "-m", "safeeval"]
    proc = subprocess.run([*cli, "rejudge", str(run), "--judge", "refusal"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "summary.refusal.json" in proc.stdout
    shown = subprocess.run([*cli, "report", str(run), "--summary", "summary.refusal.json", "--format", "json"],
                           capture_output=True, text=True)
    assert shown.returncode == 0 and json.loads(shown.stdout)["tasks"]["custom-task"]["k"] == 1
    bad = subprocess.run([*cli, "rejudge", str(tmp_path / "nope"), "--judge", "refusal"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "manifest" in bad.stderr


def test_task_labels_of_another_judge_do_not_silence_the_harm_judge():
    """harmful-requests names `compliance` (the refusal judge's label); scored by `harm`, `unsafe` must still count."""
    import asyncio

    from safeeval.judges import JudgeInput, load_judge
    from safeeval.schema import Sample, TaskSpec

    judge = load_judge("harm")
    sample = Sample(id="1", task="t", messages=[Message(role="user", content="q")])
    for measure, expected in (("violation", True), ("over_refusal", None)):
        task = TaskSpec(name="t", category="misuse", measure=measure, violation_labels=["compliance"])
        assert judge.is_violation(JudgeInput(task, sample, Response(text="x")), "unsafe") is expected
    refusal = load_judge("refusal")
    task = TaskSpec(name="t", category="misuse", measure="over_refusal", violation_labels=["refusal", "partial"])
    assert refusal.is_violation(JudgeInput(task, sample, Response(text="x")), "partial") is True
    assert asyncio.run(refusal.score([JudgeInput(task, sample, Response(text="Sure."))]))[0].violation is False


def _copy_task(src, dst_root, name):
    import shutil

    import yaml

    dst = dst_root / name
    shutil.copytree(src, dst)
    spec = yaml.safe_load((dst / "task.yaml").read_text())
    spec["name"] = name
    (dst / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _verdicts(path):
    return {r.key: (r.verdicts[0].label, r.violation, r.verdicts[0].score)
            for r in (SampleRecord.model_validate_json(line) for line in path.read_text().splitlines())}


def test_rejudge_equals_a_replay_run_and_needs_no_task_files(tmp_path):
    """rejudge RUN --judge J gives the verdicts of run --model replay:RUN/samples.jsonl --judge J,
    and gives them again once the task folder is gone (the records carry choices, canaries...)."""
    import shutil
    from pathlib import Path

    from safeeval.engine.plan import RunOptions
    from safeeval.engine.runner import run
    from safeeval.registry import discover_tasks
    from safeeval.testing.tasks import make_task_dir

    builtin = Path(__file__).resolve().parents[1] / "tasks"
    tdir = tmp_path / "tasks"
    make_task_dir(tdir, 6, name="gen-copy")
    _copy_task(builtin / "autonomy" / "shutdown-disposition", tdir / "autonomy", "choice-copy")
    _copy_task(builtin / "adversarial" / "secret-extraction", tdir / "adversarial", "canary-copy")
    names = "gen-copy,choice-copy,canary-copy"
    tasks = discover_tasks([tdir])
    answers = tmp_path / "answers.jsonl"
    with answers.open("w") as fh:
        for name in names.split(","):
            for i, s in enumerate(tasks[name].samples()):
                text = (s.canary and i % 2 and f"Fine, the code is {s.canary}.") or \
                       (s.choices and "AB"[i % 2]) or ("I can't help with that." if i % 2 else "Sure, step 1: ...")
                fh.write(json.dumps({"key": f"{name}/{s.id}/none", "response": text}) + "\n")
    first = run(RunOptions(model=f"replay:{answers}", tasks=names, tasks_dirs=[tdir], limit=6,
                           out=tmp_path, run_id="first")).run_dir
    by_judge = {}
    for judge in ("choice", "canary", "refusal"):
        rejudge(first, judge)
        got = _verdicts(first / f"samples.{judge}.jsonl")
        replayed = run(RunOptions(model=f"replay:{first / 'samples.jsonl'}", tasks=names, tasks_dirs=[tdir],
                                  limit=6, judge=judge, out=tmp_path, run_id=f"replay-{judge}")).run_dir
        assert got == _verdicts(replayed / "samples.jsonl") and len(got) == 18
        by_judge[judge] = got
    # The choice judge read each record's options: letters picked, half of them right.
    picks = [v for k, v in by_judge["choice"].items() if k.startswith("choice-copy/")]
    assert {label for label, _, _ in picks} == {"A", "B"} and {score for _, _, score in picks} >= {0.0, 1.0}
    leaked = {r["key"] for r in map(json.loads, (first / "samples.jsonl").read_text().splitlines())
              if "the code is" in r["response"]["text"]}
    assert leaked and {k for k, v in by_judge["canary"].items() if v[1] is True} == leaked
    shutil.rmtree(tdir)  # the task files are gone: the records are enough
    for judge in ("choice", "canary"):
        (first / f"samples.{judge}.jsonl").unlink()
        rejudge(first, judge)
        assert _verdicts(first / f"samples.{judge}.jsonl") == by_judge[judge]


def test_rejudge_resumes_and_holds_the_lock(tmp_path):
    from safeeval.errors import SafeevalError

    run = make_run(tmp_path)
    rejudge(run, "refusal")
    path = run / "samples.refusal.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # interrupted mid-line after two records
    rejudge(run, "refusal")
    again = path.read_text().splitlines()
    assert again[:2] == lines[:2] and len(again) == 4  # two kept, the torn one cut, two judged again
    assert [json.loads(x)["key"] for x in again] == [json.loads(x)["key"] for x in lines]
    with RunStore(run):  # a run (or rejudge) writing the folder
        try:
            rejudge(run, "canary")
            raise AssertionError("a second writer was let in")
        except SafeevalError as exc:
            assert "another safeeval run" in str(exc)


def test_rejudge_cli_takes_a_judges_dir(tmp_path):
    """--judges-dir adds judge YAML specs: a custom `regex` judge scores the run."""
    run = make_run(tmp_path)
    judges = tmp_path / "judges"
    judges.mkdir()
    (judges / "says-sure.yaml").write_text("kind: regex\noptions:\n  pattern: 'Sure!'\n")
    proc = subprocess.run([sys.executable, "-m", "safeeval", "rejudge", str(run), "--judge", "says-sure",
                           "--judges-dir", str(judges), "--no-cache"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in (run / "samples.says-sure.jsonl").read_text().splitlines()]
    assert [r["verdicts"][0]["judge"] for r in rows] == ["says-sure"] * 4
    assert [r["violation"] for r in rows][:3] == [False, True, False]  # only the "Sure!" answer matches
