"""The reference: DESIGN.md §3 in vectorised NumPy, calling no framework.

The loop runs over kernel offsets (at most k1*k2*k3 iterations), never over output elements:
for each offset t, the input element it reads for every output window is one strided slice of
the padded input. Validity of a position (inside the input or in padding) is separable per
dim, so masks and divisors are outer products of small 1-D arrays.

Values are computed in float64 (int64 for integer max) and rounded to the output dtype once.
Max treats NaN as larger than every number (so NaN propagates and takes the gradient); among
equal maxima the first in row-major window order wins, which also fixes the sign of a zero.
"""

from __future__ import annotations

import itertools

import numpy as np

from conformance.backend import Backend
from conformance.dtypes import is_float, name_of, round_from_float64
from conformance.spec import DimGeometry, PoolSpec, replace


class _Plan:
    """Per-dim index arithmetic for one spec on one input shape (channels-first)."""

    def __init__(self, spec: PoolSpec, cf_shape: tuple[int, ...], geoms: tuple[DimGeometry, ...]):
        self.spec, self.geoms = spec, geoms
        self.lead = cf_shape[:2]
        self.padded_shape = self.lead + tuple(
            g.lo + g.n + max(0, (g.out - 1) * g.s + (g.k - 1) * g.d - g.lo - g.n + 1)
            for g in geoms
        )
        self.interior = (slice(None), slice(None), *tuple(slice(g.lo, g.lo + g.n) for g in geoms))
        self.out_shape = self.lead + tuple(g.out for g in geoms)

    def offsets(self):
        """(flat offset index, slices into the padded array, validity mask) in row-major order."""
        ranges = [range(g.k) for g in self.geoms]
        for flat, ts in enumerate(itertools.product(*ranges)):
            slices, masks = [], []
            for g, t in zip(self.geoms, ts, strict=True):
                start = t * g.d
                slices.append(slice(start, start + (g.out - 1) * g.s + 1, g.s))
                idx = np.arange(g.out) * g.s + t * g.d - g.lo
                masks.append((idx >= 0) & (idx < g.n))
            yield flat, (slice(None), slice(None), *slices), _outer(masks)

    def divisor(self) -> np.ndarray:
        spec = self.spec
        if spec.divisor_override is not None:
            return np.array(float(spec.divisor_override))
        counts = []
        for g in self.geoms:
            idx = np.arange(g.out)[:, None] * g.s + np.arange(g.k)[None, :] * g.d - g.lo
            if spec.count_include_pad:  # padding counts, the ceil-mode overhang past it never
                inside = (idx >= -g.lo) & (idx < g.n + g.hi)
            else:
                inside = (idx >= 0) & (idx < g.n)
            counts.append(inside.sum(axis=1).astype(np.float64))
        return _outer(counts)


def _outer(vectors: list[np.ndarray]) -> np.ndarray:
    """Outer product (logical and for bools) of per-dim vectors, shaped (1, 1, out1, ...)."""
    out = vectors[0]
    for v in vectors[1:]:
        out = np.multiply.outer(out, v)
    return out.reshape((1, 1, *out.shape))


def _to_cf(spec: PoolSpec, a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1) if spec.layout == "channels_last" else a


def _from_cf(spec: PoolSpec, a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 1, -1) if spec.layout == "channels_last" else a)


