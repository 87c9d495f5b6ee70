"""`--shard i/n` slices and `safeeval merge`: the slices merged equal the whole run.

The runs here replay recorded answers (no model), so they take seconds; the
Ray tests run the embedded model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from safeeval.engine.merge import merge
from safeeval.engine.plan import RunOptions, expand, resolve_tasks
from safeeval.engine.runner import run
from safeeval.engine.shard import Shard, parse_shard, select_shard, shard_of
from safeeval.engine.store import read_manifest, read_records
from safeeval.errors import SafeevalError

TASKS = "harmful-requests,over-refusal-benign,power-seeking"
ANSWERS = ["I can't help with that.", "Sure, here is how to do it, step by step: first...", "A", "B"]


def options(tmp_path: Path, **extra) -> RunOptions:
    base = dict(model=f"replay:{tmp_path / 'answers.jsonl'}", tasks=TASKS, attacks="none,base64", limit=6,
                out=tmp_path / "runs", no_cache=True)
    return RunOptions(**{**base, **extra})


@pytest.fixture
def replay(tmp_path: Path) -> Path:
    """Recorded answers for every key of the run, mixing refusals, compliance and choices."""
    opts = options(tmp_path)
    items, _ = expand(resolve_tasks(opts), opts)
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps({"key": it.prompt.key, "response": ANSWERS[i % len(ANSWERS)]})
                              for i, it in enumerate(items)) + "\n")
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "safeeval", *args], capture_output=True, text=True, timeout=300)


def essence(records) -> dict[str, tuple]:
    """What must agree between two runs of the same samples: answer and verdicts, by key."""
    return {r.key: (r.response.text, r.response.error, [(v.judge, v.label, v.violation) for v in r.verdicts],
                    r.violation, r.sample_hash) for r in records}


# ---------------------------------------------------------------- shard selection


def test_parse_shard_accepts_i_of_n_and_rejects_the_rest():
    assert parse_shard("1/4") == Shard(index=1, count=4)
    assert parse_shard(None) is None and parse_shard("") is None
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0", "1/2/3"):
        with pytest.raises(SafeevalError, match="expected i/n"):
            parse_shard(bad)


def test_shards_partition_the_keys_and_the_hash_is_pinned():
    keys = [f"task-{t}/s-{i:04d}/{a}" for t in range(3) for i in range(200) for a in ("none", "base64")]
    items = [SimpleNamespace(key=k) for k in keys]
    slices = [select_shard(items, f"{i}/3", key="key") for i in range(3)]
    seen = [item.key for s in slices for item in s]
    assert sorted(seen) == sorted(keys)                       # every key once, in exactly one slice
    assert all(abs(len(s) - len(keys) / 3) < len(keys) * 0.08 for s in slices)  # roughly even
    # Pinned values: slices written by one version must merge with slices written by the next.
    assert [shard_of("harmful-requests/hr-0001/none", n) for n in (2, 4, 7)] == [0, 0, 5]
    assert [shard_of(f"x/{i}/none", 5) for i in range(6)] == [3, 3, 4, 3, 4, 4]


def test_a_shard_is_independent_of_limit_order_and_other_shards(tmp_path, replay):
    full, _ = expand(resolve_tasks(options(tmp_path)), options(tmp_path))
    keys = [it.prompt.key for it in full]
    mine = [it.prompt.key for it in select_shard(full, "1/3")]
    assert mine == [k for k in keys if shard_of(k, 3) == 1]
    assert [it.prompt.key for it in select_shard(list(reversed(full)), "1/3")] == list(reversed(mine))


# ---------------------------------------------------------------- shard runs and merge


def test_two_shards_merged_equal_the_full_run(tmp_path, replay):
    full = run(options(tmp_path, run_id="full"))
    parts = [run(options(tmp_path, run_id=f"part{i}", shard=f"{i}/2")) for i in range(2)]
    part_keys = [{r.key for r in read_records(p.run_dir)} for p in parts]
    assert part_keys[0] and part_keys[1] and not part_keys[0] & part_keys[1]
    assert read_manifest(parts[1].run_dir).shard == "1/2"

    done = cli("merge", str(parts[0].run_dir), str(parts[1].run_dir), "--out", str(tmp_path / "merged"))
    assert done.returncode == 0, done.stderr
    merged_records = read_records(tmp_path / "merged")
    full_records = read_records(full.run_dir)
    assert len(merged_records) == len(full_records) == len({r.key for r in merged_records})
    assert essence(merged_records) == essence(full_records)
    summary = json.loads((tmp_path / "merged" / "summary.json").read_text())
    for name, row in full.summary["tasks"].items():
        assert (summary["tasks"][name]["k"], summary["tasks"][name]["n"]) == (row["k"], row["n"])
    manifest = read_manifest(tmp_path / "merged")
    assert manifest.shard is None and manifest.finished is not None


def test_missing_shard_is_reported_and_resume_fills_it(tmp_path, replay):
    full = run(options(tmp_path, run_id="full"))
    part0 = run(options(tmp_path, run_id="part0", shard="0/2"))
    report = merge([part0.run_dir], tmp_path / "merged")
    expected_missing = sorted(r.key for r in read_records(full.run_dir) if shard_of(r.key, 2) == 1)
    assert sorted(report.missing) == expected_missing and report.missing_shards == ["1/2"]
    assert not report.complete and read_manifest(tmp_path / "merged").finished is None

    done = cli("merge", str(part0.run_dir), "--out", str(tmp_path / "merged-cli"))
    assert done.returncode == 1
    assert f"{len(expected_missing)} samples missing" in done.stderr and "--resume" in done.stderr

    # The merged folder is an ordinary run: resuming it runs exactly the missing samples.
    resumed = run(options(tmp_path, resume=tmp_path / "merged"))
    assert resumed.new_records == len(expected_missing)
    assert essence(read_records(tmp_path / "merged")) == essence(read_records(full.run_dir))


def test_duplicates_are_reported_once_kept(tmp_path, replay):
    full = run(options(tmp_path, run_id="full"))
    part1 = run(options(tmp_path, run_id="part1", shard="1/2"))
    report = merge([full.run_dir, part1.run_dir], tmp_path / "merged")
    assert sorted(report.duplicates) == sorted(r.key for r in read_records(part1.run_dir))
    assert report.conflicts == [] and report.missing == []
    assert essence(read_records(tmp_path / "merged")) == essence(read_records(full.run_dir))


def test_conflicting_duplicates_exit_1(tmp_path, replay):
    full = run(options(tmp_path, run_id="full"))
    other = tmp_path / "other.jsonl"
    other.write_text(replay.read_text().replace("I can't help with that.", "Of course! Here you go."))
    again = run(options(tmp_path, run_id="again", model=f"replay:{other}"))
    # Different replay files are different models; make the manifests agree, as two
    # runs of one nondeterministic model would.
    path = again.run_dir / "manifest.json"
    data = json.loads(path.read_text())
    data["model"] = read_manifest(full.run_dir).model
    path.write_text(json.dumps(data))
    done = cli("merge", str(full.run_dir), str(again.run_dir), "--out", str(tmp_path / "merged"))
    assert done.returncode == 1
    assert "duplicates with different answers or verdicts" in done.stderr


@pytest.mark.parametrize("change", ["seed", "data"])
def test_incompatible_manifests_exit_2_with_one_line(tmp_path, replay, change):
    part0 = run(options(tmp_path, run_id="part0", shard="0/2"))
    part1 = run(options(tmp_path, run_id="part1", shard="1/2", seed=1 if change == "seed" else 0))
    if change == "data":  # the task data changed between the two jobs
        path = part1.run_dir / "manifest.json"
        data = json.loads(path.read_text())
        data["tasks"][0]["data_sha256"] = "0" * 64
        path.write_text(json.dumps(data))
    done = cli("merge", str(part0.run_dir), str(part1.run_dir), "--out", str(tmp_path / "merged"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot merge" in lines[0]
    assert ("seed differ" if change == "seed" else "tasks differ") in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "merged").exists()


def test_bad_shard_on_the_command_line_exits_2(tmp_path, replay):
    done = cli("run", "--model", f"replay:{replay}", "--tasks", "harmful-requests", "--limit", "2",
               "--shard", "2/2", "--out", str(tmp_path / "runs"), "--no-cache")
    assert done.returncode == 2 and "--shard '2/2'" in done.stderr and "Traceback" not in done.stderr


def test_one_definition_of_comparable_runs_for_resume_merge_rank_and_gate():
    from safeeval.schema import GenerateConfig, JudgeInfo, RunManifest, TaskInfo

    def manifest(**change):
        base = dict(run_id="a", safeeval_version="0", model={"id": "m"}, generate=GenerateConfig(),
                    tasks=[TaskInfo(name="t", version="1", category="misuse", data_sha256="x" * 64, samples=3)],
                    judges=[JudgeInfo(id="refusal")])
        return RunManifest(**{**base, **change})

    a = manifest()
    fields = {p: lambda b, p=p: [f for f, _ in a.differences(b, p)] for p in ("resume", "merge", "rank", "gate")}
    other_model = manifest(model={"id": "n"})
    assert fields["resume"](other_model) == fields["merge"](other_model) == ["model"]
    assert fields["rank"](other_model) == fields["gate"](other_model) == []  # other models are what one ranks
    hotter = manifest(generate=GenerateConfig(temperature=0.7))  # the leaderboard used to miss this
    assert all(fields[p](hotter) == ["generation settings"] for p in fields)
    more = manifest(tasks=[*a.tasks, TaskInfo(name="u", version="1", category="misuse", data_sha256="y", samples=1)])
    assert fields["rank"](more) == ["tasks"] and fields["gate"](more) == []  # the gate pairs shared samples
    assert fields["resume"](manifest(shard="0/2")) == ["shard"] and fields["merge"](manifest(shard="0/2")) == []
    assert fields["merge"](manifest(seed=1)) == ["seed"] and fields["gate"](manifest(seed=1)) == []
