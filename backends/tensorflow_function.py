"""The `tensorflow` target's calls inside tf.function: a graph (`tensorflow-graph`) and an XLA
cluster (`tensorflow-xla`, jit_compile=True). Gradients come from a GradientTape inside the
function, as a training step would compute them. Each call traces a fresh function, so what
runs is exactly the graph (or XLA program) of this one call. The invariant and determinism
checks are left to the eager sibling.
"""

from __future__ import annotations

import tensorflow as tf

from backends.tensorflow import TensorFlowBackend, _numpy


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
    # XLA has no MaxPoolWithArgmax kernel: the indices check is not expressible there
    unsupported_errors = (*TensorFlowGraphBackend.unsupported_errors,
                          r"Detected unsupported operations when trying to compile graph")
    default_stride_api = "tf.function(tf.nn.pool(...), jit_compile=True) (strides omitted)"
