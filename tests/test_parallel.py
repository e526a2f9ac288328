"""A parallel run writes the same records as a serial one (timings aside)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import available_frameworks
from tests.fake_backends import environment


def _records(folder):
    out = []
    for line in (folder / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.pop("seconds")
        out.append(r)
    return out


def test_jobs_two_matches_serial(tmp_path):
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance",
                "run",
                "--suite",
                "witnesses",
                "--jobs",
                str(jobs),
                "--out",
                str(out),
                "--backends",
                ",".join(["fake-exact", "fake-cip-flipped", *available_frameworks()]),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=environment("fake-exact", "fake-cip-flipped"),
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]  # fake-cip-flipped mismatches
        runs[jobs] = _records(out)
    assert runs[1] and runs[1] == runs[2]
    assert any(r["status"] == "mismatch" and r["backend"] == "fake-cip-flipped" for r in runs[1])
