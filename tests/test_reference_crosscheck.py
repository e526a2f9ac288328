"""The fast reference against the definitional loops (tests/definitional.py), and its vjp
against finite differences. Both are independent readings of DESIGN.md §3."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import Case, InvalidSpec, PoolSpec
from conformance.dtypes import is_float, round_from_float64, ulp
from tests import definitional
from tests.strategies import cases, overhang_cases, specs

# CONFORMANCE_EXAMPLES raises the number of examples for a long run (default 1500 each).
EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "1500"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _close(actual, expected, dtype, scale, ulps):
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same_nan = np.isnan(a) == np.isnan(e)
    fin = np.isfinite(e)
    assert same_nan.all(), "NaN positions differ"
    assert (a[~fin & ~np.isnan(e)] == e[~fin & ~np.isnan(e)]).all(), "infinities differ"
    err = np.abs(a[fin] - e[fin])
    bound = ulps * ulp(np.maximum(np.abs(scale[fin]), np.abs(e[fin])), dtype)
    assert (err <= bound).all(), f"max error {err.max()} above {bound[err.argmax()]}"


def _rounded(values, dtype):
    return round_from_float64(values, dtype) if is_float(dtype) else values.astype(dtype)


@SETTINGS
@given(cases())
def test_forward_matches_definitional(ref, case):
    x = case.make_input()
    fast = ref.forward(case.spec, x)
    slow = _rounded(definitional.forward(case.spec, x), case.dtype)
    assert fast.shape == slow.shape == case.output_shape
    assert fast.dtype == x.dtype
    if case.spec.op == "max":
        same = (fast == slow) | (np.isnan(fast.astype(np.float64)) & np.isnan(slow.astype(np.float64)))
        assert same.all()
        if is_float(case.dtype):
            assert (np.signbit(fast.astype(np.float64)) == np.signbit(slow.astype(np.float64))).all()
    else:
        scale = definitional.forward(case.spec, np.abs(x.astype(np.float64)))
        _close(fast, slow, case.dtype, scale, 0 if case.dtype != "float64" else 2)


@SETTINGS
@given(cases())
def test_vjp_matches_definitional(ref, case):
    if not is_float(case.dtype):
        return
    x, gy = case.make_input(), case.make_upstream()
    fast = ref.vjp(case.spec, x, gy)
    slow = _rounded(definitional.vjp(case.spec, x, gy), case.dtype)
    assert fast.shape == x.shape and fast.dtype == x.dtype
    scale = definitional.vjp(case.spec, x, np.abs(gy.astype(np.float64)))
    _close(fast, slow, case.dtype, scale, 1 if case.dtype != "float64" else 4)


@settings(max_examples=max(300, EXAMPLES // 5), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(overhang_cases())
def test_ceil_overhang_matches_definitional(ref, case):
    """Ceil-mode geometries whose kernel is larger than the padded input (DESIGN.md §3), on
    purpose rather than by chance: forward and vjp against the definitional loops."""
    g = case.spec.geometry(case.input_shape)[0]
    assert g.n + g.lo + g.hi < g.effective_kernel and g.out == 1
    test_forward_matches_definitional.hypothesis.inner_test(ref, case)
    test_vjp_matches_definitional.hypothesis.inner_test(ref, case)


def test_ceil_overhang_hand_worked(ref):
    """F.max_pool1d(arange(2), 3, 3, ceil_mode=True) == [[[1.]]] (PyTorch, issue 9); the
    average divides by the 2 positions inside the input (the overhang never counts)."""
    x = np.arange(2.0).reshape(1, 1, 2)
    for op, want, grad in (("max", 1.0, [0.0, 1.0]), ("avg", 0.5, [0.5, 0.5])):
        spec = PoolSpec(op=op, kernel=3, stride=3, ceil_mode=True, ndim=1)
        assert ref.forward(spec, x).tolist() == [[[want]]]
        assert definitional.forward(spec, x).tolist() == [[[want]]]
        assert ref.vjp(spec, x, np.ones((1, 1, 1))).tolist() == [[grad]]
    floor = PoolSpec(op="max", kernel=3, stride=3, ceil_mode=False, ndim=1)
    with pytest.raises(InvalidSpec, match="kernel"):
        ref.forward(floor, x)
    too_far = PoolSpec(op="max", kernel=3, stride=1, ceil_mode=True, ndim=1)
    with pytest.raises(InvalidSpec, match="kernel"):
        ref.forward(too_far, x)


def _finite_difference(ref, spec, x, gy, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (np.sum(ref.forward(spec, up) * gy) - np.sum(ref.forward(spec, down) * gy)) / (2 * eps)
    return grad


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs(), st.integers(0, 1000))
def test_vjp_matches_finite_differences(ref, spec, seed):
    """float64, tie-free inputs (distinct family) so max is differentiable everywhere."""
    spatial = (5,) * spec.ndim
    shape = (1, 2, *spatial) if spec.layout == "channels_first" else (1, *spatial, 2)
    try:
        case = Case(spec, shape, dtype="float64", family="distinct", seed=seed)
    except Exception:
        return
    x, gy = case.make_input(), case.make_upstream()
    numeric = _finite_difference(ref, spec, x, gy)
    np.testing.assert_allclose(ref.vjp(spec, x, gy), numeric, rtol=1e-6, atol=1e-6)


def test_cross_check_can_fail():
    """The definitional implementation really disagrees with a wrong semantics."""
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    spec = PoolSpec(op="avg", kernel=3, stride=2, padding=1, count_include_pad=True)
    other = PoolSpec(op="avg", kernel=3, stride=2, padding=1, count_include_pad=False)
    assert not np.allclose(definitional.forward(spec, x), definitional.forward(other, x))
