"""PoolSpec: normalisation, validation messages and the geometry rules of DESIGN.md §3."""

from __future__ import annotations

import pytest

from conformance import InvalidSpec, PoolSpec
from conformance.spec import resolve_dim


def test_scalar_shorthands_are_normalised():
    s = PoolSpec(op="max", kernel=3, padding=1)
    assert s.kernel == (3, 3) and s.stride == (3, 3) and s.dilation == (1, 1)
    assert s.padding == ((1, 1), (1, 1)) and s.ndim == 2


def test_rank_comes_from_any_per_dim_field():
    assert PoolSpec(kernel=3, stride=(1, 2, 1)).kernel == (3, 3, 3)
    assert PoolSpec(kernel=2, ndim=1).kernel == (2,)
    assert PoolSpec(kernel=2, padding=((0, 1),)).padding == ((0, 1),)


def test_padding_forms():
    assert PoolSpec(kernel=(3, 3), padding=(1, 2)).padding == ((1, 1), (2, 2))
    assert PoolSpec(kernel=(3, 3), padding=((0, 1), (2, 0))).padding == ((0, 1), (2, 0))
    assert PoolSpec(kernel=3, padding="SAME").padding == "same"
    assert PoolSpec(kernel=3, padding="same_lower").padding == "same_lower"


def test_max_normalises_irrelevant_count_include_pad():
    assert PoolSpec(op="max", kernel=2, count_include_pad=False).count_include_pad is True


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"op": "min"}, "op", "'max', 'avg'"),
        ({"kernel": 0}, "kernel", ">= 1"),
        ({"kernel": (2, -1)}, "kernel", ">= 1"),
        ({"kernel": 2.5}, "kernel", "int"),
        ({"kernel": (2, 2), "stride": (1, 1, 1)}, "kernel", "one length"),
        ({"stride": 0}, "stride", ">= 1"),
        ({"dilation": 0}, "dilation", ">= 1"),
        ({"padding": -1}, "padding", ">= 0"),
        ({"padding": "full"}, "padding", "same_lower"),
        ({"padding": ((1, 2, 3), (0, 0))}, "padding", "pairs"),
        ({"ceil_mode": 1}, "ceil_mode", "True or False"),
        ({"count_include_pad": "yes"}, "count_include_pad", "True or False"),
        ({"op": "max", "divisor_override": 2}, "divisor_override", "op='max'"),
        ({"op": "avg", "divisor_override": 0}, "divisor_override", ">= 1"),
        ({"layout": "NHWC"}, "layout", "channels_last"),
        ({"kernel": (1, 1, 1, 1)}, "kernel", "1, 2 or 3"),
        ({"kernel": True}, "kernel", "int"),
    ],
)
def test_invalid_fields_name_field_value_and_allowed(kwargs, field, allowed):
    with pytest.raises(InvalidSpec) as info:
        PoolSpec(**kwargs)
    assert info.value.field == field
    assert field in str(info.value) and allowed in str(info.value)


# (n, k, s, d, padding, ceil) -> (lo, hi, out), worked by hand from DESIGN.md §3
GEOMETRY = [
    ((7, 2, 2, 1, (0, 0), False), (0, 0, 3)),
    ((7, 2, 2, 1, (0, 0), True), (0, 0, 4)),  # the seed's "7x7 -> 4x4" needs ceil mode
    ((5, 2, 2, 1, (1, 1), True), (1, 1, 3)),  # ceil gives 4, window 3 starts at 6 >= 5+1: dropped
    ((6, 3, 2, 1, (1, 1), True), (1, 1, 4)),  # ceil gives 4, window 3 starts at 6 < 6+1: kept
    ((4, 3, 2, 1, "same", False), (0, 1, 2)),  # total 1 -> (0, 1)
    ((4, 3, 2, 1, "same_lower", False), (1, 0, 2)),
    ((5, 3, 1, 2, "same", False), (2, 2, 5)),  # dilated: effective kernel 5
    ((5, 1, 3, 1, "same", False), (0, 0, 2)),  # total clipped at 0
    ((8, 3, 2, 1, "valid", False), (0, 0, 3)),
    ((4, 4, 4, 1, (0, 0), False), (0, 0, 1)),  # global pooling
]


@pytest.mark.parametrize(("args", "expected"), GEOMETRY)
def test_geometry_by_hand(args, expected):
    g = resolve_dim(*args)
    assert (g.lo, g.hi, g.out) == expected


def test_ceil_mode_last_window_rule():
    # n=6, k=3, s=2, pads (1,1): ceil((6+2-3)/2)+1 = 4; window 3 starts at 3*2=6 < 6+1: kept.
    assert resolve_dim(6, 3, 2, 1, (1, 1), True).out == 4
    # n=5, k=2, s=2, pads (1,1): ceil(5/2)+1 = 4; window 3 starts at 6 >= 5+1: dropped.
    assert resolve_dim(5, 2, 2, 1, (1, 1), True).out == 3


