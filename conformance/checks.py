"""The checks' functions (what each check is: `conformance/checkdefs.py`).

Each takes (case, backend, device) and returns an `Outcome`: the actual and expected arrays,
where the expected values came from and the tolerance's scale, which `runner.run_check` compares
by the check's declared rule (`Check.is_exact`); a check with a rule of its own (error parity,
invariants, determinism, a seed's shape) returns its `Comparison` instead. A framework's own
failure propagates as an exception; `runner.run_check` turns it into a record. The reproducer
of a result is fed the expected array from here (`expected_values`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from conformance import checkdefs, errorparity, invariants, registry
from conformance.case import Case
from conformance.compare import Comparison, compare
from conformance.errors import InvalidSpec, Unsupported
from conformance.spec import replace


@dataclass
class Outcome:
    cmp: Comparison | None  # None: the runner compares actual with expected (Check.is_exact)
    source: str = "reference"  # reference | seed
    actual: np.ndarray | None = None
    expected: np.ndarray | None = None
    info: dict[str, Any] | None = field(default=None)  # e.g. the measured default stride
    scale: np.ndarray | None = None  # the tolerance's magnitude scale (sums, gradients)


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
    """Whether `check` compares bit for bit on this case (its declared rule)."""
    return checkdefs.of(check).is_exact(case.spec.kind.selects)


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
    by_value = [
        d
        for d in by_shape
        if compare(actual, found[d], exact=case.spec.kind.selects, scale=None).status == "pass"
    ]
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
    info = {
        "api": backend.default_stride_api,
        "documented": documented,
        "measured": measured,
        "equals_kernel": measured == "kernel",
    }
    try:
        spec = at_default_stride(case.spec, documented)
        expected = ref.forward(spec, x)
    except InvalidSpec as exc:
        raise Unsupported(
            f"the geometry is invalid at the documented default stride {documented}: {exc}"
        ) from None
    source = "reference"
    if case.expected is not None and documented == "kernel":
        expected, source = np.asarray(case.expected).reshape(case.output_shape).astype(x.dtype), "seed"
    elif case.expected is not None:  # a seed's claim that the stride defaults to the window
        info["erratum"] = (
            f"the seed's claim that the stride defaults to the window does not "
            f"hold for {backend.name}: {backend.default_stride_api} documents "
            f"{documented}, measured {measured}"
        )
    scale = ref.forward(spec, np.abs(x)) if case.spec.kind.averages else None
    return Outcome(None, source, actual, expected, info, scale)


def check_forward(case: Case, backend, device: str) -> Outcome:
    x = case.make_input()
    actual = backend.forward(case.spec, x, device)
    if case.expected_shape is not None and tuple(actual.shape) != tuple(case.expected_shape):
        return Outcome(
            Comparison(
                "shape_mismatch",
                message=f"shape {actual.shape}, the hand-entered "
                f"expectation gives {tuple(case.expected_shape)}",
            ),
            "seed",
            actual,
        )
    if case.expected is not None:
        expected = np.asarray(case.expected).reshape(case.output_shape).astype(x.dtype)
        source = "seed"
    else:
        expected, source = cached_reference(case, "forward"), "reference"
    return Outcome(None, source, actual, expected, scale=scale(case, "forward"))


def check_grad(case: Case, backend, device: str) -> Outcome:
    x, gy = case.make_input(), case.make_upstream()
    actual = backend.vjp(case.spec, x, gy, device)
    if case.expected_grad is not None:
        expected = np.asarray(case.expected_grad).reshape(case.input_shape).astype(x.dtype)
        source = "seed"
    else:
        expected, source = cached_reference(case, "grad"), "reference"
    return Outcome(None, source, actual, expected, scale=scale(case, "grad"))


def check_indices(case: Case, backend, device: str) -> Outcome:
    """Max pooling's indices, converted by the target to DESIGN.md §3's convention (the flat
    position in the input's spatial plane), equal to the reference's: ties, NaN windows and
    layouts are where frameworks pick another element or flatten another way."""
    x = case.make_input()
    _, actual = backend.forward_with_indices(case.spec, x, device)
    return Outcome(None, "reference", actual, cached_reference(case, "indices"))


def check_unpool(case: Case, backend, device: str) -> Outcome:
    """The framework's unpooling of its own pooling: max_unpool(max_pool(x), indices) against
    the reference's scatter (each output at its reference index, zeros elsewhere)."""
    actual = backend.unpool(case.spec, case.make_input(), device)
    return Outcome(None, "reference", actual, cached_reference(case, "unpool"))


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
        return Outcome(Comparison("nondeterministic", mismatch_count=len(differ), message="; ".join(differ)))
    return Outcome(Comparison("pass", message="identical bits twice: " + ", ".join(n for n, _ in calls)))


def check_error_parity(case, backend, device: str) -> Outcome:

    backend._check_device(device)
    cmp, actual = errorparity.check(case, backend, reference_target(), device)
    return Outcome(cmp, actual=actual)


def check_invariant(case: Case, backend, device: str) -> Outcome:

    return Outcome(invariants.check(case, backend, device))


RESIZE_FACTOR = 2  # the second input size: every spatial dim doubled


def resized(case: Case, default_stride: str | None = None) -> Case:
    """The case at its second input size: every spatial dim doubled (adaptive pooling keeps its
    output size, so every window moves; fixed pooling gets more windows), same dtype, family
    and seed. Unsupported where the spec is invalid there or the values were written by hand."""
    if case.values is not None:
        raise Unsupported("hand-written values have one size only")
    axes = case.spec.spatial_axes()
    shape = tuple(n * RESIZE_FACTOR if i in axes else n for i, n in enumerate(case.input_shape))
    try:
        return Case(case.spec, shape, case.dtype, case.family, case.seed, case.suite)
    except InvalidSpec as exc:
        raise Unsupported(f"the spec is invalid at the second input size {shape}: {exc}") from None


def at_documented_default(case: Case, default_stride: str | None) -> Case:
    """The case a default_stride result is about: the geometry at the target's documented
    default stride (the same id, so the same input), where that default is not the kernel."""
    if not default_stride or default_stride == "kernel":
        return case
    return dataclasses.replace(
        case,
        spec=at_default_stride(case.spec, default_stride),
        name=case.id,
        expected=None,
        expected_shape=None,
        expected_grad=None,
    )


def check_resized(case: Case, backend, device: str) -> Outcome:
    """Converters and compilers specialise on the shapes they see: the target prepares the
    call for the case's input with its spatial dims left dynamic (where the path can) and runs
    it at a second size, compared with the reference at that size (issue 23). A target that
    computes every call afresh says so (Unsupported): there is nothing to specialise."""
    second = resized(case)
    actual = backend.forward_resized(case.spec, case.make_input(), second.make_input(), device)
    return Outcome(
        None, "reference", actual, cached_reference(second, "forward"), scale=scale(second, "forward")
    )


def expected_values(case, check: str, default_stride: str | None = "kernel") -> tuple[np.ndarray, str]:
    """What an array check compares against, and whence: a seed's hand-entered values, else
    the reference on the case the check computes (default_stride: at the target's documented
    default; resized: at the second size). A reproducer embeds it."""
    x = case.make_input()
    definition = checkdefs.of(check)
    if definition.expected in ("indices", "unpool"):
        return cached_reference(case, definition.expected), "reference"
    checked = definition.case_checked(case, default_stride)
    if checked is not case:  # computed on another case (checkdefs `checked_case`): at another
        # size (resized) on that size's input, at another stride (default_stride) on this input
        same_size = checked.input_shape == case.input_shape
        return reference_target().forward(checked.spec, x if same_size else checked.make_input()), "reference"
    what = definition.expected
    if what == "grad":
        if getattr(case, "expected_grad", None) is not None:
            return np.asarray(case.expected_grad).reshape(case.input_shape).astype(x.dtype), "seed"
        return reference_target().vjp(case.spec, x, case.make_upstream()), "reference"
    if getattr(case, "expected", None) is not None:
        return np.asarray(case.expected).reshape(case.output_shape).astype(x.dtype), "seed"
    return reference_target().forward(case.spec, x), "reference"


def reproducer_for(name: str, case, check: str) -> str:
    """The target's reproducer script for a case, or a comment saying why there is none (run
    where the target loads: a worker process, or this one without isolation)."""
    try:
        backend = registry.get(name)
        expected, source = expected_values(case, check, backend.default_stride)
        return backend.reproducer(case, check, expected, source)
    except Exception as exc:  # e.g. Unsupported: the framework cannot express it
        return f"# {name} cannot run this case natively: {exc}"
