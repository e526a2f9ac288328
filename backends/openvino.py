"""OpenVINO: the same single-node ONNX model as `onnxruntime`, read by OpenVINO's ONNX frontend
and compiled for its CPU plugin.

Configuration: `EXECUTION_MODE_HINT=ACCURACY`, i.e. inference in the model's own precision.
OpenVINO's CPU plugin otherwise *defaults* to bfloat16 inference on CPUs with AVX512-BF16 or
AMX (documented: "performance" execution mode), which rounds every float32 result to
bfloat16 on those machines and not on others. A conformance record must not depend on the
CPU model, so the target asks for accuracy, and records both the configuration it used and the
CPU's default precision (`native_call`), so a user deploying the default knows what they get.
Native as onnxruntime; no gradients.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import openvino as ov

from backends import onnx_model
from backends.onnxruntime import _SESSIONS
from conformance.backend import Backend
from conformance.dtypes import name_of
from conformance.errors import Unsupported

_CONFIG = {"EXECUTION_MODE_HINT": "ACCURACY"}


class OpenVinoBackend(Backend):
    name = "openvino"
    unsupported_errors = (r"[Uu]nsupported (element )?type", r"is not supported",
                          r"Cannot create .* layer", r"doesn't support")
    default_stride = "1"
    default_stride_api = "ONNX MaxPool / AveragePool without the strides attribute"

    def __init__(self) -> None:
        self.core = ov.Core()
        self._compiled: OrderedDict[bytes, object] = OrderedDict()

    @property
    def version(self) -> str:
        return ov.get_version().split("-")[0]

    def configuration(self) -> str:
        default = self.core.get_property("CPU", "INFERENCE_PRECISION_HINT")
        return (f"CPU plugin, EXECUTION_MODE_HINT=ACCURACY (this CPU's default inference "
                f"precision: {default})")

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        pm = onnx_model.build(spec, input_shape, dtype, with_stride=check != "default_stride",
                              check=False)
        return {"node": pm.describe(), "transposed_to_nchw": pm.transposed,
                "runtime": self.configuration()}

    def _model(self, data: bytes):
        compiled = self._compiled.get(data)
        if compiled is None:
            compiled = self.core.compile_model(self.core.read_model(data, b""), "CPU", _CONFIG)
            self._compiled[data] = compiled
            if len(self._compiled) > _SESSIONS:
                self._compiled.popitem(last=False)
        return compiled

    def _run(self, spec, x: np.ndarray, with_stride: bool) -> np.ndarray:
        if name_of(x.dtype) == "bfloat16":
            raise Unsupported("OpenVINO's Python API takes no bfloat16 NumPy arrays")
        pm = onnx_model.build(spec, x.shape, name_of(x.dtype), with_stride=with_stride)
        y = self._model(pm.serialized())([onnx_model.to_model_layout(spec, x)])[0]
        return onnx_model.from_model_layout(spec, np.asarray(y))

    def _forward(self, spec, x, device):
        return self._run(spec, x, with_stride=True)

    def _forward_default_stride(self, spec, x, device):
        return self._run(spec, x, with_stride=False)

    def _snippet(self, spec, x, check):
        return onnx_model.snippet(spec, x, check, [
            "import openvino as ov",
            "core = ov.Core()",
            f"compiled = core.compile_model(core.read_model(model.SerializeToString(), b''), "
            f"'CPU', {_CONFIG!r})",
            "out = np.asarray(compiled([xin])[0])"])
