"""The `seeds` suite: every worked example of the seed documents, expected values by hand.

Sources are the five notes in shared/seeds/ (named by their number). Each expectation was read
off the document, or, where the document gives the setting but no numbers, worked out by hand
and marked so in the note. Where a document's own claim is wrong the case carries
`erratum=True` and the note says what is wrong and in which mode the claim would hold; the
expected values are then the correct ones, so every backend must still pass.
"""

from __future__ import annotations

import numpy as np

from conformance.case import Case
from conformance.spec import PoolSpec

ARANGE16 = np.arange(16).reshape(1, 1, 4, 4)


def _c(
    name,
    spec,
    shape,
    expected,
    *,
    dtype="float32",
    values=None,
    family=None,
    note="",
    checks=None,
    expected_shape=None,
    upstream=None,
    expected_grad=None,
    erratum=False,
):
    fam = family or ("given" if values is not None else "arange")
    return Case(
        spec,
        shape,
        dtype=dtype,
        family=fam,
        suite="seeds",
        name=name,
        values=values,
        checks=checks,
        note=note,
        expected=None if expected is None else np.array(expected),
        expected_shape=expected_shape,
        upstream=upstream,
        expected_grad=None if expected_grad is None else np.array(expected_grad),
        erratum=erratum,
    )


def _seed000():
    x3 = np.arange(9).reshape(1, 1, 3, 3)
    two = np.concatenate([ARANGE16, ARANGE16 + 1], axis=1)
    src = "seed 000, notes «池化层 pooling» (after D2L 6.5)"
    return [
        _c(
            "seed000-pool2d-max-2x2",
            PoolSpec("max", 2, stride=1),
            (1, 1, 3, 3),
            [[4, 5], [7, 8]],
            values=x3,
            note=f"{src}: pool2d(X, (2, 2)) on [[0,1,2],[3,4,5],[6,7,8]]",
        ),
        _c(
            "seed000-pool2d-avg-2x2",
            PoolSpec("avg", 2, stride=1),
            (1, 1, 3, 3),
            [[2, 3], [5, 6]],
            values=x3,
            note=f"{src}: pool2d(X, (2, 2), 'avg')",
        ),
        _c(
            "seed000-maxpool2d-3-default-stride",
            PoolSpec("max", 3),
            (1, 1, 4, 4),
            [[10]],
            checks=("forward", "grad", "default_stride"),
            note=f"{src}: nn.MaxPool2d(3) on arange(16) 4x4: the stride defaults to the kernel",
        ),
        _c(
            "seed000-maxpool2d-3-pad1-stride2x3",
            PoolSpec("max", 3, stride=(2, 3), padding=1),
            (1, 1, 4, 4),
            [[5, 7], [13, 15]],
            note=f"{src}: nn.MaxPool2d(3, padding=1, stride=(2, 3))",
        ),
        _c(
            "seed000-maxpool2d-2x3-pad1-stride2x3",
            PoolSpec("max", (2, 3), stride=(2, 3), padding=(1, 1)),
            (1, 1, 4, 4),
            [[1, 3], [9, 11], [13, 15]],
            note=f"{src}: nn.MaxPool2d((2, 3), padding=(1, 1), stride=(2, 3))",
        ),
        _c(
            "seed000-two-channels",
            PoolSpec("max", 3, stride=2, padding=1),
            (1, 2, 4, 4),
            [[[5, 7], [13, 15]], [[6, 8], [14, 16]]],
            values=two,
            note=f"{src}: torch.cat([X, X + 1], 1) then nn.MaxPool2d(3, padding=1, stride=2)",
        ),
    ]


