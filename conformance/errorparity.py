"""Error parity: how each framework reacts to geometries the semantics reject (or barely allow).

An `ErrorCase` holds raw, unvalidated parameters (kernel 0, negative stride, padding wider than
the window, ...). The reference's verdict comes from `PoolSpec` and its geometry: `InvalidSpec`
(the case is invalid everywhere) or an output. Each backend's native call is made with the raw
parameters, bypassing validation, and its reaction is recorded: it raises (with its message),
or it returns something (shape, and what the values look like: -inf, -FLT_MAX, NaN, empty).

Status: `pass` when the framework agrees with the reference (both reject, or both compute the
same output), `mismatch` when it accepts an invalid geometry or computes something else,
`unsupported` when our translation cannot even express the parameters (no dilation in TF, ...)
or the framework rejects a geometry the semantics allow (PyTorch's padding limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from conformance import ops
from conformance.compare import Comparison, compare
from conformance.dtypes import np_dtype
from conformance.errors import InvalidSpec, Unsupported
from conformance.spec import PoolSpec

_ROOT = Path(__file__).resolve().parent.parent  # the checkout holding conformance/ and backends/


@dataclass(frozen=True)
class RawSpec:
    """PoolSpec's attributes without its validation (per-dim tuples, explicit pad pairs)."""

    op: str
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    layout: str = "channels_first"

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def padding_kind(self) -> str:
        return "raw"

    @property
    def kind(self) -> ops.Op:
        return ops.of(self.op)

    def spatial_axes(self) -> tuple[int, ...]:
        first = 2 if self.layout == "channels_first" else 1
        return tuple(range(first, first + self.ndim))

    def explicit_pads(self, input_shape) -> tuple:
        return self.padding

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "kernel": list(self.kernel),
            "stride": list(self.stride),
            "padding": [list(p) for p in self.padding],
            "dilation": list(self.dilation),
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
            "divisor_override": self.divisor_override,
            "layout": self.layout,
            "ndim": self.ndim,
        }

    def as_poolspec(self) -> PoolSpec:
        return PoolSpec(
            op=self.op,
            kernel=self.kernel,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            ceil_mode=self.ceil_mode,
            count_include_pad=self.count_include_pad,
            divisor_override=self.divisor_override,
            layout=self.layout,
        )


@dataclass(frozen=True)
class ErrorCase:
    name: str
    spec: RawSpec
    input_shape: tuple[int, ...]
    note: str
    dtype: str = "float32"
    family: str = "distinct"
    suite: str = "errors"
    seed: int = 0
    checks: tuple[str, ...] = ("error_parity",)
    expected: Any = field(default=None, compare=False)
    expected_shape: Any = None
    expected_grad: Any = field(default=None, compare=False)
    erratum: bool = False

    @property
    def id(self) -> str:
        return f"error-{self.name}-{self.spec.op}"

    def make_input(self) -> np.ndarray:
        size = int(np.prod(self.input_shape))
        values = np.random.default_rng(self.seed).permutation(size) - size / 2
        return values.astype(np_dtype(self.dtype)).reshape(self.input_shape)


def reference_verdict(case: ErrorCase, ref) -> tuple[str, np.ndarray | None]:
    """("invalid: why", None) or ("output shape S", output) from the reference."""
    try:
        spec = case.spec.as_poolspec()
        return f"output shape {spec.output_shape(case.input_shape)}", ref.forward(spec, case.make_input())
    except InvalidSpec as exc:
        return f"invalid: {exc}", None


def describe(y: np.ndarray) -> str:
    if y.size == 0:
        return f"an empty array of shape {y.shape}"
    v = y.astype(np.float64)
    notes = []
    for label, mask in (
        ("-inf", v == -np.inf),
        ("NaN", np.isnan(v)),
        ("the lowest finite value", v == float(np.finfo(np.float32).min)),
    ):
        if mask.any():
            notes.append(f"{label} in {int(mask.sum())} of {v.size} outputs")
    return f"shape {y.shape}" + (f" with {', '.join(notes)}" if notes else "")


_OUR_BUGS = (AttributeError, NameError, KeyError, IndexError, AssertionError, ZeroDivisionError, InvalidSpec)


def _raised_in_our_code(exc: BaseException) -> bool:
    """True for a bug of ours rather than a framework's reaction: a Python error type raised
    in this project's code. (Native framework calls have no Python frame of their own, so
    a RuntimeError raised in C++ shows up in the backend file that called it.)"""
    if not isinstance(exc, _OUR_BUGS):
        return False
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    if last is None:
        return False
    path = Path(last).resolve()
    return any(path.is_relative_to(_ROOT / d) for d in ("conformance", "backends", "cases"))


def check(case: ErrorCase, backend, ref, device: str) -> tuple[Comparison, np.ndarray | None]:
    verdict, expected = reference_verdict(case, ref)
    x = case.make_input()
    # A geometry the semantics accept goes through the normal translation (ceil mode and all).
    spec = case.spec if expected is None else case.spec.as_poolspec()
    try:
        actual = backend._call(backend._forward, spec, x, device)
    except Unsupported as exc:
        if "rejects it" not in exc.reason:  # our translation cannot express the parameters
            return Comparison("unsupported", message=exc.reason), None
        outcome = f"raises ({exc.reason})"
        raised = True
    except Exception as exc:  # the framework's own reaction, whatever its type
        if _raised_in_our_code(exc):
            raise
        outcome = f"raises {type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
        raised = True
    else:
        raised = False
        outcome = f"returns {describe(np.asarray(actual))}"
    message = f"reference: {verdict}; {backend.name} {outcome}"
    if expected is None:
        return Comparison("pass" if raised else "mismatch", message=message), None
    if raised:
        return Comparison("unsupported", message=message), None
    cmp = compare(actual, expected, exact=case.spec.kind.selects)
    cmp.message = message + (f" | {cmp.message}" if cmp.message else "")
    return cmp, actual
