"""What a report needs to show a failing result without re-running anything: the arrays
side by side for small outputs, a heat map of mismatching positions for large ones, and a
reproducer. Stored in the result record (`extra`), so merged reports from other machines can
still show it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from conformance.compare import mismatch_mask

SMALL = 256  # elements: up to this size the arrays themselves are stored


def _cell(v) -> Any:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 and math.copysign(1, v) < 0:
        return "-0"
    return float(f"{v:.8g}")


def _grid(a: np.ndarray, layout: str) -> list[list[Any]]:
    """Channels-first, then (everything but the last spatial dim) x (last spatial dim)."""
    a = np.moveaxis(a, -1, 1) if layout == "channels_last" else a
    a = a.astype(np.float64).reshape(-1, a.shape[-1])
    return [[_cell(v) for v in row] for row in a]


def _heat(mask: np.ndarray, layout: str) -> list[list[int]]:
    """Mismatch counts over batch, channels (and depth): a spatial map, border cells included."""
    m = np.moveaxis(mask, -1, 1) if layout == "channels_last" else mask
    m = m.reshape((-1, *m.shape[-2:])) if m.ndim >= 4 else m.reshape(-1, 1, m.shape[-1])
    return m.sum(axis=0).astype(int).tolist()


def collect(
    actual: np.ndarray | None,
    expected: np.ndarray | None,
    *,
    layout: str,
    exact: bool,
    scale: np.ndarray | None = None,
) -> dict[str, Any]:
    if actual is None or expected is None:
        return {}
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return {"actual_shape": list(actual.shape), "expected_shape": list(expected.shape)}
    if actual.dtype != expected.dtype:
        actual = actual.astype(expected.dtype) if actual.dtype.kind in "fiuV" else actual
    use_scale = scale if scale is not None and scale.shape == expected.shape else None
    mask = mismatch_mask(actual, expected, exact=exact, scale=use_scale)
    out: dict[str, Any] = {"heat": _heat(mask, layout)}
    if expected.size <= SMALL:
        out.update(
            expected=_grid(expected, layout),
            actual=_grid(actual, layout),
            mask=_grid(mask.astype(np.int8), layout),
        )
    heat = np.asarray(out["heat"])
    if heat.ndim == 2 and heat.size:
        border = heat.copy()
        border[1:-1, 1:-1] = 0
        out["border_mismatches"] = int(border.sum())
        out["interior_mismatches"] = int(heat.sum() - border.sum())
    return out
