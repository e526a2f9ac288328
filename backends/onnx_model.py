"""A case as a single-node ONNX model: MaxPool or AveragePool at the lowest opset that says it.

Shared by the `onnxruntime` and `openvino` targets and by `conformance export`. ONNX pools
NCHW tensors only, so a channels_last case is transposed to channels-first around the model
(`to_model_layout` / `from_model_layout`; the result records `transposed`), and the model
itself stays one node. Translation, in ONNX's own attributes:

- padding "valid" / "same" / "same_lower" → `auto_pad` VALID / SAME_UPPER / SAME_LOWER
  (the semantics' "same" puts the odd pad at the end, as SAME_UPPER does); explicit pads →
  `pads` [begin..., end...]. Where ceil mode changes the output of a SAME/VALID case, the
  pads are written out (ONNX ignores ceil_mode under auto_pad) with `ceil_mode` 1.
- `count_include_pad` is always written: ONNX's default (0) is the opposite of PyTorch's.
- the stride is left out for the default-stride check (ONNX documents 1).
- Not expressible: divisor_override; dtypes other than float16/float/double (both ops),
  int8/uint8 (MaxPool, opset 12) and bfloat16 (opset 22).

Opsets (the first that has each feature): MaxPool and AveragePool from 7 (the oldest ONNX
Runtime loads; AveragePool-7 brought count_include_pad), ceil_mode and MaxPool dilations 10,
int8/uint8 MaxPool 12, AveragePool dilations 19, bfloat16 22.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

from conformance.dtypes import name_of
from conformance.errors import Unsupported
from conformance.spec import ceil_changes_output

BASE_OPSET = 7
OP_TYPES = {
    "max": "MaxPool",
    "avg": "AveragePool",
    "adaptive_max": "GlobalMaxPool",
    "adaptive_avg": "GlobalAveragePool",
}  # the adaptive ops: output size 1 only
INDICES_OPSET = 8  # MaxPool's Indices output and storage_order
UNPOOL_OPSET = 11  # MaxUnpool with its output_shape input (9), at the opset of its last change
HEADS = ("pool", "indices", "unpool")  # what a model computes: y; y and Indices; the round trip
AUTO_PAD = {"valid": "VALID", "same": "SAME_UPPER", "same_lower": "SAME_LOWER"}
FLOATS = ("float16", "float32", "float64")


@dataclass(frozen=True)
class PoolModel:
    """A built model and what a result should record about it."""

    model: object  # onnx.ModelProto
    op_type: str
    opset: int
    transposed: bool  # a channels_last case, transposed to NCHW around the model
    attributes: dict

    def serialized(self) -> bytes:
        return self.model.SerializeToString()

    def describe(self) -> str:
        return node_text(self.op_type, self.attributes, self.opset)


def node_text(op_type: str, attrs: dict, opset: int) -> str:
    return f"{op_type}({', '.join(f'{k}={v}' for k, v in attrs.items())}) at opset {opset}"


def op_type(spec) -> str:
    """The ONNX operator for a spec; adaptive pooling only as the Global ops (output size 1)."""
    if spec.kind.adaptive and not spec.is_global:
        raise Unsupported(
            "ONNX has no adaptive pooling operator: only GlobalMaxPool / "
            "GlobalAveragePool (output size 1); exporters lower other sizes to "
            "fixed-kernel pools where they divide, which the max/avg cases cover"
        )
    return OP_TYPES[spec.op]


def describe(
    spec, input_shape: tuple[int, ...], dtype: str, with_stride: bool = True, head: str = "pool"
) -> dict:
    """What a result records about the model, without building it (Unsupported as build)."""
    text = node_text(op_type(spec), attributes(spec, input_shape, with_stride), _opset(spec, dtype, head))
    if head == "indices":
        text += ", Indices output (storage_order 0 and 1)"
    elif head == "unpool":
        text += " -> MaxUnpool(y, Indices, output_shape)"
    return {"node": text, "transposed_to_nchw": spec.layout == "channels_last"}


def _opset(spec, dtype: str, head: str = "pool") -> int:
    if head != "pool" and op_type(spec) != "MaxPool":
        raise Unsupported(f"ONNX {op_type(spec)} has no Indices output (MaxPool only)")
    need = _dtype_opset(spec, dtype)
    if head == "unpool" and dtype not in FLOATS:
        raise Unsupported(f"ONNX MaxUnpool takes float16, float, double, not {dtype}")
    return max(need, {"pool": 0, "indices": INDICES_OPSET, "unpool": UNPOOL_OPSET}[head])


def _dtype_opset(spec, dtype: str) -> int:
    selects = spec.kind.selects and not spec.kind.adaptive  # Global*Pool: floats only
    if dtype in FLOATS:
        need = BASE_OPSET
    elif dtype == "bfloat16":
        need = 22
    elif dtype in ("int8", "uint8") and selects:
        need = 12
    else:
        takes = "float16, float, double, int8, uint8" if selects else "float16, float, double"
        raise Unsupported(f"ONNX {op_type(spec)} takes {takes} (bfloat16 from opset 22), not {dtype}")
    if spec.kind.adaptive:
        return need
    if spec.ceil_mode:
        need = max(need, 10)
    if any(d != 1 for d in spec.dilation):
        need = max(need, 10 if selects else 19)
    return need


def attributes(spec, input_shape: tuple[int, ...], with_stride: bool = True) -> dict:
    """The node's attributes for `spec` on an input of `input_shape` (the case's own layout)."""
    if spec.kind.adaptive:
        return {}  # GlobalMaxPool / GlobalAveragePool have none
    if spec.divisor_override is not None:
        raise Unsupported("ONNX AveragePool has no divisor_override")
    attrs: dict = {"kernel_shape": list(spec.kernel)}
    if with_stride:
        attrs["strides"] = list(spec.stride)
    if any(d != 1 for d in spec.dilation):
        attrs["dilations"] = list(spec.dilation)
    ceil = bool(spec.ceil_mode)
    if isinstance(spec.padding, str):
        if ceil and ceil_changes_output(spec, tuple(input_shape)):
            pads = spec.explicit_pads(tuple(input_shape))
            attrs["pads"] = [lo for lo, _ in pads] + [hi for _, hi in pads]
        else:
            attrs["auto_pad"] = AUTO_PAD[spec.padding]
            ceil = False  # ONNX computes auto_pad outputs without it
    else:
        attrs["pads"] = [lo for lo, _ in spec.padding] + [hi for _, hi in spec.padding]
    if ceil:
        attrs["ceil_mode"] = 1
    if spec.kind.averages:
        attrs["count_include_pad"] = int(spec.count_include_pad)
    return attrs


def build(
    spec,
    input_shape: tuple[int, ...],
    dtype: str,
    *,
    with_stride: bool = True,
    head: str = "pool",
    storage_order: int = 0,
) -> PoolModel:
    """The model for one case (input_shape in the case's own layout), checked by onnx.checker
    (structure and attribute types). `head` "indices" adds MaxPool's Indices output (with
    `storage_order`), "unpool" feeds y and Indices to MaxUnpool at the input's shape."""
    import onnx  # noqa: PLC0415 (lazy: framework (onnx is an extra))
    from onnx import helper  # noqa: PLC0415 (lazy: framework (onnx is an extra))

    opset = _opset(spec, dtype, head)
    attrs = attributes(spec, input_shape, with_stride)
    kind = op_type(spec)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(_np_name(dtype)))
    nchw = _nchw_shape(spec, input_shape)
    unknown = [None] * len(nchw)  # the runtime's own output shape
    if head == "pool":
        nodes = [helper.make_node(kind, ["x"], ["y"], **attrs)]
        outputs = [helper.make_tensor_value_info("y", elem, unknown)]
    else:
        pool_attrs = {**attrs, "storage_order": storage_order} if storage_order else attrs
        nodes = [helper.make_node(kind, ["x"], ["y", "indices"], **pool_attrs)]
        outputs = [
            helper.make_tensor_value_info("y", elem, unknown),
            helper.make_tensor_value_info("indices", onnx.TensorProto.INT64, unknown),
        ]
    if head == "unpool":
        shape = helper.make_tensor("shape", onnx.TensorProto.INT64, [len(nchw)], list(nchw))
        # MaxUnpool has no auto_pad: SAME resolved to explicit pads (it checks output_shape
        # against (in - 1) * stride + kernel - pads)
        pads = spec.explicit_pads(tuple(input_shape))
        unpool_attrs = {
            "kernel_shape": attrs["kernel_shape"],
            "strides": list(spec.stride),
            "pads": [lo for lo, _ in pads] + [hi for _, hi in pads],
        }
        nodes += [
            helper.make_node("Constant", [], ["output_shape"], value=shape),
            helper.make_node("MaxUnpool", ["y", "indices", "output_shape"], ["unpooled"], **unpool_attrs),
        ]
        outputs = [helper.make_tensor_value_info("unpooled", elem, list(nchw))]
    graph = helper.make_graph(
        nodes, f"{kind.lower()}_case", [helper.make_tensor_value_info("x", elem, list(nchw))], outputs
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="pooling-conformance",
        ir_version=helper.find_min_ir_version_for(opsets),
    )
    onnx.checker.check_model(model)
    return PoolModel(model, kind, opset, spec.layout == "channels_last", attrs)


