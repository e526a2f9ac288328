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
    checks = ("forward", "grad", "default_stride", "error_parity", "indices")
    default_stride_api = "tf.function(tf.nn.pool(x, window_shape, pooling_type)) (strides omitted)"

    @property
    def snippet_wrap(self) -> str:
        return f"tf.function({{f}}, jit_compile={self.jit_compile})"

    def _run(self, fn, *arrays):
        function = tf.function(fn, jit_compile=self.jit_compile, reduce_retracing=False)
        return _numpy(function(*(tf.constant(a) for a in arrays)))


class TensorFlowXlaBackend(TensorFlowGraphBackend):
    name = "tensorflow-xla"
    jit_compile = True

    def _forward_with_indices(self, spec, x, device):
        raise Unsupported(
            "XLA has no MaxPoolWithArgmax kernel (tf.nn.max_pool_with_argmax "
            "fails to compile with jit_compile=True: tensorflow/tensorflow#103438)"
        )

    default_stride_api = "tf.function(tf.nn.pool(...), jit_compile=True) (strides omitted)"
