"""The first-run share (conformance/share.py): a fixed, machine-independent cut of the targets
that compile every call, hand-written cases first, and nothing cut silently."""

from __future__ import annotations

from dataclasses import replace

from conformance import Case, PoolSpec, registry, share
from conformance.task import Task


def _cases(generated: int, hand: int) -> list[Case]:
    base = Case(PoolSpec(op="max", kernel=2), (1, 1, 4, 4))
    gen = [replace(base, name=f"gen-{i}", axes={"i": i}) for i in range(generated)]
    written = [replace(base, name=f"witness-{i}") for i in range(hand)]
    return gen + written  # hand-written cases come last in suite order, as in `default`


def _tasks(cases, targets):
    return [Task(c, t, check) for c in cases for t in targets for check in ("forward", "grad")]


def test_a_compiling_target_keeps_its_hand_written_cases_first_and_says_what_it_left():
    limit = registry.TARGETS["torch-compile"].first_run_cases
    cases = _cases(generated=limit + 10, hand=5)
    tasks = _tasks(cases, ["torch", "torch-compile"])
    kept, left = share.first_run(tasks)
    compiled = [t for t in kept if t.backend == "torch-compile"]
    ids = {t.case.id for t in compiled}
    assert len(ids) == limit and all(f"witness-{i}" in ids for i in range(5))
    assert {t.case.id for t in kept if t.backend == "torch"} == {c.id for c in cases}  # uncut
    assert left == {"torch-compile": {"kept": limit, "cases": limit + 15}}
    assert all(len([t for t in compiled if t.case.id == i]) == 2 for i in ids)  # whole cases
    line = share.describe(left)[0]
    assert f"torch-compile {limit} of {limit + 15} cases" in line and "--complete" in line
    assert kept == [t for t in tasks if t in kept]  # task order kept


def test_the_native_space_comes_before_the_other_generated_cases():
    limit = registry.TARGETS["torch-compile"].first_run_cases
    cases = _cases(generated=2 * limit, hand=0)
    native = {c.id for c in cases[limit:]}  # the later half is "native"
    kept, _ = share.first_run(_tasks(cases, ["torch-compile"]), native=lambda target, case: case.id in native)
    assert {t.case.id for t in kept} == native


def test_small_suites_and_uncut_targets_are_left_whole():
    tasks = _tasks(_cases(generated=3, hand=2), ["torch-compile", "torch"])
    assert share.first_run(tasks) == (tasks, {})
    assert share.describe({}) == []


def test_a_hand_written_share_follows_the_suites_however_many_witnesses_they_gain():
    assert registry.TARGETS["iree-onnx"].first_run_hand_written
    for hand in (3, 7):
        cases = _cases(generated=20, hand=hand)
        kept, left = share.first_run(_tasks(cases, ["iree-onnx", "torch"]))
        ids = {t.case.id for t in kept if t.backend == "iree-onnx"}
        assert ids == {f"witness-{i}" for i in range(hand)}
        assert left == {"iree-onnx": {"kept": hand, "cases": hand + 20}}
