"""Dtype names used in cases and results, and their NumPy types (bfloat16 via ml_dtypes)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from conformance.errors import InvalidSpec

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
INT_DTYPES = ("int8", "uint8", "int32", "int64")
DTYPES = FLOAT_DTYPES + INT_DTYPES

SHORT = {
    "float16": "f16",
    "bfloat16": "bf16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "uint8": "u8",
    "int32": "i32",
    "int64": "i64",
}


def np_dtype(name: str) -> np.dtype:
    if name not in DTYPES:
        raise InvalidSpec("dtype", name, f"one of {DTYPES}")
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def name_of(dtype: np.dtype) -> str:
    dtype = np.dtype(dtype)
    return "bfloat16" if dtype == np.dtype(ml_dtypes.bfloat16) else dtype.name


def is_float(name: str) -> bool:
    return name in FLOAT_DTYPES


def ulp(values: np.ndarray, name: str) -> np.ndarray:
    """Spacing of the dtype `name` at each |value| (float64 array); subnormal spacing at 0."""
    info = ml_dtypes.finfo(np_dtype(name))
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = np.where(np.isfinite(v), v, float(info.max))
    tiny = float(info.smallest_normal)
    exponent = np.floor(np.log2(np.maximum(v, tiny)))
    return np.exp2(exponent - info.nmant)


def round_from_float64(x: np.ndarray, name: str) -> np.ndarray:
    """Round float64 values to dtype `name` once (round-to-nearest-even).

    ml_dtypes converts float64 to bfloat16 through float32, which rounds twice; going through
    float32 with round-to-odd first makes the second rounding exact (24 >= 2*8 + 2 bits).
    """
    dt = np_dtype(name)
    x = np.asarray(x, dtype=np.float64)
    if name != "bfloat16":
        with np.errstate(over="ignore"):  # rounding past the largest value gives inf, correctly
            return x.astype(dt)
    with np.errstate(over="ignore", invalid="ignore"):
        f = x.astype(np.float32)
        inexact = np.isfinite(f) & (f.astype(np.float64) != x)
        toward_zero = np.where(np.abs(f.astype(np.float64)) > np.abs(x), np.nextafter(f, np.float32(0)), f)
    bits = toward_zero.view(np.uint32) | np.uint32(1)
    f = np.where(inexact, bits.view(np.float32), f)
    return f.astype(dt)
