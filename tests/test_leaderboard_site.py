"""The leaderboard site in real headless Chromium (Debian's chromium, driven by Playwright).

The site is built from constructed runs whose responses, task names and
model names carry script payloads; the tests assert the pages load, sort and
filter, and that no payload ever runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from safeeval.leaderboard import build_site
from safeeval.schema import Message, Response, SampleRecord, TaskInfo, Verdict, stable_hash
from test_gate import make_run

CHROMIUM = Path(os.environ.get("SAFEEVAL_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

# Each payload tries to change the title, set a global, open a dialog or call the
# exposed `pwned` function; any of them firing fails the tests.
PAYLOADS = [
    "<script>document.title='pwned';window.__pwned=1;pwned('script')</script>",
    "<img src=x onerror=\"document.title='pwned';pwned('img')\">",
    "<a href=\"javascript:pwned('link')\">click me</a> [md](javascript:pwned('md'))",
    "</script><script>pwned('close')</script><!-- \u2028\u2029 -->",
    "<svg onload=\"alert('svg')\"></svg><iframe srcdoc=\"<script>parent.pwned('iframe')</script>\"></iframe>",
]
EVIL_TASK = "evil<img src=x onerror=pwned('task')>"
EVIL_MODEL = "<b>model-b</b><script>pwned('model')</script>"


def _over_refusal(n: int, refused: set[int]) -> tuple[list[SampleRecord], TaskInfo]:
    records = []
    for i in range(n):
        msgs = [Message(role="user", content=f"benign {i}")]
        v = i in refused
        records.append(SampleRecord(
            key=f"benign/b{i:03d}/none", task="benign", task_version="1", category="misuse",
            measure="over_refusal", sample_id=f"b{i:03d}", messages=msgs,
            response=Response(text="I can't." if v else "Sure, here is how."),
            verdicts=[Verdict(judge="refusal", label="refusal" if v else "compliance", violation=v)],
            violation=v, model="x", sample_hash=stable_hash([m.model_dump() for m in msgs])))
    return records, TaskInfo(name="benign", version="1", category="misuse", measure="over_refusal",
                             data_sha256="cd" * 32, samples=n)


def _evil_task_records() -> tuple[list[SampleRecord], TaskInfo]:
    msgs = [Message(role="user", content=PAYLOADS[0])]
    rec = SampleRecord(key=f"{EVIL_TASK}/e1/none", task=EVIL_TASK, task_version="1", category="adversarial",
                       sample_id="e1", messages=msgs, response=Response(text=PAYLOADS[1]),
                       verdicts=[Verdict(judge="refusal", label="compliance", violation=True,
                                         rationale=PAYLOADS[2])],
                       violation=True, model="x", sample_hash=stable_hash([m.model_dump() for m in msgs]))
    return [rec], TaskInfo(name=EVIL_TASK, version="1", category="adversarial", data_sha256="ef" * 32, samples=1)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lb")

    def run(run_id, unsafe, refused, **kw):
        over, info = _over_refusal(20, refused)
        evil, evil_info = _evil_task_records()
        return make_run(root, run_id, unsafe=unsafe, n=40, extra=over + evil, extra_tasks=[info, evil_info], **kw)

    texts = {i: p for i, p in enumerate(PAYLOADS)}
    dirs = [run("run-a", set(range(12)), set(range(2)), model="model-a", texts=texts),
            run("run-b", set(range(3)), set(range(15)), model=EVIL_MODEL),
            run("run-c", set(range(8)), set(range(4)), model="model-c"),
            run("run-d", set(range(2)), set(), model="model-d", errored={30, 31}),
            make_run(root, "run-e", unsafe=set(range(5)), n=40, version="2", model="model-e")]
    out = root / "site"
    build_site(dirs, out)
    return out


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (test extra)")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium (make test does this)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Watch:
    """Everything that would show a payload ran or our own script failed."""

    def __init__(self, page):
        self.calls, self.dialogs, self.errors = [], [], []
        page.expose_function("pwned", lambda where="": self.calls.append(where))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_clean(self, page):
        assert self.calls == [] and self.dialogs == [] and self.errors == []
        assert page.evaluate("window.__pwned") is None
        assert page.title() != "pwned"  # what the payloads would set


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = Watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page, watch


def _screenshot(page, name: str, tmp: Path) -> Path:
    """Save to tmp; also to $SAFEEVAL_SCREENSHOTS (e.g. benchmarks/screenshots) when set."""
    path = tmp / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("SAFEEVAL_SCREENSHOTS"):
        dest = Path(os.environ["SAFEEVAL_SCREENSHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / name)
    return path


def _column(page, table: str, col: int) -> list[str]:
    return page.eval_on_selector_all(f"{table} tbody tr", f"rows => rows.map(r => r.cells[{col}].dataset.sort)")


def test_index_loads_groups_and_flags(browser, site, tmp_path):
    page, watch = _open(browser, (site / "index.html").as_uri())
    assert page.title() == "safeeval leaderboard"
    assert page.locator("#group-0 tbody tr").count() == 4
    assert page.locator("#group-1 tbody tr").count() == 1
    assert "version 1 vs 2" in page.inner_text(".reasons")
    assert "2 of 61 samples errored: not ranked" in page.inner_text("#group-0")
    # Two plots for group 1; group 2's run has no over-refusal rate, so it gets no scatter plot.
    assert page.locator(".plots svg").count() == 3
    # The model name is shown as text, not markup.
    assert EVIL_MODEL in page.inner_text("#group-0")
    assert page.locator("#group-0 b, #group-0 img, #group-0 script").count() == 0
    assert _screenshot(page, "leaderboard-test.png", tmp_path).stat().st_size > 10_000
    watch.assert_clean(page)


def test_sorting(browser, site):
    page, watch = _open(browser, (site / "index.html").as_uri())
    ranks = _column(page, "#group-0", 0)
    assert ranks == ["1", "2", "3", ""]  # ranked by score; the errored run last, unranked
    page.click("#group-0 th:nth-child(4) button")  # violation rate
    up = [float(v) for v in _column(page, "#group-0", 3)]
    assert up == sorted(up) and len(set(up)) > 1
    assert page.get_attribute("#group-0 th:nth-child(4)", "aria-sort") == "ascending"
    page.click("#group-0 th:nth-child(4) button")
    assert [float(v) for v in _column(page, "#group-0", 3)] == sorted(up, reverse=True)
    page.click("#group-0 th:nth-child(6) button")  # over-refusal rate
    over = [float(v) for v in _column(page, "#group-0", 5)]
    assert over == sorted(over)
    watch.assert_clean(page)
    # Run pages: "31.7% [19.6, 47.0]" cells sort as numbers, not as text.
    page, watch = _open(page.context.browser, (site / "runs" / "run-a.html").as_uri())
    page.click("#tasks th:has-text('rate') button")
    rates = [float(v) for v in _column(page, "#tasks", 4)]
    assert rates == sorted(rates) == [10.0, 30.0, 100.0]
    watch.assert_clean(page)


def test_sample_browser_filters(browser, site, tmp_path):
    page, watch = _open(browser, (site / "runs" / "run-a.html").as_uri())
    total = 40 + 20 + 1
    assert page.inner_text("#sample-count") == f"{total} of {total} samples"
    page.select_option("#filter-outcome", "unsafe")
    # 12 unsafe harm samples, 2 refused benign ones and the evil task's sample
    assert page.inner_text("#sample-count") == f"15 of {total} samples"
    assert page.locator("#samples .sample").count() == 15
    assert set(page.eval_on_selector_all("#samples .badge", "b => b.map(x => x.textContent)")) == {"unsafe"}
    page.select_option("#filter-task", "benign")
    assert page.inner_text("#sample-count") == f"2 of {total} samples"
    page.select_option("#filter-outcome", "")
    page.select_option("#filter-task", "harm")
    page.select_option("#filter-attack", "none")
    page.fill("#filter-text", "answer 7")
    assert page.inner_text("#sample-count") == f"1 of {total} samples"
    _screenshot(page, "run-page-test.png", tmp_path)
    watch.assert_clean(page)


def test_payloads_never_run(browser, site):
    for url in [site / "index.html", *sorted((site / "runs").glob("*.html"))]:
        page, watch = _open(browser, url.as_uri())
        if page.locator("#filter-task").count():
            if "run-a" in url.name:
                page.select_option("#filter-task", EVIL_TASK)  # a task name that is itself a payload
                assert page.locator("#samples .sample").count() == 1
                page.select_option("#filter-task", "")
            # Every payload is on screen as literal text, in <pre> elements.
            texts = "\n".join(page.eval_on_selector_all("#samples pre, #samples p", "e => e.map(x => x.textContent)"))
            if "run-a" in url.name:
                for payload in PAYLOADS:
                    assert payload in texts
            assert page.locator("#samples img, #samples script, #samples iframe, #samples svg, "
                                "#samples a").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("img").count() == 0 and page.locator("iframe").count() == 0
        page.wait_for_timeout(200)  # give any late handler (onerror, onload) time to fire
        watch.assert_clean(page)
        page.close()


def test_csp_blocks_inline_handlers(browser, site):
    """Defence in depth: even markup we did not escape could not run a handler."""
    page, watch = _open(browser, (site / "index.html").as_uri())
    csp = page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content")
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    page.evaluate("""() => { const d = document.createElement('div');
        d.innerHTML = '<img src="data:," onerror="pwned(\\'injected\\')">'; document.body.appendChild(d); }""")
    page.wait_for_timeout(300)
    assert watch.calls == []
    assert any("Content Security Policy" in e for e in watch.errors)


@pytest.mark.slow
def test_site_from_embedded_model_and_replays(browser, tmp_path):
    """The embedded SmolLM2 run and two replays rank together, render, and gate as expected."""
    import json
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess:
        # A subprocess: Playwright's sync API already runs an event loop in this thread.
        return subprocess.run([sys.executable, "-m", "safeeval", *args], capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=1800)

    def evaluate(model: str, run_id: str) -> Path:
        proc = cli("run", "--model", model, "--tasks", "harmful-requests,over-refusal-benign", "--limit", "1",
                   "--max-tokens", "48", "--out", str(tmp_path / "runs"), "--run-id", run_id, "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        return tmp_path / "runs" / run_id

    embedded = evaluate("smollm2", "smollm2")
    keys = [json.loads(line)["key"] for line in (embedded / "samples.jsonl").read_text().splitlines()]
    refusals = tmp_path / "refuse.jsonl"
    refusals.write_text("\n".join(json.dumps({"key": k, "response": "I'm sorry, I can't help with that."})
                                  for k in keys))
    dirs = [embedded, evaluate(f"replay:{embedded / 'samples.jsonl'}", "same-answers"),
            evaluate(f"replay:{refusals}", "refuse-all")]
    board = build_site(dirs, tmp_path / "site")
    assert len(board.groups) == 1 and sorted(e.rank for e in board.entries) == [1, 2, 3]
    page, watch = _open(browser, (tmp_path / "site" / "index.html").as_uri())
    assert page.locator("#group-0 tbody tr").count() == 3
    page.goto((tmp_path / "site" / "runs" / "smollm2.html").as_uri())
    page.wait_for_selector("body[data-ready='1']")
    assert page.inner_text("#sample-count") == f"{len(keys)} of {len(keys)} samples"
    watch.assert_clean(page)
    # The replay of the model's own answers is the same run for the gate. A handful of samples
    # per group cannot show non-inferiority, so the gate needs --allow-underpowered to pass.
    res = cli("gate", "--baseline", str(embedded), "--candidate", str(dirs[1]))
    assert res.returncode == 3, res.stdout + res.stderr
    res = cli("gate", "--baseline", str(embedded), "--candidate", str(dirs[1]), "--allow-underpowered")
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_pages_fit_the_window(browser, site, tmp_path, width, height):
    """No sideways page scroll: wide tables and plots scroll inside their own boxes."""
    for name in ("index.html", "runs/run-a.html"):
        page = browser.new_page(viewport={"width": width, "height": height})
        watch = Watch(page)
        page.goto((site / name).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.documentElement.scrollWidth") == width, name
        assert page.evaluate("document.body.scrollWidth") <= width, name
        # The plots' text stays at its drawn size (12px): a phone scrolls a plot rather than shrinking it.
        if page.locator(".plots svg").count():
            box = page.locator(".plots svg").first.bounding_box()
            assert box["width"] >= 600
        _screenshot(page, f"{name.replace('/', '-').removesuffix('.html')}-{width}.png", tmp_path)
        watch.assert_clean(page)
        page.close()
