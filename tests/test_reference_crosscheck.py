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
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


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
    if case.spec.kind.selects:
        same = (fast == slow) | (np.isnan(fast.astype(np.float64)) & np.isnan(slow.astype(np.float64)))
        assert same.all()
        if is_float(case.dtype):
            assert (np.signbit(fast.astype(np.float64)) == np.signbit(slow.astype(np.float64))).all()
    else:
        scale = definitional.forward(case.spec, np.abs(x.astype(np.float64)))
        _close(fast, slow, case.dtype, scale, 0 if case.dtype != "float64" else _float64_sum_ulps(case))


def _float64_sum_ulps(case) -> float:
    """The reference sums float64 windows in float64; the definitional loops sum exactly
    (math.fsum). Recursive summation of n terms errs by at most (n - 1) u sum|x_i|, which is
    (n - 1) ULPs of the scale (the mean of |x|) after the division: 2 for small windows, more for
    the big windows of adaptive and global pooling (the NumPy loops add one window offset after
    another: a global 2x7x3 window once erred by 3 ULPs; the compiled loops' separable sums
    err less)."""
    from conformance.known import case_facts

    n = case_facts(case, "forward", "cpu", reference=False)["max_window_elements"]
    return max(2.0, n - 1.0)


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


@settings(
    max_examples=max(300, EXAMPLES // 5),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
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


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
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


@SETTINGS
@given(cases())
def test_indices_match_definitional(ref, case):
    """forward_with_indices: the first maximal element's plane position (DESIGN.md §3)."""
    if not case.spec.kind.selects:
        return
    x = case.make_input()
    y, idx = ref.forward_with_indices(case.spec, x)
    assert idx.dtype == np.int64 and idx.shape == y.shape == case.output_shape
    assert (idx == definitional.indices(case.spec, x)).all()
    # the index names the element the output holds (NaN included)
    cf = np.moveaxis(x, -1, 1) if case.spec.layout == "channels_last" else x
    planes = cf.reshape(cf.shape[0], cf.shape[1], -1).astype(np.float64)
    icf = np.moveaxis(idx, -1, 1) if case.spec.layout == "channels_last" else idx
    picked = np.take_along_axis(planes, icf.reshape(icf.shape[0], icf.shape[1], -1), axis=2)
    ycf = np.moveaxis(y, -1, 1) if case.spec.layout == "channels_last" else y
    assert np.array_equal(picked, ycf.reshape(picked.shape).astype(np.float64), equal_nan=True)


def test_adaptive_hand_worked(ref):
    """PyTorch's rule on n = 5, o = 3: windows [0, 2), [1, 4), [3, 5) overlap at 1 and 3."""
    x = np.array([[[4.0, 0.0, 7.0, 1.0, 2.0]]])
    avg = PoolSpec(op="adaptive_avg", output_size=3, ndim=1)
    assert avg.ndim == 1 and avg.id == "adaptive_avg-1d-o3-cf"
    np.testing.assert_allclose(ref.forward(avg, x), [[[2.0, 8.0 / 3.0, 1.5]]])
    np.testing.assert_allclose(
        ref.vjp(avg, x, np.ones((1, 1, 3))), [[[0.5, 0.5 + 1 / 3, 1 / 3, 1 / 3 + 0.5, 0.5]]]
    )
    mx = PoolSpec(op="adaptive_max", output_size=(3,))
    y, idx = ref.forward_with_indices(mx, x)
    assert y.tolist() == [[[4.0, 7.0, 2.0]]] and idx.tolist() == [[[0, 2, 4]]]
    assert ref.unpool(mx, x).tolist() == [[[4.0, 0.0, 7.0, 0.0, 2.0]]]
    # output larger than the input: windows [0,1), [0,2), [1,2) repeat elements
    up = PoolSpec(op="adaptive_avg", output_size=[3])
    two = np.array([[[1.0, 3.0]]])
    np.testing.assert_allclose(ref.forward(up, two), [[[1.0, 2.0, 3.0]]])
    np.testing.assert_allclose(ref.vjp(up, two, np.ones((1, 1, 3))), [[[1.5, 1.5]]])
    # global pooling: one window, the whole plane
    glob = PoolSpec(op="adaptive_avg", output_size=(1, 1))
    assert glob.is_global and ref.forward(glob, np.arange(6.0).reshape(1, 1, 2, 3)).item() == 2.5


def test_max_indices_hand_worked(ref):
    """k2 s2 on a 4x4 plane with a tie: the first maximal element (row-major) wins; channels
    last gives the same plane positions."""
    plane = np.array([[1, 5, 2, 0], [5, 3, 9, 9], [0, 0, 0, 0], [7, 1, 1, 7]], dtype=np.float32)
    spec = PoolSpec(op="max", kernel=2)
    y, idx = ref.forward_with_indices(spec, plane.reshape(1, 1, 4, 4))
    assert y.ravel().tolist() == [5, 9, 7, 7] and idx.ravel().tolist() == [1, 6, 12, 15]
    cl = PoolSpec(op="max", kernel=2, layout="channels_last")
    _, idx_cl = ref.forward_with_indices(cl, plane.reshape(1, 4, 4, 1))
    assert idx_cl.ravel().tolist() == [1, 6, 12, 15]
    with pytest.raises(InvalidSpec, match="op"):
        ref.forward_with_indices(PoolSpec(op="avg", kernel=2), plane.reshape(1, 1, 4, 4))


def test_float64_global_average_within_the_summation_bound(ref):
    """The examples a fresh clone's derandomised run found (error 3 ULPs, the old bound was 2):
    a global 2x7x3 average in float64 against the exact sum, over several inputs."""
    spec = PoolSpec(op="adaptive_avg", layout="channels_first", ndim=3, output_size=(1, 1, 1))
    for seed in range(30):
        case = Case(spec, (1, 1, 2, 7, 3), dtype="float64", family="negative", seed=seed)
        x = case.make_input()
        scale = definitional.forward(spec, np.abs(x))
        _close(ref.forward(spec, x), definitional.forward(spec, x), "float64", scale, _float64_sum_ulps(case))
