"""The `errors` suite: invalid or degenerate geometries for the error_parity check.

Each case gives raw parameters to every framework (no validation on our side) and records how
it reacts, against the verdict of the semantics (conformance/errorparity.py).
"""

from __future__ import annotations

from conformance import ops
from conformance.errorparity import ErrorCase, RawSpec


def _raw(op, k, s, p, d=1, ceil=False, layout="channels_first"):
    return RawSpec(
        op=op,
        kernel=(k, k),
        stride=(s, s),
        padding=((p, p), (p, p)),
        dilation=(d, d),
        ceil_mode=ceil,
        layout=layout,
    )


GEOMETRIES = [
    (
        "pad-over-half-kernel",
        dict(k=3, s=1, p=2),
        (1, 2, 5, 5),
        "padding 2 around a 3-wide window: more than half the kernel (PyTorch's limit), yet every "
        "window still holds input, so the semantics allow it",
    ),
    (
        "window-of-padding-only",
        dict(k=2, s=2, p=2),
        (1, 2, 4, 4),
        "padding 2 around a 2-wide window: the first and last windows hold padding only",
    ),
    (
        "output-size-below-one",
        dict(k=5, s=1, p=0),
        (1, 2, 3, 3),
        "a 5-wide window on a 3-wide input without padding: no output position",
    ),
    (
        "kernel-overhangs-input-floor",
        dict(k=3, s=3, p=0),
        (1, 2, 2, 2),
        "a 3-wide window on a 2-wide input in floor mode: no output position (the ceil-mode "
        "counterpart computes one window, DESIGN.md §3)",
    ),
    (
        "kernel-overhangs-input-ceil",
        dict(k=3, s=3, p=0, ceil=True),
        (1, 2, 2, 2),
        "a 3-wide window on a 2-wide input in ceil mode: one window starting in the input, holding "
        "both elements and one position past the input (PyTorch and ONNX compute it)",
    ),
    (
        "kernel-overhangs-input-ceil-stride-one",
        dict(k=3, s=1, p=0, ceil=True),
        (1, 2, 2, 2),
        "a 3-wide window on a 2-wide input at stride 1: even ceil mode gives no output position",
    ),
    ("kernel-zero", dict(k=0, s=1, p=0), (1, 2, 4, 4), "kernel size 0"),
    ("kernel-negative", dict(k=-2, s=1, p=0), (1, 2, 4, 4), "kernel size -2"),
    ("stride-zero", dict(k=2, s=0, p=0), (1, 2, 4, 4), "stride 0"),
    ("stride-negative", dict(k=2, s=-1, p=0), (1, 2, 4, 4), "stride -1"),
    ("padding-negative", dict(k=2, s=1, p=-1), (1, 2, 5, 5), "padding -1 (a crop)"),
    (
        "dilation-beyond-input",
        dict(k=3, s=1, p=0, d=3),
        (1, 2, 4, 4),
        "dilation 3 makes the 3-wide window span 7 positions of a 4-wide input",
    ),
    ("dilation-zero", dict(k=2, s=1, p=0, d=0), (1, 2, 4, 4), "dilation 0"),
    (
        "ceil-window-in-right-padding",
        dict(k=2, s=2, p=1, ceil=True),
        (1, 2, 5, 5),
        "ceil mode would add a window starting in the right padding; the last-window rule drops it",
    ),
]


def error_cases() -> list[ErrorCase]:
    out = []
    for name, kw, shape, note in GEOMETRIES:
        for op in (name for name, o in ops.ALL.items() if not o.adaptive):  # kernel geometries
            for layout in ("channels_first", "channels_last"):
                sh = shape if layout == "channels_first" else (shape[0], *shape[2:], shape[1])
                suffix = "" if layout == "channels_first" else "-cl"
                out.append(ErrorCase(name + suffix, _raw(op, layout=layout, **kw), sh, note))
    return out
