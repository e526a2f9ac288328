"""Cases: input families produce what they promise, and inputs are deterministic."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from conformance import Case, InvalidSpec, PoolSpec
from conformance.dtypes import DTYPES, FLOAT_DTYPES

SPEC = PoolSpec(op="max", kernel=3, stride=2, padding=1)
SHAPE = (2, 3, 9, 8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_distinct_family_has_no_repeated_values(dtype):
    shape = (1, 2, 8, 7)  # 112 elements: distinct even in int8 and bfloat16
    x = Case(SPEC, shape, dtype=dtype, family="distinct").make_input()
    assert x.dtype.name == dtype or dtype == "bfloat16"
    assert len(np.unique(x.astype(np.float64))) == x.size


def test_ties_family_has_ties():
    x = Case(SPEC, SHAPE, family="ties").make_input()
    assert set(np.unique(x)) <= {0.0, 1.0, 2.0} and len(np.unique(x)) == 3


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "uint8"])
def test_negative_family_is_all_negative(dtype):
    x = Case(SPEC, SHAPE, dtype=dtype, family="negative").make_input()
    assert (x.astype(np.float64) < 0).all()
    small = Case(SPEC, (1, 1, 8, 8), dtype=dtype, family="negative").make_input()
    assert len(np.unique(small.astype(np.float64))) == small.size


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_and_inf_families(dtype):
    x = Case(SPEC, SHAPE, dtype=dtype, family="nan").make_input().astype(np.float64)
    assert np.isnan(x).any() and np.isfinite(x).any()
    y = Case(SPEC, SHAPE, dtype=dtype, family="inf").make_input().astype(np.float64)
    assert (y == np.inf).any() and (y == -np.inf).any() and not np.isnan(y).any()


def test_same_seed_same_bytes_in_another_process():
    case = Case(SPEC, SHAPE, dtype="bfloat16", family="nan", seed=7)
    digest = hashlib.sha256(case.make_input().tobytes()).hexdigest()
    code = (
        "import hashlib; from conformance import Case, PoolSpec; "
        "c = Case(PoolSpec(op='max', kernel=3, stride=2, padding=1), (2, 3, 9, 8), "
        "dtype='bfloat16', family='nan', seed=7); "
        "print(hashlib.sha256(c.make_input().tobytes()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == digest
    other = Case(SPEC, SHAPE, dtype="bfloat16", family="nan", seed=8).make_input()
    assert hashlib.sha256(other.tobytes()).hexdigest() != digest


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dtype": "int8", "spec": PoolSpec(op="avg", kernel=2)}, "dtype"),
        ({"dtype": "int32", "family": "nan"}, "family"),
        ({"dtype": "uint8", "family": "negative"}, "family"),
        ({"dtype": "float8"}, "dtype"),
        ({"family": "zeros"}, "family"),
        ({"checks": ("forward", "speed")}, "checks"),
    ],
)
def test_invalid_cases_name_the_field(kwargs, field):
    args = {"spec": SPEC, "input_shape": SHAPE, **kwargs}
    with pytest.raises(InvalidSpec) as info:
        Case(**args)
    assert info.value.field == field


def test_case_id_is_readable():
    case = Case(
        PoolSpec(op="max", kernel=(3, 3), stride=(2, 2), padding=((1, 1), (1, 1)), ceil_mode=True),
        (1, 3, 7, 7),
    )
    assert case.id == "max-2d-k3x3-s2x2-p1,1-ceil-cf-f32-1x3x7x7"
