"""The HTML report: self-contained, escaped, and usable in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.report import write_report
from conformance.results import Result, ResultWriter
from tests.conftest import available_frameworks
from tests.fake_backends import environment

HOSTILE = '<script>alert("pwned")</script>'


def _record(**overrides) -> Result:
    base = dict(
        case_id="max-2d-k2x2-s2x2-p0,0-cf-f32-1x1x4x4",
        suite="t",
        spec={"op": "max"},
        input_shape=[1, 1, 4, 4],
        dtype="float32",
        family="distinct",
        backend="numpy",
        backend_version="1",
        device="cpu",
        check="forward",
        status="pass",
    )
    base.update(overrides)
    return Result(**base)


@pytest.fixture
def hostile_run(tmp_path):
    with ResultWriter(tmp_path / "results.jsonl") as w:
        w.write(_record())
        w.write(
            _record(
                case_id=f"case-{HOSTILE}",
                status="mismatch",
                message=f"framework said {HOSTILE}",
                diagnosis=f"matches {HOSTILE} [x]",
                extra={
                    "reproducer": f"print('{HOSTILE}')",
                    "expected": [[1, 2]],
                    "actual": [[1, 3]],
                    "mask": [[0, 1]],
                    "heat": [[0, 1]],
                },
            )
        )
    (tmp_path / "environment.json").write_text(json.dumps({"run_id": HOSTILE, "suite": "t"}))
    write_report(tmp_path)
    return tmp_path


def test_user_controlled_text_is_escaped(hostile_run):
    html = (hostile_run / "report.html").read_text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(" in html
    assert html.count("<script>") == 1  # only the report's own inline script


def test_report_is_self_contained(hostile_run):
    html = (hostile_run / "report.html").read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    for needle in ('src="http', "src='http", 'href="http', "@import", "url(http"):
        assert needle not in html


def test_every_report_file_is_written(hostile_run):
    for name in ("report.html", "summary.csv", "summary.md", "summary.json", "junit.xml"):
        assert (hostile_run / name).stat().st_size > 0
    junit = (hostile_run / "junit.xml").read_text()
    assert 'failures="1"' in junit and "&lt;script&gt;" in junit


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browser(p):
    return p.chromium.launch(
        executable_path=_chromium(),
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


def _needs_browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if _chromium() is None:
        pytest.skip("no Chromium on this machine (Debian package `chromium`)")
    return playwright


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # nothing may be fetched: a request to anything but the report file itself is a leak
    page.on(
        "request", lambda r: errors.append(f"request {r.url}") if not r.url.startswith("file://") else None
    )
    return errors


def test_report_in_headless_chromium(tmp_path):
    """A real run's report: the map, the links, the filters; regenerates the screenshots."""
    playwright = _needs_browser()
    out = tmp_path / "run"
    # The witnesses of the known divergences on the frameworks installed here; without any,
    # a fake target whose averages mismatch, so the report still has rows to filter.
    frameworks = available_frameworks()
    backends = frameworks or ["fake-exact", "fake-cip-flipped"]
    status = "known_divergence" if frameworks else "mismatch"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "witnesses",
            "--backends",
            ",".join(backends),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment("fake-exact", "fake-cip-flipped"),
    )
    assert run.returncode == (0 if frameworks else 1), run.stderr[-2000:]
    shots = Path(os.environ.get("CONFORMANCE_SCREENSHOTS", "reports/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1900})
        errors = _watch(page)
        page.goto((out / "report.html").resolve().as_uri())
        page.screenshot(path=str(shots / "report-top.png"))
        page.locator("#map").screenshot(path=str(shots / "report-map.png"))
        # the map comes first, after the verdict line, and has a cell per target
        assert page.locator("#verdict").inner_text().startswith(("OK", "FAIL"))
        cells = page.locator("#map td[data-feature]")
        targets = page.locator("#map th.target").count()
        assert targets == len(backends) and cells.count() % targets == 0
        diverging = page.locator("#map td.diverges, #map td.unexpected")
        assert diverging.count() > 0
        # a digest link from the map lands on its root cause; its example opens the drill-down
        page.locator("#map td.diverges a.cause, #map td.unexpected a.cause").first.click()
        anchor = page.evaluate("location.hash")[1:]
        assert page.locator(f"#digest tr#{anchor}").count() == 1
        example = page.locator(f"#digest tr#{anchor} td:last-child a")
        target = example.get_attribute("href")[1:]
        page.evaluate(f"document.getElementById('{target}').open = false")
        example.click()
        assert page.evaluate(f"document.getElementById('{target}').open") is True
        # public links: real links, in a new tab, without opener or referrer
        public = page.locator("#digest a[href^='https://']")
        if frameworks:
            assert public.count() > 0
        for i in range(public.count()):
            assert public.nth(i).get_attribute("rel") == "noopener noreferrer"
            assert public.nth(i).get_attribute("target") == "_blank"
        # the table: a status filter narrows it; a map cell lists its results
        rows = "#case-table tbody tr"
        before = page.locator(rows).count()
        assert before > 5
        page.select_option("select[data-key='status']", label=status)
        after = page.locator(rows).count()
        assert 0 < after <= before
        assert all(s == status for s in page.locator(f"{rows} td:nth-child(4)").all_inner_texts())
        first_case = page.locator(f"{rows} td:nth-child(1)").first.inner_text().strip()
        page.fill("#text-filter", first_case)
        assert 0 < page.locator(rows).count() <= after
        page.locator("#filters").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "report-filtered.png"))
        cell = diverging.first
        feature, label = cell.get_attribute("data-feature"), cell.get_attribute("data-target")
        cell.click(position={"x": 3, "y": 3})
        listed = page.locator(f"{rows} td:nth-child(2)").all_inner_texts()
        assert listed and set(listed) == {label}, (feature, label, listed[:5])
        browser.close()
    assert not errors, errors
    for name in ("report-top.png", "report-map.png", "report-filtered.png"):
        assert (shots / name).stat().st_size > 10_000


