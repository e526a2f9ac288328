"""PaddlePaddle: paddle.nn.functional.max_pool{1,2,3}d / avg_pool{1,2,3}d, adaptive_max_pool{1,2,3}d
/ adaptive_avg_pool{1,2,3}d (global pooling is adaptive pooling to size 1), max pooling's
`return_mask=True` and F.max_unpool{1,2,3}d, in dynamic-graph (eager) mode.

Native: stride (and its omission: stride = kernel_size, documented), integer padding per side
(symmetric or not) and the strings "SAME" / "VALID", ceil_mode, `exclusive` (= not
count_include_pad), divisor_override (2-D and 3-D avg), data_format NHWC / NDHWC for the 2-D and
3-D fixed pools and adaptive average pools. Not native: dilation (no argument), SAME_LOWER, a
channels-last layout for the 1-D pools and adaptive max pooling (no data_format argument): those
are `unsupported` with the reason, not transposed here (a user's model would transpose itself).

One guard: paddle's mask kernel (max pooling with return_mask, and every adaptive max pool)
starts each window at float32's lowest value and picks an element only when it is greater, so a
window of NaN, -inf or padding only picks none (output -3.4e38, mask -1). Adaptive max pooling's
backward and F.max_unpool then write at index -1, out of bounds: the heap is corrupted ("double
free or corruption", "malloc(): invalid next size") and the process hangs or dies later, in an
unrelated call. The target does not make those calls where the mask holds -1; it raises an error
saying why instead (a finding, tracked in backends/known/paddle.toml), so one case costs one
result, not a worker and a 300 s timeout. (The plain max kernel's backward was checked under
MALLOC_CHECK_=3 and writes nothing out of bounds.)
"""

from __future__ import annotations

import sys

import numpy as np

if "tensorflow" in sys.modules:  # checked before the import, which would kill the process
    raise ImportError(
        "paddle cannot be imported in a process where tensorflow is loaded already (libpaddle "
        "segfaults); the paddle target runs in a process of its own (conformance run, pytest)"
    )

import paddle
import paddle.nn.functional as F

from backends.unpool_window import unpool_window
from conformance.backend import Backend
from conformance.devices import Device, available
from conformance.dtypes import name_of
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

_CHANNELS_LAST = {2: "NHWC", 3: "NDHWC"}
_CHANNELS_FIRST = {1: "NCL", 2: "NCHW", 3: "NCDHW"}


