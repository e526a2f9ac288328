"""The reference's alternative semantics (diagnosis variants), on hand-worked examples: each
one computes the rule its text states, so a diagnosis names the right cause."""

from __future__ import annotations

import numpy as np

from conformance import Case, PoolSpec
from conformance.known import find

INF = np.inf


def test_grad_all_near_max_duplicates_ties_and_skips_infinities(ref):
    spec = PoolSpec("max", 4, layout="channels_last", ndim=1)
    x = np.array([1.0, 2.0, 2.0, 2.0 - 2**-20]).reshape(1, 4, 1)
    gy = np.ones((1, 1, 1))
    assert ref.vjp(spec, x, gy).ravel().tolist() == [0, 1, 0, 0]  # the first maximum
    assert ref.vjp_variant(spec, x, gy, "grad_all_near_max").ravel().tolist() == [0, 1, 1, 1]
    x = np.array([INF, 1.0, 2.0, 3.0]).reshape(1, 4, 1)
    assert ref.vjp_variant(spec, x, gy, "grad_all_near_max").ravel().tolist() == [0, 0, 0, 0]


def test_grad_ge_select_padded_loses_a_padding_and_neg_inf_window(ref):
    spec = PoolSpec("max", 2, stride=1, padding=1, ndim=1)
    x = np.array([-INF, 1.0, 2.0]).reshape(1, 1, 3)
    gy = np.ones((1, 1, 4))  # windows (pad, -inf), (-inf, 1), (1, 2), (2, pad)
    assert ref.vjp(spec, x, gy).ravel().tolist() == [1, 1, 2]
    assert ref.vjp_variant(spec, x, gy, "grad_ge_select_padded").ravel().tolist() == [0, 1, 2]


def test_grad_neginf_depth0_sends_the_gradient_to_depth_zero(ref):
    spec = PoolSpec("max", (1, 2, 2), stride=(1, 2, 2))
    x = np.array([1.0, 2.0, 3.0, 4.0, -INF, -INF, -INF, -INF]).reshape(1, 1, 2, 2, 2)
    gy = np.array([10.0, 20.0]).reshape(1, 1, 2, 1, 1)
    assert ref.vjp(spec, x, gy).ravel().tolist() == [0, 0, 0, 10, 20, 0, 0, 0]
    # depth 1's window is all -inf: its 20 lands at depth 0, row 0, column 0
    assert ref.vjp_variant(spec, x, gy, "grad_neginf_depth0").ravel().tolist() == [20, 0, 0, 10, 0, 0, 0, 0]


def test_nan_ignored_in_bfloat16_starts_from_float32_lowest(ref):
    spec = PoolSpec("max", 2, ndim=1)
    case = Case(spec, (1, 1, 4), dtype="bfloat16", family="given", values=np.array([-INF, -INF, np.nan, 1.0]))
    y = ref.forward_variant(spec, case.make_input(), "nan_ignored").astype(np.float64).ravel()
    assert y.tolist() == [-INF, 1.0]  # float32's lowest rounds to -inf in bfloat16
    case32 = Case(spec, (1, 1, 4), family="given", values=np.array([-INF, -INF, np.nan, 1.0]))
    y32 = ref.forward_variant(spec, case32.make_input(), "nan_ignored").ravel()
    assert y32.tolist() == [float(np.finfo(np.float32).min), 1.0]


def test_an_entry_expecting_the_raw_status_wins():
    """Two entries hold for one case (torch avg_pool3d raises before its float32 sum could
    overflow): the one expecting the status the target gave classifies it."""
    spec = PoolSpec("avg", (3, 3, 3), stride=(3, 3, 3), ceil_mode=True)
    case = Case(spec, (1, 1, 2, 7, 7), family="near_overflow")
    version = "2.13.0"
    first = find("torch", version, case, "forward", "cpu")
    assert first is not None and first.id == "torch-avg-accumulation-overflow"
    by_status = find("torch", version, case, "forward", "cpu", status="error")
    assert by_status is not None and by_status.id == "torch-avg-pool3d-rejects-kernel-larger-than-input"


def _f(values, dtype="float64"):
    return np.array(values, dtype=dtype).reshape(1, 1, len(values))


