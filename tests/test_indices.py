"""Adaptive pooling, indices and unpooling on the targets that have them (issue 13).

Expected values are worked by hand here (DESIGN.md §3: PyTorch's adaptive windows, indices as
row-major positions within each (N, C) plane); the conversions from each framework's documented
index convention are tested on indices written out by hand, without the framework.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import onnx_model
from conformance import InvalidSpec, PoolSpec, registry

LINE = np.array([[[4.0, 0.0, 7.0, 1.0, 2.0]]], dtype=np.float32)  # n = 5
# o = 3: windows [0, 2), [1, 4), [3, 5) -> max 4, 7, 2 at 0, 2, 4; mean 2, 8/3, 1.5
PLANE = np.array(
    [[9, 1, 2, 0, 3, 4], [5, 6, 8, 7, 11, 10], [12, 13, 14, 15, 16, 17], [23, 22, 21, 20, 19, 18]],
    dtype=np.float32,
)  # 4 x 6, distinct
# k2 s2 -> 2 x 3 output: maxima 9, 8, 11 / 23, 21, 19 at plane positions 0, 8, 10 / 18, 20, 22
PLANE_MAX = [[9, 8, 11], [23, 21, 19]]
PLANE_IDX = [[0, 8, 10], [18, 20, 22]]


def _target(name: str):
    reason = registry.reason(name)
    if reason is not None:
        pytest.skip(reason)
    return registry.get(name)


def test_onnx_indices_convert_to_plane_positions_by_hand():
    """ONNX MaxPool Indices are flat over the whole NCHW tensor; storage_order 1 is column-major
    inside the plane (ONNX Runtime's kernel). Element (n=1, c=2, row 1, col 2) of a (2, 3, 4, 6)
    input: row-major flat (1·3 + 2)·24 + 1·6 + 2 = 128; column-major (1·3 + 2)·24 + 1 + 2·4 =
    129; both are plane position 8."""
    spec = PoolSpec(op="max", kernel=2)
    base = (np.arange(6).reshape(2, 3, 1, 1) * 24).astype(np.int64)  # each plane's element 0
    row, col = base.copy(), base.copy()
    row[1, 2, 0, 0] += 8
    col[1, 2, 0, 0] += 9
    nchw = (2, 3, 4, 6)
    assert onnx_model.to_plane_positions(spec, row, nchw, 0)[1, 2, 0, 0] == 8
    assert onnx_model.to_plane_positions(spec, col, nchw, 1)[1, 2, 0, 0] == 8
    assert onnx_model.to_plane_positions(spec, row, nchw, 0)[0, 1, 0, 0] == 0
    # an index outside its own plane is no position in it: -1, not a wrapped number
    assert onnx_model.to_plane_positions(spec, row + 24, nchw, 1)[1, 2, 0, 0] == -1
    # the channels_last layout moves the channel axis last
    cl = PoolSpec(op="max", kernel=2, layout="channels_last")
    assert onnx_model.to_plane_positions(cl, row, nchw, 0).shape == (2, 1, 1, 3)


@pytest.mark.parametrize("name", ["torch", "torch-compile"])
def test_torch_adaptive_indices_and_unpool_by_hand(name):
    b = _target(name)
    avg = PoolSpec(op="adaptive_avg", output_size=(3,))
    np.testing.assert_allclose(b.forward(avg, LINE), [[[2.0, 8.0 / 3.0, 1.5]]], rtol=1e-6)
    mx = PoolSpec(op="adaptive_max", output_size=(3,))
    y, idx = b.forward_with_indices(mx, LINE)
    assert y.tolist() == [[[4.0, 7.0, 2.0]]] and idx.tolist() == [[[0, 2, 4]]]
    if name == "torch":
        assert b.unpool(mx, LINE).tolist() == [[[4.0, 0.0, 7.0, 0.0, 2.0]]]


@pytest.mark.parametrize("name", ["torch", "tensorflow", "onnxruntime", "openvino"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_max_pool_indices_by_hand(name, layout):
    """Each framework's indices, converted by its target, are the plane positions worked out
    by hand, in both layouts (a 2-channel input: the second channel is the first plus 100)."""
    b = _target(name)
    x = np.stack([PLANE, PLANE + 100])[None]  # (1, 2, 4, 6)
    if layout == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    spec = PoolSpec(op="max", kernel=2, layout=layout)
    y, idx = b.forward_with_indices(spec, x)
    if layout == "channels_last":
        y, idx = np.moveaxis(y, -1, 1), np.moveaxis(idx, -1, 1)
    assert y[0, 0].tolist() == PLANE_MAX and y[0, 1].tolist() == [[v + 100 for v in r] for r in PLANE_MAX]
    if name == "openvino":  # storage_order=1 transposes the Indices (a recorded finding)
        assert idx.shape != (1, 2, 2, 3)
        return
    assert idx[0, 0].tolist() == PLANE_IDX and idx[0, 1].tolist() == PLANE_IDX


@pytest.mark.parametrize("name", ["torch", "onnxruntime"])
def test_unpool_round_trip_by_hand(name):
    b = _target(name)
    x = PLANE[None, None]
    back = b.unpool(PoolSpec(op="max", kernel=2), x)
    want = np.zeros_like(PLANE)
    for row, cols in zip(PLANE_IDX, PLANE_MAX, strict=True):
        for pos, value in zip(row, cols, strict=True):
            want.flat[pos] = value
    assert back[0, 0].tolist() == want.tolist()


@pytest.mark.parametrize("name", ["onnxruntime", "tensorflow", "jax", "flax", "litert"])
def test_adaptive_unsupported_with_the_reason(name):
    """Targets without adaptive pooling say so; ONNX has only the Global ops (output size 1)."""
    b = _target(name)
    from conformance import Unsupported

    with pytest.raises(Unsupported, match="adaptive"):
        b.forward(PoolSpec(op="adaptive_avg", output_size=(2, 2)), np.ones((1, 1, 4, 4), np.float32))


@pytest.mark.parametrize("name", ["onnxruntime", "openvino"])
def test_global_pooling_through_the_onnx_global_ops(name):
    b = _target(name)
    x = PLANE[None, None]
    glob = PoolSpec(op="adaptive_avg", output_size=(1, 1))
    assert b.native_call(glob, x.shape, "float32", "forward")["node"].startswith("GlobalAveragePool")
    np.testing.assert_allclose(b.forward(glob, x).ravel(), [PLANE.mean()], rtol=1e-6)
    assert b.forward(PoolSpec(op="adaptive_max", output_size=(1, 1)), x).item() == 23.0


def test_indices_of_an_averaging_op_are_invalid_everywhere():
    with pytest.raises(InvalidSpec, match="op"):
        registry.get("numpy").forward_with_indices(
            PoolSpec(op="adaptive_avg", output_size=2), np.ones((1, 1, 4, 4), np.float32)
        )


def test_two_conventions_combine_without_guessing():
    """Where two conventions of one call disagree, neither is taken: -2, no plane position."""
    from conformance.backend import DISAGREE, agreed_positions

    a, b = np.array([[0, 5, 7]]), np.array([[0, 6, 7]])
    assert agreed_positions(a, b).tolist() == [[0, DISAGREE, 7]] and DISAGREE < 0
    assert agreed_positions(a, b.T).shape == (3, 1)  # another shape: the second as it came
