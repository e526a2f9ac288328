"""ONNX Runtime: the case's single-node ONNX model (backends/onnx_model.py) on the CPU
execution provider, as a converter's output is deployed.

Native: everything ONNX's MaxPool/AveragePool say (strides and their omission: the documented
default is 1, explicit pads, SAME_UPPER/SAME_LOWER/VALID, dilation, ceil_mode,
count_include_pad), for the dtypes ONNX Runtime has kernels for. Not expressible:
divisor_override; a channels_last case is transposed to NCHW around the model (ONNX pools
channels-first only). No gradients: an inference runtime (`unsupported`). Each result records
the node, its attributes and opset (`native_call`).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import onnxruntime as ort

from backends import onnx_model
from conformance.backend import Backend
from conformance.dtypes import name_of
from conformance.errors import Unsupported

_SESSIONS = 256  # sessions kept; building one costs about a millisecond


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    unsupported_errors = (r"Could not find an implementation for", r"NOT_IMPLEMENTED",
                          r"Unexpected input data type")
    default_stride = "1"
    default_stride_api = "ONNX MaxPool / AveragePool without the strides attribute"
    provider = "CPUExecutionProvider"

    def __init__(self) -> None:
        self._sessions: OrderedDict[bytes, object] = OrderedDict()

    @property
    def version(self) -> str:
        return ort.__version__

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        pm = onnx_model.build(spec, input_shape, dtype, with_stride=check != "default_stride",
                              check=False)
        return {"node": pm.describe(), "transposed_to_nchw": pm.transposed,
                "runtime": self.configuration()}

    def configuration(self) -> str:
        return f"{self.provider}, default session options"

    def _session(self, data: bytes):
        sess = self._sessions.get(data)
        if sess is None:
            options = ort.SessionOptions()
            options.log_severity_level = 3  # shape-inference warnings: the result says more
            sess = ort.InferenceSession(data, options, providers=[self.provider])
            self._sessions[data] = sess
            if len(self._sessions) > _SESSIONS:
                self._sessions.popitem(last=False)
        return sess

    def _run(self, spec, x: np.ndarray, with_stride: bool) -> np.ndarray:
        if name_of(x.dtype) == "bfloat16":
            raise Unsupported("onnxruntime's Python API takes no bfloat16 arrays (numpy has no "
                              "bfloat16); a bfloat16 model cannot be fed from Python")
        pm = onnx_model.build(spec, x.shape, name_of(x.dtype), with_stride=with_stride)
        (y,) = self._session(pm.serialized()).run(None, {"x": onnx_model.to_model_layout(spec, x)})
        return onnx_model.from_model_layout(spec, y)

    def _forward(self, spec, x, device):
        return self._run(spec, x, with_stride=True)

    def _forward_default_stride(self, spec, x, device):
        return self._run(spec, x, with_stride=False)

    def _snippet(self, spec, x, check):
        return onnx_model.snippet(spec, x, check, [
            "import onnxruntime as ort",
            f"sess = ort.InferenceSession(model.SerializeToString(), providers=[{self.provider!r}])",
            "out = sess.run(None, {'x': xin})[0]"])
