"""Crashes, hangs and bad answers of one backend never lose the rest of a run."""

from __future__ import annotations

from conformance import Case, PoolSpec
from conformance.isolation import run_isolated

FAULTY = {"fake-faulty": "tests.fake_backends:FaultyBackend"}
SPEC = PoolSpec(op="max", kernel=2)


def _case(n: int) -> Case:
    return Case(SPEC, (n, 1, 4, 4), checks=("forward",))


def test_faulty_backend_costs_one_result_each():
    tasks = [(_case(n), "fake-faulty", "forward", "cpu") for n in (7, 1, 8, 2, 3, 4, 5, 6, 9)]
    tasks += [(_case(n), "numpy", "forward", "cpu") for n in (1, 2, 3)]
    results = list(run_isolated(tasks, jobs=2, timeout=8, extra_backends=FAULTY))
    assert [r.case_id for r in results] == [t[0].id for t in tasks]  # complete, in order
    status = {
        t[0].input_shape[0] if t[1] == "fake-faulty" else -t[0].input_shape[0]: r
        for t, r in zip(tasks, results, strict=True)
    }
    assert status[1].status == "crash" and "SIGSEGV" in status[1].message
    assert "about to dereference NULL" in status[1].message  # the last stderr lines
    assert status[2].status == "crash" and "SIGABRT" in status[2].message
    assert status[3].status == "timeout"
    assert status[4].status == "error" and "on purpose" in status[4].message
    assert status[5].status == "shape_mismatch"
    assert status[6].status == "mismatch"
    for ok in (7, 8, 9, -1, -2, -3):
        assert status[ok].status in ("pass",), (ok, status[ok].message)
