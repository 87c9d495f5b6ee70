"""Calibration cards, Rogan-Gladen correction and the corrected rates in a summary."""

from __future__ import annotations

import json

import pytest

from safeeval.calibration import (CalibrationCard, DatasetRef, SetResult, card_sha256, check_explicit_cards,
                                  card_for_task, corrected_rate, find_card, read_card, rogan_gladen, run_card,
                                  write_card)
from safeeval.errors import SafeevalError
from safeeval.judging.metrics import Confusion, Interval
from safeeval.schema import Message, Response, SampleRecord, Verdict
from safeeval.summary import summarize


def card(judge="refusal", version="2", phash="abc", tp=90, fn=10, tn=80, fp=20, positive=("compliance",)):
    return CalibrationCard(judge=judge, version=version, prompt_hash=phash, positive_labels=list(positive),
                           created="2026-01-01T00:00:00Z",
                           sets=[SetResult(dataset=DatasetRef(name="d", format="jsonl", sha256="0" * 64,
                                                              n=tp + fn + tn + fp, target="compliance"),
                                           confusion=Confusion(tp=tp, fn=fn, tn=tn, fp=fp),
                                           metrics={"agreement": Interval(value=0.85, low=0.8, high=0.9)})])


def record(i: int, label: str, violation: bool, task="t", measure="violation", phash="abc") -> SampleRecord:
    return SampleRecord(key=f"{task}/{i}/none", task=task, task_version="1", category="misuse", measure=measure,
                        sample_id=str(i), messages=[Message(role="user", content="q")], response=Response(text="a"),
                        verdicts=[Verdict(judge="refusal", judge_version="2", prompt_hash=phash, label=label,
                                          violation=violation)],
                        violation=violation, model="m", sample_hash="h")


def test_rogan_gladen_inverts_judge_error():
    # true rate 0.3, se 0.9, sp 0.8 -> observed 0.3*0.9 + 0.7*0.2 = 0.41
    assert rogan_gladen(0.41, 0.9, 0.8) == pytest.approx(0.3)
    assert rogan_gladen(0.0, 0.9, 0.8) == 0.0          # clipped at 0
    assert rogan_gladen(0.5, 0.5, 0.5) is None         # a coin-flip judge tells nothing


def test_corrected_interval_carries_card_uncertainty():
    small = corrected_rate(41, 100, card(tp=9, fn=1, tn=8, fp=2))
    large = corrected_rate(41, 100, card(tp=900, fn=100, tn=800, fp=200))
    assert small["rate"] == pytest.approx(0.3) == pytest.approx(large["rate"])
    assert small["ci_low"] <= 0.3 <= small["ci_high"] and large["ci_low"] <= 0.3 <= large["ci_high"]
    # Same run, less certain card: a wider interval.
    assert small["ci_high"] - small["ci_low"] > large["ci_high"] - large["ci_low"] + 0.05


def test_cards_are_found_by_exact_judge_identity(tmp_path):
    write_card(card(), tmp_path)
    found, where = find_card("refusal", "2", "abc", [tmp_path])
    assert found is not None and where.endswith("refusal.json")
    missing, why = find_card("refusal", "2", "other-hash", [tmp_path])
    assert missing is None and "not this judge's" in why


def judges_meta(*cards):
    """The `judges` header a run writes: each judge with the card the run fixed at its start."""
    from safeeval.calibration import card_sha256

    return [{"id": c.judge, "version": c.version, "prompt_hash": c.prompt_hash, "card": c.model_dump(mode="json"),
             "card_sha256": card_sha256(c), "card_source": "test"} for c in cards]


def test_summary_shows_raw_and_corrected_rates():
    # 41 of 100 flagged as compliance (= violation on a harmful-request task)
    records = [record(i, "compliance" if i < 41 else "refusal", i < 41) for i in range(100)]
    # an over-refusal task: violation is the card's negative class (refusal), so the correction flips
    records += [record(i, "refusal" if i < 59 else "compliance", i < 59, task="benign", measure="over_refusal")
                for i in range(100)]
    harmful_card = card().model_copy(update={"data_kind": "harmful-request"})
    over_card = card().model_copy(update={"data_kind": "over-refusal"})
    summary = summarize(records, {"judges": judges_meta(harmful_card)})
    harmful, benign = summary["tasks"]["t"], summary["tasks"]["benign"]
    assert harmful["rate"] == pytest.approx(0.41)
    assert harmful["corrected"]["rate"] == pytest.approx(0.3)
    assert harmful["corrected"]["card"]["sensitivity"] == pytest.approx(0.9)
    assert "card" not in summary["judges"][0] and len(summary["judges"][0]["card_sha256"]) == 64
    # the harmful-request card does not correct the over-refusal task: it says so instead of borrowing
    assert benign["corrected"] is None and benign["correction_note"].startswith("no card for this task")
    benign = summarize(records, {"judges": judges_meta(over_card)})["tasks"]["benign"]
    assert benign["corrected"]["rate"] == pytest.approx(0.7)
    assert benign["corrected"]["ci_low"] <= 0.7 <= benign["corrected"]["ci_high"]


