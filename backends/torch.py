"""PyTorch: torch.nn.functional.max_pool{1,2,3}d / avg_pool{1,2,3}d, adaptive_max_pool{1,2,3}d /
adaptive_avg_pool{1,2,3}d (global pooling is adaptive pooling to size 1: torch has no other
global API), max pooling's `return_indices=True` and F.max_unpool{1,2,3}d.

Native: stride (and its omission), symmetric integer padding, dilation (max only), ceil_mode,
count_include_pad, divisor_override (2-D and 3-D avg), every float dtype, integer max.
channels_last inputs are handed over as a permuted view, which for 2-D and 3-D is exactly
torch's channels_last memory format, so torch's NHWC kernels are the ones under test.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from backends.unpool_window import unpool_window
from conformance.backend import Backend
from conformance.devices import Device, available
from conformance.dtypes import name_of
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "int32": torch.int32,
    "int64": torch.int64,
}


class TorchBackend(Backend):
    name = "torch"
    default_stride = "kernel"
    default_stride_api = "F.max_pool{n}d / F.avg_pool{n}d(x, k) (stride=None)"
    unsupported_errors = (
        r"not implemented for '",
        r"pad should be at most half",
        r"LoweringException: RuntimeError: \w+ not implemented for \w+",
    )
    no_adaptive = None  # F.adaptive_*_pool{n}d
    snippet_checks = ("forward", "grad", "default_stride", "indices")

    @property
    def version(self) -> str:
        return torch.__version__

    def devices(self) -> list[str]:
        return available(torch.cuda.is_available())

    # ---- translation ------------------------------------------------------------------------
    def _kwargs(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True) -> dict:
        nd = spec.ndim
        if spec.kind.adaptive:
            return dict(output_size=spec.output_size)
        if isinstance(spec.padding, str) and spec.padding != "valid":
            raise Unsupported(f"torch pooling has no '{spec.padding}' padding (integer padding only)")
        pads = spec.explicit_pads(x.shape)
        if any(lo != hi for lo, hi in pads):
            raise Unsupported("torch pooling takes symmetric padding only (one int per dim)")
        padding = tuple(lo for lo, _ in pads)  # torch itself rejects more than half the kernel
        kw = dict(kernel_size=spec.kernel, padding=padding, ceil_mode=spec.ceil_mode)
        if with_stride:
            kw["stride"] = spec.stride
        if spec.kind.selects:
            kw["dilation"] = spec.dilation
            return kw
        if any(d != 1 for d in spec.dilation):
            raise Unsupported(f"F.avg_pool{nd}d has no dilation")
        kw["count_include_pad"] = spec.count_include_pad
        if spec.divisor_override is not None:
            if nd == 1:
                raise Unsupported("F.avg_pool1d has no divisor_override")
            kw["divisor_override"] = spec.divisor_override
        return kw

    def _fn(self, spec: PoolSpec):
        return getattr(F, f"{spec.op}_pool{spec.ndim}d")

    def _leaf(self, a: np.ndarray, device: str, grad: bool = False):
        dt = _DTYPES[name_of(a.dtype)]
        src = a.astype(np.float32) if dt == torch.bfloat16 else a  # torch cannot read ml_dtypes
        t = torch.from_numpy(np.ascontiguousarray(src)).to(dt)
        return t.to("cuda" if device == Device.GPU else "cpu").requires_grad_(grad)

    @staticmethod
    def _nc(spec: PoolSpec, t):
        """(N, ..., C) data viewed as (N, C, ...): torch's channels_last memory format."""
        return t.movedim(-1, 1) if spec.layout == "channels_last" else t

    @staticmethod
    def _numpy(t, like: np.ndarray) -> np.ndarray:
        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:
            return t.float().numpy().astype(like.dtype)
        return t.numpy()

    def _run(self, spec, x, device, kw):
        """The call, its output(s) back in the spec's layout as NumPy (indices included)."""
        with torch.no_grad():
            out = self._fn(spec)(self._nc(spec, self._leaf(x, device)), **kw)
        outs = out if isinstance(out, tuple) else (out,)
        if spec.layout == "channels_last":
            outs = tuple(t.movedim(1, -1) for t in outs)
        arrays = tuple(self._numpy(t, x) for t in outs)
        return arrays if isinstance(out, tuple) else arrays[0]

    # ---- calls ------------------------------------------------------------------------------
    def _forward(self, spec, x, device):
        return self._run(spec, x, device, self._kwargs(spec, x))

    def _vjp(self, spec, x, gy, device):
        kw = self._kwargs(spec, x)
        leaf = self._leaf(x, device, grad=True)
        y = self._fn(spec)(self._nc(spec, leaf), **kw)
        y.backward(self._nc(spec, self._leaf(gy, device)))
        return self._numpy(leaf.grad, x)

    def _forward_with_indices(self, spec, x, device):
        y, idx = self._run(spec, x, device, {**self._kwargs(spec, x), "return_indices": True})
        return y, idx

    def _unpool(self, spec, x, device):
        """F.max_unpool{n}d of the pooling's own output and indices, at the input's size."""
        kw = {**self._kwargs(spec, x), "return_indices": True}
        with torch.no_grad():
            t = self._nc(spec, self._leaf(x, device))
            y, idx = self._fn(spec)(t, **kw)
            size = tuple(t.shape[2:])
            kernel, stride, padding = unpool_window(tuple(y.shape[2:]), size)
            unpool = getattr(F, f"max_unpool{spec.ndim}d")
            out = unpool(y, idx, kernel_size=kernel, stride=stride, padding=padding, output_size=size)
        if spec.layout == "channels_last":
            out = out.movedim(1, -1)
        return self._numpy(out, x)

    def _snippet(self, spec, x, check):
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        if check == "indices":
            kw["return_indices"] = True
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        cl = spec.layout == "channels_last"
        lines = [
            "import torch",
            "import torch.nn.functional as F",
            "",
            "leaf = torch.from_numpy(x).to(getattr(torch, DTYPE))",
        ]
        if check == "grad":
            lines.append("leaf.requires_grad_(True)")
        lines.append(
            "t = leaf.movedim(-1, 1)  # NHWC data seen as NCHW: channels_last format" if cl else "t = leaf"
        )
        lines.append(f"y = {self._call_text(spec, args)}")
        if check == "grad":
            lines += [
                "g = torch.from_numpy(gy).to(y.dtype)",
                f"y.backward({'g.movedim(-1, 1)' if cl else 'g'})",
                "out = leaf.grad",
            ]
        elif check == "indices":
            lines[-1] = f"y, idx = {self._call_text(spec, args)}"
            lines.append(f"out = {'idx.movedim(1, -1)' if cl else 'idx'}")
        else:
            lines.append(f"out = {'y.movedim(1, -1)' if cl else 'y'}.detach()")
        lines.append("actual = (out.float() if out.dtype == torch.bfloat16 else out).numpy()")
        return lines

    def _call_text(self, spec, args: str) -> str:
        """The reproducer's pooling call on the tensor `t`."""
        return f"F.{spec.op}_pool{spec.ndim}d(t, {args})"  # adaptive_max_pool2d, ...

    def _forward_default_stride(self, spec, x, device):
        # Documented default: stride = kernel_size.
        return self._run(spec, x, device, self._kwargs(spec, x, with_stride=False))
