"""The part of the case space each framework expresses natively.

A covering array over all axes mostly builds cases that some framework cannot express (one
dilated or ceil-mode axis is enough to make TensorFlow answer Unsupported), so the frameworks
with the narrowest APIs would get few real comparisons. Each framework therefore also gets a
covering array of its own native sub-space, described here as data (the restrictions mirror the
Unsupported reasons in backends/<framework>.py; tests/test_suites.py checks they agree).
"""

from __future__ import annotations

from typing import Any

from cases.axes import violates

# backend -> (allowed values per axis, extra rule on a partial assignment)
NATIVE: dict[str, tuple[dict[str, list[Any]], Any]] = {
    "torch": (
        {"padding": ["zero", "symmetric", "valid"]},
        lambda a: ("F.avg_pool has no dilation" if a.get("op") == "avg" and a.get("dilation") == 2
                   else "F.avg_pool1d has no divisor_override"
                   if a.get("ndim") == 1 and a.get("divisor_override") == "set" else None),
    ),
    "tensorflow": (
        {"dilation": [1], "ceil_mode": [False], "divisor_override": [None],
         "padding": ["zero", "symmetric", "asymmetric", "same", "valid"],
         "layout": ["channels_last"]},
        lambda a: ("tf.nn.avg_pool takes SAME/VALID only"
                   if a.get("op") == "avg" and a.get("padding") in ("symmetric", "asymmetric")
                   else "tf.nn.max_pool3d takes SAME/VALID only"
                   if a.get("ndim") == 3 and a.get("padding") in ("symmetric", "asymmetric")
                   else None),
    ),
    "jax": ({"ceil_mode": [False]}, lambda a: None),
}


def native_axes(axes: dict[str, list[Any]], backend: str) -> dict[str, list[Any]]:
    allowed, _ = NATIVE[backend]
    return {k: [v for v in vals if k not in allowed or v in allowed[k]] for k, vals in axes.items()}


def native_rule(backend: str):
    _, extra = NATIVE[backend]
    return lambda a: violates(a) or extra(a)
