"""torch.onnx.export -> ONNX Runtime: the road a PyTorch model takes to an ONNX deployment
(DESIGN.md §6 `torch-onnx-dynamo`, `torch-onnx-script`; issue 23).

The road (module, layouts, resized plumbing) is `backends/torch_converted.py`'s: the `torch`
target's functional call in an `nn.Module`, here exported by one of torch's two exporters
(`dynamo=True`, through torch.export and onnxscript; `dynamo=False`, the TorchScript exporter)
at opset 19 (where ONNX's ceil-mode rule is PyTorch's), and run by ONNX Runtime's CPU execution
provider. So a result is what the converter made of the call, compared with the reference; the
report's "eager vs modes" table puts it beside eager torch.

The `resized` check exports with the spatial dims dynamic (torch.export `Dim`s / TorchScript
`dynamic_axes`) and runs the model at twice the size. A spatial dim of size 1 is specialised by
torch.export (0/1 specialisation): that case is `unsupported` with the reason.

A converter's refusal is `unsupported` with its words: the dynamo exporter's "No ONNX function
found for aten.X" (adaptive max pooling), torch.export's refusal to keep a dim dynamic where
tracing specialised it (ceil mode, adaptive windows), the TorchScript exporter's "Unsupported:
ONNX export of operator ...". A model the exporter writes but ONNX Runtime rejects (integer
MaxPool) is an `error`: the exporter produced an invalid model for a call torch computes.
The TorchScript exporter traces by running eager torch, so torch's own errors reach it too.
"""

from __future__ import annotations

import io
import warnings
from typing import ClassVar

import numpy as np
import onnxruntime as ort
import torch

from backends.torch_converted import EXPORT_REFUSALS, TorchConvertedBackend
from conformance.errors import Unsupported

OPSET = 19


class TorchOnnxBackend(TorchConvertedBackend):
    """The shared road; the two exporters are the subclasses below."""

    dynamo: ClassVar[bool] = True
    refusals = (
        # the dynamo exporter has no translation for the op (adaptive max pooling)
        (
            r"No ONNX function found for <OpOverload\(op='([\w.]+)'",
            "torch.onnx (dynamo) has no ONNX function for {}",
        ),
        *EXPORT_REFUSALS,
    )
    unsupported_errors = (
        *TorchConvertedBackend.unsupported_errors,
        r"Could not find an implementation for",
        r"NOT_IMPLEMENTED",
        r"Unsupported: ONNX export of operator",
        r"is not supported in the ONNX",
    )

    @property
    def exporter(self) -> str:
        return "dynamo" if self.dynamo else "TorchScript"

    @property
    def version(self) -> str:
        return f"{torch.__version__} (torch.onnx {self.exporter}, onnxruntime {ort.__version__})"

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {
            "converter": f"torch.onnx.export(dynamo={self.dynamo}) torch {torch.__version__}",
            "opset": OPSET,
            "runtime": f"onnxruntime {ort.__version__} CPUExecutionProvider",
        }

    def _snippet_road(self):
        if self.dynamo:
            export = [
                f"program = torch.onnx.export(Pool(), (t,), dynamo=True, opset_version={OPSET})",
                "model = program.model_proto.SerializeToString()",
            ]
        else:
            export = [
                "buffer = io.BytesIO()",
                f"torch.onnx.export(Pool(), (t,), buffer, dynamo=False, opset_version={OPSET})",
                "model = buffer.getvalue()",
            ]
        road = [
            "t = torch.from_numpy(xc)",
            *export,
            'session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])',
            "y = session.run(None, {session.get_inputs()[0].name: xc})[0]",
        ]
        return ["import io", "import onnxruntime as ort"], road

    # ---- the road: export, ONNX Runtime session, feed ----------------------------------------
    def _convert(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...]) -> bytes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.dynamo:
                shapes = ({d: torch.export.Dim.DYNAMIC for d in dynamic_dims},) if dynamic_dims else None
                program = torch.onnx.export(
                    module, (sample,), dynamo=True, opset_version=OPSET, dynamic_shapes=shapes, verbose=False
                )
                return program.model_proto.SerializeToString()
            buffer = io.BytesIO()
            axes = {"x": {d: f"d{d}" for d in dynamic_dims}} if dynamic_dims else None
            torch.onnx.export(
                module,
                (sample,),
                buffer,
                dynamo=False,
                opset_version=OPSET,
                input_names=["x"],
                dynamic_axes=axes,
            )
            return buffer.getvalue()

    @staticmethod
    def _load(model: bytes):
        return ort.InferenceSession(model, providers=["CPUExecutionProvider"])

    @staticmethod
    def _feed(session, xc: np.ndarray) -> list[np.ndarray]:
        return session.run(None, {session.get_inputs()[0].name: xc})

    def _sample(self, xc: np.ndarray) -> torch.Tensor:
        if xc.dtype.name == "bfloat16":
            raise Unsupported("ONNX Runtime's CPU pooling kernels take no bfloat16")
        return torch.from_numpy(xc)


class TorchOnnxDynamoBackend(TorchOnnxBackend):
    name = "torch-onnx-dynamo"
    dynamo = True
    torch_export = True
    default_stride_api = "torch.onnx.export(dynamo=True) of F.max_pool{n}d(x, k) (stride=None)"


class TorchOnnxScriptBackend(TorchOnnxBackend):
    name = "torch-onnx-script"
    dynamo = False
    default_stride_api = "torch.onnx.export(dynamo=False) of F.max_pool{n}d(x, k) (stride=None)"
