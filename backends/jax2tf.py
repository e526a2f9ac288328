"""jax2tf: the `jax` target's lax.reduce_window call converted to a TensorFlow function
(`jax.experimental.jax2tf.convert`, native serialization: the JAX program travels as StableHLO
inside an `XlaCallModule` op) and run by TensorFlow, the road a JAX model takes to a SavedModel
or a TF serving stack (DESIGN.md §6 `jax2tf`; issue 23).

Forward and gradient: the gradient is TensorFlow's, taken with a GradientTape through the
converted function (jax2tf attaches the JAX vjp as the op's custom gradient), as a TF training
or fine-tuning step would take it. The call itself is the `jax` target's (same translation:
`JaxBackend`), so a result that differs from `jax` is the converter's doing; the report's
"eager vs modes" table puts them side by side. The `resized` check converts with symbolic
spatial dims (`polymorphic_shapes`) and runs the TF function at twice the size.

TensorFlow runs on its CPU device here: the converted program is compiled by the XLA inside
TensorFlow, not by jaxlib.

Known divergences: backends/known/jax2tf.toml (TensorFlow's XLA is not jaxlib's: NaN in max,
subnormal flushes, signed zeros).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from jax.experimental import jax2tf

from backends.jax import JaxBackend
from conformance.devices import Device
from conformance.errors import Unsupported


class Jax2TfBackend(JaxBackend):
    name = "jax2tf"
    checks = ("forward", "grad", "default_stride", "error_parity", "resized")
    snippet_checks = ("forward",)
    default_stride_api = "jax2tf.convert(lax.reduce_window) (window_strides required)"
    unsupported_errors = (*JaxBackend.unsupported_errors, r"is not supported by TensorFlow", r"No OpKernel")

    @property
    def version(self) -> str:
        return f"{super().version} (jax2tf, tensorflow {tf.__version__})"

    @staticmethod
    def _constant(value, dtype):
        """A NumPy constant: with the `jax` target's `jnp.array` init values, jax2tf's gradient
        fails ("Linearization failed to produce known values for all output primals") where
        jax.vjp differentiates the same function; a NumPy (or Python) init value, as Flax and
        Keras write it, converts and differentiates. Noticed by the suite; the values are the
        same constant."""
        return np.array(value, dtype)

    def devices(self) -> list[str]:
        return [Device.CPU]

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {
            "converter": f"jax.experimental.jax2tf.convert (native serialization) jax {super().version}",
            "runtime": f"tensorflow {tf.__version__} (XlaCallModule, CPU)",
        }

    def _snippet(self, spec, x, check):
        """The `jax` target's pool function, converted and run in TensorFlow."""
        lines = super()._snippet(spec, x, check)
        pool_end = next(i for i, line in enumerate(lines) if line.startswith("xj = "))
        return [
            *lines[:pool_end],
            "import tensorflow as tf",
            "from jax.experimental import jax2tf",
            "",
            "converted = tf.function(jax2tf.convert(pool), autograph=False)",
            "out = converted(tf.constant(np.asarray(jnp.asarray(x).astype(DTYPE))))",
            "actual = np.asarray(out.numpy().astype(np.float32) if DTYPE == 'bfloat16' else out.numpy())",
        ]

    def _converted(self, spec, x: np.ndarray, polymorphic: bool = False):
        """The TF function of this call; with `polymorphic`, for any spatial size."""
        args = self._window_args(spec, x)
        shapes = None
        if polymorphic:
            dims = [f"d{i}" if self._spatial(spec, i, x.ndim) else str(n) for i, n in enumerate(x.shape)]
            shapes = [f"({', '.join(dims)})"]
        converted = jax2tf.convert(lambda a: self._pool(spec, a, args), polymorphic_shapes=shapes)
        return tf.function(converted, autograph=False, reduce_retracing=False)

    @staticmethod
    def _spatial(spec, axis: int, ndim: int) -> bool:
        return axis >= 2 if spec.layout == "channels_first" else 1 <= axis < ndim - 1

    @staticmethod
    def _tensor(x: np.ndarray) -> tf.Tensor:
        return tf.constant(x)

    def _forward(self, spec, x, device):
        self._check_device(device)
        with tf.device("/CPU:0"):
            return self._converted(spec, x)(self._tensor(x)).numpy()

    def _vjp(self, spec, x, gy, device):
        self._check_device(device)
        if x.dtype.kind in "iu":
            raise Unsupported("jax2tf: no gradient of an integer input")
        function = self._converted(spec, x)
        with tf.device("/CPU:0"):
            xt = self._tensor(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = function(xt)
            return tape.gradient(y, xt, output_gradients=self._tensor(gy)).numpy()

    def _forward_resized(self, spec, x, second, device):
        self._check_device(device)
        self._window_args(spec, second)  # what reduce_window cannot express there is Unsupported
        function = self._converted(spec, x, polymorphic=True)
        with tf.device("/CPU:0"):
            function(self._tensor(x))  # the size it was converted at, then the other
            return function(self._tensor(second)).numpy()
