"""Invariant checks: properties a backend must have whatever the reference says.

Each compares the backend with itself, so they also catch bugs the reference could share:
  layout      the other layout (NCHW vs NHWC) gives the same numbers, transposed;
  channel     pooling the first (last) channel alone equals that channel of the full input;
  batch       pooling sample 0 alone equals sample 0 of the batch;
  scaling     pool(2x) == 2 pool(x) exactly (a power of two scales every step exactly);
  negation    avg(-x) == -avg(x) (sums of negated terms are the negated sums).
Max-pooling values are compared bit for bit, sums within the tolerance table. An invariant the
backend cannot express (the other layout unsupported, say) is skipped; if none applies the
result is `unsupported`.
"""

from __future__ import annotations

import numpy as np

from conformance.compare import Comparison, compare
from conformance.dtypes import is_float
from conformance.errors import Unsupported
from conformance.spec import replace

SCALE_SAFE_FAMILIES = ("distinct", "ties", "negative", "arange", "given", "signed_zero")


def _channel_axis(spec) -> int:
    return 1 if spec.layout == "channels_first" else -1


def _take(a: np.ndarray, axis: int, index: int) -> np.ndarray:
    return np.take(a, [index], axis=axis)


def check(case, backend, device: str) -> Comparison:
    spec, x = case.spec, case.make_input()
    exact = spec.kind.selects
    try:
        y = backend.forward(spec, x, device)
    except Unsupported as exc:
        return Comparison("unsupported", message=exc.reason)
    scale = np.abs(y.astype(np.float64)) if not exact else None
    failures, ran = [], []

    def expect(name: str, actual: np.ndarray, expected: np.ndarray, use_scale=None) -> None:
        ran.append(name)
        result = compare(actual, expected, exact=exact, scale=use_scale if use_scale is not None else scale)
        if result.status != "pass":
            failures.append(f"{name}: {result.message}")

    other = "channels_last" if spec.layout == "channels_first" else "channels_first"
    xo = np.moveaxis(x, 1, -1) if other == "channels_last" else np.moveaxis(x, -1, 1)
    try:
        yo = backend.forward(replace(spec, layout=other), np.ascontiguousarray(xo), device)
        back = np.moveaxis(yo, -1, 1) if other == "channels_last" else np.moveaxis(yo, 1, -1)
        expect("layout", back, y)
    except Unsupported:
        pass
    caxis = _channel_axis(spec)
    if x.shape[caxis] > 1:  # the first and the last channel, each pooled alone
        for c in (0, x.shape[caxis] - 1):
            alone = backend.forward(spec, np.ascontiguousarray(_take(x, caxis, c)), device)
            expect(
                "channel", alone, _take(y, caxis, c), _take(scale, caxis, c) if scale is not None else None
            )
    if x.shape[0] > 1:
        expect(
            "batch",
            backend.forward(spec, np.ascontiguousarray(x[:1]), device),
            y[:1],
            scale[:1] if scale is not None else None,
        )
    if case.family in SCALE_SAFE_FAMILIES and is_float(case.dtype):
        doubled = (x.astype(np.float64) * 2).astype(x.dtype)
        expect(
            "scaling",
            backend.forward(spec, doubled, device),
            (y.astype(np.float64) * 2).astype(y.dtype),
            None if exact else 2 * scale,
        )
    if spec.kind.averages and case.family in SCALE_SAFE_FAMILIES:
        negated = (-x.astype(np.float64)).astype(x.dtype)
        expect("negation", backend.forward(spec, negated, device), (-y.astype(np.float64)).astype(y.dtype))
    if not ran:
        return Comparison("unsupported", message="no invariant applies")
    if failures:
        return Comparison("mismatch", mismatch_count=len(failures), message="; ".join(failures))
    return Comparison("pass", message=f"held: {', '.join(ran)}")
