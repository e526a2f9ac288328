"""The interface every backend implements.

Subclasses translate a `PoolSpec` into their framework's native call in `_forward`, `_vjp` and
`_forward_default_stride`. This base class validates the case first (so a spec that is invalid
everywhere raises `InvalidSpec` from every backend alike) and turns the framework's own
"this dtype/format is not implemented" errors into `Unsupported` with the framework's words.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np

from conformance import ops, reproducer
from conformance.devices import DEVICES, Device
from conformance.dtypes import name_of
from conformance.errors import InvalidSpec, Unsupported
from conformance.spec import PoolSpec, ceil_changes_output


class Backend:
    name: ClassVar[str] = ""
    # Regexes over a framework exception's text that mean "not implemented here", not "bug".
    unsupported_errors: ClassVar[tuple[str, ...]] = ()
    # What the API does with the stride left out, as documented (DESIGN.md §6): "kernel", "1",
    # or None when the API requires a stride; and the call the default_stride check makes.
    default_stride: ClassVar[str | None] = None
    default_stride_api: ClassVar[str] = ""
    # The checks this target runs (None: all). Compiled modes leave the invariant and
    # determinism checks to their eager sibling: each would compile several more graphs.
    checks: ClassVar[tuple[str, ...] | None] = None
    # Why the target cannot compute adaptive pooling at all (None: it translates adaptive
    # specs itself, possibly only some of them, raising Unsupported for the rest).
    no_adaptive: ClassVar[str | None] = "no adaptive pooling API"
    # The checks `_snippet` writes a reproducer for (`actual` = forward, vjp, or indices).
    snippet_checks: ClassVar[tuple[str, ...]] = ("forward", "grad", "default_stride")

    @property
    def version(self) -> str:
        return ""

    def devices(self) -> list[str]:
        return [Device.CPU]

    # ---- public API (DESIGN.md §2) ----------------------------------------------------------
    def forward(self, spec: PoolSpec, x: np.ndarray, device: Device = Device.CPU) -> np.ndarray:
        self._prepare(spec, x, device)
        return self._call(self._forward, spec, x, device)

    def vjp(self, spec: PoolSpec, x: np.ndarray, gy: np.ndarray, device: Device = Device.CPU) -> np.ndarray:
        self._prepare(spec, x, device)
        if not np.issubdtype(x.dtype, np.floating) and name_of(x.dtype) != "bfloat16":
            raise Unsupported("gradients are defined for float dtypes only")
        expected = spec.output_shape(x.shape)
        if tuple(gy.shape) != expected:
            raise InvalidSpec("gy", tuple(gy.shape), f"the output shape {expected}")
        return self._call(self._vjp, spec, x, gy, device)

    def forward_with_indices(
        self, spec: PoolSpec, x: np.ndarray, device: Device = Device.CPU
    ) -> tuple[np.ndarray, np.ndarray]:
        """Max pooling's output and, per output, the flat row-major position of the selected
        element within its (N, C) spatial plane (DESIGN.md §3, PyTorch's convention), int64."""
        _require_selecting(spec, "forward_with_indices")
        self._prepare(spec, x, device)
        y, idx = self._call(self._forward_with_indices, spec, x, device)
        return y, np.asarray(idx).astype(np.int64)

    def unpool(self, spec: PoolSpec, x: np.ndarray, device: Device = Device.CPU) -> np.ndarray:
        """The round trip max_unpool(max_pool(x), indices) in the input's shape: each output
        written back at its index, zeros elsewhere (the framework's own unpooling op)."""
        _require_selecting(spec, "unpool")
        self._prepare(spec, x, device)
        return self._call(self._unpool, spec, x, device)

    def forward_resized(
        self, spec: PoolSpec, x: np.ndarray, second: np.ndarray, device: Device = Device.CPU
    ) -> np.ndarray:
        """The `resized` check: prepare the call for `x` with its spatial dims dynamic (trace,
        export, convert), then run that prepared call on `second` (another spatial size) and
        return its output."""
        self._prepare(spec, x, device)
        self._prepare(spec, second, device)
        return self._call(self._forward_resized, spec, x, second, device)

    def forward_default_stride(
        self, spec: PoolSpec, x: np.ndarray, device: Device = Device.CPU
    ) -> np.ndarray:
        """Call the framework's API with the stride argument omitted (spec.stride is ignored)."""
        self._prepare(spec, x, device)
        return self._call(self._forward_default_stride, spec, x, device)

    # ---- to implement -----------------------------------------------------------------------
    def _forward(self, spec: PoolSpec, x: np.ndarray, device: str) -> np.ndarray:
        raise NotImplementedError

    def _vjp(self, spec: PoolSpec, x: np.ndarray, gy: np.ndarray, device: str) -> np.ndarray:
        # A forward-only target (an inference runtime, a third party's) gets `unsupported`
        # gradients, not `error`.
        raise Unsupported(f"{self.name} computes no gradients")

    def _forward_with_indices(self, spec: PoolSpec, x: np.ndarray, device: str):
        raise Unsupported(f"{self.name} has no max-pooling API that returns indices")

    def _unpool(self, spec: PoolSpec, x: np.ndarray, device: str) -> np.ndarray:
        raise Unsupported(f"{self.name} has no max-unpooling API")

    def _forward_default_stride(self, spec: PoolSpec, x: np.ndarray, device: str) -> np.ndarray:
        raise Unsupported(
            f"{self.default_stride_api or self.name} has no default stride: the stride is required"
        )

    def native_call(self, spec: PoolSpec, input_shape: tuple[int, ...], dtype: str, check: str) -> dict:
        """What a result should record about the native call beyond the target's version (an
        ONNX node and its opset, an interpreter's configuration); {} for most targets."""
        return {}

    def reproducer(self, case, check: str, expected: np.ndarray, source: str = "reference") -> str:
        """A standalone script (NumPy and this framework only) that makes the native call on
        the case's embedded input and compares with the embedded expected values (the check's:
        `checks.expected_values`)."""
        return reproducer.script(self, case, check, expected, source)

    def _forward_resized(self, spec: PoolSpec, x: np.ndarray, second: np.ndarray, device):
        """Targets that compute every call afresh have nothing to prepare for one size."""
        raise Unsupported(
            f"{self.name} computes every call afresh (nothing is prepared for one input size "
            "and run at another)"
        )

    def _snippet(self, spec: PoolSpec, x: np.ndarray, check: str) -> list[str]:
        """Source lines that make the native call on `x` (`gy` for grad; dtype `DTYPE`, with
        bfloat16 values carried as float32) and leave the answer in `actual` (NumPy)."""
        return [f"raise SystemExit('{self.name}: no reproducer template')"]

    def _check_device(self, device: str) -> None:
        if device not in self.devices():
            raise Unsupported(f"{self.name} sees no {device.upper()} here (devices: {self.devices()})")

    # ---- helpers ----------------------------------------------------------------------------
    def _prepare(self, spec: PoolSpec, x: np.ndarray, device: str) -> None:
        if device not in DEVICES:
            raise InvalidSpec("device", device, f"one of {DEVICES}")
        spec.geometry(x.shape)
        self._check_device(device)
        if spec.kind.adaptive and self.no_adaptive:
            raise Unsupported(self.no_adaptive)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except Unsupported:
            raise
        except Exception as exc:  # framework errors: classify, never swallow
            text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", f"{type(exc).__name__}: {exc}")
            hits = [m for p in self.unsupported_errors if (m := re.search(p, text))]
            if hits:  # the line that says why (runtimes wrap it in lines of their own)
                line = text[text.rfind("\n", 0, hits[0].start()) + 1 :].split("\n", 1)[0]
                raise Unsupported(f"{self.name} rejects it: {_first_line(line)}") from exc
            raise

    @staticmethod
    def moot_ceil_mode(spec: PoolSpec, x: np.ndarray, framework_call: str) -> None:
        """Raise Unsupported if ceil_mode changes the output here and the API has no ceil mode.

        When ceil and floor mode give the same output size, the flag changes nothing and the
        native call is exact, so it runs.
        """
        if ceil_changes_output(spec, x.shape):
            raise Unsupported(f"{framework_call} has no ceil_mode (it changes the output here)")


DISAGREE = -2  # an index position where two conventions of one call disagree


def agreed_positions(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plane positions from two conventions of the same framework call (ONNX storage_order 0
    and 1, TF include_batch_in_index False and True), each converted: equal where a correct
    framework must agree, DISAGREE (-2, no position) where one of them is wrong, so the check
    fails there without guessing which. Shapes that differ give the second as it came."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return b
    return np.where(a == b, a, DISAGREE)


def _require_selecting(spec: PoolSpec, call: str) -> None:
    if not spec.kind.selects:
        allowed = tuple(name for name, op in ops.ALL.items() if op.selects)
        raise InvalidSpec("op", spec.op, f"one of {allowed} for {call}")


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line[:limit]
