"""Ctrl-C ends a run with one line (no traceback), exit 130, and a folder --resume finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fake_backends import environment


def _signal_masks(pid: int) -> str:
    """The run's blocked and ignored signals (Linux), for a failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return ""
    return " ".join(line for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def test_ctrl_c_leaves_a_resumable_folder(tmp_path):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--suite",
        "smoke",  # long enough to be interrupted midway
        "--backends",
        "fake-exact",
        "--out",
        str(out),
    ]
    # A run started from a shell script in the background inherits SIGINT *ignored* (so do
    # nohup'ed and some CI runners' children), and Python then leaves it ignored; a terminal's
    # Ctrl-C reaches a foreground run with SIGINT at its default. Start the run like that
    # whatever launched this test (a handler set here is reset to the default across exec).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=environment("fake-exact"),
        )
    finally:
        signal.signal(signal.SIGINT, before)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 20:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before Ctrl-C"
    masks = _signal_masks(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"{masks}\n{err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]
    assert "interrupted" in err and f"--resume {out}" in err
    assert json.loads((out / "environment.json").read_text())["partial"] is True
    resumed = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--resume", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment("fake-exact"),
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "environment.json").read_text())["partial"] is False


def test_version():
    out = subprocess.run(
        [sys.executable, "-m", "conformance", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.startswith("conformance ")
    assert out.stdout.split()[1][0].isdigit()
