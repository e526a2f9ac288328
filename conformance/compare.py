"""Comparing a backend's array with the expected one, and the tolerance table.

Max pooling forward is compared bit for bit (it only selects an input element; NaN equals NaN,
but +0.0 and -0.0 differ). Everything that sums (average forward, every gradient) is compared
with an error bound in ULPs of the output dtype, measured at a *scale*: the same pooling
applied to |x| (or the same vjp applied to |gy|). Summation error is proportional to the sum of
magnitudes, not to the result, so this bound neither fails on cancellation (a result near 0
from +a and -a) nor hides a wrong divisor (an error of a whole element is many ULPs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conformance.dtypes import is_float, name_of, ulp

# Allowed |actual - expected| in ULPs of the output dtype at the scale (see README, "Tolerances").
TOLERANCE_ULPS = {"float64": 8.0, "float32": 8.0, "float16": 4.0, "bfloat16": 4.0}


@dataclass
class Comparison:
    status: str  # pass | mismatch | shape_mismatch
    max_abs_err: float | None = None
    max_ulp_err: float | None = None
    mismatch_count: int = 0
    message: str = ""


def _same_class(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Both NaN, or both the same infinity, or both finite."""
    both_nan = np.isnan(a) & np.isnan(e)
    same_inf = np.isinf(a) & np.isinf(e) & (np.sign(a) == np.sign(e))
    both_finite = np.isfinite(a) & np.isfinite(e)
    return both_nan | same_inf | both_finite


def mismatch_mask(
    actual: np.ndarray, expected: np.ndarray, *, exact: bool, scale: np.ndarray | None = None
) -> np.ndarray:
    """Per element: does it break the comparison rule? (Same shapes required.)"""
    return _compare(np.asarray(actual), np.asarray(expected), exact, scale)[0]


def compare(
    actual: np.ndarray, expected: np.ndarray, *, exact: bool, scale: np.ndarray | None = None
) -> Comparison:
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return Comparison("shape_mismatch", message=f"shape {actual.shape}, expected {expected.shape}")
    dname = name_of(expected.dtype)
    if name_of(actual.dtype) != dname:
        return Comparison("mismatch", message=f"dtype {name_of(actual.dtype)}, expected {dname}")
    if actual.size == 0:
        return Comparison("pass")
    bad, err, ulps = _compare(actual, expected, exact, scale)
    return _result(bad, actual, expected, err, ulps)


def allowed_error(expected: np.ndarray, scale: np.ndarray | None, dname: str) -> np.ndarray:
    """The absolute error each element may have when not compared exactly: TOLERANCE_ULPS
    units in the last place at the larger of |expected| and the scale (the window's |x| result)."""
    e = np.abs(expected.astype(np.float64))
    s = e if scale is None else np.maximum(np.abs(scale.astype(np.float64)), e)
    with np.errstate(invalid="ignore", over="ignore"):
        return TOLERANCE_ULPS[dname] * ulp(s, dname)


def _compare(actual, expected, exact, scale):
    dname = name_of(expected.dtype)
    if not is_float(dname):
        err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        return actual != expected, err, err
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(np.isfinite(a) & np.isfinite(e), np.abs(a - e), 0.0)
        classes = _same_class(a, e)
        err = np.where(classes, err, np.inf)
        # ULPs at the scale the tolerance uses: the larger of |expected| and the scale (sums),
        # or of |expected| and |actual| (selections): an expected 0 does not make an error of
        # 2.4 into 1.7e45 ULPs of the smallest subnormal.
        at = np.maximum(np.abs(e), np.abs(a)) if exact else np.abs(e)
        if scale is not None:
            at = np.maximum(at, np.abs(scale.astype(np.float64)))
        ulps = err / ulp(np.where(np.isfinite(at), at, 0.0), dname)
        if exact:
            equal = ((a == e) & (np.signbit(a) == np.signbit(e))) | (np.isnan(a) & np.isnan(e))
            bad = ~equal
        else:
            bad = err > allowed_error(e, scale, dname)
    return bad, err, ulps


def plain(value) -> str:
    """A NumPy scalar as a reader writes it: 0.5, -inf, nan, 3 (not np.float32(0.5))."""
    return str(np.asarray(value)[()])  # NumPy's shortest text for the value's own dtype


def _result(bad, actual, expected, err, ulps) -> Comparison:
    count = int(np.count_nonzero(bad))
    max_abs = float(np.max(err))
    max_ulp = float(np.max(ulps))
    if count == 0:
        return Comparison("pass", max_abs, max_ulp)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    msg = (
        f"{count} of {bad.size} elements differ; first at {where}: "
        f"got {plain(actual[where])}, expected {plain(expected[where])}"
    )
    return Comparison("mismatch", max_abs, max_ulp, count, msg)
