"""DESIGN.md §2 exactly as written, and each backend's translation against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from conformance import Case, InvalidSpec, PoolSpec, Unsupported, known, registry
from tests.conftest import available_frameworks, framework_backends, require


def test_design_example_runs_as_written():
    spec = PoolSpec(
        op="max",
        kernel=(3, 3),
        stride=None,
        padding=((1, 1), (1, 1)),
        dilation=1,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
        layout="channels_first",
    )
    assert "numpy" in registry.available()
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32)
    ran = []
    for name in ["numpy", *available_frameworks()]:
        b = registry.get(name)
        try:
            y = b.forward(spec, x)
            gx = b.vjp(spec, x, np.ones_like(y))
        except Unsupported as exc:  # e.g. TF's CPU MaxPool takes explicit padding in NHWC only
            assert name != "numpy" and str(exc)
            continue
        except Exception:  # only where a known divergence says this target raises here
            entry = known.find(name, b.version, Case(spec, x.shape), "forward", "cpu", "error")
            assert entry is not None and entry.status == "error", name
            continue
        assert y.shape == (2, 3, 3, 3) and gx.shape == x.shape and y.dtype == np.float32
        ran.append(name)
    assert "numpy" in ran


@pytest.mark.parametrize("name", framework_backends())
def test_backend_forward_and_vjp_match_reference_on_a_plain_case(name, ref):
    b = require(name)
    # LiteRT pools float32 only; some targets pool channels-first inputs only (MindSpore, tinygrad)
    for layout, dtype, rtol in (
        ("channels_last", "float64", 1e-12),
        ("channels_last", "float32", 1e-6),
        ("channels_first", "float64", 1e-12),
        ("channels_first", "float32", 1e-6),
    ):
        spec = PoolSpec(op="avg", kernel=2, stride=2, layout=layout)
        x = np.arange(2 * 6 * 6 * 3, dtype=dtype).reshape(2, 6, 6, 3)
        if layout == "channels_first":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        try:
            y = b.forward(spec, x)
        except Unsupported:
            continue
        except Exception:  # only where a known divergence says this target raises here
            entry = known.find(name, b.version, Case(spec, x.shape, dtype=dtype), "forward", "cpu", "error")
            assert entry is not None and entry.status == "error", (name, dtype)
            continue
        np.testing.assert_allclose(y, ref.forward(spec, x), rtol=rtol)
        gy = np.ones(spec.output_shape(x.shape), dtype=dtype)
        try:
            gx = b.vjp(spec, x, gy)
        except Unsupported as exc:  # only an inference runtime computes no gradients
            target = registry.target(name)  # a runtime, or a converter path ending in one
            assert (target.mode == "runtime" or target.runtime) and "no gradients" in exc.reason
            return
        np.testing.assert_allclose(gx, ref.vjp(spec, x, gy), rtol=rtol)
        return
    pytest.fail(f"{name} computes neither float64 nor float32 average pooling, in either layout")


@pytest.mark.parametrize("name", framework_backends())
def test_unsupported_has_a_one_line_reason(name):
    spec = PoolSpec(op="max", kernel=3, padding="same_lower", ceil_mode=True, stride=2)
    x = np.zeros((1, 1, 8, 8), np.float32)
    b = require(name)
    try:
        b.forward(spec, x)
    except Unsupported as exc:
        assert exc.reason and "\n" not in exc.reason
    else:  # these express SAME_LOWER (ONNX: auto_pad; ceil mode written out as pads)
        assert name in ("jax", "jax2tf", "onnxruntime", "openvino", "iree-onnx", "tvm-onnx")


@pytest.mark.parametrize("name", ["numpy", *framework_backends()])
def test_invalid_for_every_framework_raises_invalidspec(name):
    b = require(name)
    with pytest.raises(InvalidSpec):
        b.forward(PoolSpec(kernel=5), np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(InvalidSpec):
        b.forward(PoolSpec(kernel=2), np.zeros((1, 1, 4, 4), np.float32), device="tpu")


@pytest.mark.parametrize("name", ["numpy", *framework_backends()])
def test_gpu_is_unsupported_where_no_gpu_is_seen(name):
    b = require(name)
    if "gpu" in b.devices():
        pytest.skip(f"{name} sees a GPU here; covered by test_gpu_matches_reference")
    with pytest.raises(Unsupported, match="GPU"):
        b.forward(PoolSpec(kernel=2), np.zeros((1, 1, 4, 4), np.float32), device="gpu")


@pytest.mark.gpu
@pytest.mark.parametrize("name", framework_backends())
def test_gpu_matches_reference(name, ref):
    b = require(name)
    if "gpu" not in b.devices():
        pytest.skip(f"{name} sees no GPU on this machine")
    spec = PoolSpec(op="max", kernel=3, stride=2, padding=1)
    x = np.random.default_rng(1).standard_normal((2, 4, 9, 9)).astype(np.float32)
    np.testing.assert_array_equal(b.forward(spec, x, device="gpu"), ref.forward(spec, x))
    gy = np.ones(spec.output_shape(x.shape), np.float32)
    np.testing.assert_allclose(b.vjp(spec, x, gy, device="gpu"), ref.vjp(spec, x, gy), rtol=1e-6)
