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

from conformance.backend import Backend, agreed_positions
from conformance.devices import Device, available
from conformance.errors import Unsupported
from conformance.spec import PoolSpec, replace

_FORMATS = {
    ("channels_last", 1): "NWC",
    ("channels_last", 2): "NHWC",
    ("channels_last", 3): "NDHWC",
    ("channels_first", 1): "NCW",
    ("channels_first", 2): "NCHW",
    ("channels_first", 3): "NCDHW",
}


def _numpy(out):
    """A tensor, or a tuple of them (max_pool_with_argmax), as NumPy."""
    if isinstance(out, (tuple, list)):
        return tuple(t.numpy() for t in out)
    return out.numpy()


class TensorFlowBackend(Backend):
    name = "tensorflow"
    default_stride = "1"
    default_stride_api = "tf.nn.pool(x, window_shape, pooling_type) (strides omitted)"
    no_adaptive = (
        "TensorFlow has no adaptive pooling (tf.nn); global pooling is written as "
        "reduce_max/reduce_mean, not a pooling API (Keras' Global layers: keras-*)"
    )
    unsupported_errors = (
        r"not in (the )?list of allowed values",
        r"No OpKernel was registered",
        r"only supports N\w*C on device",
        r"Could not find device for node",
    )

    @property
    def version(self) -> str:
        return tf.__version__

    def devices(self) -> list[str]:
        return available(bool(tf.config.list_physical_devices("GPU")))

    def _padding(self, spec: PoolSpec, x: np.ndarray):
        if spec.padding == "same_lower":
            raise Unsupported("tf.nn pooling has no SAME_LOWER padding (only SAME/VALID/explicit)")
        if isinstance(spec.padding, str):
            return spec.padding.upper()
        if all(lo == hi == 0 for lo, hi in spec.padding):
            return "VALID"
        if spec.kind.averages:
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
        return dict(
            ksize=list(spec.kernel),
            strides=list(spec.stride),
            padding=self._padding(spec, x),
            data_format=_FORMATS[(spec.layout, spec.ndim)],
        )

    def _fn(self, spec: PoolSpec):
        return tf.nn.max_pool if spec.kind.selects else tf.nn.avg_pool

    def _device(self, device: str):
        return tf.device("/GPU:0" if device == Device.GPU else "/CPU:0")

    def _run(self, fn, *arrays):
        """Call `fn` on the arrays as tensors: eagerly here; the tf.function modes override it."""
        return _numpy(fn(*(tf.constant(a) for a in arrays)))

    def _forward(self, spec, x, device):
        args, pool = self._args(spec, x), self._fn(spec)
        with self._device(device):
            return self._run(lambda xt: pool(xt, **args), x)

    def _vjp(self, spec, x, gy, device):
        args, pool = self._args(spec, x), self._fn(spec)

        def gradient(xt, gyt):
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = pool(xt, **args)
            return tape.gradient(y, xt, output_gradients=gyt)

        with self._device(device):
            return self._run(gradient, x, gy)

    def _forward_with_indices(self, spec, x, device):
        """tf.nn.max_pool_with_argmax (2-D, NHWC, SAME/VALID padding) with
        include_batch_in_index False and True, each converted from its documented flattening
        ((y * W + x) * C + c, with b * H * W * C added when the batch is included) to plane
        positions, combined by `agreed_positions` (-2 where they disagree)."""
        if spec.ndim != 2:
            raise Unsupported("tf.nn.max_pool_with_argmax is 2-D only")
        args = self._args(spec, x)
        if not isinstance(args["padding"], str):
            raise Unsupported("tf.nn.max_pool_with_argmax takes SAME/VALID padding only")
        nhwc = x if spec.layout == "channels_last" else np.ascontiguousarray(np.moveaxis(x, 1, -1))
        _, h, w, c = nhwc.shape
        converted = []
        with self._device(device):
            for batch in (False, True):
                y, arg = self._run(
                    lambda xt, batch=batch: tf.nn.max_pool_with_argmax(
                        xt,
                        args["ksize"],
                        args["strides"],
                        args["padding"],
                        data_format="NHWC",
                        output_dtype=tf.int64,
                        include_batch_in_index=batch,
                    ),
                    nhwc,
                )
                b = np.arange(arg.shape[0]).reshape(-1, 1, 1, 1) * (h * w * c if batch else 0)
                channel = np.arange(c).reshape(1, 1, 1, -1)
                offset = arg.astype(np.int64) - b - channel
                # an index of another channel cannot be a position in this plane: -1
                converted.append(np.where(offset % c == 0, offset // c, -1))
        plane = agreed_positions(*converted)
        if spec.layout == "channels_first":
            y, plane = np.moveaxis(y, -1, 1), np.moveaxis(plane, -1, 1)
        return np.ascontiguousarray(y), np.ascontiguousarray(plane)

    snippet_wrap = "{f}"  # how the reproducer calls its function f (modes: tf.function)

    def _snippet(self, spec, x, check):
        args = ", ".join(f"{k}={v!r}" for k, v in self._args(spec, x).items())
        call = f"tf.nn.{spec.op}_pool(xt, {args})"
        if check == "default_stride":  # the strides argument left out: tf.nn.pool
            at_one = self._args(replace(spec, stride=(1,) * spec.ndim), x)
            call = (
                f"tf.nn.pool(xt, window_shape={list(spec.kernel)!r}, pooling_type="
                f"{'MAX' if spec.kind.selects else 'AVG'!r}, padding={at_one['padding']!r}, "
                f"data_format={at_one['data_format']!r})"
            )
        lines = ["import tensorflow as tf", ""]
        if check == "grad":
            lines += [
                "def f(xt, gyt):",
                "    with tf.GradientTape() as tape:",
                "        tape.watch(xt)",
                f"        y = {call}",
                "    return tape.gradient(y, xt, output_gradients=gyt)",
                "",
                f"out = {self.snippet_wrap.format(f='f')}(tf.cast(tf.constant(x), DTYPE), "
                f"tf.cast(tf.constant(gy), DTYPE))",
            ]
        else:
            lines += [
                f"f = lambda xt: {call}",
                f"out = {self.snippet_wrap.format(f='f')}(tf.cast(tf.constant(x), DTYPE))",
            ]
        lines.append("actual = (tf.cast(out, tf.float32) if DTYPE == 'bfloat16' else out).numpy()")
        return lines

    def _forward_default_stride(self, spec, x, device):
        # tf.nn.max_pool/avg_pool require strides; tf.nn.pool documents strides=[1]*N.
        args = self._args(replace(spec, stride=(1,) * spec.ndim), x)
        if not isinstance(args["padding"], str):
            raise Unsupported("tf.nn.pool takes SAME/VALID padding only")
        kind = "MAX" if spec.kind.selects else "AVG"
        with self._device(device):
            return self._run(
                lambda xt: tf.nn.pool(
                    xt,
                    window_shape=list(spec.kernel),
                    pooling_type=kind,
                    padding=args["padding"],
                    data_format=args["data_format"],
                ),
                x,
            )