def test_max_maxps_keeps_a_nan_only_as_the_last_element_and_the_last_tied_zero(ref):
    spec = PoolSpec("max", 2, ndim=1)
    y = ref.forward_variant(spec, _f([np.nan, 1.0, 1.0, np.nan]), "max_maxps").ravel()
    assert y[0] == 1.0 and np.isnan(y[1])  # MAXPS(best, v) returns v when either is NaN
    zeros = ref.forward_variant(spec, _f([-0.0, 0.0, 0.0, -0.0]), "max_maxps").ravel()
    assert np.signbit(zeros).tolist() == [False, True]  # the last tied zero wins


def test_nan_first_only_keeps_a_nan_only_as_the_first_element(ref):
    spec = PoolSpec("max", 3, stride=1, ndim=1)
    x = _f([np.nan, 1.0, 2.0, np.nan, 0.5])
    y = ref.forward_variant(spec, x, "nan_first_only").ravel()
    assert np.isnan(y[0]) and y[1:].tolist() == [2.0, 2.0]  # [1, 2, nan] and [2, nan, .5]: 2
    assert ref.indices_variant(spec, x, "nan_first_only").ravel().tolist() == [0, 2, 2]


def test_compute_float32_rounds_float64_and_clamps_at_flt_max(ref):
    big = float(np.finfo(np.float32).max)
    spec = PoolSpec("max", 1, ndim=1)
    y = ref.forward_variant(spec, _f([0.1, 1e300, -INF]), "compute_float32").ravel()
    assert y.tolist() == [float(np.float32(0.1)), big, -big]
    avg = ref.forward_variant(PoolSpec("avg", 2, ndim=1), _f([big, big]), "compute_float32")
    assert avg.ravel().tolist() == [big]  # the float32 sum overflows; the result clamps back
    y32 = ref.forward_variant(PoolSpec("avg", 2, ndim=1), _f([1.0, 2.0], "float32"), "compute_float32")
    assert y32.ravel().tolist() == [1.5]  # float64-only: other dtypes are unchanged


def test_clamp_finite_and_nan_result_neginf(ref):
    big = float(np.finfo(np.float32).max)
    spec = PoolSpec("max", 2, ndim=1)
    y = ref.forward_variant(spec, _f([INF, 1.0, np.nan, -INF], "float32"), "clamp_finite")
    assert y.ravel().tolist() == [big, -big]  # +inf clamps, NaN ignored, -inf clamps
    avg = ref.forward_variant(
        PoolSpec("avg", 2, ndim=1), _f([np.nan, 1.0, 2.0, 4.0], "float32"), "nan_result_neginf"
    )
    assert avg.ravel().tolist() == [-INF, 3.0]


def test_ceil_keeps_last_window_by_the_bare_formula(ref):
    spec = PoolSpec("max", 1, stride=2, ceil_mode=True, ndim=1)  # 4 wide: windows 0, 2, and 4
    y = ref.forward_variant(spec, _f([1.0, 2.0, 3.0, 4.0]), "ceil_keeps_last_window")
    assert ref.forward(spec, _f([1.0, 2.0, 3.0, 4.0])).shape == (1, 1, 2)
    assert y.shape == (1, 1, 3)  # ceil(3 / 2) + 1: a window starting past the input
    spec = PoolSpec("max", 2, stride=2, padding=1, ceil_mode=True, ndim=1)  # 5 wide, pads 1+1
    # ceil: starts -1, 1, 3, 5; 5 lies in the right padding: the rule drops it, the variant keeps it
    assert ref.forward(spec, _f([1.0, 2.0, 3.0, 4.0, 5.0])).shape == (1, 1, 3)
    kept = ref.forward_variant(spec, _f([1.0, 2.0, 3.0, 4.0, 5.0]), "ceil_keeps_last_window")
    assert kept.shape == (1, 1, 4)


def test_dilation_ignored_pools_contiguous_windows(ref):
    """Hand-worked: [0, 1, 2, 3, 4], kernel 2, dilation 2: windows (0, 2), (1, 3), (2, 4) give the
    means 1, 2, 3; dilation ignored, contiguous windows (0, 1) ... (3, 4) give four means."""
    spec = PoolSpec(op="avg", kernel=2, stride=1, dilation=2, ndim=1)
    x = np.arange(5, dtype=np.float64).reshape(1, 1, 5)
    assert ref.forward(spec, x).ravel().tolist() == [1.0, 2.0, 3.0]
    assert ref.forward_variant(spec, x, "dilation_ignored").ravel().tolist() == [0.5, 1.5, 2.5, 3.5]
