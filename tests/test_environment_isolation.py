"""The suite in a user's environment: a user's own `backends/`/`cases/` folder and a third
party's entry-point target must not change what the suite computes or tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conformance import Case, PoolSpec, registry, runner

REPO = Path(__file__).resolve().parent.parent


def test_user_folders_named_backends_and_cases_do_not_shadow_the_suite(tmp_path):
    for name in ("backends", "cases"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the user\\'s own {name}')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-m", "conformance", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    numpy_line = next(line for line in out.stdout.splitlines() if line.strip().startswith("numpy"))
    assert "(reference)" in numpy_line and "unavailable" not in numpy_line
    assert "seeds" in out.stdout and "user's own" not in out.stdout + out.stderr
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "seeds",
            "--backends",
            "numpy",
            "--no-isolate",
            "--out",
            str(tmp_path / "r"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]


def _third_party(site: Path) -> None:
    """An installed distribution with a (wrong) target in the entry-point group."""
    (site / "thirdparty_pool.py").write_text(
        "import numpy as np\n"
        "from backends.numpy import NumpyBackend\n"
        "class Zeros(NumpyBackend):\n"
        "    name = 'thirdparty'\n"
        "    def _forward(self, spec, x, device, variant=None):\n"
        "        return np.zeros_like(super()._forward(spec, x, device, variant))\n"
    )
    info = site / "thirdparty_pool-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-pool\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[conformance.backends]\nthirdparty = thirdparty_pool:Zeros\n")


def test_a_third_party_target_is_not_picked_up_by_the_projects_tests(tmp_path):
    _third_party(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    listed = subprocess.run(
        [sys.executable, "-m", "conformance", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "thirdparty" in listed.stdout  # installed and visible to users ...
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_parity.py",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "--suite",
            "seeds",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    assert "test_parity[" in collected.stdout
    assert "thirdparty" not in collected.stdout  # ... but not in the project's own tests
    asked = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_parity.py",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "--suite",
            "seeds",
            "--backends",
            "thirdparty",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "-thirdparty-forward" in asked.stdout  # unless asked for


def test_a_forward_only_target_gets_unsupported_gradients():
    registry.register("fake-forward-only", "tests.fake_backends:ForwardOnlyBackend")
    try:
        case = Case(PoolSpec(op="avg", kernel=2), (1, 1, 4, 4))
        assert runner.run_check(case, "fake-forward-only", "forward").status == "pass"
        grad = runner.run_check(case, "fake-forward-only", "grad")
        assert grad.status == "unsupported" and "no gradients" in grad.message
    finally:
        registry._extra.pop("fake-forward-only")
        registry._loaded.pop("fake-forward-only", None)
