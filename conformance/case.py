"""A case: a spec applied to one input (shape, dtype, input family, seed).

Inputs are generated from a seed mixed with the case id through a stable hash, so the same case
gives the same bytes on every machine and in every process, whatever order cases run in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from conformance.dtypes import INT_DTYPES, SHORT, is_float, np_dtype
from conformance.errors import InvalidSpec
from conformance.spec import PoolSpec

FAMILIES = {
    "distinct": "distinct values in random order (no ties inside any window)",
    "ties": "values from {0, 1, 2}: plateaus and exact ties in most windows",
    "negative": "distinct, all strictly negative (catches zero padding in max)",
    "nan": "distinct values with NaN at a few positions",
    "inf": "distinct values with +inf and -inf at a few positions",
    "arange": "0, 1, 2, ... in row-major order (the seeds' worked examples)",
    "given": "values written out by hand in the case",
}
CHECKS = ("forward", "grad", "default_stride")


def _stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True)
class Case:
    spec: PoolSpec
    input_shape: tuple[int, ...]
    dtype: str = "float32"
    family: str = "distinct"
    seed: int = 0
    suite: str = ""
    name: str | None = None  # replaces the generated id (seed examples)
    values: np.ndarray | None = field(default=None, compare=False, repr=False)
    checks: tuple[str, ...] | None = None
    note: str = ""  # shown in results and reports (e.g. where a seed document is wrong)
    # Hand-entered expectations (seed examples); when present they replace the reference.
    expected: np.ndarray | None = field(default=None, compare=False, repr=False)
    expected_shape: tuple[int, ...] | None = None
    upstream: np.ndarray | None = field(default=None, compare=False, repr=False)
    expected_grad: np.ndarray | None = field(default=None, compare=False, repr=False)
    erratum: bool = False  # the seed document's own claim about this case is wrong
    axes: dict | None = field(default=None, compare=False, repr=False)  # generator row, if any

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        np_dtype(self.dtype)  # validates the name
        if self.family not in FAMILIES:
            raise InvalidSpec("family", self.family, f"one of {tuple(FAMILIES)}")
        if not is_float(self.dtype):
            if self.spec.op == "avg":
                raise InvalidSpec("dtype", self.dtype, "a float dtype for op='avg'")
            if self.family in ("nan", "inf") or (self.family == "negative" and self.dtype == "uint8"):
                raise InvalidSpec("family", self.family, f"a family representable in {self.dtype}")
        if (self.family == "given") != (self.values is not None):
            raise InvalidSpec("values", "...", "values exactly when family='given'")
        self.spec.geometry(self.input_shape)  # raises InvalidSpec for impossible geometry
        if self.checks is None:
            checks = ("forward", "grad") if is_float(self.dtype) else ("forward",)
            object.__setattr__(self, "checks", checks)
        for c in self.checks:
            if c not in CHECKS:
                raise InvalidSpec("checks", c, f"one of {CHECKS}")

    @property
    def id(self) -> str:
        if self.name:
            return self.name
        parts = [self.spec.id, SHORT[self.dtype], "x".join(map(str, self.input_shape))]
        if self.family != "distinct":
            parts.append(self.family)
        return "-".join(parts)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.spec.output_shape(self.input_shape)

    def rng(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng(_stable_seed(self.seed, self.id, purpose))

    def make_input(self) -> np.ndarray:
        dt = np_dtype(self.dtype)
        if self.family == "given":
            return np.asarray(self.values).astype(dt).reshape(self.input_shape)
        size = int(np.prod(self.input_shape))
        if self.family == "arange":
            return np.arange(size).astype(dt).reshape(self.input_shape)
        rng = self.rng("input")
        if self.family == "ties":
            return rng.integers(0, 3, size).astype(dt).reshape(self.input_shape)
        x = _distinct(rng, size, self.dtype, negative=self.family == "negative")
        if self.family in ("nan", "inf"):
            x = x.astype(np.float64)
            where = rng.choice(size, size=max(1, size // 16), replace=False)
            if self.family == "nan":
                x[where] = np.nan
            else:
                x[where] = np.where(np.arange(where.size) % 2 == 0, np.inf, -np.inf)
            x = x.astype(dt)
        return x.reshape(self.input_shape)

    def make_upstream(self) -> np.ndarray:
        """A random upstream gradient for the vjp, in the output shape and dtype."""
        if self.upstream is not None:
            return np.asarray(self.upstream).astype(np_dtype(self.dtype)).reshape(self.output_shape)
        rng = self.rng("upstream")
        gy = rng.standard_normal(self.output_shape)
        return gy.astype(np_dtype(self.dtype))


def _distinct(rng: np.random.Generator, size: int, dtype: str, negative: bool = False) -> np.ndarray:
    """`size` values, pairwise distinct as far as the dtype has that many representable values
    (an int8 input of more than 256 elements must repeat some)."""
    dt = np_dtype(dtype)
    if dtype in INT_DTYPES:
        info = np.iinfo(dt)
        lo, hi = max(int(info.min), -(2**20)), min(int(info.max), 2**20)
        pool = np.arange(lo, 0) if negative else np.arange(lo, hi + 1)
        if pool.size >= size:
            return rng.choice(pool, size, replace=False).astype(dt)
        return rng.permutation(np.resize(pool, size)).astype(dt)
    # Sign times 2**u over 8 binades: thousands of distinct values even in bfloat16.
    signs = [-1.0] if negative else [-1.0, 1.0]
    cand = rng.choice(signs, 4 * size + 64) * np.exp2(rng.uniform(-4, 4, 4 * size + 64))
    cand = np.unique(cand.astype(dt).astype(np.float64))
    if cand.size >= size:
        return rng.permutation(cand)[:size].astype(dt)
    return rng.permutation(np.resize(cand, size)).astype(dt)
