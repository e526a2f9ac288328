"""Comparison rules: exact for max, ULP bound at the magnitude scale for sums."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from conformance.compare import TOLERANCE_ULPS, compare
from conformance.dtypes import ulp


def test_exact_treats_nan_as_equal_and_signed_zeros_as_different():
    e = np.array([np.nan, 0.0, 1.0], np.float32)
    assert compare(e.copy(), e, exact=True).status == "pass"
    a = np.array([np.nan, -0.0, 1.0], np.float32)
    r = compare(a, e, exact=True)
    assert r.status == "mismatch" and r.mismatch_count == 1


def test_exact_catches_one_ulp():
    e = np.array([1.0], np.float32)
    a = np.nextafter(e, np.float32(2))
    r = compare(a, e, exact=True)
    assert r.status == "mismatch" and r.max_ulp_err == 1.0


def test_shape_and_dtype_mismatches():
    assert compare(np.zeros((2, 2)), np.zeros((2, 3)), exact=True).status == "shape_mismatch"
    r = compare(np.zeros(2, np.float64), np.zeros(2, np.float32), exact=True)
    assert r.status == "mismatch" and "dtype" in r.message


def test_tolerance_uses_scale_not_result():
    # A sum that cancels to ~0: the error allowed is measured at the magnitudes summed.
    e = np.array([1e-7], np.float32)
    scale = np.array([1.0], np.float32)
    a = e + np.float32(4 * ulp(np.array([1.0]), "float32")[0])
    assert compare(a, e, exact=False, scale=scale).status == "pass"
    assert compare(a, e, exact=False).status == "mismatch"


def test_tolerance_boundary_in_ulps():
    n = TOLERANCE_ULPS["float16"]
    e = np.array([1.0], np.float16)
    step = ulp(np.array([1.0]), "float16")[0]
    inside = (e.astype(np.float64) + n * step).astype(np.float16)
    outside = (e.astype(np.float64) + (n + 1) * step).astype(np.float16)
    assert compare(inside, e, exact=False).status == "pass"
    assert compare(outside, e, exact=False).status == "mismatch"


def test_nonfinite_classes_must_match():
    e = np.array([np.inf, -np.inf, np.nan])
    assert compare(e.copy(), e, exact=False).status == "pass"
    a = np.array([np.inf, np.inf, np.nan])
    assert compare(a, e, exact=False).mismatch_count == 1


def test_bfloat16_ulp():
    assert ulp(np.array([1.0]), "bfloat16")[0] == 2.0**-7
    x = np.array([1.0], ml_dtypes.bfloat16)
    assert compare(x, x, exact=True).status == "pass"


def test_integers_compare_exactly():
    e = np.array([1, 2, 3], np.int8)
    assert compare(e.copy(), e, exact=True).status == "pass"
    assert compare(np.array([1, 2, 4], np.int8), e, exact=True).mismatch_count == 1


def test_mismatch_message_writes_numbers_plainly():
    """Issue 15: `np.float32(...)` leaked into messages and the report."""
    r = compare(np.array([2.5], np.float32), np.array([0.5], np.float32), exact=True)
    assert r.message.endswith("got 2.5, expected 0.5"), r.message
    assert "np." not in r.message


def test_ulp_error_is_measured_at_the_scale_not_at_an_expected_zero():
    """An error of 2.5 against an expected 0 is 2.5 / ulp(2.5) = 2**22 * 1.25 ULPs (float32),
    not 2.5 / (smallest subnormal) = 1.8e45 as the ULP of 0 would make it."""
    r = compare(np.array([2.5], np.float32), np.array([0.0], np.float32), exact=True)
    assert r.max_ulp_err == 2.5 / 2.0**-22
    # a sum: at the scale (the pool of |x|), as the tolerance is
    r = compare(
        np.array([2.0**-20], np.float32), np.array([0.0], np.float32), exact=False, scale=np.array([4.0])
    )
    assert r.max_ulp_err == 2.0**-20 / 2.0**-21
