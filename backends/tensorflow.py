"""TensorFlow: tf.nn.max_pool / tf.nn.avg_pool (rank picks 1-, 2- or 3-D).

Native: "SAME" and "VALID" passed through (explicit all-zero padding is "VALID"), explicit
(before, after) paddings for max pooling, NWC/NHWC/NDHWC and NCW/NCHW/NCDHW data formats,
float dtypes, integer max. Not expressible: dilation, ceil_mode (where it changes the output),
count_include_pad (TF's SAME average always leaves padding out of the divisor: a finding, so
such cases run and are compared), divisor_override, "same_lower", default stride.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from conformance.backend import Backend
from conformance.errors import Unsupported
from conformance.spec import PoolSpec

_FORMATS = {
    ("channels_last", 1): "NWC", ("channels_last", 2): "NHWC", ("channels_last", 3): "NDHWC",
    ("channels_first", 1): "NCW", ("channels_first", 2): "NCHW", ("channels_first", 3): "NCDHW",
}


class TensorFlowBackend(Backend):
    name = "tensorflow"
    unsupported_errors = (
        r"is not in the list of allowed values",
        r"No OpKernel was registered",
        r"only supports N\w*C on device",
        r"Could not find device for node",
    )

    @property
    def version(self) -> str:
        return tf.__version__

    def devices(self) -> list[str]:
        return ["cpu", "gpu"] if tf.config.list_physical_devices("GPU") else ["cpu"]

    def _padding(self, spec: PoolSpec, x: np.ndarray):
        if spec.padding == "same_lower":
            raise Unsupported("tf.nn pooling has no SAME_LOWER padding (only SAME/VALID/explicit)")
        if isinstance(spec.padding, str):
            return spec.padding.upper()
        if all(lo == hi == 0 for lo, hi in spec.padding):
            return "VALID"
        if spec.op == "avg":
            raise Unsupported("tf.nn.avg_pool accepts only SAME/VALID padding")
        if spec.ndim == 3:
            raise Unsupported("tf.nn.max_pool3d accepts only SAME/VALID padding")
        pads = [list(p) for p in spec.padding]
        zero = [[0, 0]]
        return zero + pads + zero if spec.layout == "channels_last" else zero + zero + pads

    def _args(self, spec: PoolSpec, x: np.ndarray) -> dict:
        if any(d != 1 for d in spec.dilation):
            raise Unsupported(f"tf.nn.{spec.op}_pool has no dilation")
        self.moot_ceil_mode(spec, x, f"tf.nn.{spec.op}_pool")
        if spec.divisor_override is not None:
            raise Unsupported("tf.nn.avg_pool has no divisor_override")
        return dict(ksize=list(spec.kernel), strides=list(spec.stride),
                    padding=self._padding(spec, x),
                    data_format=_FORMATS[(spec.layout, spec.ndim)])

    def _fn(self, spec: PoolSpec):
        return tf.nn.max_pool if spec.op == "max" else tf.nn.avg_pool

    def _device(self, device: str):
        return tf.device("/GPU:0" if device == "gpu" else "/CPU:0")

    def _forward(self, spec, x, device):
        args = self._args(spec, x)
        with self._device(device):
            return self._fn(spec)(tf.constant(x), **args).numpy()

    def _vjp(self, spec, x, gy, device):
        args = self._args(spec, x)
        with self._device(device):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = self._fn(spec)(xt, **args)
            return tape.gradient(y, xt, output_gradients=tf.constant(gy)).numpy()

    def _snippet(self, spec, x, check):
        args = ", ".join(f"{k}={v!r}" for k, v in self._args(spec, x).items())
        call = f"tf.nn.{spec.op}_pool(xt, {args})"
        lines = ["import tensorflow as tf", "", "xt = tf.cast(tf.constant(x), DTYPE)"]
        if check == "grad":
            lines += ["with tf.GradientTape() as tape:", "    tape.watch(xt)", f"    y = {call}",
                      "out = tape.gradient(y, xt, output_gradients=tf.cast(tf.constant(gy), DTYPE))"]
        else:
            lines.append(f"out = {call}")
        lines.append("actual = (tf.cast(out, tf.float32) if DTYPE == 'bfloat16' else out).numpy()")
        return lines

    def _forward_default_stride(self, spec, x, device):
        raise Unsupported(f"tf.nn.{spec.op}_pool has no default stride: `strides` is required")
