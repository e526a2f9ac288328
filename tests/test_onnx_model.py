"""The ONNX model builder (backends/onnx_model.py): attributes and opsets, worked by hand from
the ONNX operator documentation, and the export bundle read back without this project."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conformance import PoolSpec
from conformance.errors import Unsupported

onnx = pytest.importorskip("onnx")
onnx_model = pytest.importorskip("backends.onnx_model")


def _attrs(model) -> dict:
    (node,) = model.graph.node
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def test_same_padding_is_same_upper_and_the_divisor_rule_is_always_written():
    pm = onnx_model.build(PoolSpec("avg", 3, stride=2, padding="same"), (1, 2, 5, 5), "float32")
    assert pm.op_type == "AveragePool" and pm.opset == 7
    assert _attrs(pm.model) == {
        "kernel_shape": [3, 3],
        "strides": [2, 2],
        "auto_pad": b"SAME_UPPER",
        "count_include_pad": 1,
    }
    lower = onnx_model.build(PoolSpec("max", 2, padding="same_lower"), (1, 1, 5, 5), "float32")
    assert _attrs(lower.model)["auto_pad"] == b"SAME_LOWER" and "count_include_pad" not in _attrs(lower.model)
    # ONNX's default count_include_pad is 0: a case excluding padding must still say so
    xpad = onnx_model.build(PoolSpec("avg", 2, padding=1, count_include_pad=False), (1, 1, 4, 4), "float32")
    assert _attrs(xpad.model)["count_include_pad"] == 0
    assert _attrs(xpad.model)["pads"] == [1, 1, 1, 1]


def test_the_lowest_opset_that_expresses_the_case():
    def opset(spec, dtype="float32", shape=(1, 1, 6, 6)):
        return onnx_model.build(spec, shape, dtype).opset

    assert opset(PoolSpec("max", 2)) == 7
    assert opset(PoolSpec("max", 2, ceil_mode=True)) == 10  # ceil_mode came with opset 10
    assert opset(PoolSpec("max", 2, dilation=2)) == 10
    assert opset(PoolSpec("avg", 2, dilation=2)) == 19  # AveragePool dilations: opset 19
    assert opset(PoolSpec("max", 2), "int8") == 12
    assert opset(PoolSpec("max", 2), "bfloat16") == 22
    with pytest.raises(Unsupported, match="int32"):
        opset(PoolSpec("max", 2), "int32")
    with pytest.raises(Unsupported, match="divisor_override"):
        opset(PoolSpec("avg", 2, divisor_override=3))


def test_default_stride_leaves_strides_out_and_ceil_mode_under_auto_pad_writes_pads():
    pm = onnx_model.build(PoolSpec("max", 3), (1, 1, 6, 6), "float32", with_stride=False)
    assert "strides" not in _attrs(pm.model)
    # 5 wide, k2 s2 VALID: ceil mode adds a window (floor 2, ceil 3); ONNX ignores ceil_mode
    # under auto_pad, so the pads are written out (0 here) with ceil_mode 1
    ceil = onnx_model.build(PoolSpec("max", 2, padding="valid", ceil_mode=True), (1, 1, 5, 5), "float32")
    assert _attrs(ceil.model) == {
        "kernel_shape": [2, 2],
        "strides": [2, 2],
        "pads": [0, 0, 0, 0],
        "ceil_mode": 1,
    }


def test_channels_last_is_transposed_around_an_nchw_model():
    spec = PoolSpec("max", 2, layout="channels_last")
    pm = onnx_model.build(spec, (1, 4, 6, 3), "float32")
    dims = [d.dim_value for d in pm.model.graph.input[0].type.tensor_type.shape.dim]
    assert pm.transposed and dims == [1, 3, 4, 6]
    x = np.arange(72, dtype=np.float32).reshape(1, 4, 6, 3)
    assert onnx_model.to_model_layout(spec, x).shape == (1, 3, 4, 6)
    assert np.array_equal(onnx_model.from_model_layout(spec, onnx_model.to_model_layout(spec, x)), x)


def test_the_exported_bundle_runs_with_onnxruntime_alone(tmp_path):
    pytest.importorskip("onnxruntime")
    from cases import get_suite
    from conformance import runner
    from conformance.export import export

    cases = [c for c in get_suite("regressions") if c.spec.divisor_override is None][:40]
    manifest = export(cases, tmp_path / "bundle", suite="regressions", seed=0, project_version="t")
    assert manifest["counts"]["npz"] == len(cases)
    # a fresh interpreter (-I: no project on the path) in another folder runs the shipped checker
    probe = (
        "import runpy, sys; sys.argv = ['check_onnx.py', sys.argv[1], '--json']\n"
        "try:\n    runpy.run_path(sys.argv[1] + '/check_onnx.py', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "ours = [m for m in sys.modules if m.split('.')[0] in ('conformance', 'backends', 'cases')]\n"
        "print('OURS', ours)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(tmp_path / "bundle")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    text, _, ours = out.stdout.rpartition("OURS ")
    assert ours.strip() == "[]", out.stderr[-2000:]
    verdicts = json.loads(text)
    # the bundle agrees exactly where the onnxruntime target passes, and only there
    onnx_cases = [c for c in cases if any(e["case_id"] == c.id and e.get("onnx") for e in manifest["cases"])]
    assert set(verdicts) == {c.id for c in onnx_cases} and onnx_cases
    for case in onnx_cases:
        status = runner.run_check(case, "onnxruntime", "forward").status
        agrees = status in ("pass", "fixed_divergence")  # the runtime computed the reference
        assert (verdicts[case.id] == "agrees") == agrees, (case.id, status, verdicts[case.id])
