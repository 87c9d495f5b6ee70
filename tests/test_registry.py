"""Task discovery and `--tasks` selection: names, categories, globs, tags, all, entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from safeeval.errors import SafeevalError, UnknownNameError
from safeeval.registry import discover_tasks, select_tasks
from safeeval.schema import CATEGORIES


def make_task(root: Path, name: str, category: str = "misuse", extra: str = "") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(f"name: {name}\ncategory: {category}\nprompt: '{{prompt}}'\n{extra}")
    (folder / "data.jsonl").write_text('{"id": "1", "prompt": "p"}\n')


def test_all_selects_every_builtin_suite_task_in_category_order():
    available = discover_tasks()
    chosen = select_tasks("all", available)
    assert {t.name for t in chosen} == {n for n, t in available.items()
                                        if not t.spec.source and t.spec.kind != "agent"}
    order = [CATEGORIES.index(t.spec.category) for t in chosen]
    assert order == sorted(order)


def test_agent_suite_is_picked_by_glob_or_tag_not_by_all_or_category():
    available = discover_tasks()
    agents = {n for n, t in available.items() if t.spec.kind == "agent" and not t.spec.source}
    assert len(agents) >= 4
    assert not agents & {t.name for t in select_tasks("all", available)}
    assert not agents & {t.name for t in select_tasks("autonomy", available)}
    assert agents <= {t.name for t in select_tasks("agent-*", available)}
    assert agents <= {t.name for t in select_tasks("multi-step", available)}


def test_category_name_glob_and_dedupe():
    available = discover_tasks()
    misuse = select_tasks("misuse", available)
    assert misuse and all(t.spec.category == "misuse" for t in misuse)
    globbed = select_tasks("harmful-*", available)
    assert "harmful-requests" in {t.name for t in globbed}
    both = select_tasks("harmful-requests,misuse,harmful-requests", available)
    assert len(both) == len({t.name for t in both})


def test_unknown_and_empty_glob():
    available = discover_tasks()
    with pytest.raises(UnknownNameError, match="valid choices"):
        select_tasks("zzz", available)
    with pytest.raises(SafeevalError, match="matches no task"):
        select_tasks("zzz-*", available)


def test_tasks_dir_adds_tasks_and_tags_select(tmp_path):
    make_task(tmp_path, "extra-one", extra="tags: [mine]\n")
    available = discover_tasks([tmp_path])
    assert "extra-one" in available
    assert [t.name for t in select_tasks("mine", available)] == ["extra-one"]


def test_duplicate_task_name_is_refused(tmp_path):
    make_task(tmp_path, "harmful-requests")
    with pytest.raises(SafeevalError, match="already used"):
        discover_tasks([tmp_path])


def test_entry_point_task_folder(tmp_path, monkeypatch):
    """A third-party package registers a folder of tasks through `safeeval.tasks`."""
    plugin_root = tmp_path / "plugin_tasks"
    make_task(plugin_root, "plugin-task", category="autonomy")
    pkg = tmp_path / "site"
    (pkg / "myplugin").mkdir(parents=True)
    (pkg / "myplugin" / "__init__.py").write_text(f"TASKS = {str(plugin_root)!r}\n")
    dist = pkg / "myplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[safeeval.tasks]\nmine = myplugin:TASKS\n")
    monkeypatch.syspath_prepend(str(pkg))
    available = discover_tasks()
    assert available["plugin-task"].spec.category == "autonomy"
    sys.modules.pop("myplugin", None)


def test_kind_is_enforced_at_load_with_file_and_line(tmp_path):
    """A `kind: choice` row without choices (or a `kind: tool` row without tools) is an error naming its line."""
    import json

    import pytest
    import yaml

    from safeeval.errors import SafeevalError
    from safeeval.tasks.loader import load_task

    for kind, good, bad, words in (
            ("choice", {"choices": ["yes", "no"], "answer": "A"}, {"choices": ["only one"]}, "'choices' list"),
            ("tool", {"tools": [{"name": "t"}]}, {}, "'tools' list")):
        task = tmp_path / kind
        task.mkdir()
        (task / "task.yaml").write_text(yaml.safe_dump({"name": f"k-{kind}", "category": "misuse", "kind": kind}))
        rows = [{"id": "a", "prompt": "q", **good}, {"id": "b", "prompt": "q", **bad}]
        (task / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        with pytest.raises(SafeevalError, match=rf"data.jsonl:2: task 'k-{kind}' is kind '{kind}': each row needs .*{words}"):
            load_task(task).samples()


def test_attacks_come_from_the_safeeval_attacks_entry_point(tmp_path, monkeypatch):
    """An installed package adds an attack through the `safeeval.attacks` entry-point group."""
    import sys
    from importlib import metadata

    from safeeval.tasks import attacks

    (tmp_path / "my_attacks.py").write_text(
        "from safeeval.tasks.attacks import Attack, replace_last_user, last_user_text\n"
        "class Shout(Attack):\n"
        "    name = 'shout-plugin'\n"
        "    def transform(self, sample, rng):\n"
        "        return replace_last_user(sample, last_user_text(sample).upper())\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = metadata.EntryPoint(name="shout", value="my_attacks:Shout", group="safeeval.attacks")
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: [ep] if kw.get("group") == "safeeval.attacks"
                        else real(**kw))
    monkeypatch.setattr(attacks, "_LOADED", [])
    try:
        assert "shout-plugin" in attacks.select_attacks("all")
        from safeeval.schema import Message, Sample

        sample = Sample(id="1", task="t", messages=[Message(role="user", content="hello")])
        assert attacks.get_attack("shout-plugin").apply(sample, 0)[-1].content == "HELLO"
    finally:
        attacks.ATTACKS.pop("shout-plugin", None)
        sys.modules.pop("my_attacks", None)


def test_a_control_must_name_another_task(tmp_path):
    import pytest
    import yaml

    from safeeval.errors import SafeevalError
    from safeeval.registry import discover_tasks

    builtin = discover_tasks()
    assert builtin["harmful-requests"].spec.control == "over-refusal-benign"  # pairs are declared both ways
    assert builtin["over-refusal-benign"].spec.control == "harmful-requests"
    task = tmp_path / "misuse" / "lonely"
    task.mkdir(parents=True)
    (task / "task.yaml").write_text(yaml.safe_dump({"name": "lonely", "category": "misuse", "control": "nowhere"}))
    (task / "data.jsonl").write_text('{"id": "a", "prompt": "q"}\n')
    with pytest.raises(SafeevalError, match="lonely/task.yaml: control 'nowhere' is not another known task"):
        discover_tasks([tmp_path])
