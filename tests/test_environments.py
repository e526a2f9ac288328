"""Side environments (conformance.environments): a target whose converter clashes with the main
environment runs in a worker started with its own interpreter, and its records join the run."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from conformance import Case, PoolSpec, environments, registry
from conformance.errors import BackendUnavailable
from conformance.isolation import run_isolated

ROOT = Path(__file__).resolve().parent.parent
SPEC = PoolSpec(op="max", kernel=2)


def _case(n: int) -> Case:
    return Case(SPEC, (n, 1, 4, 4), checks=("forward",))


@pytest.fixture
def side_target(tmp_path, monkeypatch):
    """'fake-side' in environment 'side-test', whose interpreter is a wrapper that leaves a mark
    and runs this Python (the tests' package on its path, as a real environment has the
    converter's): the mark proves the worker was started with the environment's interpreter."""
    mark = tmp_path / "started"
    wrapper = tmp_path / "python"
    wrapper.write_text(
        f'#!/bin/sh\necho "$PYTHONPATH" >> {mark}\n'
        f'PYTHONPATH="$PYTHONPATH:{ROOT}" exec {sys.executable} "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(environments.variable("side-test"), str(wrapper))
    monkeypatch.setitem(
        registry.TARGETS,
        "fake-side",
        registry.Target("tests.fake_backends:FaultyBackend", "numpy", environment="side-test"),
    )
    return mark


def test_a_side_environment_target_runs_in_its_interpreter_and_its_records_join_the_run(side_target):
    assert registry.target("fake-side").own_process  # another interpreter is another process
    tasks = [(_case(n), "fake-side", "forward", "cpu") for n in (7, 1, 6, 8)]
    tasks += [(_case(n), "numpy", "forward", "cpu") for n in (7, 8)]
    extra = {"fake-side": "tests.fake_backends:FaultyBackend"}
    results = list(run_isolated(tasks, jobs=1, timeout=60, extra_backends=extra))
    assert [(r.case_id, r.backend) for r in results] == [(t[0].id, t[1]) for t in tasks]
    status = [r.status for r in results]
    # a segfault there is a crash record here, with its stderr, and a fresh worker goes on
    assert status == ["pass", "crash", "mismatch", "pass", "pass", "pass"], [r.message for r in results]
    assert "SIGSEGV" in results[1].message and "about to dereference NULL" in results[1].message
    starts = side_target.read_text().splitlines()
    assert len(starts) == 2  # the first worker and its replacement after the crash
    # the worker sees the suite's source and not this environment's path
    assert all(os.pathsep not in line and line.endswith("source") for line in starts), starts


def test_a_side_environment_that_is_not_set_up_names_the_command_that_builds_it(monkeypatch, tmp_path):
    monkeypatch.delenv(environments.variable("nowhere"), raising=False)
    monkeypatch.setitem(
        registry.TARGETS,
        "fake-nowhere",
        registry.Target("no_such_converter_module:Backend", "numpy", environment="nowhere"),
    )
    monkeypatch.setitem(registry._extra, "fake-nowhere", "no_such_converter_module:Backend")
    monkeypatch.delitem(registry._failed, "fake-nowhere", raising=False)
    with pytest.raises(BackendUnavailable) as caught:
        registry.get("fake-nowhere")
    registry._failed.pop("fake-nowhere", None)
    message = str(caught.value)
    assert "no_such_converter_module" in message  # what failed
    assert environments.setup_command("nowhere") in message  # and how to fix it
    assert environments.variable("nowhere") in message
    assert environments.interpreter("nowhere") is None


def test_every_side_environment_has_an_extra_of_its_name():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    sides = {t.environment for t in registry.TARGETS.values() if t.environment}
    assert sides <= set(extras), sides - set(extras)
    everything = extras["all"][0]
    assert not any(f",{side}," in everything.replace("[", ",").replace("]", ",") for side in sides)


def test_a_run_of_every_target_keeps_the_ones_that_did_not_load(monkeypatch):
    """`conformance run` without --backends runs what loads; the rest (a side environment not
    set up) is kept with its reason, for the run's stderr line and environment.json."""
    from conformance import execution

    class Pool:
        def __init__(self, jobs, timeout):
            pass

        def probe(self, names=None):
            return {
                "numpy": {"version": "ref", "devices": ["cpu"], "default_stride": "kernel"},
                "onnx2tf-litert": {"reason": environments.missing("onnx2tf")},
            }

        def close(self):
            pass

    monkeypatch.setattr(execution, "WorkerPool", Pool)
    ex = execution.Isolated(None, 1, 5.0)
    assert ex.backends == ["numpy"]
    assert list(ex.unavailable) == ["onnx2tf-litert"]
    assert environments.setup_command("onnx2tf") in ex.unavailable["onnx2tf-litert"]
