"""Diagnosis: which alternative semantics (the reference's VARIANTS) a result follows.

`diagnose` names every variant a mismatching output matches (the record's `diagnosis`);
`differs_under` says whether a variant changes a case's result at all, which is how a known
divergence's condition `differs_under` holds exactly where that rule makes a difference.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from conformance import checks
from conformance.case import Case
from conformance.compare import compare


@lru_cache(maxsize=4096)
def differs_under(case: Case, check: str, variant: str) -> bool:
    """Whether the reference under `variant` (backends.numpy.VARIANTS) gives another result."""
    from conformance import registry

    ref = registry.get(registry.REFERENCE)
    if not ref.variants[variant].applies_to(case.spec):
        return False
    x = case.make_input()
    try:
        if check == "grad":
            gy = case.make_upstream()
            normal, other = ref.vjp(case.spec, x, gy), ref.vjp_variant(case.spec, x, gy, variant)
        else:
            normal, other = ref.forward(case.spec, x), ref.forward_variant(case.spec, x, variant)
    except ValueError:  # the variant changes the output shape: no vjp to compare
        return True
    if normal.shape != other.shape:
        return True
    # "differs" as the check would see it: bit for bit for max values, else within tolerance.
    from conformance.compare import compare

    exact = check == "forward" and case.spec.kind.selects
    if check == "grad":
        scale = ref.vjp(case.spec, x, np.abs(gy))
    else:
        scale = ref.forward(case.spec, np.abs(x))
    return compare(other, normal, exact=exact, scale=scale).status != "pass"


def diagnose(case: Case, check: str, actual: np.ndarray | None) -> str | None:
    """Which alternative semantics of the reference the backend's output matches, if any."""
    ref = checks.reference_target()
    if actual is None or check == "default_stride":
        return None
    x, labels = case.make_input(), []
    for name, variant in getattr(ref, "variants", {}).items():
        if not variant.applies_to(case.spec):
            continue
        try:
            if check == "grad":
                other = ref.vjp_variant(case.spec, x, case.make_upstream(), name)
            else:
                other = ref.forward_variant(case.spec, x, name)
        except Exception:  # the variant does not apply to this geometry
            continue
        exact = check == "forward" and case.spec.kind.selects
        scale = checks.scale(case, check)
        scale = scale if scale is not None and other.shape == scale.shape else None
        matches = compare(actual, other, exact=exact, scale=scale).status == "pass"
        normal = checks.cached_reference(case, check)
        differs = compare(other, normal, exact=exact, scale=scale).status != "pass"
        if matches and differs:
            labels.append(f"matches reference with {variant.meaning} [{name}]")
    return "; ".join(labels) or None


