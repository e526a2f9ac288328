"""The case generator produces every input family, dtype and geometry class it promises."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from cases import AXES, RISKY, coverage, get_suite
from conformance import Case, PoolSpec
from conformance.case import _chosen_window_positions
from conformance.dtypes import DTYPES, np_dtype

DEFAULT = get_suite("default")
GENERATED = [c for c in DEFAULT if getattr(c, "axes", None)]


def _floats(x):
    return np.asarray(x).astype(np.float64)


def test_default_reaches_full_pairwise_and_risky_triple_coverage():
    from cases.native import NATIVE

    covs = coverage(DEFAULT, native=True)
    assert len(NATIVE) >= 5  # torch, tensorflow, jax, keras, flax
    assert len(covs) == 2 + 2 * len(NATIVE)  # whole space + each native space, 2- and 3-way
    for cov in covs:
        assert cov.required > 0 and cov.covered == cov.required, str(cov)
    assert {c.strength for c in covs} == {2, 3}
    assert covs[1].axes == RISKY


@pytest.mark.parametrize("axis", list(AXES))
def test_every_axis_value_appears_in_default(axis):
    seen = {repr(c.axes[axis]) for c in GENERATED}
    assert seen == {repr(v) for v in AXES[axis]}


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_is_generated(dtype):
    ops = {c.spec.op for c in GENERATED if c.dtype == dtype}
    floats = dtype.startswith(("float", "bfloat"))
    assert ops == ({"max", "avg", "adaptive_max", "adaptive_avg"} if floats else {"max", "adaptive_max"})


def test_adaptive_output_size_classes():
    """Each output-size class gives the geometry it names (DESIGN.md §3 windows)."""
    adaptive = [c for c in GENERATED if c.spec.kind.adaptive]
    assert {c.axes["output_size"] for c in adaptive} == {"divides", "overlaps", "one", "input", "larger"}
    for c in adaptive:
        geoms = c.spec.geometry(c.input_shape)
        cls = c.axes["output_size"]
        assert (cls == "overlaps") == any(g.overlapping and g.out <= g.n for g in geoms)
        assert (cls == "one") == c.spec.is_global
        assert (cls == "input") == all(g.out == g.n for g in geoms)
        assert (cls == "larger") == all(g.out > g.n for g in geoms)
        assert (cls == "divides") == all(g.n % g.out == 0 and 1 < g.out < g.n for g in geoms)
    # the default suite asks max cases for their indices and the unpooling round trip
    import cases

    for c in cases.default():
        if getattr(c, "axes", None) and c.spec.kind.selects and c.suite == "default":
            assert {"indices", "unpool"} <= set(c.checks)


def test_geometry_classes():
    def spatial(c):
        return [c.input_shape[a] for a in c.spec.spatial_axes()]

    unit = [c for c in GENERATED if c.axes["shape"] == "unit"]
    assert unit and all(spatial(c)[0] == 1 for c in unit)
    window = [c for c in GENERATED if c.axes["shape"] == "window"]
    assert window and all(
        all(n == d * (k - 1) + 1 for n, k, d in zip(spatial(c), c.spec.kernel, c.spec.dilation, strict=True))
        for c in window
    )
    ragged = [c for c in GENERATED if c.axes["shape"] == "ragged" and c.axes["stride"] == "gt"]
    assert ragged and all(spatial(c)[0] % c.spec.stride[0] != 0 for c in ragged)
    divisible = [c for c in GENERATED if c.axes["shape"] == "divisible" and not c.spec.kind.adaptive]
    assert all(spatial(c)[0] % c.spec.stride[0] == 0 for c in divisible)
    overhang = [c for c in GENERATED if c.axes["shape"] == "overhang"]
    assert overhang and all(c.spec.ceil_mode for c in overhang)
    for c in overhang:  # a kernel larger than the padded input, computed in ceil mode (issue 9)
        assert any(
            g.n + g.lo + g.hi < g.effective_kernel and g.out == 1 for g in c.spec.geometry(c.input_shape)
        ), c.id
    assert {c.input_shape[0] for c in GENERATED} == {1, 2}  # batch 1 and > 1
    strides = {c.axes["stride"]: c for c in GENERATED}
    assert "default_stride" in strides["default"].checks
    lt = [
        c
        for c in GENERATED
        if c.axes["stride"] == "lt" and c.axes["kernel"] == "three" and c.axes["shape"] != "unit"
    ]
    assert lt and all(c.spec.stride[0] < c.spec.kernel[0] for c in lt)
    assert any(c.spec.kernel[0] != c.spec.kernel[-1] for c in GENERATED if c.spec.ndim > 1)


def test_ids_are_unique_and_deterministic():
    ids = [c.id for c in DEFAULT]
    assert len(ids) == len(set(ids))
    from cases import SUITES

    assert [c.id for c in SUITES["default"][1](0)] == ids  # built again, not from the suite cache


def test_signed_zero_family():
    x = Case(PoolSpec(kernel=2), (2, 3, 8, 8), family="signed_zero").make_input()
    zeros = x[x == 0]
    assert np.signbit(zeros).any() and (~np.signbit(zeros)).any()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_near_overflow_and_underflow_families(dtype):
    info = ml_dtypes.finfo(np_dtype(dtype))
    big = _floats(
        Case(PoolSpec(op="avg", kernel=2), (1, 2, 4, 4), dtype=dtype, family="near_overflow").make_input()
    )
    assert (big >= float(info.max) / 4 * 0.99).all() and (big <= float(info.max) / 2).all()
    tiny = _floats(
        Case(PoolSpec(op="avg", kernel=2), (1, 2, 8, 8), dtype=dtype, family="near_underflow").make_input()
    )
    sub = (np.abs(tiny) < float(info.smallest_normal)) & (tiny != 0)
    assert sub.any(), "no subnormal values"
    assert (np.abs(tiny) < 4 * float(info.smallest_normal)).all()


def test_integer_near_overflow_reaches_the_limits():
    x = Case(PoolSpec(kernel=2), (2, 3, 8, 8), dtype="int8", family="near_overflow").make_input()
    assert x.max() >= 127 - 63 and x.min() <= -128 + 63


def test_nan_family_places_nan_at_the_chosen_window_positions():
    spec = PoolSpec(kernel=3, stride=2, padding=1)
    case = Case(spec, (1, 2, 7, 7), family="nan")
    x = case.make_input()
    spots = _chosen_window_positions(spec, (1, 2, 7, 7))
    assert all(np.isnan(x[s]) for s in spots)
    # first element of the first window (0,0), last element of the last window (6,6)
    assert np.isnan(x[0, 0, 0, 0]) and np.isnan(x[0, 1, 6, 6])
    assert np.isnan(x).sum() == len(set(spots))


def test_error_parity_and_invariant_checks_are_in_default():
    checks = {ch for c in DEFAULT for ch in c.checks}
    assert {"forward", "grad", "default_stride", "error_parity", "invariant"} <= checks