class PaddleBackend(Backend):
    name = "paddle"
    default_stride = "kernel"
    default_stride_api = "F.max_pool{n}d / F.avg_pool{n}d(x, k) (stride=None)"
    unsupported_errors = (
        r"kernel \w+ is not registered",
        r"The kernel with key .* is not registered",
        r"not support(ed)? (the )?(data ?type|dtype)",
        r"(?i)data type of .* must be one of",
        r"When setting return_mask to true, data_format must be set to",
        r'When Attr\(padding\) is "VALID", Attr\(ceil_mode\) must be False',
        r"Paddings size \d+ and pooling size \d+ should be the same",
    )
    no_adaptive = None  # F.adaptive_*_pool{n}d
    snippet_checks = ("forward", "grad", "default_stride", "indices")

    @property
    def version(self) -> str:
        return paddle.__version__

    def devices(self) -> list[str]:
        return available(paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0)

    # ---- translation ------------------------------------------------------------------------
    def _fn_name(self, spec: PoolSpec) -> str:
        return f"{spec.op}_pool{spec.ndim}d"  # adaptive_max_pool2d, ...

    def _data_format(self, spec: PoolSpec) -> dict:
        """data_format where the function takes one; channels-last elsewhere is unsupported."""
        takes = spec.ndim > 1 and spec.op != "adaptive_max"
        if spec.layout == "channels_last":
            if not takes:
                raise Unsupported(
                    f"paddle's F.{self._fn_name(spec)} has no data_format (channels-first inputs only)"
                )
            return {"data_format": _CHANNELS_LAST[spec.ndim]}
        return {"data_format": _CHANNELS_FIRST[spec.ndim]} if takes else {}

    def _kwargs(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True) -> dict:
        nd, name = spec.ndim, self._fn_name(spec)
        fmt = self._data_format(spec)
        if spec.kind.adaptive:
            return dict(output_size=spec.output_size, **fmt)
        if any(d != 1 for d in spec.dilation):
            raise Unsupported(f"paddle's F.{name} has no dilation")
        if isinstance(spec.padding, str):
            if spec.padding not in ("same", "valid"):
                raise Unsupported(f"paddle pooling has no '{spec.padding}' padding (SAME, VALID or integers)")
            padding = spec.padding.upper()
        else:
            pads = spec.explicit_pads(x.shape)
            symmetric = all(lo == hi for lo, hi in pads)
            padding = [lo for lo, _ in pads] if symmetric else [p for pair in pads for p in pair]
        kw = dict(kernel_size=list(spec.kernel), padding=padding, ceil_mode=spec.ceil_mode, **fmt)
        if with_stride:
            kw["stride"] = list(spec.stride)
        if spec.kind.selects:
            return kw
        kw["exclusive"] = not spec.count_include_pad
        if spec.divisor_override is not None:
            if nd == 1:
                raise Unsupported("paddle's F.avg_pool1d has no divisor_override")
            kw["divisor_override"] = spec.divisor_override
        return kw

    def _tensor(self, a: np.ndarray, device: str, grad: bool = False):
        place = paddle.CUDAPlace(0) if device == Device.GPU else paddle.CPUPlace()
        name = name_of(a.dtype)
        src = a.astype(np.float32) if name == "bfloat16" else a  # carried as float32, cast in paddle
        t = paddle.to_tensor(np.ascontiguousarray(src), place=place)
        if name == "bfloat16":
            t = t.astype("bfloat16")
        t.stop_gradient = not grad
        return t

    @staticmethod
    def _numpy(t, like: np.ndarray) -> np.ndarray:
        if t.dtype == paddle.bfloat16:
            return t.astype("float32").numpy().astype(like.dtype)
        return t.numpy()

    def _run(self, spec, x, device, kw):
        out = getattr(F, self._fn_name(spec))(self._tensor(x, device), **kw)
        if isinstance(out, tuple | list):
            return tuple(self._numpy(t, x) for t in out)
        return self._numpy(out, x)

    # ---- calls ------------------------------------------------------------------------------
    def _forward(self, spec, x, device):
        with paddle.no_grad():
            return self._run(spec, x, device, self._kwargs(spec, x))

    @staticmethod
    def _refuse_unpicked_windows(idx: np.ndarray, call: str) -> None:
        """Raise (an error, not unsupported) where the mask says a window picked no element:
        `call` would write at index -1 and corrupt the heap (module docstring)."""
        unpicked = int(np.count_nonzero(np.asarray(idx) < 0))
        if unpicked:
            raise RuntimeError(
                f"paddle's mask is -1 for {unpicked} window(s) of NaN, -inf or padding only (no "
                f"element picked; output -3.4e38): {call} would write at index -1, out of bounds "
                "(heap corruption seen: 'double free or corruption'), so it is not called"
            )

    def _vjp(self, spec, x, gy, device):
        if spec.op == "adaptive_max":  # computed by the mask kernel, backward through the mask
            self._refuse_unpicked_windows(self._forward_with_indices(spec, x, device)[1], "its backward")
        leaf = self._tensor(x, device, grad=True)
        y = getattr(F, self._fn_name(spec))(leaf, **self._kwargs(spec, x))
        (g,) = paddle.grad([y], [leaf], grad_outputs=[self._tensor(gy, device)])
        return self._numpy(g, x)

    def _forward_with_indices(self, spec, x, device):
        with paddle.no_grad():
            y, idx = self._run(spec, x, device, {**self._kwargs(spec, x), "return_mask": True})
        return y, idx

    def _unpool(self, spec, x, device):
        """F.max_unpool{n}d of the pooling's own output and mask, at the input's size."""
        kw = {**self._kwargs(spec, x), "return_mask": True}
        spatial = list(x.shape[2:] if spec.layout == "channels_first" else x.shape[1:-1])
        with paddle.no_grad():
            y, idx = getattr(F, self._fn_name(spec))(self._tensor(x, device), **kw)
            pooled = y.shape[2:] if spec.layout == "channels_first" else y.shape[1:-1]
            self._refuse_unpicked_windows(idx.numpy(), "F.max_unpool")
            kernel, stride, padding = unpool_window(tuple(pooled), tuple(spatial))
            unpool = getattr(F, f"max_unpool{spec.ndim}d")
            fmt = {"data_format": kw["data_format"]} if "data_format" in kw else {}
            # no output_size: unpool_window's default is the input size already, and
            # F.max_unpool1d rejects a valid one ('invalid output_size "[7, 1]" (dim 0 must be
            # between 0 and 2)': it checks the size it padded to 2-D against the 1-D bounds)
            out = unpool(y, idx, kernel_size=kernel, stride=stride, padding=padding, **fmt)
        return self._numpy(out, x)

    def _forward_default_stride(self, spec, x, device):
        # Documented default: stride = kernel_size ("stride: default None, then kernel_size").
        with paddle.no_grad():
            return self._run(spec, x, device, self._kwargs(spec, x, with_stride=False))

    def _snippet(self, spec, x, check):
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        if check == "indices":
            kw["return_mask"] = True
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        call = f"F.{self._fn_name(spec)}(t, {args})"
        lines = [
            "import paddle",
            "import paddle.nn.functional as F",
            "",
            "t = paddle.to_tensor(x).astype(DTYPE)",
        ]
        if check == "grad":
            lines += [
                "t.stop_gradient = False",
                f"y = {call}",
                "(g,) = paddle.grad([y], [t], grad_outputs=[paddle.to_tensor(gy).astype(y.dtype)])",
                "out = g",
            ]
        elif check == "indices":
            lines += [f"y, idx = {call}", "out = idx"]
        else:
            lines += [f"out = {call}"]
        lines.append("actual = (out.astype('float32') if out.dtype == paddle.bfloat16 else out).numpy()")
        return lines
