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

import numpy as np
import openvino as ov

from backends.onnxruntime import OnnxRuntimeBackend

_CONFIG = {"EXECUTION_MODE_HINT": "ACCURACY"}


class OpenVinoBackend(OnnxRuntimeBackend):
    name = "openvino"
    unsupported_errors = (r"[Uu]nsupported (element )?type", r"is not supported",
                          r"Cannot create .* layer", r"doesn't support")

    def __init__(self) -> None:
        super().__init__()
        self.core = ov.Core()

    @property
    def version(self) -> str:
        return ov.get_version().split("-")[0]

    def configuration(self) -> str:
        default = self.core.get_property("CPU", "INFERENCE_PRECISION_HINT")
        return (f"CPU plugin, EXECUTION_MODE_HINT=ACCURACY (this CPU's default inference "
                f"precision: {default})")

    def _load(self, data: bytes):
        return self.core.compile_model(self.core.read_model(data, b""), "CPU", _CONFIG)

    def _infer(self, model, x: np.ndarray) -> np.ndarray:
        return model([x])[0]

    def _run_lines(self) -> list[str]:
        return ["import openvino as ov", "core = ov.Core()",
                f"compiled = core.compile_model(core.read_model(model.SerializeToString(), b''), "
                f"'CPU', {_CONFIG!r})",
                "out = np.asarray(compiled([xin])[0])"]
