"""Declarative axes of the case space, the rules that exclude invalid combinations, and the
mapping of one assignment of axis values to a concrete `Case`.

Axis values are abstract classes ("stride smaller than the kernel", "input not divisible by
the stride"), and `build_case` turns them into numbers that make the class true, so a
covering array over classes covers the geometric situations that matter.
"""

from __future__ import annotations

from typing import Any

from conformance import ops
from conformance.case import Case
from conformance.dtypes import DTYPES, INT_DTYPES
from conformance.spec import PoolSpec

AXES: dict[str, list[Any]] = {
    "op": list(ops.NAMES),  # max, avg, adaptive_max, adaptive_avg
    # adaptive ops only (None for the others): output sizes that divide the input, that do not
    # (PyTorch's overlapping windows), 1 (global pooling), equal to it, larger than it
    "output_size": [None, "divides", "overlaps", "one", "input", "larger"],
    "ndim": [1, 2, 3],
    "kernel": ["one", "two", "three", "rect"],
    "stride": ["default", "one", "lt", "eq", "gt"],
    "padding": ["zero", "symmetric", "asymmetric", "same", "same_lower", "valid"],
    "dilation": [1, 2],
    "ceil_mode": [False, True],
    "count_include_pad": [True, False],
    "divisor_override": [None, "set"],
    "layout": ["channels_first", "channels_last"],
    "dtype": list(DTYPES),
    "family": [
        "distinct",
        "ties",
        "negative",
        "nan",
        "inf",
        "signed_zero",
        "near_overflow",
        "near_underflow",
    ],
    "shape": ["divisible", "ragged", "window", "unit", "overhang"],
    "batch": ["single", "many"],
}
# The geometry axes: `full` takes their exhaustive product (the others rotate over it).
GEOMETRY_AXES = (
    "op",
    "output_size",
    "ndim",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "ceil_mode",
    "count_include_pad",
    "divisor_override",
    "shape",
)

RECT = {2: (3, 2), 3: (2, 3, 2)}  # rectangular, so swapped axes cannot pass
FLOAT_ONLY_FAMILIES = ("nan", "inf", "signed_zero", "near_underflow")


def violates(a: dict[str, Any]) -> str | None:
    """The rule a (partial) assignment breaks, or None. Rules look only at keys present."""
    dtype, family = a.get("dtype"), a.get("family")
    op = ops.of(a["op"]) if "op" in a else None
    kernel, stride = a.get("kernel"), a.get("stride")
    if op and op.adaptive:
        broken = _adaptive_rule(a)
        if broken:
            return broken
    elif op and a.get("output_size") is not None:
        return "output_size belongs to the adaptive ops"
    elif "op" not in a and a.get("output_size") is not None:
        broken = _adaptive_rule(a)  # adaptive whatever the op turns out to be
        if broken:
            return broken
    if op and op.averages and dtype in INT_DTYPES:
        return "average pooling is defined for float dtypes only"
    if dtype in INT_DTYPES and family in FLOAT_ONLY_FAMILIES:
        return "integers have no NaN, infinity, signed zero or subnormals"
    if dtype == "uint8" and family == "negative":
        return "uint8 has no negative values"
    if op and not op.averages and a.get("count_include_pad") is False:
        return "count_include_pad applies to average pooling only"
    if op and not op.averages and a.get("divisor_override") == "set":
        return "divisor_override applies to average pooling only"
    if a.get("divisor_override") == "set" and a.get("count_include_pad") is False:
        return "divisor_override makes count_include_pad irrelevant"
    if a.get("shape") == "window" and stride in ("lt", "one"):
        return "a window as large as the input has a single position at any stride"
    if kernel == "one" and a.get("padding") in ("symmetric", "asymmetric"):
        return "padding 1 around a 1-wide kernel leaves windows of padding only"
    if kernel == "one" and stride == "lt":
        return "no stride is smaller than a 1-wide kernel"
    if kernel == "rect" and a.get("ndim") == 1:
        return "a 1-D kernel has no aspect ratio"
    if a.get("shape") == "overhang":
        return _overhang_rule(a)
    return None


# An adaptive case has no kernel: the kernel-based axes stay at one value (the first listed
# in ADAPTIVE_FIXED), so that the covering array spends its rows on the output-size classes.
ADAPTIVE_FIXED = {
    "kernel": "two",
    "stride": "default",
    "padding": "zero",
    "dilation": 1,
    "ceil_mode": False,
    "count_include_pad": True,
    "divisor_override": None,
    "shape": "divisible",
}


def _adaptive_rule(a: dict[str, Any]) -> str | None:
    if "output_size" in a and a["output_size"] is None:
        return "adaptive pooling needs an output size"
    for axis, value in ADAPTIVE_FIXED.items():
        if axis in a and a[axis] != value:
            return f"adaptive pooling has no {axis} (the axis stays at {value!r})"
    return None


