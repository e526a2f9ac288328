"""Start-up: built suites and target probes are remembered on disk (cases/suite_cache.py,
conformance/probes.py), correctly invalidated, and never trusted when unreadable."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cases
from cases import suite_cache
from conformance import probes


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CONFORMANCE_SUITE_CACHE", raising=False)
    return tmp_path


def _build(name):
    return cases.get_suite.__wrapped__(name)  # past the in-process functools.cache


def test_suite_cache_returns_the_built_suite(cache_dir):
    built = _build("smoke")
    files = list((cache_dir / "suites").glob("suite-*-smoke-0.pickle"))
    assert len(files) == 1
    again = _build("smoke")  # from the file now
    assert [c.id for c in again] == [c.id for c in built]
    for a, b in zip(again, built, strict=True):
        assert a.make_input().tobytes() == b.make_input().tobytes()


def test_suite_cache_rebuilds_an_unreadable_file_and_a_changed_source(cache_dir, monkeypatch):
    built = _build("smoke")
    (path,) = (cache_dir / "suites").glob("suite-*-smoke-0.pickle")
    path.write_bytes(b"not a pickle")
    assert [c.id for c in _build("smoke")] == [c.id for c in built]
    monkeypatch.setattr(suite_cache, "source_key", lambda: "edited-source")
    _build("smoke")  # another key: built and stored anew, the old key's file removed
    assert [p.name for p in (cache_dir / "suites").glob("suite-*")] == ["suite-edited-source-smoke-0.pickle"]


def test_suite_cache_can_be_turned_off(cache_dir, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_SUITE_CACHE", "0")
    _build("smoke")
    assert not (cache_dir / "suites").exists()


def test_hand_written_suites_are_built_every_time(cache_dir):
    """Building the regressions suite fills its table of public links: never skipped."""
    from cases.regressions import LINKS

    LINKS.clear()
    _build("regressions")
    _build("regressions")
    assert LINKS and not (cache_dir / "suites").exists()


class _CountingPool:
    calls = 0

    def __init__(self, jobs):
        pass

    def probe(self):
        _CountingPool.calls += 1
        return {"numpy": {"version": "1", "devices": ["cpu"]}, "nosuch": {"reason": "not installed"}}

    def close(self):
        pass


def test_probe_is_remembered_until_the_environment_changes(cache_dir, monkeypatch):
    monkeypatch.setattr(probes, "WorkerPool", _CountingPool)
    _CountingPool.calls = 0
    first, when = probes.targets()
    assert when is None and _CountingPool.calls == 1 and first["nosuch"] == {"reason": "not installed"}
    second, when = probes.targets()
    assert second == first and when is not None and _CountingPool.calls == 1
    probes.targets(fresh=True)
    assert _CountingPool.calls == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")  # another device selection: probe again
    probes.targets()
    assert _CountingPool.calls == 3


def test_list_reports_every_target_that_loads_here():
    """Every Keras target included: each is probed in a process of its own."""
    from tests.conftest import available_frameworks

    out = subprocess.run(
        [sys.executable, "-m", "conformance", "list", "--fresh"], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("  ")}
    for name in ["numpy", *available_frameworks()]:
        assert name in lines and "unavailable" not in lines[name], lines.get(name)