def _seed001():
    src = "seed 001, article «池化层的实现: PyTorch、TensorFlow»"
    avg_input = np.array([[2, 3, 4, 6], [1, 5, 8, 7], [7, 8, 6, 7], [9, 6, 5, 3]])
    ints = np.arange(1, 17).reshape(1, 1, 4, 4)
    return [
        _c(
            "seed001-max-3x3-stride2-4x4-floor",
            PoolSpec("max", 3, stride=2),
            (1, 1, 4, 4),
            [[10]],
            expected_shape=(1, 1, 1, 1),
            erratum=True,
            note=f"{src} §4.1 claims a 3x3 max pool with stride 2 turns a 4x4 input into 2x2: in "
            "floor mode (PyTorch's default, TF 'VALID') it gives 1x1; 2x2 holds only in ceil "
            "mode or with TF 'SAME'. Its window values (max(2,3,1,5) = 5 for a nine-element "
            "window) match no input, so only the shape is checked against the document; "
            "values on arange(16) worked out by hand",
        ),
        _c(
            "seed001-max-3x3-stride2-4x4-ceil",
            PoolSpec("max", 3, stride=2, ceil_mode=True),
            (1, 1, 4, 4),
            [[10, 11], [14, 15]],
            expected_shape=(1, 1, 2, 2),
            note=f"{src} §4.1: the 2x2 output claimed there, which needs ceil mode; values on "
            "arange(16) worked out by hand",
        ),
        _c(
            "seed001-avg-2x2-stride2",
            PoolSpec("avg", 2, stride=2),
            (1, 1, 4, 4),
            [[11 / 4, 25 / 4], [30 / 4, 21 / 4]],
            values=avg_input.reshape(1, 1, 4, 4),
            note=f"{src} §4.2: 11/4, 25/4, 30/4, 21/4. The document lists each window's four "
            "values but not the input; the input is rebuilt from those windows",
        ),
        _c(
            "seed001-int-maxpool2d-2-stride2",
            PoolSpec("max", 2, stride=2),
            (1, 1, 4, 4),
            [[6, 8], [14, 16]],
            dtype="int64",
            values=ints,
            note=f"{src} §4.1 PyTorch: nn.MaxPool2d(kernel_size=2, stride=2) on integers 1..16",
        ),
        _c(
            "seed001-int-tf-max-pool-valid",
            PoolSpec("max", 2, stride=2, padding="valid", layout="channels_last"),
            (1, 4, 4, 1),
            [[6, 8], [14, 16]],
            dtype="int32",
            values=ints.reshape(1, 4, 4, 1),
            note=f"{src} §4.2 TensorFlow: tf.nn.max_pool(ksize 2, strides 2, 'VALID') on int32 1..16, NHWC",
        ),
        _c(
            "seed001-7x7-2x2-stride2-floor",
            PoolSpec("max", 2, stride=2),
            (1, 1, 7, 7),
            [[8, 10, 12], [22, 24, 26], [36, 38, 40]],
            expected_shape=(1, 1, 3, 3),
            erratum=True,
            note=f"{src} §3.4 claims a 7x7 input with 2x2 pooling, stride 2, gives 4x4: in floor "
            "mode (the default everywhere) it gives 3x3; 4x4 holds only in ceil mode (or TF "
            "'SAME'). Values on arange(49) worked out by hand",
        ),
        _c(
            "seed001-7x7-2x2-stride2-ceil",
            PoolSpec("max", 2, stride=2, ceil_mode=True),
            (1, 1, 7, 7),
            [[8, 10, 12, 13], [22, 24, 26, 27], [36, 38, 40, 41], [43, 45, 47, 48]],
            expected_shape=(1, 1, 4, 4),
            note=f"{src} §3.4: the 4x4 claimed there, in ceil mode; values by hand",
        ),
        _c(
            "seed001-padding-keeps-size-stride1",
            PoolSpec("max", 3, stride=1, padding=1),
            (1, 1, 5, 5),
            [
                [6, 7, 8, 9, 9],
                [11, 12, 13, 14, 14],
                [16, 17, 18, 19, 19],
                [21, 22, 23, 24, 24],
                [21, 22, 23, 24, 24],
            ],
            expected_shape=(1, 1, 5, 5),
            note=f"{src} §3.3: padding (k-1)/2 keeps the size - true with stride 1; values by hand",
        ),
        _c(
            "seed001-padding-keeps-size-default-stride",
            PoolSpec("max", 3, padding=1),
            (1, 1, 5, 5),
            [[6, 9], [21, 24]],
            expected_shape=(1, 1, 2, 2),
            erratum=True,
            checks=("forward", "grad", "default_stride"),
            note=f"{src} §3.3 says padding (k-1)/2 keeps the output size: only with stride 1; with "
            "the default stride (= kernel 3) a 5x5 input gives 2x2. Values by hand",
        ),
    ]


def _seed002():
    src = "seed 002, blog notes «Dive Into Deep Learning, D2L 6. ConvolutionNeuronNetwork»"
    return [
        _c(
            "seed002-maxpool2d-3",
            PoolSpec("max", 3),
            (1, 1, 4, 4),
            [[10]],
            checks=("forward", "grad", "default_stride"),
            note=f"{src}: nn.MaxPool2d(3) sees only [[0,1,2],[4,5,6],[8,9,10]] and outputs 10",
        ),
        _c(
            "seed002-maxpool2d-2x3-stride2x3-pad0x1",
            PoolSpec("max", (2, 3), stride=(2, 3), padding=(0, 1)),
            (1, 1, 4, 4),
            [[5, 7], [13, 15]],
            note=f"{src}: nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1)); the document shows "
            "no output, the values are worked out by hand",
        ),
    ]


