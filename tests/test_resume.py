"""kill -9 in the middle of a run, then --resume: nothing redone, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conformance.report import write_report
from tests.fake_backends import environment

# A target that agrees everywhere, so the test needs no framework; default has ~1,000 tasks.
ARGS = ("--suite", "smoke", "--backends", "fake-exact")  # long enough to be killed midway


def _records(path):
    out = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        r.pop("seconds")
        out.append(r)
    return out


def _run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "conformance", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment("fake-exact"),
    )


def test_kill_then_resume_equals_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", *ARGS, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=environment("fake-exact"),
    )
    results = killed / "results.jsonl"
    deadline = time.monotonic() + 60  # fail in a minute, not at a long timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 60:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(results.read_text().splitlines())
    assert partial >= 60
    env = json.loads((killed / "environment.json").read_text())
    assert env["partial"] is True
    write_report(killed)
    assert "PARTIAL RUN" in (killed / "report.html").read_text()

    resumed = _run("--resume", str(killed))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming: {partial}" in resumed.stderr or "resuming:" in resumed.stderr
    whole = _run(*ARGS, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert _records(results) == _records(tmp_path / "whole" / "results.jsonl")
    assert "PARTIAL RUN" not in (killed / "report.html").read_text()
