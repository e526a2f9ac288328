"""The framework-neutral pooling spec and its geometry (DESIGN.md §2-§3).

A `PoolSpec` is normalised at construction: scalar shorthands become per-dim tuples, the
default stride becomes the kernel, and every field is validated, so the rest of the code only
ever sees one canonical form. Geometry that depends on the input size (SAME padding, output
size, ceil mode) is computed by `PoolSpec.geometry`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from conformance import ops
from conformance.errors import InvalidSpec

OPS = ops.NAMES
PADDING_MODES = ("valid", "same", "same_lower")
LAYOUTS = ("channels_first", "channels_last")
# The version of the normative semantics (DESIGN.md §3) the reference computes: exported
# bundles carry it, so golden vectors made under other rules are recognisable.
SEMANTICS_VERSION = "1"
DEFAULT_KERNEL = 2  # PoolSpec() is a 2x2 max pool, as the seeds' examples
DEFAULT_NDIM = 2  # what a scalar kernel means when no other field gives the rank (nn.MaxPool2d(3))

Pads = tuple[tuple[int, int], ...]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _per_dim(field: str, value: Any, nd: int, *, minimum: int) -> tuple[int, ...]:
    """Normalise an int or a per-dim sequence of ints to a tuple of length nd."""
    allowed = f"an int >= {minimum} or a sequence of {nd} such ints"
    given = value
    if _is_int(value):
        value = (value,) * nd
    if not isinstance(value, (tuple, list)) or len(value) != nd:
        raise InvalidSpec(field, given, allowed)
    if not all(_is_int(v) and v >= minimum for v in value):
        raise InvalidSpec(field, given, allowed)
    return tuple(value)


def _rank_hint(value: Any) -> int | None:
    return len(value) if isinstance(value, (tuple, list)) else None


@dataclass(frozen=True)
class DimGeometry:
    """One spatial dimension resolved against an input size."""

    n: int
    k: int
    s: int
    d: int
    lo: int
    hi: int
    out: int

    @property
    def effective_kernel(self) -> int:
        return self.d * (self.k - 1) + 1

    def members(self, j: int) -> list[int]:
        """The input indices of window j that lie inside the input (padding left out)."""
        return [p for p in (j * self.s + t * self.d - self.lo for t in range(self.k)) if 0 <= p < self.n]


@dataclass(frozen=True)
class AdaptiveDim:
    """One spatial dimension of adaptive pooling (DESIGN.md §3): window i of `out` covers
    input indices [floor(i·n/out), ceil((i+1)·n/out)), PyTorch's rule. Windows overlap when
    out does not divide n, and repeat input elements when out > n."""

    n: int
    out: int
    lo: int = 0  # no padding: the same fields as DimGeometry where padding is asked about
    hi: int = 0

    def window(self, i: int) -> tuple[int, int]:
        return (i * self.n) // self.out, -(-((i + 1) * self.n) // self.out)

    def members(self, j: int) -> list[int]:
        return list(range(*self.window(j)))

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(end - start for start, end in map(self.window, range(self.out)))

    @property
    def max_window(self) -> int:
        return max(self.lengths)

    @property
    def overlapping(self) -> bool:
        """Some input element belongs to two windows (out does not divide n)."""
        return self.n % self.out != 0


def resolve_dim(n: int, k: int, s: int, d: int, padding: Any, ceil_mode: bool) -> DimGeometry:
    """Pads and output size for one dim, exactly as DESIGN.md §3 states them."""
    e = d * (k - 1) + 1
    if isinstance(padding, str):
        if padding == "valid":
            lo = hi = 0
        else:
            out_same = -(-n // s)
            total = max((out_same - 1) * s + e - n, 0)
            lo = total // 2 if padding == "same" else -(-total // 2)
            hi = total - lo
    else:
        lo, hi = padding
    span = n + lo + hi - e  # negative when the kernel overhangs the padded input
    if span < 0 and not ceil_mode:
        raise InvalidSpec(
            "kernel",
            k,
            f"an effective kernel ({e}) no larger than the padded input ({n + lo + hi}) in floor mode",
        )
    if ceil_mode:  # §3: the formula decides, even for a kernel larger than the padded input
        if span < 0 and -(-span // s) + 1 < 1:
            raise InvalidSpec(
                "kernel",
                k,
                f"a geometry with a ceil-mode output >= 1: an effective kernel ({e}) "
                f"larger than the padded input ({n + lo + hi}) by less than the stride ({s})",
            )
        out = -(-span // s) + 1
        if (out - 1) * s >= n + lo:
            out -= 1
    else:
        out = span // s + 1
    return DimGeometry(n, k, s, d, lo, hi, out)


@dataclass(frozen=True)
class PoolSpec:
    """One pooling layer, independent of any framework.

    `ndim` only matters when every shape-like field is a scalar (kernel=3): it then fixes the
    number of spatial dims (default 2, as nn.MaxPool2d(3) would).
    """

    op: str = "max"
    kernel: Any = None  # None: 2 per dim (adaptive ops take output_size instead)
    stride: Any = None
    padding: Any = 0
    dilation: Any = 1
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    layout: str = "channels_first"
    ndim: int | None = None
    output_size: Any = None  # adaptive ops only: the output's spatial size, per dim

    def __post_init__(self) -> None:
        set_ = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        if self.op not in OPS:
            raise InvalidSpec("op", self.op, f"one of {OPS}")
        if self.layout not in LAYOUTS:
            raise InvalidSpec("layout", self.layout, f"one of {LAYOUTS}")
        for name in ("ceil_mode", "count_include_pad"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidSpec(name, getattr(self, name), "True or False")
        nd = self._rank()
        set_("ndim", nd)
        if self.kind.adaptive:
            self._normalise_adaptive(nd)
            return
        if self.output_size is not None:
            raise InvalidSpec(
                "output_size",
                self.output_size,
                f"None for op={self.op!r} (adaptive ops only: {tuple(o for o in OPS if ops.of(o).adaptive)})",
            )
        set_(
            "kernel",
            _per_dim("kernel", DEFAULT_KERNEL if self.kernel is None else self.kernel, nd, minimum=1),
        )
        stride = self.kernel if self.stride is None else self.stride
        set_("stride", _per_dim("stride", stride, nd, minimum=1))
        set_("dilation", _per_dim("dilation", self.dilation, nd, minimum=1))
        set_("padding", self._normalise_padding(nd))
        if not self.kind.averages:
            if self.divisor_override is not None:
                raise InvalidSpec("divisor_override", self.divisor_override, f"None for op={self.op!r}")
            # Irrelevant for max; fixed so that one id always means one spec.
            set_("count_include_pad", True)
        elif self.divisor_override is not None and not (
            _is_int(self.divisor_override) and self.divisor_override >= 1
        ):
            raise InvalidSpec("divisor_override", self.divisor_override, "None or an int >= 1")

    def _normalise_adaptive(self, nd: int) -> None:
        """Adaptive pooling takes an output size; every kernel-based field must be left at its
        default (None, 0, 1, False), and is stored as None so that one id means one spec."""
        if self.output_size is None:
            raise InvalidSpec("output_size", None, f"an int >= 1 or {nd} such ints for op={self.op!r}")
        size = _per_dim("output_size", self.output_size, nd, minimum=1)
        left_out = {
            "kernel": (None,),
            "stride": (None,),
            "padding": (None, 0),
            "dilation": (None, 1),
            "ceil_mode": (False,),
            "divisor_override": (None,),
        }
        for name, defaults in left_out.items():
            value = getattr(self, name)
            if not any(value is d or (value == d and type(value) is type(d)) for d in defaults):
                raise InvalidSpec(
                    name,
                    value,
                    f"left out for op={self.op!r} (adaptive pooling is defined by output_size alone)",
                )
        for name, value in (
            ("output_size", size),
            ("kernel", None),
            ("stride", None),
            ("padding", None),
            ("dilation", None),
            ("count_include_pad", True),
        ):
            object.__setattr__(self, name, value)

    @property
    def kind(self) -> ops.Op:
        """What the op computes (conformance.ops): ask it instead of comparing `op` strings."""
        return ops.of(self.op)

    def _rank(self) -> int:
        hints = {
            name: _rank_hint(getattr(self, name))
            for name in ("kernel", "stride", "dilation", "output_size")
            if _rank_hint(getattr(self, name)) is not None
        }
        if isinstance(self.padding, (tuple, list)):
            hints["padding"] = len(self.padding)
        if self.ndim is not None:
            if not _is_int(self.ndim):
                raise InvalidSpec("ndim", self.ndim, "1, 2 or 3")
            hints["ndim"] = self.ndim
        ranks = set(hints.values())
        if len(ranks) > 1:
            raise InvalidSpec("kernel", self.kernel, f"per-dim fields of one length; got {hints}")
        nd = ranks.pop() if ranks else DEFAULT_NDIM
        if nd not in (1, 2, 3):
            field = "ndim" if "ndim" in hints else next(iter(hints), "kernel")
            raise InvalidSpec(field, getattr(self, field), "1, 2 or 3 spatial dims")
        return nd

    def _normalise_padding(self, nd: int) -> str | Pads:
        p = self.padding
        allowed = f"{PADDING_MODES}, an int >= 0, {nd} ints >= 0, or {nd} (before, after) pairs of ints >= 0"
        if isinstance(p, str):
            if p.lower() not in PADDING_MODES:
                raise InvalidSpec("padding", p, allowed)
            return p.lower()
        if _is_int(p):
            p = (p,) * nd
        if not isinstance(p, (tuple, list)) or len(p) != nd:
            raise InvalidSpec("padding", self.padding, allowed)
        pairs = []
        for item in p:
            pair = (item, item) if _is_int(item) else item
            if not (
                isinstance(pair, (tuple, list))
                and len(pair) == 2
                and all(_is_int(v) and v >= 0 for v in pair)
            ):
                raise InvalidSpec("padding", self.padding, allowed)
            pairs.append(tuple(pair))
        return tuple(pairs)

    # ---- geometry -------------------------------------------------------------------------
    def spatial_axes(self) -> tuple[int, ...]:
        """Axes of the spatial dims in an input of rank ndim + 2 in this layout."""
        first = 2 if self.layout == "channels_first" else 1
        return tuple(range(first, first + self.ndim))

    def geometry(self, input_shape: tuple[int, ...]) -> tuple[DimGeometry, ...] | tuple[AdaptiveDim, ...]:
        """Resolve every spatial dim against a full (N, C, ...) or (N, ..., C) input shape
        (memoised: the reference asks several times per call, with the same spec and shape)."""
        return _geometry(self, tuple(input_shape))

    def _resolve(self, shape: tuple[int, ...]) -> tuple[DimGeometry, ...] | tuple[AdaptiveDim, ...]:
        if len(shape) != self.ndim + 2 or not all(_is_int(v) and v >= 1 for v in shape):
            raise InvalidSpec(
                "input_shape",
                shape,
                f"{self.ndim + 2} positive ints (batch, channels and "
                f"{self.ndim} spatial dims in {self.layout} order)",
            )
        if self.kind.adaptive:
            return tuple(
                AdaptiveDim(shape[a], o) for a, o in zip(self.spatial_axes(), self.output_size, strict=True)
            )
        dims = []
        for i, axis in enumerate(self.spatial_axes()):
            pad = self.padding if isinstance(self.padding, str) else self.padding[i]
            g = resolve_dim(
                shape[axis], self.kernel[i], self.stride[i], self.dilation[i], pad, self.ceil_mode
            )
            if g.out < 1:
                raise InvalidSpec(
                    "kernel", self.kernel, f"a geometry with output size >= 1; dim {i} gives {g.out}"
                )
            # A window with no input element is undefined for max and for avg without padding
            # in the divisor; PyTorch forbids it by bounding padding to half the kernel.
            if _window_only_padding(g):
                raise InvalidSpec(
                    "padding",
                    self.padding,
                    f"padding that leaves every window at least one input element (dim {i}: "
                    f"n={g.n}, kernel={g.k}, dilation={g.d}, pads=({g.lo}, {g.hi}))",
                )
            dims.append(g)
        return tuple(dims)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = list(input_shape)
        for axis, g in zip(self.spatial_axes(), self.geometry(input_shape), strict=True):
            shape[axis] = g.out
        return tuple(shape)

    def explicit_pads(self, input_shape: tuple[int, ...]) -> Pads:
        """Per-dim (before, after) pads with SAME/VALID resolved for this input."""
        return tuple((g.lo, g.hi) for g in self.geometry(input_shape))

    # ---- identity -------------------------------------------------------------------------
    @property
    def is_global(self) -> bool:
        """Adaptive pooling to one element per plane: what Global*Pool APIs compute."""
        return self.kind.adaptive and all(o == 1 for o in self.output_size)

    @property
    def padding_kind(self) -> str:
        if self.kind.adaptive:
            return "none"
        if isinstance(self.padding, str):
            return self.padding
        if all(lo == hi == 0 for lo, hi in self.padding):
            return "zero"
        if all(lo == hi for lo, hi in self.padding):
            return "symmetric"
        return "asymmetric"

    @property
    def id(self) -> str:
        """A readable, stable id, e.g. max-2d-k3x3-s2x2-p1,1-ceil-cf."""
        x = lambda t: "x".join(map(str, t))  # noqa: E731
        layout = "cf" if self.layout == "channels_first" else "cl"
        if self.kind.adaptive:
            return "-".join([self.op, f"{self.ndim}d", f"o{x(self.output_size)}", layout])
        if isinstance(self.padding, str):
            pad = self.padding.replace("_", "")
        else:
            pad = ",".join(str(lo) if lo == hi else f"{lo}_{hi}" for lo, hi in self.padding)
        parts = [self.op, f"{self.ndim}d", f"k{x(self.kernel)}", f"s{x(self.stride)}", f"p{pad}"]
        if any(v != 1 for v in self.dilation):
            parts.append(f"d{x(self.dilation)}")
        if self.ceil_mode:
            parts.append("ceil")
        if self.kind.averages and not self.count_include_pad:
            parts.append("xpad")
        if self.divisor_override is not None:
            parts.append(f"div{self.divisor_override}")
        parts.append(layout)
        return "-".join(parts)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("kernel", "stride", "dilation", "output_size"):
            d[key] = None if d[key] is None else list(d[key])
        if isinstance(self.padding, tuple):
            d["padding"] = [list(p) for p in self.padding]
        if not self.kind.adaptive:
            del d["output_size"]  # records written before adaptive ops stay byte-identical
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PoolSpec:
        data = dict(data)
        if isinstance(data.get("padding"), list):
            data["padding"] = tuple(tuple(p) if isinstance(p, list) else p for p in data["padding"])
        for key in ("kernel", "stride", "dilation", "output_size"):
            if isinstance(data.get(key), list):
                data[key] = tuple(data[key])
        return cls(**data)


@lru_cache(maxsize=4096)
def _geometry(spec: PoolSpec, shape: tuple[int, ...]) -> tuple[DimGeometry, ...] | tuple[AdaptiveDim, ...]:
    return spec._resolve(shape)  # an invalid shape raises every time (lru_cache keeps no errors)


def _window_only_padding(g: DimGeometry) -> bool:
    """True when some output window of this dim contains no in-bounds input index.

    A window starting inside the input holds at least its first element; one starting past
    the input holds nothing; only windows starting in the left padding need a look, and there
    are at most ceil(lo / s) of them (fewer than the effective kernel, or window 0 is empty).
    """
    if g.lo >= g.effective_kernel or (g.out - 1) * g.s - g.lo >= g.n:
        return True
    for j in range(min(g.out, -(-g.lo // g.s))):
        start = j * g.s - g.lo
        if not any(0 <= start + t * g.d < g.n for t in range(g.k)):
            return True
    return False


def ceil_changes_output(spec: PoolSpec, input_shape: tuple[int, ...]) -> bool:
    """Whether ceil_mode gives a different output size than floor mode for this input."""
    if not spec.ceil_mode:
        return False
    floor = PoolSpec(**{**_fields(spec), "ceil_mode": False})
    try:
        return floor.output_shape(input_shape) != spec.output_shape(input_shape)
    except InvalidSpec:  # a kernel overhanging the input: only ceil mode gives an output
        return True


def _fields(spec: PoolSpec) -> dict[str, Any]:
    return {k: getattr(spec, k) for k in spec.__dataclass_fields__}


def replace(spec: PoolSpec, **changes: Any) -> PoolSpec:
    """dataclasses.replace that re-normalises (and re-validates) the spec."""
    return PoolSpec(**{**_fields(spec), **changes})
