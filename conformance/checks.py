"""The checks (DESIGN.md §4 `check`): one function each, one table.

Each takes (case, backend, device) and returns an `Outcome`: the comparison, where the expected
values came from, the arrays compared (for evidence and diagnosis) and any extra facts for the
record. A framework's own failure propagates as an exception; `runner.run_check` turns it into
a record. A new check is one function here and one line in `TABLE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from conformance import registry
from conformance.case import Case
from conformance.compare import Comparison, compare
from conformance.errors import InvalidSpec, Unsupported
from conformance.spec import replace


@dataclass
class Outcome:
    cmp: Comparison
    source: str = "reference"  # reference | seed
    actual: np.ndarray | None = None
    expected: np.ndarray | None = None
    info: dict[str, Any] | None = field(default=None)  # e.g. the measured default stride


def reference_target():
    return registry.get(registry.REFERENCE)


@lru_cache(maxsize=256)
def cached_reference(case: Case, what: str) -> np.ndarray:
    """Reference arrays of a case, cached because every backend compares against them."""
    ref, x = reference_target(), case.make_input()
    if what == "forward":
        return ref.forward(case.spec, x)
    if what == "forward_scale":
        return ref.forward(case.spec, np.abs(x))
    if what == "indices":
        return ref.forward_with_indices(case.spec, x)[1]
    if what == "unpool":
        return ref.unpool(case.spec, x)
    gy = case.make_upstream()
    if what == "grad":
        return ref.vjp(case.spec, x, gy)
    if what == "grad_scale":
        return ref.vjp(case.spec, x, np.abs(gy))
    raise ValueError(what)


def exact(case: Case, check: str) -> bool:
    """Whether `check` compares bit for bit: what selects (max values, indices, unpooled
    arrays) does; sums and every gradient compare within tolerance."""
    return check != "grad" and case.spec.kind.selects


def scale(case: Case, check: str) -> np.ndarray | None:
    """The magnitude scale of the tolerance; max forward values compare exactly and need none."""
    if check == "grad":
        return cached_reference(case, "grad_scale")
    return cached_reference(case, "forward_scale") if case.spec.kind.averages else None


DEFAULT_STRIDES = ("kernel", "1")  # the defaults APIs document for an omitted stride


def at_default_stride(spec, default: str):
    """The spec with the stride an API uses when it is left out."""
    return replace(spec, stride=spec.kernel if default == "kernel" else (1,) * spec.ndim)


def _measured_default(case: Case, x: np.ndarray, actual: np.ndarray) -> str:
    """Which documented default the output shows: by its shape where the candidates' shapes
    differ (values may differ for another, recorded reason), else by value; "either" where the
    candidates coincide (a 1-wide kernel), "other" where none fits."""
    ref, found = reference_target(), {}
    for default in DEFAULT_STRIDES:
        try:
            found[default] = ref.forward(at_default_stride(case.spec, default), x)
        except InvalidSpec:
            continue
    outputs = list(found.values())
    if len(outputs) > 1 and all(_same_bits(outputs[0], y) for y in outputs[1:]):
        return "either"  # a 1-wide kernel: stride 1 and the kernel are the same pooling
    by_shape = [d for d, y in found.items() if y.shape == actual.shape]
    if len(by_shape) == 1:
        return by_shape[0]
    by_value = [d for d in by_shape if compare(actual, found[d], exact=case.spec.kind.selects,
                                               scale=None).status == "pass"]
    if len(by_value) == 1:
        return by_value[0]
    return "either" if by_value else "other"


def check_default_stride(case: Case, backend, device: str) -> Outcome:
    """Call the API without a stride; compare with the reference at the target's documented
    default, and measure which default the output shows (the report's default-stride table)."""
    if case.spec.stride != case.spec.kernel:
        raise InvalidSpec("stride", case.spec.stride, "equal to the kernel for default_stride")
    documented = backend.default_stride
    if documented is None:
        backend.forward_default_stride(case.spec, case.make_input(), device)  # raises Unsupported
        raise Unsupported(f"{backend.name} documents no default stride")
    x, ref = case.make_input(), reference_target()
    actual = backend.forward_default_stride(replace(case.spec, stride=None), x, device)
    measured = _measured_default(case, x, actual)
    info = {"api": backend.default_stride_api, "documented": documented, "measured": measured,
            "equals_kernel": measured == "kernel"}
    try:
        spec = at_default_stride(case.spec, documented)
        expected = ref.forward(spec, x)
    except InvalidSpec as exc:
        raise Unsupported(f"the geometry is invalid at the documented default stride "
                          f"{documented}: {exc}") from None
    source = "reference"
    if case.expected is not None and documented == "kernel":
        expected, source = np.asarray(case.expected).reshape(case.output_shape).astype(x.dtype), "seed"
    elif case.expected is not None:  # a seed's claim that the stride defaults to the window
        info["erratum"] = (f"the seed's claim that the stride defaults to the window does not "
                           f"hold for {backend.name}: {backend.default_stride_api} documents "
                           f"{documented}, measured {measured}")
    scale = ref.forward(spec, np.abs(x)) if case.spec.kind.averages else None
    cmp = compare(actual, expected, exact=case.spec.kind.selects, scale=scale)
    return Outcome(cmp, source, actual, expected, info)


def check_forward(case: Case, backend, device: str) -> Outcome:
    x = case.make_input()
    actual = backend.forward(case.spec, x, device)
    if case.expected_shape is not None and tuple(actual.shape) != tuple(case.expected_shape):
        return Outcome(Comparison("shape_mismatch", message=f"shape {actual.shape}, the hand-entered "
                                  f"expectation gives {tuple(case.expected_shape)}"), "seed", actual)
    if case.expected is not None:
        expected = np.asarray(case.expected).reshape(case.output_shape).astype(x.dtype)
        source = "seed"
    else:
        expected, source = cached_reference(case, "forward"), "reference"
    return Outcome(compare(actual, expected, exact=case.spec.kind.selects,
                           scale=scale(case, "forward")), source, actual, expected)


def check_grad(case: Case, backend, device: str) -> Outcome:
    x, gy = case.make_input(), case.make_upstream()
    actual = backend.vjp(case.spec, x, gy, device)
    if case.expected_grad is not None:
        expected = np.asarray(case.expected_grad).reshape(case.input_shape).astype(x.dtype)
        source = "seed"
    else:
        expected, source = cached_reference(case, "grad"), "reference"
    cmp = compare(actual, expected, exact=False, scale=cached_reference(case, "grad_scale"))
    return Outcome(cmp, source, actual, expected)


def check_indices(case: Case, backend, device: str) -> Outcome:
    """Max pooling's indices, converted by the target to DESIGN.md §3's convention (the flat
    position in the input's spatial plane), equal to the reference's: ties, NaN windows and
    layouts are where frameworks pick another element or flatten another way."""
    x = case.make_input()
    _, actual = backend.forward_with_indices(case.spec, x, device)
    expected = cached_reference(case, "indices")
    return Outcome(compare(actual, expected, exact=exact(case, "indices")), "reference", actual,
                   expected)


def check_unpool(case: Case, backend, device: str) -> Outcome:
    """The framework's unpooling of its own pooling: max_unpool(max_pool(x), indices) against
    the reference's scatter (each output at its reference index, zeros elsewhere)."""
    actual = backend.unpool(case.spec, case.make_input(), device)
    expected = cached_reference(case, "unpool")
    return Outcome(compare(actual, expected, exact=exact(case, "unpool")), "reference", actual,
                   expected)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def check_determinism(case: Case, backend, device: str) -> Outcome:
    """The same call twice must give the same bits (forward, and vjp for floats)."""
    x = case.make_input()
    calls = [("forward", lambda: backend.forward(case.spec, x, device))]
    if x.dtype.kind == "f" or x.dtype.name == "bfloat16":
        gy = case.make_upstream()
        calls.append(("vjp", lambda: backend.vjp(case.spec, x, gy, device)))
    differ = []
    for name, call in calls:
        first, second = call(), call()
        if not _same_bits(first, second):
            count = int(np.count_nonzero(np.asarray(first) != np.asarray(second)))
            differ.append(f"{name}: {count} elements differ between two identical calls")
    if differ:
        return Outcome(Comparison("nondeterministic", mismatch_count=len(differ),
                                  message="; ".join(differ)))
    return Outcome(Comparison("pass", message="identical bits twice: "
                              + ", ".join(n for n, _ in calls)))


def check_error_parity(case, backend, device: str) -> Outcome:
    from conformance import errorparity

    backend._check_device(device)
    cmp, actual = errorparity.check(case, backend, reference_target(), device)
    return Outcome(cmp, actual=actual)


def check_invariant(case: Case, backend, device: str) -> Outcome:
    from conformance import invariants

    return Outcome(invariants.check(case, backend, device))


TABLE = {
    "forward": check_forward,
    "grad": check_grad,
    "default_stride": check_default_stride,
    "error_parity": check_error_parity,
    "invariant": check_invariant,
    "determinism": check_determinism,
    "indices": check_indices,
    "unpool": check_unpool,
}
