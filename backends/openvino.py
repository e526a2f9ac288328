"""OpenVINO: the same single-node ONNX model as `onnxruntime`, read by OpenVINO's ONNX frontend
and compiled for its CPU plugin.

Configuration: `EXECUTION_MODE_HINT=ACCURACY`, i.e. inference in the model's own precision.
OpenVINO's CPU plugin otherwise *defaults* to bfloat16 inference on CPUs with AVX512-BF16 or
AMX (documented: "performance" execution mode), which rounds every float32 result to
bfloat16 on those machines and not on others. A conformance record must not depend on the
CPU model, so the target asks for accuracy, and records both the configuration it used and the
CPU's default precision (`native_call`), so a user deploying the default knows what they get.
Native as onnxruntime; no gradients.

Adaptive pooling, which ONNX cannot express beyond output size 1, is built with OpenVINO's own
graph API: AdaptiveAvgPool-8 / AdaptiveMaxPool-8 (whose second output gives the indices)
applied to a Parameter, compiled the same way. Output size 1 goes through the ONNX
GlobalMaxPool / GlobalAveragePool model, as a converted network would.
"""

from __future__ import annotations

import numpy as np
import openvino as ov

from backends import onnx_model
from backends.onnxruntime import OnnxRuntimeBackend
from conformance.errors import Unsupported

_CONFIG = {"EXECUTION_MODE_HINT": "ACCURACY"}
_ADAPTIVE = {"adaptive_avg": "adaptive_avg_pool", "adaptive_max": "adaptive_max_pool"}


class OpenVinoBackend(OnnxRuntimeBackend):
    name = "openvino"
    unsupported_errors = (
        r"[Uu]nsupported (element )?type",
        r"is not supported",
        r"Cannot create .* layer",
        r"doesn't support",
        r"No conversion rule found for operations",
    )

    def __init__(self) -> None:
        super().__init__()
        self.core = ov.Core()

    @property
    def version(self) -> str:
        return ov.get_version().split("-")[0]

    def configuration(self) -> str:
        default = self.core.get_property("CPU", "INFERENCE_PRECISION_HINT")
        return f"CPU plugin, EXECUTION_MODE_HINT=ACCURACY (this CPU's default inference precision: {default})"

    @staticmethod
    def _graph_api(spec) -> bool:
        """Adaptive pooling beyond output size 1: built with OpenVINO's own operations."""
        return spec.kind.adaptive and not spec.is_global

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        if self._graph_api(spec):
            return {
                "node": f"opset8.{_ADAPTIVE[spec.op]}(data, output_shape="
                f"{list(spec.output_size)}) built with OpenVINO's graph API",
                "transposed_to_nchw": spec.layout == "channels_last",
                "runtime": self.configuration(),
            }
        return super().native_call(spec, input_shape, dtype, check)

    def _outputs(
        self, spec, x: np.ndarray, with_stride: bool = True, head: str = "pool", storage_order: int = 0
    ) -> list[np.ndarray]:
        if self._graph_api(spec):
            if head == "unpool":
                raise Unsupported("OpenVINO has no MaxUnpool operation")
            return self._adaptive(spec, x)
        return super()._outputs(spec, x, with_stride, head, storage_order)

    def _forward_with_indices(self, spec, x, device):
        if not self._graph_api(spec):
            return super()._forward_with_indices(spec, x, device)
        y, idx = self._adaptive(spec, x)  # AdaptiveMaxPool's indices: within each plane
        return onnx_model.from_model_layout(spec, y), onnx_model.from_model_layout(spec, idx)

    def _adaptive(self, spec, x: np.ndarray) -> list[np.ndarray]:
        import openvino.opset8 as ops8  # noqa: PLC0415 (lazy: the opset module only for adaptive pooling)

        if x.dtype.name == "bfloat16":
            raise Unsupported("openvino's Python API takes no bfloat16 arrays (NumPy has no bfloat16)")
        xin = onnx_model.to_model_layout(spec, x)

        def build():
            data = ops8.parameter(list(xin.shape), ov.Type(xin.dtype), name="x")
            sizes = ops8.constant(np.array(spec.output_size, dtype=np.int64))
            # indices as i32: the CPU plugin refuses i64 ("does not support i64 for use
            # with oneDNN"); the values are plane positions, far below 2**31 here
            extra = {"index_element_type": "i32"} if spec.kind.selects else {}
            node = getattr(ops8, _ADAPTIVE[spec.op])(data, sizes, **extra)
            model = ov.Model(node.outputs(), [data], "adaptive_case")
            return self.core.compile_model(model, "CPU", _CONFIG)

        key = (spec.op, tuple(spec.output_size), xin.shape, xin.dtype.str)
        return self._infer(self._cached(key, build), xin)

    def _load(self, data: bytes):
        return self.core.compile_model(self.core.read_model(data, b""), "CPU", _CONFIG)

    def _infer(self, model, x: np.ndarray) -> list[np.ndarray]:
        results = model([x])
        return [results[out] for out in model.outputs]

    def _run_lines(self) -> list[str]:
        return [
            "import openvino as ov",
            "core = ov.Core()",
            f"compiled = core.compile_model(core.read_model(model.SerializeToString(), b''), "
            f"'CPU', {_CONFIG!r})",
            "out = np.asarray(compiled([xin])[0])",
        ]
