"""Small cases that exercise every recorded known divergence on purpose.

The covering arrays hit most entries by chance; these make sure each entry of
backends/known/*.toml is exercised by the default run, so an entry that stops matching (fixed
upstream, or a condition gone stale) is always noticed.
"""

from __future__ import annotations

import numpy as np

from conformance.case import Case
from conformance.spec import PoolSpec


def _w(name, spec, shape, **kw) -> Case:
    return Case(spec, shape, suite="witnesses", name=f"witness-{name}", **kw)


def witness_cases() -> list[Case]:
    return [
        _w(
            "uint8-channels-last-16x17",
            PoolSpec("max", 2, layout="channels_last"),
            (1, 16, 17, 2),
            dtype="uint8",
            note="torch: more than 255 spatial elements in a channels-last uint8 max pool",
        ),
        _w(
            "int8-channels-last-12x12",
            PoolSpec("max", 2, layout="channels_last"),
            (1, 12, 12, 2),
            dtype="int8",
            note="torch: more than 127 spatial elements in a channels-last int8 max pool",
        ),
        _w(
            "float16-sum-overflow",
            PoolSpec("avg", 3, stride=3, layout="channels_last", ndim=1),
            (1, 6, 2),
            dtype="float16",
            family="near_overflow",
            note="windows of float16 values near 65,504/2: the sum overflows in float16",
        ),
        _w(
            "float32-sum-overflow",
            PoolSpec("avg", 3, stride=3, layout="channels_last", ndim=1),
            (1, 6, 2),
            dtype="float32",
            family="near_overflow",
            note="windows of float32 values near 3.4e38/2: the sum overflows in float32",
        ),
        _w(
            "signed-zero-tie",
            PoolSpec("max", 2, layout="channels_last", ndim=1),
            (1, 4, 1),
            family="given",
            values=np.array([-0.0, 0.0, 0.0, -0.0]),
            note="max(-0.0, +0.0): the first of the tied zeros, or +0.0 by IEEE ordering",
        ),
        _w(
            "subnormal-compare",
            PoolSpec("max", 2, layout="channels_last", ndim=1),
            (1, 2, 1),
            family="given",
            values=np.array([1e-40, 3e-40]),
            note="float32 subnormals: compared as zero (DAZ) or flushed (FTZ)",
        ),
        _w(
            "bfloat16-1x1-window-subnormals",
            PoolSpec("max", 1, layout="channels_last"),
            (1, 4, 4, 2),
            dtype="bfloat16",
            family="near_underflow",
            note="a one-element max window of bfloat16 subnormals: passed through or flushed",
        ),
        _w(
            "subnormal-average",
            PoolSpec("avg", 2, layout="channels_last", ndim=1),
            (1, 2, 1),
            family="given",
            values=np.array([1e-40, 3e-40]),
            note="float32 subnormal average: flushed to zero under FTZ/DAZ",
        ),
        _w(
            "two-nans-in-a-window",
            PoolSpec("max", 4, layout="channels_last", ndim=1),
            (1, 4, 1),
            family="given",
            values=np.array([1.0, np.nan, 3.0, np.nan]),
            note="gradient routing with two NaNs: first NaN, last NaN, or after the last NaN",
        ),
        _w(
            "average-nan-window",
            PoolSpec("avg", 2, layout="channels_last", ndim=1),
            (1, 4, 1),
            family="given",
            values=np.array([1.0, np.nan, 2.0, 3.0]),
            note="a float32 average over a NaN: NaN, or -inf after an output clamp (XNNPACK)",
        ),
        _w(
            "adaptive-average-float64",
            PoolSpec("adaptive_avg", output_size=(2, 3)),
            (1, 2, 5, 7),
            dtype="float64",
            note="a float64 adaptive average of values float32 cannot hold: computed in float64 or not",
        ),
        _w(
            "neg-inf-window-3d-channels-last",
            PoolSpec("max", (1, 2, 2), stride=(1, 2, 2), layout="channels_last"),
            (1, 2, 2, 2, 1),
            family="given",
            values=np.array([1.0, 2.0, 3.0, 4.0, -np.inf, -np.inf, -np.inf, -np.inf]),
            note="a 3-D window of -inf only at depth 1: which element its gradient goes to",
        ),
        _w(
            "near-ties-3d",
            PoolSpec("max", (1, 1, 4), layout="channels_last"),
            (1, 1, 1, 4, 1),
            family="given",
            values=np.array([1.0, 2.0, 2.0, 2.0 - 2**-20]),
            note="3-D max window with a tie and a near-tie (2 - 1e-6): gradient to one element or all",
        ),
        _w(
            "padding-and-neg-inf",
            PoolSpec("max", 2, stride=1, padding=1, layout="channels_last", ndim=1),
            (1, 3, 1),
            family="given",
            values=np.array([-np.inf, 1.0, 2.0]),
            note="a window of padding and -inf: the gradient to the -inf element or into the padding",
        ),
        _w(
            "dilated-1x1-window-subnormals",
            PoolSpec("max", 1, dilation=2, ndim=1),
            (1, 1, 4),
            family="given",
            values=np.array([1e-40, -2e-40, 3e-40, 1.0]),
            note="a one-element window with dilation 2 over float32 subnormals: passed or flushed",
        ),
        _w(
            "float64-1x1-window-subnormals",
            PoolSpec("max", 1, layout="channels_last", ndim=1),
            (1, 3, 1),
            dtype="float64",
            family="given",
            values=np.array([1e-310, -2e-310, 1.0]),
            note="a one-element max window of float64 subnormals: passed through or flushed",
        ),
        _w(
            "bfloat16-nchw-neg-inf-window",
            PoolSpec("max", 1),
            (1, 2, 1, 3),
            dtype="bfloat16",
            family="given",
            values=np.array([-np.inf, 1.0, -2.0, 3.0, -np.inf, 0.5]),
            note="bfloat16 channels-first one-element windows holding -inf: -inf, or a lowest value",
        ),
        _w(
            "exclude-pad-average-float32",
            PoolSpec("avg", 2, stride=2, padding=1, count_include_pad=False, layout="channels_last"),
            (1, 4, 4, 1),
            note="average without padding in the divisor: the output dtype stays",
        ),
        _w(
            "same-average-border",
            PoolSpec("avg", 3, stride=1, padding="same", layout="channels_last"),
            (1, 4, 4, 1),
            note="SAME average at the border: padding counted or not",
        ),
        _w(
            "ceil-window-in-right-padding",
            PoolSpec("max", 2, stride=2, padding=1, ceil_mode=True),
            (1, 1, 5, 5),
            note="ceil mode: a last window would start in the right padding; the "
            "last-window rule drops it (float max)",
        ),
        _w(
            "ceil-average-overhang-divisor",
            PoolSpec("avg", 3, stride=2, padding=1, ceil_mode=True, ndim=1),
            (1, 1, 6),
            note="ceil mode: the last window hangs past the padding; count_include_pad divides "
            "by the window clipped to the padded input, not the full kernel",
        ),
        # adaptive and global pooling, indices (issue 13)
        _w(
            "adaptive-max-ties",
            PoolSpec("adaptive_max", output_size=(3, 2)),
            (1, 2, 5, 7),
            family="ties",
            checks=("forward", "grad", "indices", "unpool"),
            note="overlapping adaptive windows with tied maxima: which tie gets the gradient",
        ),
        _w(
            "global-max-ties",
            PoolSpec("adaptive_max", output_size=(1, 1)),
            (1, 2, 5, 4),
            family="ties",
            checks=("forward", "grad", "indices", "unpool"),
            note="global max pooling over plateaus: one tie or a shared gradient",
        ),
        _w(
            "global-average-float64",
            PoolSpec("adaptive_avg", output_size=(1, 1)),
            (2, 3, 5, 4),
            dtype="float64",
            note="a float64 global average: computed in float64 or not",
        ),
        _w(
            "max-indices-nan",
            PoolSpec("max", (3, 2), stride=(2, 1), layout="channels_last"),
            (1, 7, 5, 1),
            family="nan",
            checks=("forward", "indices", "unpool"),
            note="max pooling indices of windows holding NaN: the first NaN, or another element",
        ),
        _w(
            "max-indices-rectangular-output",
            PoolSpec("max", 2),
            (1, 2, 4, 6),
            checks=("forward", "indices", "unpool"),
            note="indices of a 2x3 output: a runtime that transposes its indices changes the shape",
        ),
        _w(
            "max-indices-square-output",
            PoolSpec("max", 2),
            (1, 2, 4, 4),
            checks=("forward", "indices", "unpool"),
            note="indices of a 2x2 output: row- and column-major plane positions differ",
        ),
        _w(
            "global-max-nan",
            PoolSpec("adaptive_max", output_size=(1, 1)),
            (1, 2, 5, 4),
            family="nan",
            checks=("forward", "grad", "indices", "unpool"),
            note="global max pooling of planes holding NaN: the gradient goes to the first NaN",
        ),
        _w(
            "adaptive-average-bfloat16-sum-overflow",
            PoolSpec("adaptive_avg", output_size=(2,)),
            (1, 1, 10),
            dtype="bfloat16",
            family="near_overflow",
            note="two adaptive windows of five bfloat16 values above max/4: the float32 sum overflows",
        ),
        _w(
            "valid-ceil-window-past-the-input",
            PoolSpec("max", 1, stride=3, padding="valid", ceil_mode=True, ndim=1),
            (1, 1, 5),
            note="VALID in ceil mode: the bare formula adds a window starting past "
            "the input (at 6 of 5), which the last-window rule drops (so ceil mode changes "
            "nothing: ONNX models use auto_pad and floor mode here)",
        ),
        # the converter paths (issue 23): torch.onnx.export's findings
        _w(
            "divisor-override-3x3-by-7",
            PoolSpec("avg", 3, stride=1, divisor_override=7),
            (1, 1, 4, 4),
            checks=("forward", "resized"),
            note="an average with divisor_override = 7 over 3x3 windows: exporters drop the divisor",
        ),
        _w(
            "int32-max-2x2",
            PoolSpec("max", 2),
            (1, 1, 4, 4),
            dtype="int32",
            checks=("forward", "indices"),
            note="int32 max pooling: ONNX's MaxPool has no int32 type",
        ),
        _w(
            "adaptive-average-tiling-resized",
            PoolSpec("adaptive_avg", output_size=(2, 2)),
            (1, 1, 4, 4),
            checks=("forward", "resized"),
            note="output 2x2 over 4x4 (equal windows of 2): exported as a fixed 2x2 pool, "
            "which gives 4x4 outputs over the resized 8x8 input",
        ),
        _w(
            "global-max-float16",
            PoolSpec("adaptive_max", output_size=(1, 1)),
            (1, 2, 5, 4),
            dtype="float16",
            checks=("forward",),
            note="a float16 global max pool: its output dtype",
        ),
        _w(
            "avg-pool3d-kernel-deeper-than-input",
            PoolSpec("avg", 3, stride=1, padding=1, ndim=3),
            (1, 1, 2, 4, 4),
            checks=("forward",),
            note="a 3x3x3 average over a depth of 2, padded by 1: torch's avg_pool3d (and what "
            "traces or exports it) refuses a kernel larger than the input",
        ),
        # OpenVINO's PyTorch and TensorFlow frontends (issue 23)
        _w(
            "int32-max-near-overflow",
            PoolSpec("max", 2, layout="channels_last"),
            (1, 4, 4, 1),
            dtype="int32",
            family="near_overflow",
            checks=("forward", "resized"),
            note="int32 maxima near 2**31: computed through float32, they come back rounded",
        ),
        _w(
            "argmax-stride-1",
            PoolSpec("max", 2, stride=1, layout="channels_last"),
            (1, 5, 5, 1),
            checks=("indices",),
            note="2x2 windows at stride 1 with their indices: 4x4 outputs (2x2 at stride 2)",
        ),
        _w(
            "argmax-stride-4-window-3",
            PoolSpec("max", (1, 3), stride=(1, 4), layout="channels_last"),
            (1, 1, 8, 1),
            checks=("indices",),
            note="windows of 3 at stride 4 over 8: 2 outputs, as at stride 3 (other windows)",
        ),
        _w(
            "same-average-resized",
            PoolSpec("avg", 3, stride=4, padding="same", layout="channels_last", ndim=1),
            (1, 3, 1),
            checks=("resized",),
            note="a SAME average without padding at its size (3 by 3), padded at twice it (6): "
            "count_include_pad matters only at the second size",
        ),
        _w(
            "ceil-max-kernel-taller-than-input-resized",
            PoolSpec("max", (3, 2), stride=(2, 1), ceil_mode=True),
            (1, 1, 2, 5),
            checks=("forward", "resized"),
            note="3-high ceil-mode windows over 2 rows (one window holding input): a model with "
            "dynamic dims checks the kernel against the input before ceil mode",
        ),
        _w(
            "global-max-nan-resized",
            PoolSpec("adaptive_max", output_size=(1, 1)),
            (1, 2, 5, 4),
            family="nan",
            checks=("forward", "resized"),
            note="an output-size-1 adaptive max over planes holding NaN, at another size",
        ),
        _w(
            "int8-max-of-lowest-value-index",
            PoolSpec("max", 2),
            (1, 1, 2, 4),
            dtype="int8",
            family="given",
            values=np.array([[[[1, 2, -128, -128], [3, 4, -128, -128]]]]),
            checks=("indices",),
            note="an int8 window of -128 only: its index is its own first element (2)",
        ),
        # IREE (issue 23)
        _w(
            "dilated-average-2x2-by-2",
            PoolSpec("avg", 2, stride=1, dilation=2),
            (1, 1, 6, 6),
            checks=("forward",),
            note="a dilated 2x2 average (IREE fails to compile it)",
        ),
        _w(
            "int8-max-negative-padded",
            PoolSpec("max", 3, stride=2, padding="same", layout="channels_last", ndim=1),
            (1, 6, 1),
            dtype="int8",
            family="given",
            values=np.array([[[-6], [-5], [-4], [-3], [-2], [-1]]]),
            checks=("forward",),
            note="int8 windows of negative numbers with padding: the maximum is negative",
        ),
        _w(
            "float16-subnormal-copy",
            PoolSpec("avg", 1, ndim=1),
            (1, 1, 3),
            dtype="float16",
            family="near_underflow",
            checks=("forward",),
            note="float16 subnormals through a 1-element average",
        ),
        _w(
            "float16-subnormal-max",
            PoolSpec("max", (3, 2), stride=1, layout="channels_last"),
            (1, 5, 4, 1),
            dtype="float16",
            family="near_underflow",
            checks=("forward",),
            note="float16 maxima near float16's subnormal range",
        ),
        _w(
            "ceil-average-window-past-input",
            PoolSpec("avg", 3, stride=4, ceil_mode=True, layout="channels_last", ndim=3),
            (1, 8, 8, 8, 1),
            checks=("forward",),
            note="ceil mode over 8 by windows of 3 at stride 4: a third window would start at 8, "
            "past the input, and is dropped",
        ),
        _w(
            "float32-sum-overflow-2d",
            PoolSpec("avg", (1, 3), stride=(1, 3)),
            (1, 2, 1, 6),
            dtype="float32",
            family="near_overflow",
            checks=("forward",),
            note="windows of float32 values near 3.4e38/2 in a channels-first 2-D pool",
        ),
        _w(
            "same-ceil-window-past-input",
            PoolSpec("max", (1, 2), stride=(1, 3), padding="same", ceil_mode=True),
            (1, 1, 1, 6),
            checks=("forward",),
            note="SAME with ceil mode over 6 by windows of 2 at stride 3: SAME gives 2 outputs; a "
            "ceil-mode size computed from SAME's pads adds a third window, past the input",
        ),
        _w(
            "same-max-indices",
            PoolSpec("max", 2, stride=1, padding="same"),
            (1, 1, 4, 4),
            checks=("forward", "indices"),
            note="SAME max pooling with indices: 4x4 outputs (pads on the bottom and right)",
        ),
        _w(
            "divisor-override-padded-window",
            PoolSpec("avg", 2, stride=1, padding=((0, 1), (1, 0)), divisor_override=5),
            (1, 1, 3, 3),
            checks=("forward",),
            note="divisor_override 5 over 2x2 windows that asymmetric padding clips: each window's "
            "input sum over 5",
        ),
        _w(
            "same-lower-max-odd-size",
            PoolSpec("max", 2, stride=2, padding="same_lower"),
            (1, 1, 5, 5),
            checks=("forward",),
            note="SAME_LOWER over 5 at stride 2: ceil(5 / 2) = 3 outputs per dim, the odd pad pixel "
            "before the input",
        ),
        _w(
            "same-dilated-average",
            PoolSpec("avg", 2, stride=1, padding="same", dilation=2),
            (1, 1, 5, 5),
            checks=("forward",),
            note="SAME with a dilated window (effective 3): pads of 1 on each side, 5x5 outputs",
        ),
        _w(
            "average-asymmetric-padding-counted",
            PoolSpec("avg", 2, stride=1, padding=((0, 1), (0, 1))),
            (1, 1, 2, 2),
            family="given",
            values=np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2),
            checks=("forward",),
            note="count_include_pad over asymmetric padding (one row and column after): every "
            "window divides by 4 (the right column: (2 + 4) / 4 = 1.5)",
        ),
    ]
