"""TensorFlow -> OpenVINO: the `tensorflow` target's tf.nn call as a tf.function, converted by
OpenVINO's TensorFlow frontend (`openvino.convert_model`, no ONNX in between) and compiled for
OpenVINO's CPU plugin (DESIGN.md §6 `openvino-tf`; issue 23).

The translation of a case is the `tensorflow` target's (this class only swaps how a function
runs: `_run`), so a case tf.nn cannot express is unsupported here with the same reason, and the
report's "eager vs modes" table puts the converted result beside eager TensorFlow. The function
is traced with an input signature of the input's exact shape (the `resized` check: spatial dims
None, the converted model run at the exported size, then at another). Compiled with
`EXECUTION_MODE_HINT=ACCURACY` as the `openvino` target (the CPU plugin's default precision
depends on the CPU model: see backends/openvino.py). No gradients (an inference runtime);
bfloat16 inputs are unsupported (OpenVINO's Python API takes NumPy arrays, which have no
bfloat16).
"""

from __future__ import annotations

import numpy as np
import openvino as ov
import tensorflow as tf

from backends.openvino import _CONFIG
from backends.tensorflow import TensorFlowBackend
from conformance.devices import Device
from conformance.errors import Unsupported


class OpenVinoTfBackend(TensorFlowBackend):
    name = "openvino-tf"
    checks = ("forward", "default_stride", "error_parity", "indices", "resized")
    default_stride_api = "openvino.convert_model(tf.function(tf.nn.pool(x, window_shape, pooling_type)))"
    unsupported_errors = (
        *TensorFlowBackend.unsupported_errors,
        r"No translator found for",
        r"[Uu]nsupported (element )?type",
    )
    snippet_checks = ("forward", "default_stride")

    def __init__(self) -> None:
        super().__init__()
        self.core = ov.Core()

    @property
    def version(self) -> str:
        return f"{ov.get_version().split('-')[0]} (TensorFlow frontend, tensorflow {tf.__version__})"

    def devices(self) -> list[str]:
        return [Device.CPU]

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        call = super().native_call(spec, input_shape, dtype, check)
        return {
            **call,
            "converter": f"openvino.convert_model(tf.function) openvino {self.version}",
            "runtime": f"openvino CPU plugin {_CONFIG}",
        }

    def _device(self, device: str):
        self._check_device(device)
        return tf.device("/CPU:0")

    def _compiled(self, fn, signature: list[tf.TensorSpec]):
        """fn traced for the signature, converted by OpenVINO, compiled for its CPU plugin."""
        if any(s.dtype == tf.bfloat16 for s in signature):
            raise Unsupported("OpenVINO's Python API takes no bfloat16 arrays (NumPy has no bfloat16)")
        function = tf.function(fn, input_signature=signature)
        return self.core.compile_model(ov.convert_model(function), "CPU", _CONFIG)

    @staticmethod
    def _infer(compiled, *arrays: np.ndarray):
        results = compiled(list(arrays))
        outs = tuple(np.asarray(results[o]) for o in compiled.outputs)
        return outs if len(outs) > 1 else outs[0]

    def _run(self, fn, *arrays):
        signature = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for a in arrays]
        return self._infer(self._compiled(fn, signature), *arrays)

    def _vjp(self, spec, x, gy, device):
        raise Unsupported(f"{self.name}: OpenVINO computes no gradients (inference models)")

    def _forward_resized(self, spec, x, second, device):
        """Converted once with the spatial dims unknown (None in the tf.function signature,
        as a SavedModel's serving signature has), run at x's size, then at `second`'s."""
        self._check_device(device)
        args, pool = self._args(spec, x), self._fn(spec)
        self._args(spec, second)  # what tf.nn cannot express at the second size is Unsupported
        layout_dims = range(1, x.ndim - 1) if spec.layout == "channels_last" else range(2, x.ndim)
        shape = [None if d in layout_dims else n for d, n in enumerate(x.shape)]
        compiled = self._compiled(lambda xt: pool(xt, **args), [tf.TensorSpec(shape, tf.as_dtype(x.dtype))])
        self._infer(compiled, x)
        return self._infer(compiled, second)

    snippet_wrap = "{f}"

    def _snippet(self, spec, x, check):
        lines = super()._snippet(spec, x, check)
        run = [
            "import openvino as ov",
            "xin = np.asarray(x, dtype=DTYPE)",
            "fn = tf.function(f, input_signature=[tf.TensorSpec(xin.shape, xin.dtype)])",
            f"compiled = ov.Core().compile_model(ov.convert_model(fn), 'CPU', {_CONFIG!r})",
            "actual = np.asarray(compiled([xin])[compiled.outputs[0]])",
        ]
        return [line for line in lines if not line.startswith(("out = ", "actual = "))] + run