def _greater(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a > b with NaN above every number (and not above another NaN)."""
    if a.dtype.kind == "f":
        return (a > b) | (np.isnan(a) & ~np.isnan(b))
    return a > b


def _isnan(a: np.ndarray) -> np.ndarray:
    return np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)


# When the element at the current kernel offset replaces the window's current pick.
# `fresh` marks windows that have no pick yet. "first" is the normative rule (DESIGN.md §3).
_RULES = {
    "first": lambda v, best, fresh: fresh | _greater(v, best),
    "last_nan": lambda v, best, fresh: fresh | (v > best) | _isnan(v),  # PyTorch's kernels
    "ge_select": lambda v, best, fresh: fresh | ~(best >= v),  # XLA select_and_scatter(GE)
    "ignore_nan": lambda v, best, fresh: ~_isnan(v) & (fresh | (v > best)),
    "last_tie": lambda v, best, fresh: fresh | (v >= best) | (_isnan(v) & ~_isnan(best)),
    "gt": lambda v, best, fresh: fresh | (v > best),  # a NaN keeps the pick only if first
}

# Alternative semantics the reference can compute, for explaining a mismatch:
# name -> (rule for the value, rule for the gradient's route, what it means).
VARIANTS = {
    "nan_ignored": ("ignore_nan", "ignore_nan",
                    "max ignores NaN (a window of NaNs only gives the lowest finite value)"),
    "grad_last_nan": ("first", "last_nan", "gradient to the last NaN of a window"),
    "grad_ge_select": ("first", "ge_select",
                       "gradient routed by a `>=` select (XLA select_and_scatter): a NaN never "
                       "keeps the pick"),
    "grad_last_tie": ("first", "last_tie", "gradient to the last of tied maxima"),
    "grad_gt": ("first", "gt", "gradient routed by a strict `>` scan from the window's first "
                "element: a NaN takes the gradient only when it comes first"),
}


def _max_with_argmax(plan: _Plan, xp: np.ndarray, rule: str = "first") -> tuple[np.ndarray, np.ndarray]:
    choose = _RULES[rule]
    best = np.zeros(plan.out_shape, dtype=xp.dtype)
    arg = np.full(plan.out_shape, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for flat, sl, valid in plan.offsets():
            v = xp[sl]
            take = valid & choose(v, best, arg < 0)
            best = np.where(take, v, best)
            arg = np.where(take, flat, arg)
    if rule == "ignore_nan" and xp.dtype.kind == "f":
        best = np.where(arg < 0, np.finfo(np.float32).min, best)
    return best, arg


class NumpyBackend(Backend):
    name = "numpy"
    variants = VARIANTS  # alternative semantics, for diagnosing a backend's mismatch

    @property
    def version(self) -> str:
        return np.__version__

    def _setup(self, spec: PoolSpec, x: np.ndarray):
        xc = _to_cf(spec, x)
        geoms = spec.geometry(x.shape)
        plan = _Plan(spec, xc.shape, geoms)
        work = np.float64 if is_float(name_of(x.dtype)) else np.int64
        xp = np.zeros(plan.padded_shape, dtype=work)
        xp[plan.interior] = xc.astype(work)
        return plan, xp

    def forward_variant(self, spec: PoolSpec, x: np.ndarray, variant: str) -> np.ndarray:
        """The forward pass under one of VARIANTS instead of the normative semantics."""
        return self._forward(spec, x, "cpu", variant)

    def vjp_variant(self, spec: PoolSpec, x: np.ndarray, gy: np.ndarray, variant: str) -> np.ndarray:
        return self._vjp(spec, x, gy, "cpu", variant)

    def _forward(self, spec: PoolSpec, x: np.ndarray, device: str, variant: str | None = None):
        plan, xp = self._setup(spec, x)
        if spec.op == "max":
            y, _ = _max_with_argmax(plan, xp, VARIANTS[variant][0] if variant else "first")
            y = y.astype(x.dtype) if xp.dtype == np.int64 else round_from_float64(y, name_of(x.dtype))
        else:
            total = np.zeros(plan.out_shape)
            with np.errstate(invalid="ignore"):  # inf + -inf is NaN, as it should be
                for _, sl, valid in plan.offsets():
                    total += np.where(valid, xp[sl], 0.0)
                y = round_from_float64(total / plan.divisor(), name_of(x.dtype))
        return _from_cf(spec, y)

    def _vjp(self, spec: PoolSpec, x: np.ndarray, gy: np.ndarray, device: str,
             variant: str | None = None) -> np.ndarray:
        plan, xp = self._setup(spec, x)
        g = _to_cf(spec, gy).astype(np.float64)
        gp = np.zeros(plan.padded_shape)
        if spec.op == "max":
            _, arg = _max_with_argmax(plan, xp, VARIANTS[variant][1] if variant else "first")
            for flat, sl, _ in plan.offsets():
                gp[sl] += np.where(arg == flat, g, 0.0)
        else:
            share = g / plan.divisor()
            with np.errstate(invalid="ignore"):
                for _, sl, valid in plan.offsets():
                    gp[sl] += np.where(valid, share, 0.0)
        gx = round_from_float64(gp[plan.interior], name_of(x.dtype))
        return _from_cf(spec, gx)

    def _forward_default_stride(self, spec: PoolSpec, x: np.ndarray, device: str) -> np.ndarray:
        # The reference's own convention (DESIGN.md §2): an omitted stride equals the kernel.
        return self._forward(replace(spec, stride=None), x, device)
