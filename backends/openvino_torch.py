"""PyTorch -> OpenVINO: the `torch` target's call in an `nn.Module`, converted by OpenVINO's
PyTorch frontend (`openvino.convert_model(module, example_input=...)`, no ONNX in between) and
compiled for OpenVINO's CPU plugin (DESIGN.md §6 `openvino-torch`; issue 23).

The road (module, layouts, resized plumbing) is `backends/torch_converted.py`'s. convert_model
of an `nn.Module` traces it with TorchScript, as a user calling it with an example input gets,
and the frontend leaves every input dim dynamic, so the `resized` check runs the one converted
model at the example's size and at another. Compiled with `EXECUTION_MODE_HINT=ACCURACY` as the
`openvino` target (the CPU plugin's default precision depends on the CPU model: see
backends/openvino.py). A frontend refusal ("Model wasn't fully converted", naming the aten op
it has no translation for, e.g. avg_pool2d with divisor_override) is `unsupported` with the op.
bfloat16 inputs are unsupported (OpenVINO's Python API takes NumPy arrays; NumPy has none).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import openvino as ov
import torch

from backends.openvino import _CONFIG
from backends.torch_converted import TorchConvertedBackend
from conformance.errors import Unsupported


class OpenVinoTorchBackend(TorchConvertedBackend):
    name = "openvino-torch"
    default_stride_api = "openvino.convert_model(module of F.max_pool{n}d(x, k)) (stride=None)"
    unsupported_errors = (
        *TorchConvertedBackend.unsupported_errors,
        r"[Uu]nsupported (element )?type",
        r"doesn't support",
    )

    def __init__(self) -> None:
        super().__init__()
        self.core = ov.Core()

    @property
    def version(self) -> str:
        return f"{ov.get_version().split('-')[0]} (PyTorch frontend, torch {torch.__version__})"

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {
            "converter": f"openvino.convert_model(nn.Module, example_input) openvino {self.version}",
            "runtime": f"openvino CPU plugin {_CONFIG}",
        }

    def _refusal(self, message: str) -> str | None:
        if "wasn't fully converted" not in message:
            return None
        ops = sorted(set(re.findall(r"aten::\w+", message)))
        return f"OpenVINO's PyTorch frontend did not convert {', '.join(ops) or 'the model'}"

    def _sample(self, xc: np.ndarray) -> torch.Tensor:
        if xc.dtype.name == "bfloat16":
            raise Unsupported("OpenVINO's Python API takes no bfloat16 arrays (NumPy has no bfloat16)")
        return torch.from_numpy(xc)

    def _convert(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ov.convert_model(module, example_input=sample)

    def _load(self, model):
        return self.core.compile_model(model, "CPU", _CONFIG)

    @staticmethod
    def _feed(compiled, xc: np.ndarray) -> list[np.ndarray]:
        results = compiled([xc])
        return [np.asarray(results[o]) for o in compiled.outputs]

    def _snippet_road(self):
        return ["import openvino as ov"], [
            "model = ov.convert_model(Pool(), example_input=torch.from_numpy(xc))",
            f"compiled = ov.Core().compile_model(model, 'CPU', {_CONFIG!r})",
            "y = np.asarray(compiled([xc])[compiled.outputs[0]])",
        ]