def to_plane_positions(
    spec, indices: np.ndarray, nchw_input: tuple[int, ...], storage_order: int
) -> np.ndarray:
    """MaxPool's Indices (NCHW, flat over the whole input tensor) as DESIGN.md §3's positions
    within each (N, C) plane, in the case's layout. storage_order 1 ("column major" in the
    ONNX text) is converted as ONNX Runtime's kernel computes it: the plane's offset row-major,
    the position inside the plane column-major."""
    idx = np.asarray(indices, dtype=np.int64)
    plane = nchw_input[2:]
    size = int(np.prod(plane))
    n, c = np.indices(idx.shape[:2]).reshape(2, *idx.shape[:2], *(1,) * (idx.ndim - 2))
    within = idx - (n * nchw_input[1] + c) * size
    outside = (within < 0) | (within >= size)  # not an element of this plane: -1
    within = np.where(outside, 0, within)
    if storage_order == 1:  # column-major inside the plane -> row-major
        coords = np.unravel_index(within, plane, order="F")
        within = np.ravel_multi_index(coords, plane, order="C")
    return from_model_layout(spec, np.where(outside, -1, within))


def _np_name(dtype: str) -> str:
    if dtype == "bfloat16":
        return ml_dtypes.bfloat16
    return dtype


def _nchw_shape(spec, shape: tuple[int, ...]) -> tuple[int, ...]:
    if spec.layout == "channels_last":
        return (shape[0], shape[-1], *shape[1:-1])
    return tuple(shape)