def test_output_shape_follows_layout():
    cf = PoolSpec(kernel=(3, 2), stride=2)
    cl = PoolSpec(kernel=(3, 2), stride=2, layout="channels_last")
    assert cf.output_shape((2, 5, 9, 7)) == (2, 5, 4, 3)
    assert cl.output_shape((2, 9, 7, 5)) == (2, 4, 3, 5)


def test_geometry_rejects_impossible_inputs():
    with pytest.raises(InvalidSpec) as info:
        PoolSpec(kernel=5).output_shape((1, 1, 3, 3))
    assert info.value.field == "kernel"
    with pytest.raises(InvalidSpec) as info:
        PoolSpec(kernel=2, padding=3).output_shape((1, 1, 4, 4))
    assert info.value.field == "padding"
    with pytest.raises(InvalidSpec) as info:
        PoolSpec(kernel=2).output_shape((1, 4, 4))
    assert info.value.field == "input_shape"


def test_case_id_is_readable_and_distinguishes_fields():
    s = PoolSpec(op="max", kernel=(3, 3), stride=(2, 2), padding=((1, 1), (1, 1)), ceil_mode=True)
    assert s.id == "max-2d-k3x3-s2x2-p1,1-ceil-cf"
    a = PoolSpec(
        op="avg",
        kernel=2,
        padding=((0, 1), (1, 1)),
        count_include_pad=False,
        divisor_override=3,
        dilation=2,
        layout="channels_last",
    )
    assert a.id == "avg-2d-k2x2-s2x2-p0_1,1-d2x2-xpad-div3-cl"
    assert PoolSpec(kernel=3, padding="same_lower").id.endswith("psamelower-cf")


def test_json_round_trip():
    s = PoolSpec(
        op="avg",
        kernel=(3, 2),
        stride=(1, 2),
        padding=((0, 1), (1, 0)),
        dilation=(1, 2),
        ceil_mode=True,
        count_include_pad=False,
    )
    assert PoolSpec.from_json(s.to_json()) == s


def test_the_op_decides_through_its_kind_not_its_name():
    from conformance import ops

    assert PoolSpec("max", 2).kind is ops.MAX and ops.MAX.selects and not ops.MAX.averages
    assert PoolSpec("avg", 2).kind is ops.AVG and ops.AVG.averages and not ops.AVG.selects
    with pytest.raises(InvalidSpec, match="divisor_override"):
        PoolSpec("max", 2, divisor_override=3)  # a divisor only where the op averages
    with pytest.raises(InvalidSpec, match=r"op.*\('max', 'avg', 'adaptive_max', 'adaptive_avg'\)"):
        PoolSpec("median", 2)


@pytest.mark.parametrize(
    "field,value",
    [
        ("kernel", 2),
        ("stride", 1),
        ("padding", 1),
        ("padding", "same"),
        ("dilation", 2),
        ("ceil_mode", True),
        ("divisor_override", 4),
    ],
)
def test_adaptive_rejects_kernel_fields(field, value):
    """Adaptive pooling is defined by output_size alone (DESIGN.md §2): every kernel-based
    field is an InvalidSpec naming that field."""
    with pytest.raises(InvalidSpec) as err:
        PoolSpec(op="adaptive_avg", output_size=(2, 2), **{field: value})
    assert err.value.field == field and "output_size" in str(err.value)


def test_adaptive_needs_output_size_and_others_refuse_it():
    with pytest.raises(InvalidSpec) as err:
        PoolSpec(op="adaptive_max")
    assert err.value.field == "output_size"
    with pytest.raises(InvalidSpec) as err:
        PoolSpec(op="adaptive_max", output_size=(2, 0))
    assert err.value.field == "output_size"
    with pytest.raises(InvalidSpec) as err:
        PoolSpec(op="max", kernel=2, output_size=1)
    assert err.value.field == "output_size" and "adaptive" in str(err.value)


def test_adaptive_normalises_and_round_trips():
    spec = PoolSpec(
        op="adaptive_max",
        output_size=[3, 1, 2],
        layout="channels_last",
        count_include_pad=False,
        padding=0,
        dilation=1,
    )
    assert spec.ndim == 3 and spec.output_size == (3, 1, 2) and spec.kernel is None
    assert spec.count_include_pad and spec.id == "adaptive_max-3d-o3x1x2-cl"
    assert PoolSpec.from_json(spec.to_json()) == spec
    assert spec.output_shape((2, 7, 4, 5, 3)) == (2, 3, 1, 2, 3)
    assert not spec.is_global and PoolSpec(op="adaptive_avg", output_size=(1, 1)).is_global
    # a non-adaptive spec's JSON has no output_size key (older records stay identical)
    assert "output_size" not in PoolSpec(op="max", kernel=2).to_json()
