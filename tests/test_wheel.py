"""The built wheel carries everything a suite is built from (issue 22: it lacked
backends/native/*.toml, so an installed copy built another `default` suite under the same name).

The wheel is built from this checkout, unpacked into a folder of its own and imported from there
in a fresh process run from elsewhere, with an empty cache folder: the `default` suite's case
hash (every id and input byte) and the known-divergence data must equal the checkout's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, conformance, backends, cases
from conformance import known, registry, runfolder
print(json.dumps({
    "where": [conformance.__file__, backends.__file__, cases.__file__],
    "default": runfolder.cases_hash(cases.load_suites("default", 0)),
    "known": {n: [e.id for e in known.load(n)] for n in registry.names()},
}))
"""


def _probe(path: str, cwd: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": path, "CONFORMANCE_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_installed_wheel_builds_the_same_default_suite(tmp_path):
    # --no-build-isolation builds with this environment's setuptools; the SPDX `license`
    # string of pyproject.toml needs setuptools >= 77 (PEP 639)
    pytest.importorskip("setuptools", minversion="77")
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    # built from a copy: setuptools leaves build/ beside the sources (stale files there would
    # end up in later wheels built from the checkout)
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", "build", "reports", "*.egg-info", "__pycache__", ".tox"
        ),
    )
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("pooling_conformance-*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "--disable-pip-version-check",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = _probe(str(site), elsewhere, tmp_path / "cache-installed")
    assert all(p.startswith(str(site)) for p in installed["where"]), installed["where"]
    checkout = _probe(str(ROOT), ROOT, tmp_path / "cache-checkout")
    assert all(p.startswith(str(ROOT)) for p in checkout["where"]), checkout["where"]
    assert installed["default"] == checkout["default"]
    assert installed["known"] == checkout["known"]