def to_model_layout(spec, x: np.ndarray) -> np.ndarray:
    """The case's input as the model takes it (NCHW)."""
    if spec.layout != "channels_last":
        return x
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def from_model_layout(spec, y: np.ndarray) -> np.ndarray:
    """The model's NCHW output in the case's layout."""
    if spec.layout != "channels_last":
        return y
    return np.ascontiguousarray(np.moveaxis(y, 1, -1))


def snippet(spec, x: np.ndarray, check: str, run: list[str]) -> list[str]:
    """Reproducer lines: build the case's model with onnx.helper into `model`, feed `xin`
    (NCHW) to the runtime's `run` lines, which leave the NCHW output in `out`."""
    if check not in ("forward", "default_stride"):
        raise NotImplementedError(f"no ONNX reproducer template for the {check} check")
    pm = build(spec, x.shape, name_of(x.dtype), with_stride=check != "default_stride")
    attrs = ", ".join(f"{k}={v!r}" for k, v in pm.attributes.items())
    shape = list(_nchw_shape(spec, x.shape))
    lines = [
        "from onnx import helper",
        "",
        f"node = helper.make_node({pm.op_type!r}, ['x'], ['y'], {attrs})",
        "elem = helper.np_dtype_to_tensor_dtype(np.dtype(DTYPE))",
        f"graph = helper.make_graph([node], 'g', [helper.make_tensor_value_info('x', elem, "
        f"{shape})], [helper.make_tensor_value_info('y', elem, {[None] * len(shape)})])",
        f"ops = [helper.make_opsetid('', {pm.opset})]",
        "model = helper.make_model(graph, opset_imports=ops, ir_version=helper.find_min_ir_version_for(ops))",
        "xin = x.astype(DTYPE)",
    ]
    if pm.transposed:
        lines.append("xin = np.ascontiguousarray(np.moveaxis(xin, -1, 1))  # ONNX pools NCHW")
    lines += run
    lines.append("actual = np.moveaxis(out, 1, -1)" if pm.transposed else "actual = out")
    return lines
