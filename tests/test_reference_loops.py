"""The reference's two implementations of DESIGN.md §3 — the compiled window loops
(backends/reference_loops.py, where numba is installed) and the NumPy offset loops — agree with
each other; each is also checked against the definitional loops in test_reference_crosscheck.py
(in the leg where it is the one in use)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from backends import reference_loops
from conformance.dtypes import is_float, ulp
from tests.strategies import cases

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None,
    reason="numba is not installed: the reference runs its NumPy loops only",
)


def test_compiled_loops_are_in_use_where_numba_is_installed(monkeypatch):
    assert reference_loops.available()
    monkeypatch.setenv(reference_loops.DISABLE_ENV, "1")
    assert not reference_loops.available()


def _both(monkeypatch, fn):
    compiled = fn()
    monkeypatch.setenv(reference_loops.DISABLE_ENV, "1")
    try:
        return compiled, fn()
    finally:
        monkeypatch.delenv(reference_loops.DISABLE_ENV)


def _same_bits(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(cases())
def test_compiled_and_numpy_loops_agree(ref, monkeypatch, case):
    x = case.make_input()
    spec = case.spec
    compiled, loops = _both(monkeypatch, lambda: ref.forward(spec, x))
    if spec.kind.selects:  # a pick: the same element, bit for bit (signed zeros, NaN payloads)
        _same_bits(compiled, loops)
        c_idx, l_idx = _both(monkeypatch, lambda: ref.forward_with_indices(spec, x)[1])
        _same_bits(c_idx, l_idx)
    elif case.dtype != "float64":  # float64 sums in another order, rounded once: the same
        # value (the sign of a zero sum is no rule of §3: the NumPy loops add the padding's
        # +0.0, the compiled ones only in-bounds elements; avg is compared in ULPs anyway)
        assert np.array_equal(compiled.astype(np.float64), loops.astype(np.float64), equal_nan=True)
    else:
        scale = np.abs(ref.forward(spec, np.abs(x)))
        assert (np.isnan(compiled) == np.isnan(loops)).all()
        fin = np.isfinite(loops)
        assert (np.abs(compiled[fin] - loops[fin]) <= 2 * ulp(scale[fin], "float64")).all()
    if not is_float(case.dtype):
        return
    gy = case.make_upstream()
    compiled, loops = _both(monkeypatch, lambda: ref.vjp(spec, x, gy))
    assert compiled.shape == loops.shape and compiled.dtype == loops.dtype
    a, b = compiled.astype(np.float64), loops.astype(np.float64)
    assert (np.isnan(a) == np.isnan(b)).all()
    fin = np.isfinite(b)
    assert (a[~fin] == b[~fin])[~np.isnan(b[~fin])].all()  # the same infinities
    scale = np.abs(ref.vjp(spec, x, np.abs(gy)).astype(np.float64))
    assert (np.abs(a[fin] - b[fin]) <= ulp(scale[fin], case.dtype)).all()
