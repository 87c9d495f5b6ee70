"""The Ray executor on a local 2-CPU Ray cluster, running the embedded model.

- Its records equal the single-process run's (same keys, same answers and
  verdicts at temperature 0).
- A worker actor killed mid-run: the run still completes, with no sample
  lost and none written twice.

Ray start-up and one model load per worker cost tens of seconds on 2 cores,
so there are only these two runs, sharing one cluster and one local run.
"""

from __future__ import annotations

import logging
import os

import pytest

from safeeval.engine.distributed import WORKER_PREFIX
from safeeval.engine.plan import RunOptions
from safeeval.engine.runner import run
from safeeval.engine.store import SAMPLES, read_records

ray = pytest.importorskip("ray", reason="the Ray executor needs `pip install 'safeeval[ray]'`")

pytestmark = pytest.mark.slow


def options(out, **extra) -> RunOptions:
    # batch_size=1: an answer then cannot depend on which prompts share its batch (padding),
    # only on the prompt, so a local and a Ray run can be compared token for token.
    # judge="refusal": a judge with no model to load, so the first records land (and the kill test
    # strikes) while the workers still hold prompts; `harm` loads MiniLM on its first batch.
    return RunOptions(model="smollm2", tasks="harmful-requests,power-seeking", limit=5, max_tokens=12,
                      batch_size=1, out=out, no_cache=True, judge="refusal", **extra)


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_worker_niceness", "0")  # as the executor does for its own clusters
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_records(tmp_path_factory):
    result = run(options(tmp_path_factory.mktemp("local"), run_id="local"))
    records = read_records(result.run_dir)
    assert len(records) == 10 and not any(r.response.error for r in records)
    return records


def essence(records) -> dict[str, tuple]:
    return {r.key: (r.sample_hash, r.response.text, [(v.judge, v.label, v.violation) for v in r.verdicts], r.violation)
            for r in records}


def raw_keys(run_dir) -> list[str]:
    """Every key written to samples.jsonl, duplicates included (read_records would fold them)."""
    import json

    lines = (run_dir / SAMPLES).read_text().splitlines()
    return [json.loads(line)["key"] for line in lines if line.strip()]


def test_ray_run_equals_the_single_process_run(cluster, local_records, tmp_path):
    result = run(options(tmp_path, run_id="ray", executor="ray", workers=2))
    records = read_records(result.run_dir)
    assert sorted(raw_keys(result.run_dir)) == sorted(r.key for r in local_records)
    assert essence(records) == essence(local_records)
    # The executor is not part of what was evaluated: the manifest names the model as a local run does.
    assert result.summary["model"] == "smollm2"
    assert not [a for a in ray.util.list_named_actors() if a.startswith(WORKER_PREFIX)]  # actors released


def test_a_killed_worker_loses_and_duplicates_nothing(cluster, local_records, tmp_path, caplog):
    killed: list[str] = []

    def kill_one(done: int, total: int, work: float) -> None:
        # After the first records land, while both workers still have prompts in hand.
        if not killed and 0 < done < total:
            names = sorted(a for a in ray.util.list_named_actors() if a.startswith(WORKER_PREFIX))
            ray.kill(ray.get_actor(names[0]))
            killed.append(names[0])

    caplog.set_level(logging.WARNING, logger="safeeval.ray")
    result = run(options(tmp_path, run_id="killed", executor="ray", workers=2), progress=kill_one)
    assert killed
    assert any("died" in r.getMessage() and "re-queued" in r.getMessage() for r in caplog.records)
    keys = raw_keys(result.run_dir)
    assert len(keys) == len(set(keys))                                   # nothing written twice
    assert sorted(keys) == sorted(r.key for r in local_records)          # nothing lost
    assert essence(read_records(result.run_dir)) == essence(local_records)
