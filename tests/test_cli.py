"""The CLI writes result records with every DESIGN.md §4 field, and reports usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

from conformance.results import STATUSES
from tests.conftest import available_frameworks
from tests.fake_backends import environment

# One real framework where one is installed, else a fake target (the reference renamed).
OTHER = available_frameworks()[:1] or ["fake-exact"]

REQUIRED = {
    "case_id",
    "suite",
    "spec",
    "input_shape",
    "dtype",
    "family",
    "backend",
    "backend_version",
    "device",
    "check",
    "status",
    "max_abs_err",
    "max_ulp_err",
    "mismatch_count",
    "diagnosis",
    "message",
    "seconds",
}


def _run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment("fake-exact"),
    )


def test_run_writes_records_with_every_field(tmp_path):
    backends = ["numpy", *OTHER]
    out = _run("run", "--suite", "seeds", "--backends", ",".join(backends), "--out", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert records, "no records"
    for r in records:
        assert set(r) >= REQUIRED, REQUIRED - set(r)
        assert r["status"] in STATUSES
    assert {r["backend"] for r in records} == set(backends)
    assert any(r["expected_from"] == "seed" for r in records)
    for name in ("report.html", "summary.csv", "summary.md", "environment.json"):
        assert (tmp_path / name).exists(), name
    env = json.loads((tmp_path / "environment.json").read_text())
    assert all(env["backends"][b]["version"] for b in backends)


def test_unknown_backend_and_suite_are_usage_errors(tmp_path):
    out = _run("run", "--suite", "seeds", "--backends", "nosuch", "--out", str(tmp_path))
    assert out.returncode == 2 and "nosuch" in out.stderr
    out = _run("run", "--suite", "nosuch", "--out", str(tmp_path))
    assert out.returncode == 2 and "unknown suite" in out.stderr


def test_list_and_show():
    out = _run("list")
    assert out.returncode == 0 and "seeds" in out.stdout and "numpy" in out.stdout
    out = _run("show", "seed000-maxpool2d-3-default-stride", "--backends", "numpy")
    assert out.returncode == 0 and "default_stride" in out.stdout
    assert _run("show", "no-such-case").returncode == 2


def test_versioned_out_names_the_folder_after_the_versions(tmp_path):
    """tox/CI runs with other pins must not overwrite each other's folder (issue 15)."""
    import numpy as np

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "seeds",
            "--backends",
            "numpy",
            "--out",
            str(tmp_path / "tox-numpy"),
            "--versioned-out",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / f"tox-numpy-numpy-{np.__version__}" / "results.jsonl").exists()
    assert not (tmp_path / "tox-numpy").exists()
