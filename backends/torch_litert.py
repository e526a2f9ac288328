"""litert-torch (formerly ai-edge-torch): the `torch` target's functional call, converted by
`litert_torch.convert` (torch.export, then the LiteRT converter) to a TFLite flatbuffer, run
by the LiteRT interpreter, as a PyTorch model reaches a phone without ONNX (DESIGN.md §6
`torch-litert`; issue 23).

litert-torch pins typing_extensions < 4.13 (through xdsl), older than the main environment's,
so the target runs in a side environment (conformance.environments, `torch-litert`; README
"Converter paths"). torch stays at the pinned CPU build there.

The road as its users take it: `litert_torch.convert(module.eval(), (sample,))` with its
defaults (enable_x64=False: a float64 model takes and computes float32, so the input is cast
to the model's input dtype and the output back to the case's, as a deployer feeding it does),
the flatbuffer (`model_content()`) in `ai_edge_litert.interpreter.Interpreter` with its default
op resolver (XNNPACK for float32), as the `litert` target runs its models. A conversion takes
about 0.5 to 1 s, so without --complete a run computes the hand-written cases only. The model
keeps the module's NCHW layout.
"""

from __future__ import annotations

import os
from importlib.metadata import version

os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")  # its progress tree, on stdout

import litert_torch
import numpy as np
import torch
from ai_edge_litert import interpreter as litert

from backends.torch_converted import EXPORT_REFUSALS, TorchConvertedBackend
from conformance.dtypes import name_of
from conformance.errors import Unsupported


class TorchLiteRtBackend(TorchConvertedBackend):
    name = "torch-litert"
    torch_export = True
    refusals = (
        *EXPORT_REFUSALS,
        (r"Lowering not found: aten\.(\w+)", "litert-torch has no lowering for aten.{}"),
        (r"failed to legalize operation '([\w.]+)'", "the LiteRT converter cannot legalize {} for this call"),
        # dynamic spatial dims: the converter fails to lower the pool's shape arithmetic
        (
            r"(cannot reshape array of shape \(0,\))",
            "litert_torch.convert fails with dynamic spatial dims for this call ({} ...)",
        ),
    )

    @property
    def version(self) -> str:
        runtime = f"ai-edge-litert {version('ai-edge-litert')}, torch {torch.__version__}"
        return f"{version('litert-torch')} ({runtime})"

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {
            "converter": "litert_torch.convert(Pool().eval(), (sample,)) (defaults: enable_x64=False)",
            "runtime": "ai_edge_litert Interpreter(op resolver AUTO: XNNPACK for float32)",
        }

    def _snippet_road(self):
        imports = ["import litert_torch", "from ai_edge_litert import interpreter as litert"]
        road = [
            "t = torch.from_numpy(xc)",
            "model = litert_torch.convert(Pool().eval(), (t,))",
            "it = litert.Interpreter(model_content=bytes(model.model_content()))",
            "it.allocate_tensors()",
            "given = it.get_input_details()[0]",
            "it.set_tensor(given['index'], xc.astype(given['dtype']))",
            "it.invoke()",
            "y = it.get_tensor(it.get_output_details()[0]['index']).astype(xc.dtype)",
        ]
        return imports, road

    # ---- the road: convert, load, invoke -------------------------------------------------------
    def _convert(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...]) -> bytes:
        shapes = ({d: torch.export.Dim.DYNAMIC for d in dynamic_dims},) if dynamic_dims else None
        return bytes(litert_torch.convert(module.eval(), (sample,), dynamic_shapes=shapes).model_content())

    def _load(self, flatbuffer: bytes):
        return litert.Interpreter(model_content=flatbuffer)

    def _feed(self, interpreter, xc: np.ndarray) -> list[np.ndarray]:
        if name_of(xc.dtype) == "bfloat16":
            raise Unsupported(
                "the LiteRT interpreter's Python API takes no bfloat16 arrays (NumPy has no bfloat16)"
            )
        given = interpreter.get_input_details()[0]
        if tuple(given["shape"]) != xc.shape:
            interpreter.resize_tensor_input(given["index"], list(xc.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(given["index"], xc.astype(given["dtype"]))
        interpreter.invoke()
        details = sorted(interpreter.get_output_details(), key=lambda d: d["name"])  # output_0, _1
        outs = [interpreter.get_tensor(d["index"]) for d in details]
        # a float model's output in the case's dtype; integer outputs (indices) as they are
        return [o.astype(xc.dtype) if o.dtype.kind == "f" else o.copy() for o in outs]

    def _sample(self, xc: np.ndarray) -> torch.Tensor:
        if name_of(xc.dtype) == "bfloat16":
            raise Unsupported(
                "the LiteRT interpreter's Python API takes no bfloat16 arrays (NumPy has no bfloat16)"
            )
        return torch.from_numpy(np.ascontiguousarray(xc))
