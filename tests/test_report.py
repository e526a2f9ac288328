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
    base = dict(case_id="max-2d-k2x2-s2x2-p0,0-cf-f32-1x1x4x4", suite="t", spec={"op": "max"},
                input_shape=[1, 1, 4, 4], dtype="float32", family="distinct", backend="numpy",
                backend_version="1", device="cpu", check="forward", status="pass")
    base.update(overrides)
    return Result(**base)


@pytest.fixture
def hostile_run(tmp_path):
    with ResultWriter(tmp_path / "results.jsonl") as w:
        w.write(_record())
        w.write(_record(case_id=f"case-{HOSTILE}", status="mismatch",
                        message=f"framework said {HOSTILE}", diagnosis=f"matches {HOSTILE} [x]",
                        extra={"reproducer": f"print('{HOSTILE}')", "expected": [[1, 2]],
                               "actual": [[1, 3]], "mask": [[0, 1]], "heat": [[0, 1]]}))
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
    for name in ("report.html", "summary.csv", "summary.md", "junit.xml"):
        assert (hostile_run / name).stat().st_size > 0
    junit = (hostile_run / "junit.xml").read_text()
    assert 'failures="1"' in junit and "&lt;script&gt;" in junit


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_in_headless_chromium(tmp_path):
    """Renders without console errors, the filter narrows the table; saves a screenshot."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (Debian package `chromium`)")
    out = tmp_path / "run"
    # The witnesses of the known divergences on the frameworks installed here; without any,
    # a fake target whose averages mismatch, so the report still has rows to filter.
    frameworks = available_frameworks()
    backends = frameworks or ["fake-exact", "fake-cip-flipped"]
    status = "known_divergence" if frameworks else "mismatch"
    run = subprocess.run([sys.executable, "-m", "conformance", "run", "--suite", "witnesses",
                          "--backends", ",".join(backends), "--out", str(out)],
                         capture_output=True, text=True, timeout=600,
                         env=environment("fake-exact", "fake-cip-flipped"))
    assert run.returncode == (0 if frameworks else 1), run.stderr[-2000:]
    shots = Path(os.environ.get("CONFORMANCE_SCREENSHOTS", "reports/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "report.html").resolve().as_uri())
        page.screenshot(path=str(shots / "report-top.png"))
        visible = "#cases tbody tr:visible"
        before = page.locator(visible).count()
        assert before > 5
        page.select_option("select[data-key='status']", status)
        after = page.locator(visible).count()
        assert 0 < after < before
        assert all(s == status for s in page.locator(f"{visible} td:nth-child(4)").all_inner_texts())
        first_case = page.locator(f"{visible} td:nth-child(1)").first.inner_text().strip()
        page.fill("#text-filter", first_case)
        assert 0 < page.locator(visible).count() <= after
        page.locator("#filters").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "report-filtered.png"))
        browser.close()
    assert not errors, errors
    assert (shots / "report-top.png").stat().st_size > 10_000
