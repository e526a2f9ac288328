"""A parallel run writes the same records as a serial one (timings aside)."""

from __future__ import annotations

import json
import subprocess
import sys

from conformance import registry
from tests.conftest import available_frameworks
from tests.fake_backends import environment


def _records(folder):
    out = []
    for line in (folder / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.pop("seconds")
        out.append(r)
    return out


# The targets run here: every one that compiles per call (registry cost above this) is left out.
# What is tested is the parallel machinery (task order, per-target worker processes, Keras in a
# process of its own, merging), the same for every target; the compiled and converted targets'
# own determinism is the `determinism` check of every run, and their witnesses run in
# tests/test_targets.py. (With them this test took 185 s of CI's 2 cores.)
CHEAP = 3.0


def test_jobs_two_matches_serial(tmp_path):
    targets = [n for n in available_frameworks() if registry.target(n).cost <= CHEAP]
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
                ",".join(["fake-exact", "fake-cip-flipped", *targets]),
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
