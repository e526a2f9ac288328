"""Keras 3 pooling layers (MaxPooling/AveragePooling 1D/2D/3D, AdaptiveMax/AveragePooling
1D/2D/3D, GlobalMax/AveragePooling 1D/2D/3D) on one Keras backend each: `keras-tensorflow`,
`keras-jax`, `keras-torch`. Adaptive specs of output size 1 use the Global layers
(keepdims=True), so those APIs are the ones checked; other output sizes the Adaptive layers,
where the installed Keras has them.

Keras picks its backend once per process, at import (KERAS_BACKEND), so these targets import
Keras when they are first used, not at module top, and each runs in a worker process of its own
(registry.Target.own_process); in one process only the first Keras backend loads and the others
say why they are unavailable. Native: pool_size, strides (and their omission: the documented
default is pool_size), "valid" and "same" padding (explicit all-zero padding is "valid"), both
data formats, the layer's dtype set to the input's. Not expressible: explicit padding, dilation,
ceil_mode (where it changes the output), count_include_pad (Keras has no such option: what its
"same" average divides by is a finding), divisor_override, "same_lower". Gradients through each
backend's own autodiff.
"""

from __future__ import annotations

import os
import sys
from typing import ClassVar

import numpy as np

from conformance import ops
from conformance.backend import Backend
from conformance.devices import Device
from conformance.dtypes import name_of
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

_LAYERS = {
    ops.MAX.name: "MaxPooling{n}D",
    ops.AVG.name: "AveragePooling{n}D",
    ops.ADAPTIVE_MAX.name: "AdaptiveMaxPooling{n}D",
    ops.ADAPTIVE_AVG.name: "AdaptiveAveragePooling{n}D",
}
_GLOBAL_LAYERS = {
    ops.ADAPTIVE_MAX.name: "GlobalMaxPooling{n}D",
    ops.ADAPTIVE_AVG.name: "GlobalAveragePooling{n}D",
}


def _import_keras(wanted: str):
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = wanted
    import keras  # noqa: PLC0415 (lazy: KERAS_BACKEND must be set before keras loads)

    loaded = keras.backend.backend()
    if loaded != wanted:
        raise ImportError(
            f"Keras is already loaded with the {loaded} backend in this process "
            f"(one Keras backend per process: run keras-{wanted} isolated)"
        )
    return keras


