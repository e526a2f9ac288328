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

from backends import onnx_model
from conformance.backend import Backend, agreed_positions
from conformance.dtypes import name_of
from conformance.errors import Unsupported

_SESSIONS = 256  # sessions kept; building one costs about a millisecond


def _ort():
    """onnxruntime, imported on first use: the openvino subclass must load without it."""
    import onnxruntime  # noqa: PLC0415 (lazy: the openvino subclass loads without onnxruntime)

    return onnxruntime


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    unsupported_errors = (
        r"Could not find an implementation for",
        r"NOT_IMPLEMENTED",
        r"Unexpected input data type",
    )
    default_stride = "1"
    default_stride_api = "ONNX MaxPool / AveragePool without the strides attribute"
    provider = "CPUExecutionProvider"
    no_adaptive = None  # adaptive specs of output size 1 as GlobalMaxPool / GlobalAveragePool

    def __init__(self) -> None:
        self._models: OrderedDict[bytes, object] = OrderedDict()  # serialized model -> runnable

    @property
    def version(self) -> str:
        return _ort().__version__

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        head = {"indices": "indices", "unpool": "unpool"}.get(check, "pool")
        return onnx_model.describe(spec, input_shape, dtype, check != "default_stride", head) | {
            "runtime": self.configuration()
        }

    def configuration(self) -> str:
        return f"{self.provider}, default session options"

    # ---- what a runtime subclass (openvino) replaces: load a model, run it ----------------
    def _load(self, data: bytes):
        ort = _ort()
        options = ort.SessionOptions()
        options.log_severity_level = 3  # shape-inference warnings: the result says more
        return ort.InferenceSession(data, options, providers=[self.provider])

    def _infer(self, model, x: np.ndarray) -> list[np.ndarray]:
        return model.run(None, {"x": x})

    def _run_lines(self) -> list[str]:
        """Reproducer lines that run `model` on `xin` and leave the output in `out`."""
        return [
            "import onnxruntime as ort",
            f"sess = ort.InferenceSession(model.SerializeToString(), providers=[{self.provider!r}])",
            "out = sess.run(None, {'x': xin})[0]",
        ]

    # ------------------------------------------------------------------------------------------
    def _model(self, data: bytes):
        return self._cached(data, lambda: self._load(data))

    def _cached(self, key, build):
        """The runnable model under `key`, built on first use; the oldest evicted past
        _SESSIONS (a serialized model, or a subclass's own key)."""
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = build()
            if len(self._models) > _SESSIONS:
                self._models.popitem(last=False)
        return model

    def _outputs(
        self, spec, x: np.ndarray, with_stride: bool = True, head: str = "pool", storage_order: int = 0
    ) -> list[np.ndarray]:
        """The model's outputs, NCHW as the model gives them."""
        if name_of(x.dtype) == "bfloat16":
            raise Unsupported(
                f"{self.name}'s Python API takes no bfloat16 arrays (NumPy has no "
                f"bfloat16): a bfloat16 model cannot be fed from Python"
            )
        pm = onnx_model.build(
            spec, x.shape, name_of(x.dtype), with_stride=with_stride, head=head, storage_order=storage_order
        )
        outs = self._infer(self._model(pm.serialized()), onnx_model.to_model_layout(spec, x))
        return [np.asarray(o) for o in outs]

    def _run(self, spec, x: np.ndarray, with_stride: bool) -> np.ndarray:
        return onnx_model.from_model_layout(spec, self._outputs(spec, x, with_stride)[0])

    def _forward(self, spec, x, device):
        return self._run(spec, x, with_stride=True)

    def _forward_with_indices(self, spec, x, device):
        """MaxPool's Indices under storage_order 0 and 1, each converted to plane positions,
        combined by `agreed_positions` (-2 where they disagree; the storage_order=1 tensor as
        it came where its shape differs)."""
        nchw = onnx_model.to_model_layout(spec, x).shape
        y, row = self._outputs(spec, x, head="indices", storage_order=0)
        _, col = self._outputs(spec, x, head="indices", storage_order=1)
        row = onnx_model.to_plane_positions(spec, row, nchw, 0)
        col = onnx_model.to_plane_positions(spec, col, nchw, 1)
        return onnx_model.from_model_layout(spec, y), agreed_positions(row, col)

    def _unpool(self, spec, x, device):
        return onnx_model.from_model_layout(spec, self._outputs(spec, x, head="unpool")[0])

    def _forward_default_stride(self, spec, x, device):
        return self._run(spec, x, with_stride=False)

    def _snippet(self, spec, x, check):
        return onnx_model.snippet(spec, x, check, self._run_lines())
