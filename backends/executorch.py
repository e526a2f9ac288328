"""torch.export -> ExecuTorch program (.pte) -> the ExecuTorch runtime: the road a PyTorch model
takes to a phone or a microcontroller (DESIGN.md §6 `executorch-portable`, `executorch-xnnpack`;
issue 23, path 2).

The road (module, layouts, resized plumbing) is `backends/torch_converted.py`'s: the `torch`
target's functional call in an `nn.Module`, exported by torch.export, lowered to the Edge
dialect by `to_edge_transform_and_lower` (with the XNNPACK partitioner for `executorch-xnnpack`,
none for `executorch-portable`, whose every op runs ExecuTorch's portable C++ kernels), written
as a program buffer and run by `executorch.runtime`. A call XNNPACK does not take (float64,
integers, return_indices, ceil mode it cannot express...) stays on the portable kernels inside
the XNNPACK program: what a user deploying with the delegate gets.

The `resized` check exports the spatial dims as `Dim.DYNAMIC` bounded by four times the
converted size (ExecuTorch plans memory for the largest input, so an unbounded dim cannot be
fed a larger one) and runs the program at the other size.

Refusals are `unsupported` with the toolchain's words: an op outside the Core ATen opset that
ExecuTorch lowers (adaptive max pooling: "is not in Core ATen opset"), an operator the
runtime build has no kernel for (3-D pooling: "OperatorMissing", the operator named),
torch.export's specialisation or narrowing of a dim asked to stay dynamic (a `resized` run
outside the range the program was exported for is refused before the runtime is asked).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import ClassVar

import numpy as np
import torch
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.exir import to_edge_transform_and_lower
from executorch.extension.pybindings import portable_lib
from executorch.runtime import Runtime

from backends.torch_converted import EXPORT_REFUSALS, TorchConvertedBackend
from conformance.devices import Device
from conformance.errors import Unsupported

_BOUND = 4  # a resized export's dims range up to this many times the converted size


class ExecutorchBackend(TorchConvertedBackend):
    """The shared road; the portable and XNNPACK programs are the subclasses below."""

    xnnpack: ClassVar[bool] = False
    torch_export = True
    refusals = (
        # an op outside Core ATen that ExecuTorch has no decomposition or kernel for
        (
            r"Operator torch\._ops\.aten\.(\w+)\.\w+ is not in Core ATen opset",
            "{} is not in the Core ATen opset ExecuTorch lowers",
        ),
        *EXPORT_REFUSALS,
        (r"Constraints violated \(([^)]*)\)", "torch.export cannot keep ({}) dynamic for this call"),
    )

    @property
    def version(self) -> str:
        kernels = "XNNPACK delegate" if self.xnnpack else "portable kernels"
        return f"{version('executorch')} ({kernels}, torch {torch.__version__})"

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        lower = "to_edge_transform_and_lower(ep" + (
            ", partitioner=[XnnpackPartitioner()])" if self.xnnpack else ")"
        )
        return {
            "converter": f"torch.export.export -> executorch.exir.{lower}.to_executorch()",
            "runtime": f"executorch.runtime {version('executorch')}",
        }

    def _partitioners(self) -> list:
        if not self.xnnpack:
            return []
        return [XnnpackPartitioner()]

    def _snippet_road(self):
        imports = [
            "from executorch.exir import to_edge_transform_and_lower",
            "from executorch.runtime import Runtime",
        ]
        partitioner = "[]"
        if self.xnnpack:
            imports.append(
                "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner"
            )
            partitioner = "[XnnpackPartitioner()]"
        road = [
            "t = torch.from_numpy(xc).to(getattr(torch, DTYPE))",
            "program = torch.export.export(Pool().eval(), (t,))",
            f"edge = to_edge_transform_and_lower(program, partitioner={partitioner})",
            "buffer = edge.to_executorch().buffer",
            "loaded = Runtime.get().load_program(buffer)  # kept: a Method does not keep it alive",
            'method = loaded.load_method("forward")',
            "y = method.execute([t])[0]",
            "y = (y.float() if y.dtype == torch.bfloat16 else y).numpy()",
        ]
        return imports, road

    # ---- the road: export, lower, load, execute ---------------------------------------------
    def _convert(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...]) -> _Program:
        shapes = None
        if dynamic_dims:
            shapes = ({d: torch.export.Dim.DYNAMIC(max=_BOUND * sample.shape[d]) for d in dynamic_dims},)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(module.eval(), (sample,), dynamic_shapes=shapes)
            edge = to_edge_transform_and_lower(program, partitioner=self._partitioners())
            written = edge.to_executorch()
        plan = written.executorch_program.execution_plan[0]
        operators = tuple(f"{o.name}.{o.overload}" for o in plan.operators)
        return _Program(written.buffer, operators, _input_ranges(program))

    def _load(self, program: _Program):
        """The buffer, the loaded program and its method, kept together: a Method does not keep
        its Program alive (measured: once the Program was collected, "Invalid number of inputs
        provided. Expected 0", then a segfault on the next call), nor may the runtime keep its
        buffer (pytorch/executorch#10725)."""
        try:
            loaded = Runtime.get().load_program(program.buffer)
            return program, loaded, loaded.load_method("forward")
        except RuntimeError as exc:
            if "0x:14" not in str(exc):  # Error::OperatorMissing
                raise
            missing = [op for op in program.operators if op not in _kernels()] or ["an operator"]
            raise Unsupported(
                f"{self.name}: the ExecuTorch runtime has no kernel for {', '.join(missing)} "
                f"(OperatorMissing; its pooling kernels: {', '.join(_kernels('pool'))})"
            ) from exc

    def _feed(self, loaded, xc: np.ndarray) -> list[np.ndarray]:
        program, _, method = loaded
        for d, (n, (lo, hi)) in enumerate(zip(xc.shape, program.ranges, strict=True)):
            if not lo <= n <= hi:
                raise Unsupported(
                    f"torch.export bounded dim {d} of this program to [{lo}, {hi}] (a guard the "
                    f"call's shape arithmetic adds): no run at size {n}"
                )
        return [self._numpy(t, xc) for t in method.execute([self._sample(xc)])]

    def _sample(self, xc: np.ndarray) -> torch.Tensor:
        return self._leaf(xc, Device.CPU)  # bfloat16 included, as the torch target feeds it


@dataclass(frozen=True)
class _Program:
    """A written ExecuTorch program and the operators its non-delegated part calls."""

    buffer: bytes
    operators: tuple[str, ...]
    ranges: tuple[tuple[int, int], ...]  # each input dim's sizes the program was exported for


def _input_ranges(program) -> tuple[tuple[int, int], ...]:
    """The sizes each input dim may take in an exported program. A `Dim.DYNAMIC` range is a
    hint torch.export may narrow (measured: max_pool2d k=(3, 2), s=(3, 2), p=1 at height 3
    leaves the height [2, 3], not the asked [2, 12]); ExecuTorch plans memory for the narrowed
    range, and a larger input then fails to resize ("KernelCall failed ... 0x12")."""
    value = next(n for n in program.graph.nodes if n.op == "placeholder").meta["val"]
    ranges = []
    for size in value.shape:
        if isinstance(size, int):
            ranges.append((size, size))
            continue
        bound = program.range_constraints[size.node.expr]
        ranges.append((int(bound.lower), int(bound.upper)))
    return tuple(ranges)


@cache
def _kernels(containing: str = "") -> tuple[str, ...]:
    """The operators this ExecuTorch runtime build has kernels for."""
    return tuple(n for n in portable_lib._get_operator_names() if containing in n)


class ExecutorchPortableBackend(ExecutorchBackend):
    name = "executorch-portable"
    xnnpack = False
    default_stride_api = "ExecuTorch program of F.max_pool{n}d(x, k) (stride=None), portable kernels"


class ExecutorchXnnpackBackend(ExecutorchBackend):
    name = "executorch-xnnpack"
    xnnpack = True
    default_stride_api = "ExecuTorch program of F.max_pool{n}d(x, k) (stride=None), XNNPACK delegate"
