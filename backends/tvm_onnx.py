"""Apache TVM: the suite's single-node ONNX model (backends/onnx_model.py, the one `onnxruntime`
runs) imported by TVM's Relax ONNX frontend (`tvm.relax.frontend.onnx.from_onnx`), compiled for
LLVM on the CPU (`tvm.compile`) and run by the Relax virtual machine (DESIGN.md §6 `tvm-onnx`;
issue 23).

Only the runtime differs from `onnxruntime` (`_load`, `_infer`): same models, same layouts, same
indices conversion. The code is compiled for a generic CPU of the machine's architecture
(`-mcpu=generic`): a verdict must not depend on the CPU model. An op form the frontend has no
converter for, or refuses ("not supported", "not implemented"), is `unsupported` with its first
line; a model it imports and then fails to compile or run is an error (a finding).
"""

from __future__ import annotations

import numpy as np
import onnx
import tvm
from tvm import relax
from tvm.relax.frontend.onnx import from_onnx

from backends.onnxruntime import OnnxRuntimeBackend
from conformance.errors import Unsupported

_TARGET = {"kind": "llvm", "mcpu": "generic"}  # TVM 0.27 takes a dict, not "llvm -mcpu=..."
# the frontend's words for an op form it does not convert (MaxPool's Indices output: "Missing
# outputs during conversion. Expected 2 but Got 1 in MaxPool")
_REFUSALS = ("not supported", "not implemented", "unsupported", "notimplementederror", "missing outputs")


class TvmOnnxBackend(OnnxRuntimeBackend):
    name = "tvm-onnx"
    unsupported_errors = (r"(?i)not supported", r"(?i)not implemented", r"(?i)unsupported")
    default_stride_api = "ONNX MaxPool / AveragePool without strides, imported and compiled by TVM"

    def __init__(self) -> None:
        super().__init__()
        self._device = tvm.cpu()

    @property
    def version(self) -> str:
        return tvm.__version__

    def configuration(self) -> str:
        return f"TVM {self.version}: Relax ONNX frontend, target {_TARGET}, relax.VirtualMachine on tvm.cpu()"

    def _load(self, data: bytes):
        proto = onnx.load_from_string(data)
        try:
            mod = from_onnx(proto, keep_params_in_input=False)
        except Exception as exc:
            first = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            if any(word in first.lower() for word in _REFUSALS):
                raise Unsupported(f"TVM's ONNX frontend refuses it: {first[:300]}") from exc
            raise
        executable = tvm.compile(mod, target=tvm.target.Target(_TARGET))
        return relax.VirtualMachine(executable, self._device)

    def _infer(self, model, x: np.ndarray) -> list[np.ndarray]:
        out = model["main"](tvm.runtime.tensor(np.ascontiguousarray(x), self._device))
        outs = list(out) if isinstance(out, tvm.ir.Array | tuple | list) else [out]
        return [np.array(o.numpy(), copy=True) for o in outs]

    def _run_lines(self) -> list[str]:
        return [
            "import tvm",
            "from tvm import relax",
            "from tvm.relax.frontend.onnx import from_onnx",
            f"executable = tvm.compile(from_onnx(model), target=tvm.target.Target({_TARGET!r}))",
            "vm = relax.VirtualMachine(executable, tvm.cpu())",
            "out = vm['main'](tvm.runtime.tensor(np.ascontiguousarray(xin)))",
            "out = (out[0] if not hasattr(out, 'numpy') else out).numpy()",
        ]
