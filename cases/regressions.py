"""The `regressions` suite: cases taken from public bug reports about pooling.

Each case reproduces the geometry (and, where given, the input) of one report. Its note names
the report; `LINKS` maps the case to the public link. Where the report quotes the correct
output, the numbers are entered here by hand: as `expected` when complete, or in `QUOTED`
(a part of the output, with the precision the report prints) when only partly given. Every
backend is then compared with the reference as usual, so a framework that still has (or gets
back) the bug shows up, and the report's numbers check the reference itself.
"""

from __future__ import annotations

import numpy as np

from conformance.case import Case
from conformance.spec import PoolSpec

NAN = float("nan")
LINKS: dict[str, str] = {}
# case id -> (index into the output, values quoted by the report, absolute tolerance)
QUOTED: dict[str, tuple[tuple, list, float]] = {}


def _case(
    name: str,
    link: str,
    spec: PoolSpec,
    shape,
    *,
    values=None,
    expected=None,
    expected_shape=None,
    dtype="float32",
    note: str,
    upstream=None,
    expected_grad=None,
    checks=None,
) -> Case:
    LINKS[name] = link
    family = "given" if values is not None else "arange"
    return Case(
        spec,
        shape,
        dtype=dtype,
        family=family,
        suite="regressions",
        name=name,
        values=None if values is None else np.asarray(values, dtype=np.float64),
        expected=None if expected is None else np.asarray(expected, dtype=np.float64),
        expected_shape=expected_shape,
        note=f"{note} ({link})",
        upstream=upstream,
        expected_grad=None if expected_grad is None else np.asarray(expected_grad),
        checks=checks,
    )


def _tf45579_values(count_include_pad: bool) -> np.ndarray:
    """tensorflow#45579: zeros with a 1 at (2, 1), 3x3 windows, stride 1, SAME; worked by hand."""
    out = np.zeros((4, 4))
    for i in (1, 2, 3):
        for j in (0, 1, 2):
            rows = min(i + 1, 3) - max(i - 1, 0) + 1
            cols = min(j + 1, 3) - max(j - 1, 0) + 1
            out[i, j] = 1 / 9 if count_include_pad else 1 / (rows * cols)
    return out


