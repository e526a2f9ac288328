"""MLX: mlx.nn.MaxPool{1,2,3}d / AvgPool{1,2,3}d on MLX's CPU device (the `mlx[cpu]` build on
Linux; on Apple silicon the same layers run on the GPU where it is the default device).

MLX pools (batch, spatial..., channels) arrays: channels-last only. Native: stride (and its
omission: stride = kernel_size, documented), symmetric integer padding (max pads with -inf, the
average counts the padding: count_include_pad=True), every float dtype MLX has and integers.
Not expressible: channels-first inputs, asymmetric padding, SAME/SAME_LOWER, dilation, ceil_mode
(where it changes the output), count_include_pad=False over padding, divisor_override, adaptive
pooling, indices. Gradients through `mx.vjp`, as an MLX training step computes them. The layers
are pure Python over `mx.pad`, `as_strided` and `mx.max` / `mx.mean`: what is under test is
that composition and MLX's reductions.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from conformance.backend import Backend
from conformance.dtypes import name_of
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

_DTYPES = {
    "float16": mx.float16,
    "bfloat16": mx.bfloat16,
    "float32": mx.float32,
    "float64": mx.float64,
    "int8": mx.int8,
    "uint8": mx.uint8,
    "int32": mx.int32,
    "int64": mx.int64,
}


class MlxBackend(Backend):
    name = "mlx"
    no_adaptive = "MLX has no adaptive pooling (mlx.nn pools take a fixed window)"
    unsupported_errors = (r"not supported for", r"(?i)unsupported (d)?type", r"float64 is not supported")
    default_stride = "kernel"
    default_stride_api = "mlx.nn.MaxPool{n}d / AvgPool{n}d(kernel_size) (stride=None)"

    @property
    def version(self) -> str:
        return mx.__version__

    def _layer(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True) -> nn.Module:
        if spec.layout != "channels_last":
            raise Unsupported("mlx.nn pooling takes channels-last (batch, spatial..., channels) inputs only")
        if any(d != 1 for d in spec.dilation):
            raise Unsupported("mlx.nn pooling has no dilation")
        if spec.divisor_override is not None:
            raise Unsupported("mlx.nn.AvgPool has no divisor_override")
        if isinstance(spec.padding, str) and spec.padding != "valid":
            raise Unsupported(f"mlx.nn pooling has no '{spec.padding}' padding (symmetric integers only)")
        self.moot_ceil_mode(spec, x, "mlx.nn pooling")
        pads = spec.explicit_pads(x.shape)
        if any(lo != hi for lo, hi in pads):
            raise Unsupported("mlx.nn pooling takes symmetric padding only (one int per dim)")
        padding = tuple(lo for lo, _ in pads)
        if spec.kind.averages and any(padding) and not spec.count_include_pad:
            raise Unsupported("mlx.nn.AvgPool counts the padding (no count_include_pad=False)")
        cls = getattr(nn, f"{'Max' if spec.kind.selects else 'Avg'}Pool{spec.ndim}d")
        stride = tuple(spec.stride) if with_stride else None
        return cls(kernel_size=tuple(spec.kernel), stride=stride, padding=padding)

    @staticmethod
    def _array(a: np.ndarray):
        name = name_of(a.dtype)
        if name == "bfloat16":  # carried as float32
            return mx.array(np.ascontiguousarray(a.astype(np.float32))).astype(mx.bfloat16)
        # the dtype given: mx.array(float64 ndarray) alone makes a float32 array
        return mx.array(np.ascontiguousarray(a), dtype=_DTYPES[name])

    @staticmethod
    def _numpy(t, like: np.ndarray) -> np.ndarray:
        mx.eval(t)
        if t.dtype == mx.bfloat16:
            return np.array(t.astype(mx.float32)).astype(like.dtype)
        return np.array(t)

    def _forward(self, spec, x, device):
        return self._numpy(self._layer(spec, x)(self._array(x)), x)

    def _vjp(self, spec, x, gy, device):
        layer = self._layer(spec, x)
        _, (g,) = mx.vjp(lambda a: layer(a), [self._array(x)], [self._array(gy)])
        return self._numpy(g, x)

    def _forward_default_stride(self, spec, x, device):
        return self._numpy(self._layer(spec, x, with_stride=False)(self._array(x)), x)

    def _snippet(self, spec, x, check):
        layer = self._layer(spec, x, with_stride=check != "default_stride")
        cls = type(layer).__name__
        stride = "" if check == "default_stride" else f", stride={tuple(spec.stride)!r}"
        padding = tuple(lo for lo, _ in spec.explicit_pads(x.shape))
        lines = [
            "import mlx.core as mx",
            "import mlx.nn as nn",
            "",
            f"layer = nn.{cls}(kernel_size={tuple(spec.kernel)!r}{stride}, padding={padding!r})",
            "xm = mx.array(x.astype('float32') if DTYPE == 'bfloat16' else x).astype(getattr(mx, DTYPE))",
        ]
        if check == "grad":
            lines += [
                "g = mx.array(gy.astype('float32') if DTYPE == 'bfloat16' else gy)",
                "g = g.astype(getattr(mx, DTYPE))",
                "_, (out,) = mx.vjp(layer, [xm], [g])",
            ]
        else:
            lines.append("out = layer(xm)")
        lines.append("actual = np.array(out.astype(mx.float32) if DTYPE == 'bfloat16' else out)")
        return lines
