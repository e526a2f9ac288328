"""Hypothesis strategies for specs and cases (shared by the cross-check and fuzz tests)."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from conformance import Case, InvalidSpec, PoolSpec
from conformance.dtypes import FLOAT_DTYPES, INT_DTYPES


@st.composite
def specs(draw, max_kernel: int = 3) -> PoolSpec:
    nd = draw(st.integers(1, 3))
    per_dim = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * nd)  # noqa: E731
    op = draw(st.sampled_from(["max", "avg", "adaptive_max", "adaptive_avg"]))
    if op.startswith("adaptive"):  # DESIGN.md §3: windows from the output size alone
        return PoolSpec(
            op=op,
            output_size=draw(per_dim(1, 6)),
            layout=draw(st.sampled_from(["channels_first", "channels_last"])),
        )
    padding = draw(
        st.one_of(
            st.integers(0, 2),
            per_dim(0, 2),
            st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * nd),
            st.sampled_from(["valid", "same", "same_lower"]),
        )
    )
    try:
        return PoolSpec(
            op=op,
            kernel=draw(per_dim(1, max_kernel)),
            stride=draw(st.one_of(st.none(), per_dim(1, 3))),
            padding=padding,
            dilation=draw(per_dim(1, 2)),
            ceil_mode=draw(st.booleans()),
            count_include_pad=draw(st.booleans()),
            divisor_override=draw(st.one_of(st.none(), st.integers(1, 5))) if op == "avg" else None,
            layout=draw(st.sampled_from(["channels_first", "channels_last"])),
        )
    except InvalidSpec:
        assume(False)


@st.composite
def cases(draw, max_spatial: int = 7) -> Case:
    spec = draw(specs())
    dtypes = list(FLOAT_DTYPES) + (list(INT_DTYPES) if spec.kind.selects else [])
    dtype = draw(st.sampled_from(dtypes))
    families = ["distinct", "ties", "negative", "near_overflow"] + (
        ["nan", "inf", "signed_zero", "near_underflow"] if dtype in FLOAT_DTYPES else []
    )
    if dtype == "uint8":
        families.remove("negative")
    spatial = tuple(draw(st.integers(1, max_spatial)) for _ in range(spec.ndim))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    shape = (n, c, *spatial) if spec.layout == "channels_first" else (n, *spatial, c)
    try:
        return Case(
            spec, shape, dtype=dtype, family=draw(st.sampled_from(families)), seed=draw(st.integers(0, 2**16))
        )
    except InvalidSpec:
        assume(False)


@st.composite
def overhang_cases(draw) -> Case:
    """Ceil-mode cases whose effective kernel is larger than the padded input in dim 0 by less
    than the stride (DESIGN.md §3: one window that starts inside the input), every dtype."""
    nd = draw(st.integers(1, 3))
    k = [draw(st.integers(2, 4)) for _ in range(nd)]
    d = [draw(st.integers(1, 2)) for _ in range(nd)]
    s = [draw(st.integers(2, 4)) for _ in range(nd)]
    pads = [(draw(st.integers(0, 1)), draw(st.integers(0, 1))) for _ in range(nd)]
    e0 = d[0] * (k[0] - 1) + 1
    short = draw(st.integers(1, s[0] - 1))  # how far the kernel overhangs the padded input
    n0 = e0 - sum(pads[0]) - short
    assume(n0 >= 1)
    spatial = (n0, *(draw(st.integers(1, 6)) for _ in range(nd - 1)))
    op = draw(st.sampled_from(["max", "avg"]))
    layout = draw(st.sampled_from(["channels_first", "channels_last"]))
    dtype = draw(st.sampled_from(list(FLOAT_DTYPES) + (list(INT_DTYPES) if op == "max" else [])))
    shape = (1, 2, *spatial) if layout == "channels_first" else (1, *spatial, 2)
    try:
        spec = PoolSpec(
            op=op,
            kernel=tuple(k),
            stride=tuple(s),
            padding=tuple(pads),
            dilation=tuple(d),
            ceil_mode=True,
            layout=layout,
            count_include_pad=draw(st.booleans()) if op == "avg" else True,
        )
        return Case(
            spec,
            shape,
            dtype=dtype,
            family=draw(st.sampled_from(["distinct", "ties"])),
            seed=draw(st.integers(0, 2**16)),
        )
    except InvalidSpec:  # e.g. a window of padding only in another dim
        assume(False)
