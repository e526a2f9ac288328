"""A parallel run writes the same records as a serial one (timings aside)."""

from __future__ import annotations

import json
import subprocess
import sys


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
        done = subprocess.run([sys.executable, "-m", "conformance", "run", "--suite", "witnesses",
                               "--jobs", str(jobs), "--out", str(out)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        runs[jobs] = _records(out)
    assert runs[1] and runs[1] == runs[2]
