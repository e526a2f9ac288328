"""The reference: DESIGN.md §3 in vectorised NumPy, calling no framework.

The loop runs over kernel offsets (at most k1*k2*k3 iterations), never over output elements:
for each offset t, the input element it reads for every output window is one strided slice of
the padded input. Validity of a position (inside the input or in padding) is separable per
dim, so masks and divisors are outer products of small 1-D arrays.

Values are computed in float64 (int64 for integer max) and rounded to the output dtype once.
Max treats NaN as larger than every number (so NaN propagates and takes the gradient); among
equal maxima the first in row-major window order wins, which also fixes the sign of a zero.

`VARIANTS` are alternative semantics (other frameworks' rules, classic bugs). They are never
the reference; the runner computes them to say which rule a mismatching backend follows.

Where numba is installed, the normative forward, gradient and indices run the compiled window
loops of backends/reference_loops.py instead (the same semantics, 4-20x faster on real layer
shapes; tests/test_reference_loops.py holds the two together). These NumPy loops remain the
fallback and compute every variant.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from dataclasses import replace as dc_replace

import ml_dtypes
import numpy as np

from backends import reference_loops
from conformance import ops
from conformance.backend import Backend
from conformance.devices import Device
from conformance.dtypes import is_float, name_of, np_dtype, round_from_float64
from conformance.spec import DimGeometry, PoolSpec, replace


@dataclass(frozen=True)
class Variant:
    """One alternative semantics; the defaults are the normative rules of DESIGN.md §3."""

    meaning: str
    value_rule: str = "first"  # which element max returns (a key of _RULES)
    route_rule: str = "first"  # which element max's gradient goes to
    spec_change: tuple = ()  # (field, function of the spec giving the new value) pairs
    keep_last_ceil_window: bool = False  # ceil mode without the last-window rule
    overhang_counts: bool = False  # count_include_pad also counts the ceil overhang
    accumulate: str | None = None  # "storage" | "float32": sum in that dtype, in window order
    flush_subnormals: bool = False  # inputs and outputs below the smallest normal become 0
    daz_compare: bool = False  # max compares as if subnormals were 0 but returns them unchanged
    split_ties: bool = False  # max's gradient shared equally by all tied maxima (reduce_max)
    all_near_max: float | None = None  # max's full gradient wherever |x - max| < this
    padding_selectable: bool = False  # padding takes part in max's pick as the dtype's lowest
    # value (-inf for floats; XLA, inductor)
    neginf_depth0: bool = False  # a -inf window's gradient to depth 0 (PyTorch 3-D NDHWC)
    compute_float32: bool = False  # float64 inputs computed in float32, saturating at ±FLT_MAX
    clamp_float32: str | None = None  # "both": results clipped to ±FLT_MAX, "upper": to +FLT_MAX
    nan_result_neginf: bool = False  # a NaN result becomes -inf (a NaN-unaware output clamp)
    nan_floor: str = "lowest"  # where a NaN-dropping max starts: "lowest" finite (bfloat16:
    # float32's, which rounds to -inf), "storage" (the storage dtype's lowest) or "-inf"
    reduction: str | None = None  # only ops with this reduction (conformance.ops); None: all
    column_major: bool = False  # max scans each window in column-major order (first dim fastest)

    def applies_to(self, spec: PoolSpec) -> bool:
        return self.reduction in (None, spec.kind.reduction)


class _Plan:
    """Per-dim index arithmetic for one spec on one input shape (channels-first).

    A window is walked by kernel offset t (row-major over `window_shape`). For kernel pooling
    the element at offset t of every window is one strided slice of the padded input; for
    adaptive pooling (windows of varying length) it is a gather: each window's index at offset
    t, clipped to the window's last element and masked off where t is past its length.
    """

    def __init__(
        self, spec: PoolSpec, cf_shape: tuple[int, ...], geoms: tuple, variant: Variant = Variant("normative")
    ):
        self.spec, self.geoms, self.variant = spec, geoms, variant
        self.lead = cf_shape[:2]
        self.adaptive = spec.kind.adaptive
        if self.adaptive:  # no padding: the "padded" input is the input
            self.padded_shape = tuple(cf_shape)
            self.window_shape = tuple(g.max_window for g in geoms)
            self.positions, self.present = [], []  # per dim: (out, max_window) index, validity
            for g in geoms:
                starts = np.array([g.window(j)[0] for j in range(g.out)])[:, None]
                lengths = np.array(g.lengths)[:, None]
                t = np.arange(g.max_window)[None, :]
                self.positions.append(starts + np.minimum(t, lengths - 1))
                self.present.append(t < lengths)
        else:
            self.padded_shape = self.lead + tuple(
                g.lo + g.n + max(0, (g.out - 1) * g.s + (g.k - 1) * g.d - g.lo - g.n + 1) for g in geoms
            )
            self.window_shape = tuple(g.k for g in geoms)
        self.interior = (slice(None), slice(None), *tuple(slice(g.lo, g.lo + g.n) for g in geoms))
        self.out_shape = self.lead + tuple(g.out for g in geoms)

    def offsets(self, column_major: bool = False):
        """(flat offset index, index into the padded array, validity mask) in row-major order
        (or column-major: the first dim varying fastest; `flat` stays the row-major number)."""
        order = list(enumerate(itertools.product(*(range(k) for k in self.window_shape))))
        if column_major:
            order.sort(key=lambda item: item[1][::-1])
        for flat, ts in order:
            if self.adaptive:
                index = np.ix_(*(p[:, t] for p, t in zip(self.positions, ts, strict=True)))
                mask = _outer([ok[:, t] for ok, t in zip(self.present, ts, strict=True)])
                yield flat, (slice(None), slice(None), *index), mask
                continue
            slices, masks = [], []
            for g, t in zip(self.geoms, ts, strict=True):
                start = t * g.d
                slices.append(slice(start, start + (g.out - 1) * g.s + 1, g.s))
                idx = np.arange(g.out) * g.s + t * g.d - g.lo
                masks.append((idx >= 0) & (idx < g.n))
            yield flat, (slice(None), slice(None), *slices), _outer(masks)

    def add(self, target: np.ndarray, index, values: np.ndarray) -> None:
        """target[index] += values, accumulating where an adaptive gather repeats an index
        (output larger than the input: neighbouring windows share their elements)."""
        if self.adaptive:
            np.add.at(target, index, np.broadcast_to(values, target[index].shape))
        else:
            target[index] += values

    def along(self, a: np.ndarray, i: int, t: int) -> np.ndarray:
        """The element at offset t of every window along spatial dim i of `a` (padded)."""
        axis, g = 2 + i, self.geoms[i]
        if self.adaptive:
            return np.take(a, self.positions[i][:, t], axis=axis)
        index = [slice(None)] * a.ndim
        index[axis] = slice(t * g.d, t * g.d + (g.out - 1) * g.s + 1, g.s)
        return a[tuple(index)]

    def input_positions(self, arg: np.ndarray) -> np.ndarray:
        """Flat row-major positions within each (N, C) plane of the input (DESIGN.md §3
        indices) of the elements at window offsets `arg`; -1 where a window picked none."""
        ts = np.unravel_index(np.maximum(arg, 0), self.window_shape)
        flat = np.zeros(arg.shape, np.int64)
        nd = len(self.geoms)
        for i, (g, t) in enumerate(zip(self.geoms, ts, strict=True)):
            j = np.broadcast_to(
                np.arange(g.out).reshape((1, 1, *(-1 if a == i else 1 for a in range(nd)))), arg.shape
            )
            coord = self.positions[i][j, t] if self.adaptive else j * g.s + t * g.d - g.lo
            flat = flat * g.n + coord
        return np.where(arg < 0, -1, flat)

    def divisor(self) -> np.ndarray:
        spec = self.spec
        if spec.divisor_override is not None:
            return np.array(float(spec.divisor_override))
        if self.adaptive:  # the window's own length product
            return _outer([np.array(g.lengths, dtype=np.float64) for g in self.geoms])
        counts = []
        for g in self.geoms:
            idx = np.arange(g.out)[:, None] * g.s + np.arange(g.k)[None, :] * g.d - g.lo
            if spec.count_include_pad and self.variant.overhang_counts:
                inside = np.ones(idx.shape, bool)
            elif spec.count_include_pad:  # padding counts, the ceil-mode overhang past it never
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
    # x86 MAXPS(best, v): v unless best > v, so a NaN (either side) and a tied zero yield v
    "maxps": lambda v, best, fresh: fresh | ~(best > v),
    "pos_zero": lambda v, best, fresh: (
        fresh | _greater(v, best) | ((v == 0) & (best == 0) & np.signbit(best) & ~np.signbit(v))
    ),  # +0.0 beats -0.0
}


def _flip_same(spec: PoolSpec):
    return {"same": "same_lower", "same_lower": "same"}.get(spec.padding, spec.padding)


VARIANTS: dict[str, Variant] = {
    "nan_ignored": Variant(
        "max starting from the lowest finite value, ignoring NaN (windows of "
        "NaN or -inf give the lowest finite value; in bfloat16 float32's, "
        "which rounds to -inf)",
        value_rule="ignore_nan",
        route_rule="ignore_nan",
        reduction=ops.MAX_REDUCTION,
    ),
    "nan_ignored_storage_lowest": Variant(
        "max starting from the storage dtype's lowest finite "
        "value, ignoring NaN (a bfloat16 window of NaN or -inf "
        "gives -3.39e38)",
        value_rule="ignore_nan",
        route_rule="ignore_nan",
        nan_floor="storage",
        reduction=ops.MAX_REDUCTION,
    ),
    "nan_dropped": Variant(
        "max ignoring NaN, starting from -inf (a window of NaN or -inf gives -inf)",
        value_rule="ignore_nan",
        route_rule="ignore_nan",
        nan_floor="-inf",
        reduction=ops.MAX_REDUCTION,
    ),
    "nan_first_only": Variant(
        "max by a strict `>` scan from the window's first element: a NaN is kept "
        "(value and index) only when it comes first",
        value_rule="gt",
        route_rule="gt",
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_last_nan": Variant(
        "gradient to the last NaN of a window", route_rule="last_nan", reduction=ops.MAX_REDUCTION
    ),
    "grad_ge_select": Variant(
        "gradient routed by a `>=` select (XLA select_and_scatter): a NaN never keeps the pick",
        route_rule="ge_select",
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_gt": Variant(
        "gradient routed by a strict `>` scan from the window's first element: a "
        "NaN takes the gradient only when it comes first",
        route_rule="gt",
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_last_tie": Variant(
        "gradient to the last of tied maxima", route_rule="last_tie", reduction=ops.MAX_REDUCTION
    ),
    "max_column_major": Variant(
        "max picks the first maximal element in column-major window "
        "order (the window reduced one dim at a time, the first dim "
        "first): ties go to the leftmost column, not the top row",
        column_major=True,
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_split_ties": Variant(
        "gradient split equally between tied maxima (as reduce_max does)",
        split_ties=True,
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_ge_select_padded": Variant(
        "gradient routed by a `>=` select over the padded window, "
        "padding valued -inf: a window of padding and -inf sends its "
        "gradient into the padding (lost); a NaN never keeps the pick",
        route_rule="ge_select",
        padding_selectable=True,
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_lost_in_padding": Variant(
        "gradient of a window holding only padding and -inf lost in "
        "the padding (padding valued -inf comes first and is not "
        "beaten); other windows as the reference",
        padding_selectable=True,
        reduction=ops.MAX_REDUCTION,
    ),
    "max_last_tie": Variant(
        "max keeps the last of tied maxima (visible for signed zeros: "
        "max(-0.0, +0.0) = +0.0, max(+0.0, -0.0) = -0.0)",
        value_rule="last_tie",
        route_rule="last_tie",
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_all_near_max": Variant(
        "full gradient to every element within 1e-5 of the window "
        "maximum (NaN dropped): |x - max| < 1e-5, so tied maxima, "
        "near-ties and subnormals all get it, infinities never",
        value_rule="ignore_nan",
        route_rule="ignore_nan",
        all_near_max=1e-5,
        reduction=ops.MAX_REDUCTION,
    ),
    "grad_neginf_depth0": Variant(
        "gradient of a window whose maximum is -inf sent to depth 0 at "
        "the window's first in-bounds row and column (an index that "
        "lacks its depth term)",
        neginf_depth0=True,
        reduction=ops.MAX_REDUCTION,
    ),
    "zero_sign_ordered": Variant(
        "max orders +0.0 above -0.0 (IEEE maximum) instead of keeping the first of tied zeros",
        value_rule="pos_zero",
        route_rule="pos_zero",
        reduction=ops.MAX_REDUCTION,
    ),
    "cip_flipped": Variant(
        "count_include_pad the other way round",
        spec_change=(("count_include_pad", lambda s: not s.count_include_pad),),
        reduction=ops.MEAN_REDUCTION,
    ),
    "dilation_ignored": Variant(
        "dilation ignored: contiguous windows of the kernel's size (a converter that drops the "
        "dilations attribute)",
        spec_change=(("dilation", lambda s: (1,) * s.ndim),),
    ),
    "divisor_ignored": Variant(
        "divisor_override ignored: the average divides by the window's count as if no divisor "
        "were given (count_include_pad as set)",
        spec_change=(("divisor_override", lambda s: None),),
        reduction=ops.MEAN_REDUCTION,
    ),
    "same_split_flipped": Variant(
        "SAME padding's odd pixel on the other side (SAME_UPPER vs SAME_LOWER)",
        spec_change=(("padding", _flip_same),),
    ),
    "ceil_keeps_last_window": Variant(
        "ceil mode without the rule that drops a last window starting in the right padding",
        keep_last_ceil_window=True,
    ),
    "ceil_overhang_counted": Variant(
        "the divisor counts the ceil-mode overhang past the padding (the full kernel)",
        overhang_counts=True,
        reduction=ops.MEAN_REDUCTION,
    ),
    "max_maxps": Variant(
        "max as x86 MAXPS scans the window: a later element replaces the "
        "running maximum unless that is greater, so a NaN survives only as the "
        "last element of its window, and the last of tied zeros wins",
        value_rule="maxps",
        route_rule="maxps",
        reduction=ops.MAX_REDUCTION,
    ),
    "compute_float32": Variant(
        "float64 computed in float32: inputs rounded to float32 and "
        "clamped to ±FLT_MAX (infinities included), sums in float32",
        compute_float32=True,
        accumulate="float32",
        clamp_float32="both",
    ),
    "inputs_float32": Variant(
        "float64 inputs rounded to float32 (clamped to ±FLT_MAX), the rest computed in float64",
        compute_float32=True,
    ),
    "clamp_finite": Variant(
        "results clamped to ±FLT_MAX (TFLite's activation bounds for no "
        "activation), and max scanning from the lowest finite value, "
        "ignoring NaN",
        value_rule="ignore_nan",
        clamp_float32="both",
    ),
    "xnnpack_clamp": Variant(
        "XNNPACK's output clamp: +inf clamped to FLT_MAX, a NaN result "
        "becomes -inf, -inf kept; max scanned with a strict > from the "
        "window's first element (a NaN kept only if first)",
        value_rule="gt",
        clamp_float32="upper",
        nan_result_neginf=True,
    ),
    "nan_result_neginf": Variant(
        "a NaN result becomes -inf (an output clamp max(min(y, +inf), "
        "-inf) with x86 MINPS/MAXPS operand order)",
        nan_result_neginf=True,
    ),
    "accumulate_storage": Variant(
        "the sum accumulated in the input dtype, in window order",
        accumulate="storage",
        reduction=ops.MEAN_REDUCTION,
    ),
    "accumulate_float32": Variant(
        "the sum accumulated in float32, in window order", accumulate="float32", reduction=ops.MEAN_REDUCTION
    ),
    "flush_subnormals": Variant(
        "subnormal inputs and results flushed to zero (FTZ/DAZ)", flush_subnormals=True
    ),
    "daz_compare": Variant(
        "max comparing subnormals as zero (DAZ) but returning the element unflushed",
        daz_compare=True,
        reduction=ops.MAX_REDUCTION,
    ),
}


def _max_with_argmax(
    plan: _Plan,
    xp: np.ndarray,
    rule: str = "first",
    key: np.ndarray | None = None,
    padding_selectable: bool = False,
    column_major: bool = False,
    padding_value: float = -np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima and the flat kernel offset of the element picked. `key`, if given, is
    what the comparisons see (e.g. flushed subnormals); the value returned comes from xp.
    With `padding_selectable` padding positions are candidates too, valued `padding_value`
    (-inf; an integer dtype's lowest value; a gradient
    routed there is lost)."""
    choose = _RULES[rule]
    key = xp if key is None else key
    if padding_selectable:
        padded = np.full(key.shape, padding_value, dtype=key.dtype)
        padded[plan.interior] = key[plan.interior]
        key = padded
    best = np.zeros(plan.out_shape, dtype=xp.dtype)
    best_key = np.zeros(plan.out_shape, dtype=key.dtype)
    arg = np.full(plan.out_shape, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for flat, sl, valid in plan.offsets(column_major):
            if padding_selectable:
                valid = np.ones_like(valid)
            take = valid & choose(key[sl], best_key, arg < 0)
            best = np.where(take, xp[sl], best)
            best_key = np.where(take, key[sl], best_key)
            arg = np.where(take, flat, arg)
    return best, arg


class NumpyBackend(Backend):
    name = "numpy"
    no_adaptive = None  # DESIGN.md §3's adaptive windows
    default_stride = "kernel"  # DESIGN.md §2: stride=None means the kernel
    default_stride_api = "the reference with stride=None"
    variants = VARIANTS  # alternative semantics, for diagnosing a backend's mismatch

    @property
    def version(self) -> str:
        return np.__version__

    def _setup(self, spec: PoolSpec, x: np.ndarray, variant: Variant):
        xc = _to_cf(spec, x)
        geoms = spec.geometry(x.shape)
        if variant.keep_last_ceil_window and spec.ceil_mode:
            geoms = tuple(_without_last_window_rule(g) for g in geoms)
        plan = _Plan(spec, xc.shape, geoms, variant)
        work = np.float64 if is_float(name_of(x.dtype)) else np.int64
        xp = np.zeros(plan.padded_shape, dtype=work)
        xp[plan.interior] = xc.astype(work)
        if variant.flush_subnormals and work == np.float64:
            xp = _flush(xp, name_of(x.dtype))
        if variant.compute_float32 and name_of(x.dtype) == "float64":
            big = float(np.finfo(np.float32).max)
            xp = np.clip(xp, -big, big).astype(np.float32).astype(np.float64)
        return plan, xp

    def _variant(self, spec: PoolSpec, name: str | None) -> tuple[PoolSpec, Variant]:
        if name is None:
            return spec, Variant("normative")
        variant = VARIANTS[name]
        changes = {field: fn(spec) for field, fn in variant.spec_change}
        return (replace(spec, **changes) if changes else spec), variant

    def forward_variant(self, spec: PoolSpec, x: np.ndarray, variant: str) -> np.ndarray:
        """The forward pass under one of VARIANTS instead of the normative semantics."""
        return self._forward(spec, x, Device.CPU, variant)

    def vjp_variant(self, spec: PoolSpec, x: np.ndarray, gy: np.ndarray, variant: str) -> np.ndarray:
        return self._vjp(spec, x, gy, Device.CPU, variant)

    def _forward(self, spec: PoolSpec, x: np.ndarray, device: str, variant: str | None = None):
        dtype = name_of(x.dtype)
        if variant is None and reference_loops.available() and (spec.kind.selects or is_float(dtype)):
            return _compiled_forward(spec, x)
        spec, v = self._variant(spec, variant)
        plan, xp = self._setup(spec, x, v)
        if (
            spec.kind.selects
            and variant is None
            and is_float(dtype)
            and dtype != "bfloat16"
            and not np.isnan(x).any()
        ):
            return _from_cf(spec, _max_fast(plan, _to_cf(spec, x)))
        if spec.kind.selects:
            key = _flush(xp, dtype) if v.daz_compare else None
            y, arg = _max_with_argmax(plan, xp, v.value_rule, key, column_major=v.column_major)
            if xp.dtype == np.int64:
                return _from_cf(spec, y.astype(x.dtype))
            if v.value_rule == "ignore_nan":  # the scan starts from the lowest finite value
                lowest = {
                    "lowest": _lowest(dtype),
                    "-inf": -np.inf,
                    "storage": float(ml_dtypes.finfo(np_dtype(dtype)).min),
                }[v.nan_floor]
                lowest = np.asarray(lowest, dtype=y.dtype)  # NumPy 1.x: no bfloat16-float promotion
                y = np.where(arg < 0, lowest, np.maximum(y, lowest))
        else:
            float32_only = v.compute_float32 and dtype != "float64"  # a float64-only variant
            y = _average(plan, xp, dtype, None if float32_only else v.accumulate)
        y = round_from_float64(y, dtype)
        if v.clamp_float32 and dtype in ("float32", "float64"):
            big = float(np.finfo(np.float32).max)
            low = -big if v.clamp_float32 == "both" else -np.inf
            y = np.where(np.isnan(y), y, np.clip(y, low, big)).astype(y.dtype)
        if v.nan_result_neginf:
            y = np.where(np.isnan(y), np.asarray(-np.inf, dtype=y.dtype), y)
        if v.flush_subnormals:
            y = _flush(y.astype(np.float64), dtype).astype(y.dtype)
        return _from_cf(spec, y)

    def _vjp(
        self, spec: PoolSpec, x: np.ndarray, gy: np.ndarray, device: str, variant: str | None = None
    ) -> np.ndarray:
        dtype = name_of(x.dtype)
        if variant is None and reference_loops.available():
            return _compiled_vjp(spec, x, gy)
        if (
            spec.kind.selects
            and variant is None
            and is_float(dtype)
            and dtype != "bfloat16"
            and not np.isnan(x).any()
        ):
            plan = _Plan(spec, _to_cf(spec, x).shape, spec.geometry(x.shape))
            gx = _max_vjp_fast(plan, _to_cf(spec, x), _to_cf(spec, gy).astype(np.float64))
            return _from_cf(spec, round_from_float64(gx, dtype))
        spec, v = self._variant(spec, variant)
        plan, xp = self._setup(spec, x, v)
        g = _to_cf(spec, gy).astype(np.float64)
        if g.shape != plan.out_shape:  # a variant with another output shape has no vjp here
            raise ValueError(f"variant output shape {plan.out_shape} != gy shape {g.shape}")
        gp = np.zeros(plan.padded_shape)
        if spec.kind.selects:
            key = _flush(xp, name_of(x.dtype)) if v.daz_compare else None
            best, arg = _max_with_argmax(plan, xp, v.route_rule, key, v.padding_selectable, v.column_major)
            if v.all_near_max is not None:  # by subtraction: inf - inf and NaN never qualify
                best = np.where(arg < 0, _lowest(name_of(x.dtype)), best)
                with np.errstate(invalid="ignore"):
                    for _, sl, valid in plan.offsets():
                        near = np.abs(xp[sl] - best) < v.all_near_max
                        plan.add(gp, sl, np.where(valid & near, g, 0.0))
            elif v.split_ties:  # every element equal to the maximum gets an equal share
                hits = [(sl, valid & (xp[sl] == best)) for _, sl, valid in plan.offsets()]
                count = np.maximum(sum(h.astype(np.float64) for _, h in hits), 1.0)
                for sl, hit in hits:
                    plan.add(gp, sl, np.where(hit, g / count, 0.0))
            else:
                if v.neginf_depth0 and spec.ndim == 3:
                    arg = _send_neginf_to_depth0(plan, gp, best, arg, g)
                for flat, sl, _ in plan.offsets():
                    plan.add(gp, sl, np.where(arg == flat, g, 0.0))
        else:
            share = g / plan.divisor()
            with np.errstate(invalid="ignore"):
                for _, sl, valid in plan.offsets():
                    plan.add(gp, sl, np.where(valid, share, 0.0))
        gx = round_from_float64(gp[plan.interior], name_of(x.dtype))
        return _from_cf(spec, gx)

    def _forward_with_indices(
        self, spec: PoolSpec, x: np.ndarray, device: str, variant: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The forward pass and the plane position of the element the (variant's) gradient
        routing picks: indices and gradients are one choice in every framework that has both."""
        if variant is None and reference_loops.available():
            y, positions = reference_loops.max_with_positions(_to_cf(spec, x), spec.geometry(x.shape))
            return _from_cf(spec, y.astype(x.dtype, copy=False)), _from_cf(spec, positions)
        y = self._forward(spec, x, device, variant)
        spec, v = self._variant(spec, variant)
        plan, xp = self._setup(spec, x, v)
        key = _flush(xp, name_of(x.dtype)) if v.daz_compare else None
        lowest = _lowest_value(name_of(x.dtype))
        best, arg = _max_with_argmax(
            plan, xp, v.route_rule, key, v.padding_selectable, v.column_major, lowest
        )
        positions = plan.input_positions(arg)
        if v.neginf_depth0 and spec.ndim == 3:  # the index lacks its depth term
            hit = (best == lowest) & (arg >= 0)
            positions = np.where(hit, _depth0_positions(plan), positions)
        return y, _from_cf(spec, positions)

    def indices_variant(self, spec: PoolSpec, x: np.ndarray, variant: str) -> np.ndarray:
        return self._forward_with_indices(spec, x, Device.CPU, variant)[1]

    def unpool_variant(self, spec: PoolSpec, x: np.ndarray, variant: str) -> np.ndarray:
        return self._unpool(spec, x, Device.CPU, variant)

    def _unpool(self, spec: PoolSpec, x: np.ndarray, device: str, variant: str | None = None) -> np.ndarray:
        """Each output written at its index in a zero input-shaped array (what MaxUnpool does;
        overlapping windows that pick one element write the same value twice)."""
        y, idx = self._forward_with_indices(spec, x, device, variant)
        yc, ic = _to_cf(spec, y), _to_cf(spec, idx)
        out = np.zeros(_to_cf(spec, x).shape, dtype=x.dtype)
        planes = out.reshape(out.shape[0], out.shape[1], -1)
        n, c = np.indices(ic.shape[:2]).reshape(2, *ic.shape[:2], *(1,) * (ic.ndim - 2))
        n, c = np.broadcast_to(n, ic.shape), np.broadcast_to(c, ic.shape)
        inside = (ic >= 0) & (ic < planes.shape[2])  # a variant's index into the padding: lost
        planes[n[inside], c[inside], ic[inside]] = yc[inside]
        return _from_cf(spec, out)

    def _forward_default_stride(self, spec: PoolSpec, x: np.ndarray, device: str) -> np.ndarray:
        # The reference's own convention (DESIGN.md §2): an omitted stride equals the kernel.
        return self._forward(replace(spec, stride=None), x, device)


def _compiled_forward(spec: PoolSpec, x: np.ndarray) -> np.ndarray:
    """The normative forward by the compiled loops (backends/reference_loops.py)."""
    xc, geoms, dtype = _to_cf(spec, x), spec.geometry(x.shape), name_of(x.dtype)
    if spec.kind.selects:
        return _from_cf(spec, reference_loops.max_forward(xc, geoms).astype(x.dtype, copy=False))
    y = reference_loops.avg_forward(xc, geoms, _Plan(spec, xc.shape, geoms).divisor())
    return _from_cf(spec, round_from_float64(y, dtype) if y.dtype != x.dtype else y)


def _compiled_vjp(spec: PoolSpec, x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    xc, gc, geoms, dtype = _to_cf(spec, x), _to_cf(spec, gy), spec.geometry(x.shape), name_of(x.dtype)
    if spec.kind.selects:
        gx = reference_loops.max_vjp(xc, geoms, gc)
    else:
        gx = reference_loops.avg_vjp(xc, geoms, _Plan(spec, xc.shape, geoms).divisor(), gc)
    return _from_cf(spec, round_from_float64(gx, dtype) if gx.dtype != x.dtype else gx)


def _max_fast(plan: _Plan, xc: np.ndarray, with_padded: bool = False):
    """Normative max for NaN-free float16/32/64, in the input dtype (max only selects, so no
    rounding is involved): padding is -inf, which every window's real element beats, and the
    strict `>` keeps the first of tied elements (signed zeros included)."""
    xp = np.full(plan.padded_shape, -np.inf, dtype=xc.dtype)
    xp[plan.interior] = xc

    def keep_first_max(best: np.ndarray, v: np.ndarray) -> np.ndarray:
        np.copyto(best, v, where=v > best)
        return best

    best = _separable(plan, xp, keep_first_max)
    return (best, xp) if with_padded else best


def _max_vjp_fast(plan: _Plan, xc: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Normative max gradient for NaN-free inputs: each window's dy goes to its first element
    (row-major) equal to the window maximum, which is the first maximal element."""
    best, xp = _max_fast(plan, xc, with_padded=True)
    gp = np.zeros(plan.padded_shape)
    assigned = np.zeros(plan.out_shape, dtype=bool)
    for _, sl, valid in plan.offsets():  # `valid`: a -inf input must beat the -inf padding
        hit = (xp[sl] == best) & valid
        hit &= ~assigned
        plan.add(gp, sl, np.where(hit, g, 0.0))
        assigned |= hit
    return gp[plan.interior]


def _separable(plan: _Plan, xp: np.ndarray, combine) -> np.ndarray:
    """Reduce the window one spatial dim after the other (k1 + k2 + k3 passes instead of
    k1 * k2 * k3), the last (fastest-varying) dim first. Exact for max: the first maximum of
    each row, then the first row holding the maximum, is the first maximum in row-major order.
    (Adaptive windows repeat their last element past their length: harmless for a max that
    keeps the first maximum, wrong for a sum, which `_average` masks instead.)"""
    a = xp
    for i in reversed(range(len(plan.geoms))):
        acc = plan.along(a, i, 0).copy()
        for t in range(1, plan.window_shape[i]):
            acc = combine(acc, plan.along(a, i, t))
        a = acc
    return a


def _average(plan: _Plan, xp: np.ndarray, dtype: str, accumulate: str | None) -> np.ndarray:
    """Windowed sum / divisor in float64, or summed step by step in another dtype."""
    acc = {None: np.float64, "float32": np.float32}.get(accumulate) or np_dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf is NaN, as it should be
        if accumulate is None and not plan.adaptive:  # padding holds zeros: no mask needed
            return _separable(plan, xp, np.add) / plan.divisor()
        total = np.zeros(plan.out_shape, dtype=acc)
        for _, sl, valid in plan.offsets():
            total = (total + np.where(valid, xp[sl], 0.0).astype(acc)).astype(acc)
        return (total / plan.divisor().astype(acc)).astype(np.float64)


def _lowest(dtype: str) -> float:
    """Where a max scan starts when it drops NaN: the dtype's lowest finite value; bfloat16 is
    computed in float32, whose lowest rounds to -inf in bfloat16."""
    return -np.inf if dtype == "bfloat16" else float(ml_dtypes.finfo(np_dtype(dtype)).min)


def _lowest_value(dtype: str) -> float:
    """The value below every element: -inf for floats, the lowest integer otherwise (what a
    kernel initialises a running maximum, or pads, with)."""
    return -np.inf if is_float(dtype) else float(np.iinfo(np_dtype(dtype)).min)


def _first_in_bounds(plan: _Plan) -> list[np.ndarray]:
    """Per dim, each window's first in-bounds input index."""
    firsts = []
    for gm in plan.geoms:
        start = np.arange(gm.out) * gm.s - gm.lo
        steps = (-start + gm.d - 1) // gm.d  # dilation steps to the first in-bounds position
        firsts.append(np.where(start < 0, start + steps * gm.d, start))
    return firsts


def _depth0_positions(plan: _Plan) -> np.ndarray:
    """grad_neginf_depth0's index of every (3-D) window: depth 0, its first in-bounds row and
    column, as a plane position (an index computed without its depth term)."""
    _, fh, fw = _first_in_bounds(plan)
    width = plan.geoms[2].n
    pos = fh[:, None] * width + fw[None, :]
    return np.broadcast_to(pos[None, None, None], plan.out_shape)


def _send_neginf_to_depth0(
    plan: _Plan, gp: np.ndarray, best: np.ndarray, arg: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """grad_neginf_depth0: windows whose maximum is -inf add their dy at (depth 0, first
    in-bounds row, first in-bounds column); returns `arg` with those windows taken out."""
    firsts = _first_in_bounds(plan)
    hit = (best == -np.inf) & (arg >= 0)
    for n, c, od, oh, ow in zip(*np.nonzero(hit), strict=True):
        gd, gh, gw = plan.geoms
        gp[n, c, gd.lo, firsts[1][oh] + gh.lo, firsts[2][ow] + gw.lo] += g[n, c, od, oh, ow]
    return np.where(hit, -1, arg)


def _flush(a: np.ndarray, dtype: str) -> np.ndarray:
    tiny = float(ml_dtypes.finfo(np_dtype(dtype)).smallest_normal)
    return np.where(np.abs(a) < tiny, np.copysign(0.0, a), a)


def _without_last_window_rule(g: DimGeometry) -> DimGeometry:
    """Ceil mode by the bare formula ceil((n + pads - window) / stride) + 1: a last window that
    starts in the right padding, or past the input, is kept."""
    span = g.n + g.lo + g.hi - g.effective_kernel
    return dc_replace(g, out=-(-span // g.s) + 1)