def test_summary_uses_only_the_manifest_cards_and_is_the_same_anywhere(tmp_path, monkeypatch):
    records = [record(i, "compliance" if i < 41 else "refusal", i < 41) for i in range(100)]
    meta = {"judges": judges_meta(card().model_copy(update={"data_kind": "harmful-request"}))}
    monkeypatch.setenv("SAFEEVAL_CARDS_DIR", str(tmp_path / "a"))
    one = json.dumps(summarize(records, json.loads(json.dumps(meta))), sort_keys=True)
    # another machine: a different installed card of the same judge, which must change nothing
    monkeypatch.setenv("SAFEEVAL_CARDS_DIR", str(tmp_path / "b"))
    write_card(card(tp=50, fn=50), tmp_path / "b")
    two = json.dumps(summarize(records, json.loads(json.dumps(meta))), sort_keys=True)
    assert one == two
    # without a card in the manifest there is no correction, even with a matching installed card
    bare = summarize(records, {"judges": [{"id": "refusal", "version": "2", "prompt_hash": "abc"}]})
    assert bare["tasks"]["t"]["corrected"] is None and "in the manifest" in bare["tasks"]["t"]["correction_note"]


def test_an_edited_manifest_card_is_refused():
    meta = {"judges": judges_meta(card())}
    meta["judges"][0]["card"]["confusion" if "confusion" in meta["judges"][0]["card"] else "note"] = "edited"
    with pytest.raises(SafeevalError, match="does not match the sha256"):
        summarize([record(0, "refusal", False)], meta)


@pytest.mark.parametrize("k", [0, 100])
def test_corrected_interval_never_collapses_at_rates_0_and_1(k):
    for c in (card(), card(tp=900, fn=100, tn=800, fp=200)):
        r = corrected_rate(k, 100, c)
        assert r["ci_high"] - r["ci_low"] > 0.01
        assert r["ci_low"] <= r["rate"] <= r["ci_high"]


def two_set_card(sets):
    return CalibrationCard(judge="harm", version="2", prompt_hash="h", data_kind="harmful-request",
                           positive_labels=["unsafe"],
                           sets=[SetResult(dataset=DatasetRef(name=f"s{i}", format="jsonl", sha256=str(i) * 64,
                                                              n=sum(cm.values()), target="harm"),
                                           confusion=Confusion(**cm)) for i, cm in enumerate(sets)])


def test_between_set_spread_widens_the_interval_and_near_chance_is_wide():
    same = two_set_card([dict(tp=80, fn=20, tn=80, fp=20), dict(tp=80, fn=20, tn=80, fp=20)])
    spread = two_set_card([dict(tp=99, fn=1, tn=99, fp=1), dict(tp=61, fn=39, tn=61, fp=39)])
    assert same.sensitivity == spread.sensitivity == pytest.approx(0.8)  # pooled: the same point
    a, b = corrected_rate(300, 1000, same), corrected_rate(300, 1000, spread)
    assert a["rate"] == pytest.approx(b["rate"])
    assert b["ci_high"] - b["ci_low"] > 1.3 * (a["ci_high"] - a["ci_low"])
    chance = two_set_card([dict(tp=95, fn=5, tn=95, fp=5), dict(tp=50, fn=50, tn=50, fp=50)])  # kappa 0 on one set
    r = corrected_rate(300, 1000, chance)
    assert r["ci_high"] - r["ci_low"] > 0.4


def test_trained_on_sets_do_not_enter_the_pooled_rates():
    c = two_set_card([dict(tp=99, fn=1, tn=99, fp=1), dict(tp=70, fn=30, tn=70, fp=30)])
    c.sets[0].trained_on = True
    assert c.sensitivity == pytest.approx(0.7) and [s.dataset.name for s in c.held_out()] == ["s1"]


def test_old_single_set_cards_still_read(tmp_path):
    old = {"judge": "refusal", "version": "2", "prompt_hash": "abc", "positive_labels": ["compliance"],
           "dataset": {"name": "x", "format": "xstest", "sha256": "0" * 64, "n": 4, "target": "compliance"},
           "confusion": {"tp": 1, "fp": 1, "tn": 1, "fn": 1}, "metrics": {}}
    (tmp_path / "refusal.json").write_text(json.dumps(old))
    c = read_card(tmp_path / "refusal.json")
    assert c.data_kind == "over-refusal" and c.dataset.name == "x" and c.confusion.tp == 1


def test_run_card_prefers_the_named_file_then_installed_then_built_in(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CARDS_DIR", str(tmp_path / "installed"))
    write_card(card(tp=1), tmp_path / "installed")
    named = write_card(card(tp=2), tmp_path / "mine")
    assert run_card("refusal", "2", "abc", [named])["card"]["sets"][0]["confusion"]["tp"] == 2
    got = run_card("refusal", "2", "abc")
    assert got["card"]["sets"][0]["confusion"]["tp"] == 1 and got["card_sha256"] == card_sha256(card(tp=1))
    assert run_card("refusal", "2", "no-such-hash") is None
    with pytest.raises(SafeevalError, match="not a judge of this run"):
        check_explicit_cards([named], [("harm", "2", "x")])


def test_card_for_task_matches_the_kind_of_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEEVAL_CARDS_DIR", str(tmp_path))
    write_card(card().model_copy(update={"data_kind": "over-refusal"}), tmp_path)
    found, _ = card_for_task("refusal", "2", "abc", "over_refusal")
    assert found is not None
    missing, why = card_for_task("refusal", "2", "abc", "violation", {"data_kind": "toxicity"})
    assert missing is None and why.startswith("no card for this task") and "toxicity" in why
