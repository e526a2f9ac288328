"""Suites: sizes, coverage of every axis value, stable ids."""

from __future__ import annotations

import subprocess
import sys

from cases import AXES, coverage, get_suite
from cases.axes import violates
from cases.covering import completable


def test_smoke_is_small_and_touches_every_value():
    smoke = get_suite("smoke")
    assert len(smoke) <= 150
    for axis, values in AXES.items():
        seen = {repr(c.axes[axis]) for c in smoke}
        possible = {repr(v) for v in values if completable(AXES, {axis: v}, violates)}
        assert seen == possible, (axis, possible - seen)


def test_generated_suites_reach_full_coverage():
    for name in ("smoke", "default"):
        for cov in coverage(get_suite(name))[: 1 if name == "smoke" else 2]:
            assert cov.required > 0 and cov.covered == cov.required, (name, str(cov))


def test_ids_are_stable_across_processes():
    code = "from cases import get_suite; print('\\n'.join(c.id for c in get_suite('default')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == [c.id for c in get_suite("default")]


def test_rules_exclude_what_cannot_exist():
    assert violates({"op": "avg", "dtype": "int8"})
    assert violates({"dtype": "uint8", "family": "negative"})
    assert not completable(AXES, {"dtype": "int32", "count_include_pad": False}, violates)
    assert all(not (c.spec.op == "avg" and c.dtype.startswith(("int", "uint"))) for c in get_suite("default"))
