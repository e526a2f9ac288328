"""A case: a spec applied to one input (shape, dtype, input family, seed).

Inputs are generated from a seed mixed with the case id through a stable hash, so the same case
gives the same bytes on every machine and in every process, whatever order cases run in.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

import ml_dtypes
import numpy as np

from conformance import checkdefs
from conformance.dtypes import INT_DTYPES, SHORT, is_float, np_dtype
from conformance.errors import InvalidSpec
from conformance.spec import PoolSpec

FAMILIES = {
    "distinct": "distinct values in random order (no ties inside any window)",
    "ties": "values from {0, 1, 2}: plateaus and exact ties in most windows",
    "negative": "distinct, all strictly negative (catches zero padding in max)",
    "nan": "distinct values with NaN at chosen window positions: first element of the first "
    "window, last of the last, first and last of a middle one",
    "inf": "distinct values with +inf and -inf at a few positions",
    "signed_zero": "-0.0, +0.0, -1 and -2: windows whose maximum is a tie of signed zeros",
    "near_overflow": "values between 1/4 and 1/2 of the dtype's largest (sums overflow in the "
    "storage dtype); integers within 64 of their limits",
    "near_underflow": "subnormal and barely normal values of both signs",
    "arange": "0, 1, 2, ... in row-major order (the seeds' worked examples)",
    "given": "values written out by hand in the case",
}
MAX_ELEMENTS = 2**28  # a guard against typos in hand-written case files (1 GiB of float32)
MAX_WINDOW = 2**16  # window positions: the reference loops over them (global 256x256 fits)
CHECKS = checkdefs.NAMES  # what each is: conformance/checkdefs.py
SELECTING_CHECKS = checkdefs.SELECTING  # max ops only: they ask which element was picked


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
        if not isinstance(self.dtype, str):
            raise InvalidSpec("dtype", self.dtype, "a dtype name, e.g. 'float32'")
        np_dtype(self.dtype)  # validates the name
        if not isinstance(self.family, str) or self.family not in FAMILIES:
            raise InvalidSpec("family", self.family, f"one of {tuple(FAMILIES)}")
        if not is_float(self.dtype):
            if self.spec.kind.averages:
                raise InvalidSpec("dtype", self.dtype, f"a float dtype for op={self.spec.op!r}")
            if self.family in ("nan", "inf", "signed_zero", "near_underflow") or (
                self.family == "negative" and self.dtype == "uint8"
            ):
                raise InvalidSpec("family", self.family, f"a family representable in {self.dtype}")
        if (self.family == "given") != (self.values is not None):
            raise InvalidSpec("values", "...", "values exactly when family='given'")
        if int(np.prod(self.input_shape, dtype=np.float64)) > MAX_ELEMENTS:
            raise InvalidSpec("input_shape", self.input_shape, f"at most {MAX_ELEMENTS} elements")
        geoms = self.spec.geometry(self.input_shape)  # InvalidSpec for impossible geometry
        _check_cost(self.spec, self.input_shape, geoms)
        if self.checks is None:
            checks = checkdefs.defaults(is_float(self.dtype))
            object.__setattr__(self, "checks", checks)
        for c in self.checks:
            if c not in CHECKS:
                raise InvalidSpec("checks", c, f"one of {CHECKS}")
            if c in SELECTING_CHECKS and not self.spec.kind.selects:
                raise InvalidSpec(
                    "checks",
                    c,
                    f"checks without {SELECTING_CHECKS} for op={self.spec.op!r} (max pooling only)",
                )

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
        if self.family == "signed_zero":
            return rng.choice([-0.0, 0.0, -1.0, -2.0], size).astype(dt).reshape(self.input_shape)
        if self.family in ("near_overflow", "near_underflow"):
            return _extreme(rng, size, self.dtype, self.family).reshape(self.input_shape)
        x = _distinct(rng, size, self.dtype, negative=self.family == "negative")
        if self.family == "inf":
            x = x.astype(np.float64)
            where = rng.choice(size, size=min(size, max(2, size // 16)), replace=False)
            x[where] = np.where(np.arange(where.size) % 2 == 0, np.inf, -np.inf)
            x = x.astype(dt)
        x = x.reshape(self.input_shape)
        if self.family == "nan":
            x = x.astype(np.float64)
            for index in _chosen_window_positions(self.spec, self.input_shape):
                x[index] = np.nan
            x = x.astype(dt)
        return x

    def make_upstream(self) -> np.ndarray:
        """A random upstream gradient for the vjp, in the output shape and dtype."""
        if self.upstream is not None:
            return np.asarray(self.upstream).astype(np_dtype(self.dtype)).reshape(self.output_shape)
        rng = self.rng("upstream")
        gy = rng.standard_normal(self.output_shape)
        return gy.astype(np_dtype(self.dtype))


def _check_cost(spec, input_shape, geoms) -> None:
    """Bound what a case may cost the reference, so that no case file can hang a run: the
    window (the reference loops over its positions) and the padded input it allocates."""
    if spec.kind.adaptive:  # no padding; the largest window bounds the reference's loop
        window = int(np.prod([g.max_window for g in geoms], dtype=np.float64))
        if window > MAX_WINDOW:
            raise InvalidSpec(
                "output_size",
                spec.output_size,
                f"windows of at most {MAX_WINDOW} "
                f"positions (the reference's cost bound); this one has {window}",
            )
        return
    window = int(np.prod([g.k for g in geoms], dtype=np.float64))
    if window > MAX_WINDOW:
        raise InvalidSpec(
            "kernel",
            spec.kernel,
            f"at most {MAX_WINDOW} window positions in all "
            f"(the reference's cost bound); this one has {window}",
        )
    lead = int(np.prod(input_shape, dtype=np.float64)) // max(1, int(np.prod([g.n for g in geoms])))
    padded = lead * int(
        np.prod(
            [g.lo + max(g.n + g.hi, (g.out - 1) * g.s + g.effective_kernel - g.lo) for g in geoms],
            dtype=np.float64,
        )
    )
    if padded > MAX_ELEMENTS:
        raise InvalidSpec(
            "padding",
            spec.padding,
            f"a padded input of at most {MAX_ELEMENTS} "
            f"elements (the reference's memory bound); this one has {padded}",
        )


def _extreme(rng: np.random.Generator, size: int, dtype: str, family: str) -> np.ndarray:
    dt = np_dtype(dtype)
    if dtype in INT_DTYPES:
        info = np.iinfo(dt)
        hi = rng.integers(int(info.max) - 63, int(info.max) + 1, size)
        lo = rng.integers(int(info.min), int(info.min) + 64, size)
        return np.where(rng.random(size) < 0.5, hi, lo).astype(dt)

    info = ml_dtypes.finfo(dt)
    if family == "near_overflow":
        values = float(info.max) * rng.uniform(0.25, 0.5, size)
    else:
        values = float(info.smallest_normal) * np.exp2(rng.uniform(-6, 2, size))
        values *= rng.choice([-1.0, 1.0], size)
    return values.astype(dt)


def _chosen_window_positions(spec: PoolSpec, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Input indices for the nan family: the first in-bounds element of the first window, the
    last of the last window, and the first and last of a middle window, in every plane."""
    geoms = spec.geometry(shape)
    axes = spec.spatial_axes()

    def members(j: tuple[int, ...]) -> list[tuple[int, ...]]:
        per_dim = [g.members(jj) for jj, g in zip(j, geoms, strict=True)]
        return [tuple(p) for p in itertools.product(*per_dim)]

    first = members(tuple(0 for _ in geoms))
    last = members(tuple(g.out - 1 for g in geoms))
    middle = members(tuple(g.out // 2 for g in geoms))
    spots = {first[0], last[-1], middle[0], middle[-1]}
    lead = [i for i in range(len(shape)) if i not in axes]
    out = []
    for plane in itertools.product(*(range(shape[i]) for i in lead)):
        for spot in spots:
            index = [0] * len(shape)
            for i, v in zip(lead, plane, strict=True):
                index[i] = v
            for i, v in zip(axes, spot, strict=True):
                index[i] = v
            out.append(tuple(index))
    return out


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