def _overhang_rule(a: dict[str, Any]) -> str | None:
    """`overhang`: the widest kernel dim is larger than the padded input there, which
    only ceil mode turns into an output (DESIGN.md §3: one window, starting in the input)."""
    kernel, stride, padding, dilation = a.get("kernel"), a.get("stride"), a.get("padding"), a.get("dilation")
    if a.get("ceil_mode") is False:
        return "a kernel overhanging the input gives an output in ceil mode only (floor mode: error parity)"
    if padding in ("same", "same_lower"):
        return "SAME padding always makes the padded input as large as the kernel"
    if kernel == "one":
        return "a 1-wide kernel cannot overhang an input"
    if stride == "one" or (stride == "lt" and kernel == "two"):
        return "at stride 1 an overhanging kernel has no ceil-mode output"
    if padding == "symmetric" and (kernel == "two" or dilation == 1):
        return "padding 1 on both sides leaves room for an overhang only with a 3-wide dilated kernel"
    if padding == "asymmetric" and kernel == "two" and dilation == 1:
        return "padding (0, 1) around a 2-wide kernel leaves no room for an overhang"
    return None


def _kernel(cls: str, nd: int) -> tuple[int, ...]:
    return RECT[nd] if cls == "rect" else ({"one": 1, "two": 2, "three": 3}[cls],) * nd


def _stride(cls: str, k: int) -> int | None:
    return {"default": None, "one": 1, "lt": max(1, k - 1), "eq": k, "gt": k + 1}[cls]


def _padding(cls: str, nd: int, unit: bool):
    if cls in ("same", "same_lower", "valid"):
        return cls
    if cls == "zero":
        pads = [(0, 0)] * nd
    elif cls == "symmetric":
        pads = [(1, 1)] * nd
    else:
        pads = [(0, 1) if i % 2 == 0 else (1, 0) for i in range(nd)]
    if unit:  # the size-1 dim has a 1-wide kernel: no room for padding there
        pads[0] = (0, 0)
    return tuple(pads) if cls != "symmetric" or unit else 1


def _size(shape_cls: str, k: int, s: int, d: int) -> int:
    e = d * (k - 1) + 1
    if shape_cls == "window":
        return e
    n = s * (-(-(e + 2) // s))  # a multiple of the stride, at least two past the window
    return n if shape_cls in ("divisible", "unit") else n + 1  # ragged (and overhang's others)


# Per output-size class, (output size, input size) per dim: rectangular, so swapped axes fail.
ADAPTIVE_SIZES = {
    "divides": ((2, 3, 2), (6, 6, 4)),
    "overlaps": ((3, 2, 3), (7, 5, 5)),  # 7/3 and 5/2: windows share elements
    "one": ((1, 1, 1), (5, 4, 3)),  # global pooling
    "input": ((4, 3, 5), (4, 3, 5)),
    "larger": ((5, 3, 4), (3, 2, 3)),  # windows repeat elements
}


def _batch_shape(a: dict[str, Any], spatial: list[int]) -> tuple[int, ...]:
    n, c = (1, 1) if a["batch"] == "single" else (2, 3)
    return (n, c, *spatial) if a["layout"] == "channels_first" else (n, *spatial, c)


def _adaptive_case(a: dict[str, Any], suite: str, seed: int) -> Case:
    nd = a["ndim"]
    out, size = (list(v[:nd]) for v in ADAPTIVE_SIZES[a["output_size"]])
    spec = PoolSpec(op=a["op"], output_size=tuple(out), layout=a["layout"])
    return Case(
        spec,
        _batch_shape(a, size),
        dtype=a["dtype"],
        family=a["family"],
        seed=seed,
        suite=suite,
        axes=dict(a),
    )


def build_case(a: dict[str, Any], *, suite: str, seed: int = 0) -> Case:
    """A concrete case for a full assignment; raises InvalidSpec if the rules let one through."""
    if ops.of(a["op"]).adaptive:
        return _adaptive_case(a, suite, seed)
    nd = a["ndim"]
    unit = a["shape"] == "unit"
    kernel = list(_kernel(a["kernel"], nd))
    if unit:
        kernel[0] = 1
    strides = [_stride(a["stride"], k) for k in kernel]
    eff = [k if s is None else s for s, k in zip(strides, kernel, strict=True)]
    if unit and a["stride"] != "default":
        eff[0] = strides[0] = 1
    dilation = a["dilation"]
    spatial = [_size(a["shape"], k, s, dilation) for k, s in zip(kernel, eff, strict=True)]
    if unit:
        spatial[0] = 1
    padding = _padding(a["padding"], nd, unit)
    if a["shape"] == "overhang":  # the widest kernel dim one short of its padded kernel
        i = kernel.index(max(kernel))
        lo, hi = (0, 0) if isinstance(padding, str) else (1, 1) if padding == 1 else padding[i]
        spatial[i] = dilation * (kernel[i] - 1) + 1 - lo - hi - 1
    spec = PoolSpec(
        op=a["op"],
        kernel=tuple(kernel),
        stride=None if a["stride"] == "default" else tuple(eff),
        padding=padding,
        dilation=dilation,
        ceil_mode=a["ceil_mode"],
        count_include_pad=a["count_include_pad"] if ops.of(a["op"]).averages else True,
        divisor_override=(sum(kernel) + 1) if a["divisor_override"] == "set" else None,
        layout=a["layout"],
    )
    shape = _batch_shape(a, spatial)
    checks = None
    if a["stride"] == "default":
        checks = (
            ("forward", "grad", "default_stride")
            if a["dtype"] not in INT_DTYPES
            else ("forward", "default_stride")
        )
    return Case(
        spec, shape, dtype=a["dtype"], family=a["family"], seed=seed, suite=suite, checks=checks, axes=dict(a)
    )
