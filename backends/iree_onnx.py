"""IREE: the suite's single-node ONNX model (backends/onnx_model.py, the one `onnxruntime`
runs) imported by IREE's ONNX importer (torch-mlir's ONNX dialect), compiled for the `llvm-cpu`
backend and run by IREE's `local-task` driver (DESIGN.md §6 `iree-onnx`; issue 23). A model below opset 19 is
upgraded to it first (IREE imports MaxPool from opset 12 only; see IMPORT_OPSET).

Only the runtime differs from `onnxruntime` (`_load`, `_infer`): same models, same layouts, same
indices conversion. The compiled code targets the `generic` CPU (`--iree-llvmcpu-target-cpu=
generic`): a verdict must not depend on the CPU model (`host` would pick this machine's vector
ISA). A model compiles in about 1.5 s here, so without --complete a run computes the
hand-written cases only (registry `first_run_cases`). An op form the importer has no conversion
for ("failed to legalize operation": MaxPool with Indices, MaxUnpool) is `unsupported` with its
first line; a model the compiler accepts and then fails on (a verifier error) or that fails at
run time is an error: the runtime claims the op and does not compute it.
"""

from __future__ import annotations

from importlib.metadata import version

import iree.runtime as rt
import numpy as np
import onnx
import onnx.version_converter
from iree.compiler import compile_str, ir
from iree.compiler.extras import onnx_importer

from backends.onnxruntime import OnnxRuntimeBackend
from conformance.errors import Unsupported

_TARGET = ["--iree-llvmcpu-target-cpu=generic"]
# IREE's ONNX import (torch-mlir) converts MaxPool from opset 12 only ("failed to legalize
# operation 'torch.operator'" below it): a model of a lower opset is upgraded first, as
# `iree-import-onnx --opset-version 19` does, with onnx.version_converter
IMPORT_OPSET = 19


class IreeOnnxBackend(OnnxRuntimeBackend):
    name = "iree-onnx"
    unsupported_errors = (r"failed to legalize", r"unsupported", r"not supported")
    default_stride_api = "ONNX MaxPool / AveragePool without strides, imported and compiled by IREE"

    def __init__(self) -> None:
        super().__init__()
        self._config = rt.Config("local-task")

    @property
    def version(self) -> str:
        return version("iree-base-compiler")

    def configuration(self) -> str:
        return f"IREE {self.version}: llvm-cpu, {' '.join(_TARGET)}, local-task driver"

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return super().native_call(spec, input_shape, dtype, check) | {
            "imported_at_opset": f"{IMPORT_OPSET} (onnx.version_converter), where the model's is lower"
        }

    def _load(self, data: bytes):
        proto = onnx.load_from_string(data)
        if proto.opset_import[0].version < IMPORT_OPSET:
            proto = onnx.version_converter.convert_version(proto, IMPORT_OPSET)
        try:
            with ir.Context() as context:
                info = onnx_importer.ModelInfo(proto)
                module = info.create_module(context=context).operation
                onnx_importer.NodeImporter.define_function(info.main_graph, module).import_all()
                asm = module.get_asm()
            vmfb = compile_str(asm, target_backends=["llvm-cpu"], extra_args=_TARGET)
        except Exception as exc:
            first = next((line for line in str(exc).splitlines() if "error" in line), str(exc)).strip()
            if "failed to legalize operation" in first:  # no conversion for this op form
                raise Unsupported(f"IREE has no conversion for this model: {first[:300]}") from exc
            # the compiler accepts the op and then fails on it: an error (a finding)
            raise RuntimeError(f"IREE failed to compile the model: {first[:300]}") from exc
        system = rt.SystemContext(config=self._config)
        system.add_vm_module(rt.VmModule.copy_buffer(system.instance, vmfb))
        return system.modules.module[proto.graph.name]

    def _infer(self, model, x: np.ndarray) -> list[np.ndarray]:
        # a C-contiguous input of our own (the runtime imports the NumPy buffer as it is laid
        # out, and a transposed view of a channels_last input is not), and results copied out
        # of the runtime's buffers before anything else runs
        xin = np.ascontiguousarray(x)
        out = model(xin)
        outs = out if isinstance(out, (tuple, list)) else [out]
        return [np.array(o.to_host(), copy=True) for o in outs]

    def _run_lines(self) -> list[str]:
        return [
            "import iree.runtime as rt",
            "from iree.compiler import compile_str, ir",
            "from iree.compiler.extras import onnx_importer",
            "import onnx.version_converter",
            f"if model.opset_import[0].version < {IMPORT_OPSET}:",
            f"    model = onnx.version_converter.convert_version(model, {IMPORT_OPSET})",
            "with ir.Context() as context:",
            "    info = onnx_importer.ModelInfo(model)",
            "    module = info.create_module(context=context).operation",
            "    onnx_importer.NodeImporter.define_function(info.main_graph, module).import_all()",
            "    asm = module.get_asm()",
            f"vmfb = compile_str(asm, target_backends=['llvm-cpu'], extra_args={_TARGET!r})",
            "system = rt.SystemContext(config=rt.Config('local-task'))",
            "system.add_vm_module(rt.VmModule.copy_buffer(system.instance, vmfb))",
            "out = np.asarray(system.modules.module[model.graph.name](xin).to_host())",
        ]
