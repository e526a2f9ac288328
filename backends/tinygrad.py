"""tinygrad: `Tensor.max_pool2d` / `Tensor.avg_pool2d` on tinygrad's CPU device, whose kernels
tinygrad generates and compiles with clang (DESIGN.md §6 `tinygrad`; issue 23).

Despite their names the two pool the last len(kernel_size) dims, so 1-D and 3-D pooling are
the same calls with a 1- or 3-element kernel. Native: channels-first inputs, stride (and its
omission: stride = kernel_size, documented), dilation (both ops), integer padding (symmetric,
or per side in F.pad's order, last dim first), ceil_mode, count_include_pad, return_indices
(max), every dtype tinygrad has. Not expressible: channels-last inputs, SAME / SAME_LOWER,
divisor_override, adaptive pooling. Gradients through `Tensor.gradient`, as a training step
computes them.

The CPU device needs a clang on PATH (tinygrad compiles every kernel it generates with it):
without one the target is unavailable with that reason (CI's machines have none; tinygrad's
Python emulator device computes the same kernels one element at a time, far too slowly for the
suite, so it is not used as a stand-in).
"""

from __future__ import annotations

import shutil

if shutil.which("clang") is None:  # checked before the import: tinygrad fails later, mid-call
    raise ImportError("tinygrad's CPU device compiles its kernels with clang, which is not on PATH")

import numpy as np
import tinygrad
from tinygrad import Tensor, dtypes

from conformance.backend import Backend
from conformance.dtypes import name_of
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

_DEVICE = "CPU"


class TinygradBackend(Backend):
    name = "tinygrad"
    default_stride = "kernel"
    default_stride_api = "Tensor.max_pool2d / avg_pool2d(kernel_size) (stride=None)"
    no_adaptive = "tinygrad has no adaptive pooling (Tensor pools take a fixed kernel)"
    unsupported_errors = (r"(?i)not supported", r"(?i)unsupported dtype")
    snippet_checks = ("forward", "grad", "default_stride", "indices")

    @property
    def version(self) -> str:
        return getattr(tinygrad, "__version__", None) or _dist_version()

    def devices(self) -> list[str]:
        return ["cpu"]

    # ---- translation ------------------------------------------------------------------------
    def _kwargs(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True) -> dict:
        if spec.layout != "channels_first":
            raise Unsupported("tinygrad pools the last dims: channels-first inputs only")
        if isinstance(spec.padding, str) and spec.padding != "valid":
            raise Unsupported(f"tinygrad pooling has no '{spec.padding}' padding (integers only)")
        if spec.divisor_override is not None:
            raise Unsupported("Tensor.avg_pool2d has no divisor_override")
        pads = spec.explicit_pads(x.shape)
        if all(lo == hi for lo, hi in pads):
            padding = tuple(lo for lo, _ in pads)
        else:  # F.pad's order: the last dim first, (before, after) each
            padding = tuple(p for pair in reversed(pads) for p in pair)
        kw = {
            "kernel_size": tuple(spec.kernel),
            "dilation": tuple(spec.dilation),
            "padding": padding,
            "ceil_mode": spec.ceil_mode,
        }
        if with_stride:
            kw["stride"] = tuple(spec.stride)
        if spec.kind.averages:
            kw["count_include_pad"] = spec.count_include_pad
        return kw

    def _pool(self, spec: PoolSpec, t: Tensor, kw: dict):
        return (t.max_pool2d if spec.kind.selects else t.avg_pool2d)(**kw)

    @staticmethod
    def _tensor(a: np.ndarray) -> Tensor:
        if name_of(a.dtype) == "bfloat16":  # carried as float32, cast on the device
            return Tensor(np.ascontiguousarray(a.astype(np.float32)), device=_DEVICE).cast(dtypes.bfloat16)
        return Tensor(np.ascontiguousarray(a), device=_DEVICE)

    @staticmethod
    def _numpy(t: Tensor, like: np.ndarray) -> np.ndarray:
        if t.dtype == dtypes.bfloat16:
            return t.cast(dtypes.float32).numpy().astype(like.dtype)
        return t.numpy()

    # ---- calls ------------------------------------------------------------------------------
    def _forward(self, spec, x, device):
        return self._numpy(self._pool(spec, self._tensor(x), self._kwargs(spec, x)), x)

    def _vjp(self, spec, x, gy, device):
        t = self._tensor(x)
        y = self._pool(spec, t, self._kwargs(spec, x))
        (g,) = y.gradient(t, gradient=self._tensor(gy))
        return self._numpy(g, x)

    def _forward_with_indices(self, spec, x, device):
        if not spec.kind.selects:
            raise Unsupported("Tensor.avg_pool2d has no indices")
        y, idx = self._tensor(x).max_pool2d(**self._kwargs(spec, x), return_indices=True)
        return self._numpy(y, x), idx.numpy()

    def _forward_default_stride(self, spec, x, device):
        return self._numpy(self._pool(spec, self._tensor(x), self._kwargs(spec, x, with_stride=False)), x)

    def _snippet(self, spec, x, check):
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        if check == "indices":
            kw["return_indices"] = True
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        call = f"t.{'max' if spec.kind.selects else 'avg'}_pool2d({args})"
        lines = ["from tinygrad import Tensor", "", "t = Tensor(x.astype(DTYPE), device='CPU')"]
        if check == "grad":
            return [
                *lines,
                f"y = {call}",
                "(g,) = y.gradient(t, gradient=Tensor(gy.astype(DTYPE), device='CPU'))",
                "actual = g.numpy()",
            ]
        if check == "indices":
            return [*lines, f"y, idx = {call}", "actual = idx.numpy()"]
        return [*lines, f"actual = {call}.numpy()"]


def _dist_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415 (lazy: only where tinygrad has no __version__)

    return version("tinygrad")
