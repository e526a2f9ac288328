"""MindSpore: mindspore.ops.max_pool{2,3}d / avg_pool{1,2,3}d and adaptive_{max,avg}_pool{1,2,3}d
in PyNative (eager) mode on the CPU device (DESIGN.md §6 `mindspore`; issue 23).

MindSpore needs NumPy < 2, so the target runs in a side environment (conformance.environments,
`mindspore`; README "Converter paths").

Why mindspore.ops and not mindspore.mint (the torch-like namespace): in the CPU wheel nearly
every mint pool has no CPU kernel ("Not found op FuncMaxPool2D on device CPU", "The kernel
AvgPool2D unregistered"); ops.* is what runs on a CPU.

Native: channels-first inputs, integer padding (per side for the 2-D and 3-D average pools,
which take 4 or 6 ints; symmetric, one int per dim, elsewhere), stride, dilation
(max only), ceil_mode, count_include_pad, divisor_override (2-D and 3-D avg; 0 means none),
return_indices (2-D and 3-D max, adaptive max), the float dtypes its kernels take. Not
expressible: channels-last inputs, SAME / SAME_LOWER, asymmetric padding of max pools and
avg_pool1d, max_pool1d (ops has none). Gradients through mindspore.vjp, as a training step computes them.

Default stride: ops.max_pool{n}d documents stride=None = kernel_size, while ops.avg_pool{n}d
documents stride=1: the target declares max pooling's default, and the default-stride check of
an average pool is `unsupported` with that reason (one documented default per target).
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import ops

from conformance.backend import Backend
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

ms.set_device("CPU")
ms.set_context(mode=ms.PYNATIVE_MODE)


class MindSporeBackend(Backend):
    name = "mindspore"
    default_stride = "kernel"
    default_stride_api = "mindspore.ops.max_pool{n}d(x, kernel_size) (stride=None)"
    no_adaptive = None  # ops.adaptive_*_pool{n}d
    unsupported_errors = (
        r"(?i)not support",
        r"(?i)unsupported",
        r"(?i)must be divisible by output size",
        r"(?i)must be greater or equal to output size",
        r"(?i)dtype of .* should be",
        r"(?i)data type .* (is )?not (in|supported)",
        r"(?i)kernel .* unregistered",
        r"(?i)Not found op",
        r"must be a type of \{",
        r"input dtype must be",
    )
    snippet_checks = ("forward", "grad", "default_stride", "indices")

    @property
    def version(self) -> str:
        return ms.__version__

    def devices(self) -> list[str]:
        return ["cpu"]

    # ---- translation ------------------------------------------------------------------------
    def _fn_name(self, spec: PoolSpec) -> str:
        return f"{spec.op}_pool{spec.ndim}d"

    def _fn(self, spec: PoolSpec):
        name = self._fn_name(spec)
        if not hasattr(ops, name):
            raise Unsupported(f"mindspore.ops has no {name}")
        return getattr(ops, name)

    def _kwargs(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True) -> dict:
        if spec.layout != "channels_first":
            raise Unsupported("mindspore.ops pooling takes channels-first inputs only")
        name = self._fn_name(spec)
        if spec.kind.adaptive:
            size = spec.output_size[0] if spec.ndim == 1 else tuple(spec.output_size)
            return {"output_size": size}
        if isinstance(spec.padding, str) and spec.padding != "valid":
            raise Unsupported(f"mindspore.ops.{name} has no '{spec.padding}' padding (integers only)")
        pads = spec.explicit_pads(x.shape)
        if spec.kind.averages and spec.ndim > 1:  # (before, after) per dim: 4 or 6 ints
            padding = tuple(p for pair in pads for p in pair)
        elif any(lo != hi for lo, hi in pads):
            raise Unsupported(f"mindspore.ops.{name} takes symmetric padding only (one int per dim)")
        else:
            padding = tuple(lo for lo, _ in pads)
        kw = {"kernel_size": tuple(spec.kernel), "padding": padding, "ceil_mode": spec.ceil_mode}
        if with_stride:
            kw["stride"] = tuple(spec.stride)
        if spec.kind.selects:
            kw["dilation"] = tuple(spec.dilation)
            return kw
        if any(d != 1 for d in spec.dilation):
            raise Unsupported(f"mindspore.ops.{name} has no dilation")
        kw["count_include_pad"] = spec.count_include_pad
        if spec.divisor_override is not None:
            if spec.ndim == 1:
                raise Unsupported("mindspore.ops.avg_pool1d has no divisor_override")
            kw["divisor_override"] = spec.divisor_override
        if spec.ndim == 1:  # avg_pool1d takes ints, not 1-tuples
            kw = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
        return kw

    @staticmethod
    def _tensor(a: np.ndarray):
        return ms.Tensor(np.ascontiguousarray(a))

    # ---- calls ------------------------------------------------------------------------------
    def _forward(self, spec, x, device):
        return self._fn(spec)(self._tensor(x), **self._kwargs(spec, x)).asnumpy()

    def _vjp(self, spec, x, gy, device):
        fn, kw = self._fn(spec), self._kwargs(spec, x)
        _, pullback = ms.vjp(lambda t: fn(t, **kw), self._tensor(x))
        g = pullback(self._tensor(gy))
        return (g[0] if isinstance(g, tuple) else g).asnumpy()

    def _forward_with_indices(self, spec, x, device):
        if not spec.kind.selects or spec.ndim == 1:  # ops.adaptive_max_pool1d has none either
            raise Unsupported(f"mindspore.ops.{self._fn_name(spec)} has no return_indices")
        y, idx = self._fn(spec)(self._tensor(x), **self._kwargs(spec, x), return_indices=True)
        return y.asnumpy(), idx.asnumpy()

    def _forward_default_stride(self, spec, x, device):
        if spec.kind.averages:
            raise Unsupported(
                f"mindspore.ops.{self._fn_name(spec)} documents stride=1 as its default, unlike "
                "max_pool{n}d (the kernel): the target's documented default is max pooling's"
            )
        return self._fn(spec)(self._tensor(x), **self._kwargs(spec, x, with_stride=False)).asnumpy()

    def _snippet(self, spec, x, check):
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        if check == "indices":
            kw["return_indices"] = True
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        call = f"ops.{self._fn_name(spec)}(t, {args})"
        lines = [
            "import mindspore as ms",
            "from mindspore import ops",
            "",
            "ms.set_device('CPU')",
            "t = ms.Tensor(x.astype(DTYPE))",
        ]
        if check == "grad":
            return [
                *lines,
                f"_, pullback = ms.vjp(lambda t: {call}, t)",
                "g = pullback(ms.Tensor(gy.astype(DTYPE)))",
                "actual = (g[0] if isinstance(g, tuple) else g).asnumpy()",
            ]
        if check == "indices":
            return [*lines, f"y, idx = {call}", "actual = idx.asnumpy()"]
        return [*lines, f"actual = {call}.asnumpy()"]