def _seed003():
    src = "seed 003, Microsoft ai-edu «17.5 池化层»"
    x = np.array([[0, 4, 1, 5], [2, 3, 0, 2], [1, 9, 0, 8], [2, 3, 6, 7]]).reshape(1, 1, 4, 4)
    gy = np.array([[1, 2], [3, 4]]).reshape(1, 1, 2, 2)
    max_grad = [[0, 1, 0, 2], [0, 0, 0, 0], [0, 3, 0, 4], [0, 0, 0, 0]]
    avg_grad = np.kron([[1, 2], [3, 4]], np.ones((2, 2))) / 4
    return [
        _c(
            "seed003-size-formula-divisible",
            PoolSpec("max", 2, stride=2),
            (1, 1, 4, 4),
            [[5, 7], [13, 15]],
            expected_shape=(1, 1, 2, 2),
            note=f"{src}: W2 = (W1 - F)/S + 1 = (4 - 2)/2 + 1 = 2",
        ),
        _c(
            "seed003-size-formula-not-divisible",
            PoolSpec("max", 2, stride=2),
            (1, 1, 5, 5),
            [[6, 8], [16, 18]],
            expected_shape=(1, 1, 2, 2),
            erratum=True,
            note=f"{src}: W2 = (W1 - F)/S + 1 gives (5 - 2)/2 + 1 = 2.5 for a 5-wide input; the "
            "formula needs a floor (seed 004 adds it): 2. Values on arange(25) by hand",
        ),
        _c(
            "seed003-backward-max",
            PoolSpec("max", 2, stride=2),
            (1, 1, 4, 4),
            [[4, 5], [9, 8]],
            values=x,
            upstream=gy,
            expected_grad=max_grad,
            note=f"{src} 17.5.3: the residual [[1,2],[3,4]] goes to each window's maximum (the "
            "top-right 'b' of figure 17-35), every other position gets 0. Input chosen so "
            "that b is each window's maximum",
        ),
        _c(
            "seed003-backward-avg",
            PoolSpec("avg", 2, stride=2),
            (1, 1, 4, 4),
            [[2.25, 2.0], [3.75, 5.25]],
            values=x,
            upstream=gy,
            expected_grad=avg_grad,
            note=f"{src} 17.5.3: mean pooling spreads each residual as delta/4 over its window",
        ),
    ]


def _seed004():
    src = "seed 004, overview «池化: 什么是池化»"
    a36 = [[7, 9, 11], [19, 21, 23], [31, 33, 35]]
    return [
        _c(
            "seed004-global-average-pooling",
            PoolSpec("avg", (4, 4)),
            (1, 3, 4, 4),
            [[[7.5]], [[23.5]], [[39.5]]],
            expected_shape=(1, 3, 1, 1),
            note=f"{src}: global average pooling = the mean of each feature map (kernel = input "
            "size); channel c of arange(48) has mean 16c + 7.5",
        ),
        _c(
            "seed004-6x6-max-2x2-stride2",
            PoolSpec("max", 2, stride=2),
            (1, 1, 6, 6),
            a36,
            note=f"{src}: a 6x6 map, 2x2 filter, stride 2 (the figure's numbers are not in the "
            "text; arange(36), values by hand)",
        ),
        _c(
            "seed004-6x6-avg-2x2-stride2",
            PoolSpec("avg", 2, stride=2),
            (1, 1, 6, 6),
            np.array(a36) - 3.5,
            note=f"{src}: the same with average pooling; values by hand",
        ),
        _c(
            "seed004-valid-formula-floor",
            PoolSpec("max", 3, stride=2, padding="valid"),
            (1, 1, 8, 8),
            [[18, 20, 22], [34, 36, 38], [50, 52, 54]],
            expected_shape=(1, 1, 3, 3),
            note=f"{src}: (W - F)/S + 1 rounded down, as for a VALID convolution: (8 - 3)/2 + 1 = "
            "3.5 -> 3. Values on arange(64) by hand",
        ),
    ]


def seed_cases() -> list[Case]:
    return _seed000() + _seed001() + _seed002() + _seed003() + _seed004()


def errata() -> list[Case]:
    """The seed examples whose document makes a wrong claim."""
    return [c for c in seed_cases() if c.erratum]