class KerasBackend(Backend):
    keras_backend: ClassVar[str] = ""
    unsupported_errors = (
        r"not implemented for",
        r"Unsupported dtype",
        r"No OpKernel",
        r"only supports N\w*C on device",
        r"Could not find device",
        r"not in (the )?list of allowed values",
    )
    default_stride = "kernel"
    default_stride_api = "keras.layers.MaxPooling{n}D / AveragePooling{n}D(pool_size) (strides=None)"
    no_adaptive = None  # the Adaptive* and Global* layers

    def __init__(self):
        self.keras = _import_keras(self.keras_backend)

    @property
    def version(self) -> str:
        return self.keras.__version__

    def _adaptive_layer(self, spec: PoolSpec, x: np.ndarray):
        kw = dict(data_format=spec.layout)
        if spec.is_global:
            name, kw["keepdims"] = _GLOBAL_LAYERS[spec.op].format(n=spec.ndim), True
        else:
            name, kw["output_size"] = _LAYERS[spec.op].format(n=spec.ndim), tuple(spec.output_size)
        if not hasattr(self.keras.layers, name):
            raise Unsupported(f"Keras {self.keras.__version__} has no keras.layers.{name}")
        if x.dtype.kind == "f" or x.dtype.name == "bfloat16":
            kw["dtype"] = name_of(x.dtype)
        return getattr(self.keras.layers, name)(**kw), kw

    def _layer(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True):
        if spec.kind.adaptive:
            return self._adaptive_layer(spec, x)
        if any(d != 1 for d in spec.dilation):
            raise Unsupported("Keras pooling layers have no dilation")
        if spec.divisor_override is not None:
            raise Unsupported("Keras pooling layers have no divisor_override")
        if spec.padding == "same_lower":
            raise Unsupported("Keras pooling layers have no SAME_LOWER padding")
        if isinstance(spec.padding, str):
            padding = spec.padding
        elif all(lo == hi == 0 for lo, hi in spec.padding):
            padding = "valid"
        else:
            raise Unsupported("Keras pooling layers take 'valid' or 'same' padding only")
        self.moot_ceil_mode(spec, x, "Keras pooling layers")
        cls = getattr(self.keras.layers, _LAYERS[spec.op].format(n=spec.ndim))
        kw = dict(pool_size=tuple(spec.kernel), padding=padding, data_format=spec.layout)
        if x.dtype.kind == "f" or x.dtype.name == "bfloat16":  # int names mean quantization
            kw["dtype"] = name_of(x.dtype)  # so float64 is not autocast to float32
        if with_stride:
            kw["strides"] = tuple(spec.stride)
        return cls(**kw), kw

    def _numpy(self, tensor, like: np.ndarray) -> np.ndarray:
        out = self.keras.ops.convert_to_numpy(tensor)
        return out.astype(like.dtype) if out.dtype != like.dtype else out

    def _forward(self, spec, x, device):
        layer, _ = self._layer(spec, x)
        return self._numpy(layer(self._tensor(x, device)), x)

    def _forward_default_stride(self, spec, x, device):
        layer, _ = self._layer(spec, x, with_stride=False)
        return self._numpy(layer(self._tensor(x, device)), x)

    def _tensor(self, a: np.ndarray, device: str):
        if device != Device.CPU:
            raise Unsupported(f"{self.name} runs on CPU here")
        return self.keras.ops.convert_to_tensor(a, dtype=name_of(a.dtype))

    def _snippet(self, spec, x, check):
        layer, kw = self._layer(spec, x, with_stride=check != "default_stride")
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        lines = [
            "import os",
            f"os.environ['KERAS_BACKEND'] = {self.keras_backend!r}",
            "import keras",
            "",
            f"layer = keras.layers.{type(layer).__name__}({args})",
            "xk = keras.ops.convert_to_tensor(x.astype(np.float32) if DTYPE == 'bfloat16' "
            "else x, dtype=DTYPE)",
        ]
        if check == "grad":
            lines += ["gk = keras.ops.convert_to_tensor(gy, dtype=DTYPE)", *self._grad_lines()]
        else:
            lines.append("out = layer(xk)")
        lines.append(
            "actual = keras.ops.convert_to_numpy(keras.ops.cast(out, 'float32') "
            "if DTYPE == 'bfloat16' else out)"
        )
        return lines

    def _grad_lines(self) -> list[str]:
        """Reproducer lines: the gradient of layer(xk) with cotangent gk into `out`."""
        raise NotImplementedError


class KerasTensorFlowBackend(KerasBackend):
    name = "keras-tensorflow"
    keras_backend = "tensorflow"

    def _grad_lines(self):
        return [
            "import tensorflow as tf",
            "with tf.GradientTape() as tape:",
            "    tape.watch(xk)",
            "    y = layer(xk)",
            "out = tape.gradient(y, xk, output_gradients=gk)",
        ]

    def _vjp(self, spec, x, gy, device):
        import tensorflow as tf  # noqa: PLC0415 (lazy: only the TensorFlow-backed Keras target loads TF)

        layer, _ = self._layer(spec, x)
        xt = self._tensor(x, device)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt)
        return self._numpy(tape.gradient(y, xt, output_gradients=self._tensor(gy, device)), x)


class KerasJaxBackend(KerasBackend):
    name = "keras-jax"
    keras_backend = "jax"

    def __init__(self):
        import backends.jax  # noqa: F401, PLC0415 (lazy: only the JAX-backed Keras target loads JAX; x64, compilation cache)

        super().__init__()

    def _grad_lines(self):
        return ["import jax", "y, pullback = jax.vjp(layer, xk)", "out = pullback(gk)[0]"]

    def _vjp(self, spec, x, gy, device):
        import jax  # noqa: PLC0415 (lazy: only the JAX-backed Keras target loads JAX)

        layer, _ = self._layer(spec, x)
        _, pullback = jax.vjp(layer, self._tensor(x, device))
        return self._numpy(pullback(self._tensor(gy, device))[0], x)


class KerasTorchBackend(KerasBackend):
    name = "keras-torch"
    keras_backend = "torch"

    def _grad_lines(self):
        return ["xk.requires_grad_(True)", "layer(xk).backward(gk)", "out = xk.grad"]

    def _vjp(self, spec, x, gy, device):
        layer, _ = self._layer(spec, x)
        xt = self._tensor(x, device)
        xt.requires_grad_(True)
        y = layer(xt)
        y.backward(self._tensor(gy, device))
        return self._numpy(xt.grad, x)