SCALE_RESULTS = 100_000
SCALE_MAX_BYTES = 10_000_000
SCALE_MAX_SECONDS = 5.0  # issue 15's bound; measured: ~0.8 s on the CI machine


def test_report_at_100000_results_is_small_and_opens_quickly(tmp_path):
    """Issue 15: a nightly-sized run (100,000 results) gives a report of at most 10 MB that is
    interactive within 5 s in headless Chromium. Prints the figures."""
    import time

    from tests.synthetic_run import write

    playwright = _needs_browser()
    folder = write(tmp_path / "nightly", SCALE_RESULTS)
    write_report(folder)
    size = (folder / "report.html").stat().st_size
    with playwright.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1900})
        errors = _watch(page)
        start = time.perf_counter()
        page.goto((folder / "report.html").resolve().as_uri())
        page.wait_for_selector("#case-table tbody tr")
        opened = time.perf_counter() - start
        page.select_option("select[data-key='status']", label="mismatch")
        page.wait_for_function("document.getElementById('shown').textContent.indexOf('of 100000') < 0")
        interactive = time.perf_counter() - start
        statuses = set(page.locator("#case-table tbody tr td:nth-child(4)").all_inner_texts())
        shown = page.locator("#shown").inner_text()
        browser.close()
    print(
        f"\n{SCALE_RESULTS:,} results: report {size / 1e6:.1f} MB, open {opened:.2f} s, "
        f"first filter answered {interactive:.2f} s after navigation"
    )
    assert not errors, errors
    assert statuses == {"mismatch"}, statuses
    assert "in all" in shown or "matches" in shown
    assert size <= SCALE_MAX_BYTES, size
    assert interactive <= SCALE_MAX_SECONDS, interactive
    # drill-downs are capped per root cause, not one per failing result
    html = (folder / "report.html").read_text()
    assert html.count("<details id=") <= 400
