"""The `tensorflow` target's calls inside tf.function: a graph (`tensorflow-graph`) and an XLA
cluster (`tensorflow-xla`, jit_compile=True). Gradients come from a GradientTape inside the
function, as a training step would compute them. Each call traces a fresh function, so what
runs is exactly the graph (or XLA program) of this one call. The invariant and determinism
checks are left to the eager sibling.
"""

from __future__ import annotations

import tensorflow as tf

from backends.tensorflow import TensorFlowBackend, _numpy
from conformance.errors import Unsupported


class TensorFlowGraphBackend(TensorFlowBackend):
    name = "tensorflow-graph"
    jit_compile = False
    checks = ("forward", "grad", "default_stride", "error_parity", "indices", "resized")
    default_stride_api = "tf.function(tf.nn.pool(x, window_shape, pooling_type)) (strides omitted)"

    @property
    def snippet_wrap(self) -> str:
        return f"tf.function({{f}}, jit_compile={self.jit_compile})"

    def _run(self, fn, *arrays):
        function = tf.function(fn, jit_compile=self.jit_compile, reduce_retracing=False)
        return _numpy(function(*(tf.constant(a) for a in arrays)))

    def _forward_resized(self, spec, x, second, device):
        """One tf.function traced once for inputs of unknown spatial size (an input signature
        of None dims, as a SavedModel serving signature has), called at x's size, then at
        `second`'s: the graph (or XLA program) must not depend on the size it first saw."""
        args, pool = self._args(spec, x), self._fn(spec)
        self._args(spec, second)  # what tf.nn cannot express at the second size is Unsupported
        first = tf.constant(x)
        signature = [tf.TensorSpec([None] * x.ndim, first.dtype)]
        function = tf.function(
            lambda xt: pool(xt, **args), input_signature=signature, jit_compile=self.jit_compile
        )
        with self._device(device):
            function(first)
            out = _numpy(function(tf.constant(second)))
        traces = function.experimental_get_tracing_count()
        if traces != 1:  # not one dynamic-shape trace: the check would test nothing
            raise RuntimeError(f"traced {traces} times for one input signature")
        return out


class TensorFlowXlaBackend(TensorFlowGraphBackend):
    name = "tensorflow-xla"
    jit_compile = True

    def _forward_with_indices(self, spec, x, device):
        raise Unsupported(
            "XLA has no MaxPoolWithArgmax kernel (tf.nn.max_pool_with_argmax "
            "fails to compile with jit_compile=True: tensorflow/tensorflow#103438)"
        )

    default_stride_api = "tf.function(tf.nn.pool(...), jit_compile=True) (strides omitted)"
