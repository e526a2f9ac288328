"""Diagnosis: which alternative semantics (the reference's VARIANTS) a result follows.

`diagnose` names every variant a mismatching output matches (the record's `diagnosis`);
`differs_under` says whether a variant changes a case's result at all, which is how a known
divergence's condition `differs_under` holds exactly where that rule makes a difference.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from conformance import checkdefs, checks, registry
from conformance.case import Case
from conformance.compare import compare


@lru_cache(maxsize=4096)
def differs_under(case: Case, check: str, variant: str) -> bool:
    """Whether the reference under `variant` (backends.numpy.VARIANTS) gives another result."""
    ref = registry.get(registry.REFERENCE)
    if not ref.variants[variant].applies_to(case.spec):
        return False
    try:
        other = variant_output(case, check, variant)
    except ValueError:  # the variant changes the output shape: no vjp to compare
        return True
    normal = checks.cached_reference(case, check)
    if normal.shape != other.shape:
        return True
    # "differs" as the check would see it: bit for bit for selections, else within tolerance.
    return (
        compare(other, normal, exact=checks.exact(case, check), scale=checks.scale(case, check)).status
        != "pass"
    )


def variant_output(case: Case, check: str, variant: str) -> np.ndarray:
    """What the reference computes for `check` under one of its variants."""
    ref, x = checks.reference_target(), case.make_input()
    if check == "grad":
        return ref.vjp_variant(case.spec, x, case.make_upstream(), variant)
    if check == "indices":
        return ref.indices_variant(case.spec, x, variant)
    if check == "unpool":
        return ref.unpool_variant(case.spec, x, variant)
    return ref.forward_variant(case.spec, x, variant)


def diagnose(case: Case, check: str, actual: np.ndarray | None) -> str | None:
    """Which alternative semantics of the reference the backend's output matches, if any."""
    ref = checks.reference_target()
    if actual is None or check not in checkdefs.ALL or not checkdefs.of(check).diagnosed:
        return None
    labels = []
    for name, variant in getattr(ref, "variants", {}).items():
        if not variant.applies_to(case.spec):
            continue
        try:
            other = variant_output(case, check, name)
        except Exception:  # the variant does not apply to this geometry
            continue
        exact = checks.exact(case, check)
        scale = checks.scale(case, check)
        scale = scale if scale is not None and other.shape == scale.shape else None
        matches = compare(actual, other, exact=exact, scale=scale).status == "pass"
        normal = checks.cached_reference(case, check)
        differs = compare(other, normal, exact=exact, scale=scale).status != "pass"
        if matches and differs:
            labels.append(f"matches reference with {variant.meaning} [{name}]")
    return "; ".join(labels) or None