def regression_cases() -> list[Case]:
    x16 = np.arange(16).reshape(1, 1, 4, 4)
    one_hot = np.zeros((1, 1, 4, 4))
    one_hot[0, 0, 2, 1] = 1
    ort_x = np.array(
        [
            [2.0903, 4.6493, 1.6320, -3.2051, 4.6975, 4.7296, 3.3653, -1.5815, -2.3832],
            [0.9628, -1.5899, -2.6820, 5.7529, 7.7346, -0.8910, -2.0151, 0.1313, -0.5374],
        ]
    )
    mx = np.arange(1, 26).reshape(1, 1, 5, 5)
    cases = [
        _case(
            "reg-onnx388-torch-maxpool-pad1",
            "https://github.com/onnx/onnx/issues/388",
            PoolSpec("max", 3, stride=2, padding=1),
            (1, 1, 4, 4),
            values=x16,
            expected=[[5, 7], [13, 15]],
            note="PyTorch MaxPool2d(3, 2, padding=1) on arange(16): [[5, 7], [13, 15]]",
        ),
        _case(
            "reg-onnx388-tf-same-maxpool",
            "https://github.com/onnx/onnx/issues/388",
            PoolSpec("max", 3, stride=2, padding="same", layout="channels_last"),
            (1, 4, 4, 1),
            values=x16.reshape(1, 4, 4, 1),
            expected=[[10, 11], [14, 15]],
            note="the same layer through TF 'SAME' pads (0, 1), not (1, 1): [[10, 11], [14, 15]]",
        ),
        _case(
            "reg-tf45579-same-avg-count-pad",
            "https://github.com/tensorflow/tensorflow/issues/45579",
            PoolSpec("avg", 3, stride=1, padding=1),
            (1, 1, 4, 4),
            values=one_hot,
            expected=_tf45579_values(True),
            note="explicit zero padding then VALID (what the reporter expected): 1/9 around the one",
        ),
        _case(
            "reg-tf45579-same-avg-tf",
            "https://github.com/tensorflow/tensorflow/issues/45579",
            PoolSpec("avg", 3, stride=1, padding="same", count_include_pad=False, layout="channels_last"),
            (1, 4, 4, 1),
            values=one_hot.reshape(1, 4, 4, 1),
            expected=_tf45579_values(False),
            note="TF's SAME average divides by the real elements only (values worked by hand)",
        ),
        _case(
            "reg-jax11874-sum-pool-same-flax",
            "https://github.com/jax-ml/jax/issues/11874",
            PoolSpec("avg", 2, stride=1, padding="same", layout="channels_last"),
            (1, 2, 2, 1),
            values=[[1, 2], [3, 4]],
            expected=[[10 / 4, 6 / 4], [7 / 4, 4 / 4]],
            note="jax2tf sum pooling with SAME: sums [[10, 6], [7, 4]] over the full 2x2 window",
        ),
        _case(
            "reg-jax11874-avg-pool-same-tf",
            "https://github.com/jax-ml/jax/issues/11874",
            PoolSpec("avg", 2, stride=1, padding="same", count_include_pad=False, layout="channels_last"),
            (1, 2, 2, 1),
            values=[[1, 2], [3, 4]],
            expected=[[2.5, 3], [3.5, 4]],
            note="tf.nn.avg_pool on the same input: [[2.5, 3], [3.5, 4]]",
        ),
        _case(
            "reg-flax2401-avg-pool-1d-same",
            "https://github.com/google/flax/issues/2401",
            PoolSpec("avg", 2, stride=1, padding="same", layout="channels_last", ndim=1),
            (1, 2, 1),
            values=[1, 2],
            expected=[1.5, 1.0],
            note="flax avg_pool([1, 2], window 2, SAME) = [1.5, 1.0]: padding counted",
        ),
        _case(
            "reg-flax2451-avg-pool-exclude-pad",
            "https://github.com/google/flax/pull/2451",
            PoolSpec(
                "avg", 2, stride=1, padding="same", count_include_pad=False, layout="channels_last", ndim=1
            ),
            (1, 2, 1),
            values=[1, 2],
            expected=[1.5, 2.0],
            note="with count_include_pad=False the last window averages [2] alone: [1.5, 2.0]",
        ),
        _case(
            "reg-tvm1144-count-include-pad",
            "https://github.com/apache/tvm/issues/1144",
            PoolSpec("avg", 3, stride=1, padding=1),
            (1, 1, 2, 2),
            values=[[1, 2], [3, 4]],
            expected=[[10 / 9, 10 / 9], [10 / 9, 10 / 9]],
            note="(1+2+3+4)/9 with padding counted, (1+2+3+4)/4 without",
        ),
        _case(
            "reg-tvm1144-exclude-pad",
            "https://github.com/apache/tvm/issues/1144",
            PoolSpec("avg", 3, stride=1, padding=1, count_include_pad=False),
            (1, 1, 2, 2),
            values=[[1, 2], [3, 4]],
            expected=[[2.5, 2.5], [2.5, 2.5]],
            note="the Caffe2/TF convention: (1+2+3+4)/4",
        ),
        _case(
            "reg-mxnet10194-avg-pad2-count-pad",
            "https://github.com/apache/mxnet/issues/10194",
            PoolSpec("avg", 5, stride=1, padding=2),
            (1, 1, 5, 5),
            values=mx,
            expected=[
                [2.52, 3.6, 4.8, 4.08, 3.24],
                [4.56, 6.4, 8.4, 7.04, 5.52],
                [7.2, 10, 13, 10.8, 8.4],
                [6.96, 9.6, 12.4, 10.24, 7.92],
                [6.12, 8.4, 10.8, 8.88, 6.84],
            ],
            note="MXNet's (PyTorch-style) 5x5 average with pad 2 on 1..25, values from the report",
        ),
        _case(
            "reg-mxnet10194-avg-same-tf",
            "https://github.com/apache/mxnet/issues/10194",
            PoolSpec("avg", 5, stride=1, padding="same", count_include_pad=False, layout="channels_last"),
            (1, 5, 5, 1),
            values=mx.reshape(1, 5, 5, 1),
            expected_shape=(1, 5, 5, 1),
            note="TF SAME on the same input: first row [7, 7.5, 8, 8.5, 9] as the report prints it",
        ),
        _case(
            "reg-ort16203-avgpool1d-ceil-count-pad",
            "https://github.com/microsoft/onnxruntime/issues/16203",
            PoolSpec("avg", 7, stride=3, padding=3, ceil_mode=True, ndim=1),
            (1, 2, 9),
            values=ort_x.reshape(1, 2, 9),
            expected_shape=(1, 2, 4),
            note="the ceil-mode window past the padding: PyTorch divides by the positions left "
            "(incl. padding), ORT divided by the kernel",
        ),
        _case(
            "reg-pytorch183528-avgpool-ceil-onnx",
            "https://github.com/pytorch/pytorch/issues/183528",
            PoolSpec("avg", 3, stride=2, padding=1, ceil_mode=True),
            (1, 1, 4, 4),
            values=np.arange(1, 17).reshape(1, 1, 4, 4),
            expected=[[1.5555556, 3.3333333, 2.0], [6.3333335, 11.0, 6.0], [4.5, 7.5, 4.0]],
            note="PyTorch eager values the exported ONNX model did not reproduce",
        ),
        _case(
            "reg-onnxscript754-avgpool-ceil-no-pad",
            "https://github.com/microsoft/onnxscript/pull/754",
            PoolSpec("avg", 3, stride=2, ceil_mode=True),
            (1, 1, 4, 4),
            values=np.arange(1, 17).reshape(1, 1, 4, 4),
            expected=[[6, 7.5], [12, 13.5]],
            note="ceil mode without padding divides the partial windows by their real size",
        ),
        _case(
            "reg-pytorch116420-avgpool-ceil-shape",
            "https://github.com/pytorch/pytorch/issues/116420",
            PoolSpec("avg", 4, stride=4, padding=2, ceil_mode=True),
            (1, 1, 9, 9),
            values=np.ones((1, 1, 9, 9)),
            expected_shape=(1, 1, 3, 3),
            note="the documented formula gives 4x4; the last window would start in the padding "
            "and is dropped: 3x3",
        ),
        _case(
            "reg-onnx5711-maxpool-k1-ceil",
            "https://github.com/onnx/onnx/issues/5711",
            PoolSpec("max", 1, stride=2, ceil_mode=True),
            (1, 2, 12, 12),
            expected_shape=(1, 2, 6, 6),
            note="kernel 1, stride 2, ceil mode on 12x12: 6x6 (ONNX shape inference gave 7x7)",
        ),
        _case(
            "reg-openvino18731-maxpool-ceil-pad",
            "https://github.com/openvinotoolkit/openvino/issues/18731",
            PoolSpec("max", 2, stride=2, padding=1, ceil_mode=True),
            (1, 3, 5, 5),
            expected_shape=(1, 3, 3, 3),
            note="kernel 2, stride 2, pad 1, ceil on 5x5: 3x3",
        ),
        _case(
            "reg-ort15446-maxpool3d-ceil-pad",
            "https://github.com/microsoft/onnxruntime/issues/15446",
            PoolSpec("max", 3, padding=1, ceil_mode=True, ndim=3),
            (1, 2, 3, 6, 5),
            expected_shape=(1, 2, 2, 3, 2),
            checks=("forward", "grad", "default_stride"),
            note="MaxPool3d(3, padding=1, ceil_mode=True) on 3x6x5: 2x3x2 in PyTorch (the last "
            "W window would start in the right padding); the ONNX model declared 2x3x3",
        ),
        _case(
            "reg-pytorch131272-avgpool-ceil-skip-last",
            "https://github.com/pytorch/pytorch/issues/131272",
            PoolSpec("avg", 3, stride=3, padding=1, ceil_mode=True),
            (1, 3, 2, 2),
            expected_shape=(1, 3, 1, 1),
            note="the exported model gave 2x2; PyTorch skips the last window",
        ),
        _case(
            "reg-pytorch36977-avgpool-ceil-nan",
            "https://github.com/pytorch/pytorch/issues/36977",
            PoolSpec("avg", (1, 2), stride=2, padding=(0, 1), ceil_mode=True),
            (1, 16, 4, 4),
            expected_shape=(1, 16, 2, 3),
            note="ceil mode once produced NaN in the last column",
        ),
        _case(
            "reg-pytorch109586-maxpool-cl-negative-int",
            "https://github.com/pytorch/pytorch/issues/109586",
            PoolSpec("max", 2, layout="channels_last"),
            (1, 4, 6, 1),
            dtype="int64",
            values=(np.arange(24).reshape(1, 4, 6, 1) - 12),
            expected=[[-5, -3, -1], [7, 9, 11]],
            note="channels_last integer max pool once started from 0: [[0, 0, 0], [7, 9, 11]]",
        ),
        _case(
            "reg-executorch21820-int8-cl-maxpool",
            "https://github.com/pytorch/executorch/pull/21820",
            PoolSpec("max", 2, stride=2, layout="channels_last"),
            (1, 12, 12, 1),
            dtype="int8",
            values=np.zeros((1, 12, 12, 1)),
            expected=np.zeros((6, 6)),
            note="int8 channels-last max pool over 144 > 127 spatial elements raises",
        ),
        _case(
            "reg-tf2501-maxpool-all-nan",
            "https://github.com/tensorflow/tensorflow/issues/2501",
            PoolSpec("max", (2, 1), padding="valid", layout="channels_last"),
            (1, 2, 1, 1),
            values=[NAN, NAN],
            expected=[[NAN]],
            note="a window of NaNs only gave -3.4e38 instead of NaN",
        ),
        _case(
            "reg-keras16158-maxpool-same-nan",
            "https://github.com/keras-team/keras/issues/16158",
            PoolSpec("max", 2, stride=2, padding="same", layout="channels_last"),
            (1, 3, 3, 2),
            values=np.full((1, 3, 3, 2), NAN),
            expected=np.full((2, 2, 2), NAN),
            note="MaxPooling2D(padding='same') on all-NaN input returned -3.4e38",
        ),
        _case(
            "reg-pytorch7645-maxpool-nan",
            "https://github.com/pytorch/pytorch/issues/7645",
            PoolSpec("max", 2, ndim=1),
            (1, 1, 2),
            values=[0.0, NAN],
            expected=[NAN],
            note="max pooling of [0, NaN] returned 0 (NaN ignored) before the fix",
        ),
        _case(
            "reg-pytorch39846-maxpool3d-nan",
            "https://github.com/pytorch/pytorch/issues/39846",
            PoolSpec("max", 2, stride=2, ndim=3),
            (1, 1, 4, 4, 4),
            values=np.full(64, NAN),
            expected=np.full((2, 2, 2), NAN),
            note="CUDA MaxPool3d turned NaN into -3.4e38 (run with --device gpu to check a GPU)",
        ),
        _case(
            "reg-tf51682-maxpool-grad-tie",
            "https://github.com/tensorflow/tensorflow/issues/51682",
            PoolSpec("max", 3, layout="channels_last", ndim=1),
            (1, 3, 1),
            values=[0.6, 0.6, 0.3],
            upstream=np.ones((1, 1, 1)),
            expected=[0.6],
            expected_grad=[[[1.0], [0.0], [0.0]]],
            note="MaxPooling1D(3) on [0.6, 0.6, 0.3]: the gradient goes to the first maximum only",
        ),
        _case(
            "reg-tf4886-maxpool-grad-ties",
            "https://github.com/tensorflow/tensorflow/issues/4886",
            PoolSpec("max", 2, stride=1, padding="valid", layout="channels_last"),
            (1, 2, 2, 1),
            values=[1, 2, 2, 2],
            upstream=np.ones((1, 1, 1, 1)),
            expected=[[2]],
            expected_grad=np.array([0, 1, 0, 0]).reshape(1, 2, 2, 1),
            note="max pool over [1, 2, 2, 2]: gradient [0, 1, 0, 0] (reduce_max splits it)",
        ),
        _case(
            "reg-tf125965-nan-identical-channels",
            "https://github.com/tensorflow/tensorflow/issues/125965",
            PoolSpec("max", 2, layout="channels_last", ndim=1),
            (1, 2, 3),
            dtype="float64",
            values=[[3, 3, 3], [NAN, NAN, NAN]],
            expected=[[NAN, NAN, NAN]],
            note="identical channels gave [nan, nan, 3]: the vectorised and scalar paths disagree",
        ),
        _case(
            "reg-jax16200-subnormal-max",
            "https://github.com/jax-ml/jax/issues/16200",
            PoolSpec("max", 2, layout="channels_last", ndim=1),
            (1, 2, 1),
            values=[1e-40, 3e-40],
            expected=[np.float32(3e-40)],
            note="subnormal float32 values compare equal to 0 on XLA's CPU: max(1e-40, 3e-40)",
        ),
    ]
    QUOTED["reg-mxnet10194-avg-same-tf"] = ((0, 0, slice(None), 0), [7, 7.5, 8, 8.5, 9], 1e-6)
    QUOTED["reg-ort16203-avgpool1d-ceil-count-pad"] = (
        (0, slice(None), slice(None)),
        [[0.7381, 2.5656, 0.8032, -0.0999], [0.3491, 1.0389, 1.4536, -0.4035]],
        1e-4,
    )
    return cases
