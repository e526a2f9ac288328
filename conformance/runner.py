"""Running one check of one case on one backend, and whole suites.

Every outcome becomes a `Result`: a framework's exception is an `error` record with its
message, never an exception out of the runner, so one bad case cannot end a run.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np

from conformance import evidence, known, registry
from conformance.case import Case
from conformance.compare import TOLERANCE_ULPS, Comparison, compare
from conformance.errors import BackendUnavailable, InvalidSpec, Unsupported
from conformance.results import Result
from conformance.spec import replace

Task = tuple[Case, str, str, str]  # case, backend, check, device


def _ref():
    return registry.get(registry.REFERENCE)


@lru_cache(maxsize=256)
def _reference(case: Case, what: str) -> np.ndarray:
    """Reference arrays of a case, cached because every backend compares against them."""
    ref, x = _ref(), case.make_input()
    if what == "forward":
        return ref.forward(case.spec, x)
    if what == "forward_scale":
        return ref.forward(case.spec, np.abs(x))
    gy = case.make_upstream()
    if what == "grad":
        return ref.vjp(case.spec, x, gy)
    if what == "grad_scale":
        return ref.vjp(case.spec, x, np.abs(gy))
    raise ValueError(what)


def _scale(case: Case, check: str) -> np.ndarray | None:
    """The magnitude scale of the tolerance; max forward values compare exactly and need none."""
    if check == "grad":
        return _reference(case, "grad_scale")
    return _reference(case, "forward_scale") if case.spec.op == "avg" else None


DEFAULT_STRIDES = ("kernel", "1")  # the defaults APIs document for an omitted stride


def at_default_stride(spec, default: str):
    """The spec with the stride an API uses when it is left out."""
    return replace(spec, stride=spec.kernel if default == "kernel" else (1,) * spec.ndim)


def _measured_default(case: Case, x: np.ndarray, actual: np.ndarray) -> str:
    """Which documented default the output shows: by its shape where the candidates' shapes
    differ (values may differ for another, recorded reason), else by value; "either" where the
    candidates coincide (a 1-wide kernel), "other" where none fits."""
    ref, found = _ref(), {}
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
    by_value = [d for d in by_shape if compare(actual, found[d], exact=case.spec.op == "max",
                                               scale=None).status == "pass"]
    if len(by_value) == 1:
        return by_value[0]
    return "either" if by_value else "other"


def _check_default_stride(case: Case, backend, device: str):
    """Call the API without a stride; compare with the reference at the target's documented
    default, and measure which default the output shows (the report's default-stride table)."""
    if case.spec.stride != case.spec.kernel:
        raise InvalidSpec("stride", case.spec.stride, "equal to the kernel for default_stride")
    documented = backend.default_stride
    if documented is None:
        return backend.forward_default_stride(case.spec, case.make_input(), device)  # raises
    x, ref = case.make_input(), _ref()
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
    scale = ref.forward(spec, np.abs(x)) if case.spec.op == "avg" else None
    cmp = compare(actual, expected, exact=case.spec.op == "max", scale=scale)
    return cmp, source, actual, expected, info


def _check_forward(case: Case, backend, device: str):
    x = case.make_input()
    actual = backend.forward(case.spec, x, device)
    if case.expected_shape is not None and tuple(actual.shape) != tuple(case.expected_shape):
        return Comparison("shape_mismatch", message=f"shape {actual.shape}, the hand-entered "
                          f"expectation gives {tuple(case.expected_shape)}"), "seed", actual, None
    if case.expected is not None:
        expected = np.asarray(case.expected).reshape(case.output_shape).astype(x.dtype)
        source = "seed"
    else:
        expected, source = _reference(case, "forward"), "reference"
    return compare(actual, expected, exact=case.spec.op == "max",
                   scale=_scale(case, "forward")), source, actual, expected


def _check_grad(case: Case, backend, device: str):
    x, gy = case.make_input(), case.make_upstream()
    actual = backend.vjp(case.spec, x, gy, device)
    if case.expected_grad is not None:
        expected = np.asarray(case.expected_grad).reshape(case.input_shape).astype(x.dtype)
        source = "seed"
    else:
        expected, source = _reference(case, "grad"), "reference"
    cmp = compare(actual, expected, exact=False, scale=_reference(case, "grad_scale"))
    return cmp, source, actual, expected


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _check_determinism(case: Case, backend, device: str) -> Comparison:
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
        return Comparison("nondeterministic", mismatch_count=len(differ), message="; ".join(differ))
    return Comparison("pass", message="identical bits twice: " + ", ".join(n for n, _ in calls))


def run_check(case: Case, backend_name: str, check: str, device: str = "cpu") -> Result:
    """Run one check and classify it (known divergences included); never raises for a case."""
    start = time.perf_counter()
    version, cmp, source, actual, expected = "", Comparison("error"), "reference", None, None
    backend, stride_info = None, None
    try:
        backend = registry.get(backend_name)
        version = backend.version
        if backend.checks is not None and check not in backend.checks:
            raise Unsupported(f"{backend_name} runs the {', '.join(backend.checks)} checks; its "
                              f"eager sibling covers {check}")
        if check == "forward":
            cmp, source, actual, expected = _check_forward(case, backend, device)
        elif check == "default_stride":
            cmp, source, actual, expected, stride_info = _check_default_stride(case, backend, device)
        elif check == "grad":
            cmp, source, actual, expected = _check_grad(case, backend, device)
        elif check == "error_parity":
            from conformance import errorparity

            backend._check_device(device)
            cmp, actual = errorparity.check(case, backend, _ref(), device)
        elif check == "invariant":
            from conformance import invariants

            cmp = invariants.check(case, backend, device)
        elif check == "determinism":
            cmp = _check_determinism(case, backend, device)
        else:
            raise InvalidSpec("check", check, "forward, grad, default_stride, error_parity, "
                                               "invariant or determinism")
    except Unsupported as exc:
        cmp = Comparison("unsupported", message=exc.reason)
    except BackendUnavailable as exc:
        cmp = Comparison("unsupported", message=str(exc))
    except Exception as exc:  # a framework's (or our) failure on this case: record it
        tb = traceback.extract_tb(exc.__traceback__)
        where = stable_text(f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})") if tb else ""
        cmp = Comparison("error", message=stable_text(f"{type(exc).__name__}: {exc}")[:2000] + where)
    result = Result(
        case_id=case.id, suite=case.suite, spec=case.spec.to_json(),
        input_shape=list(case.input_shape), dtype=case.dtype, family=case.family,
        backend=backend_name, backend_version=version, device=device, check=check,
        status=cmp.status, max_abs_err=cmp.max_abs_err, max_ulp_err=cmp.max_ulp_err,
        mismatch_count=cmp.mismatch_count, message=cmp.message,
        seconds=round(time.perf_counter() - start, 6), expected_from=source, note=case.note,
        diagnosis=diagnose(case, check, actual) if cmp.status == "mismatch"
        and check in ("forward", "grad") else None,
        extra={"tolerance_ulps": TOLERANCE_ULPS.get(case.dtype)} if case.spec.op == "avg"
        or check == "grad" else {},
    )
    if stride_info is not None:
        result.extra["default_stride"] = stride_info
    if check == "default_stride" and backend is not None and backend.default_stride \
            and backend.default_stride != "kernel":  # known entries see the geometry computed
        case = _at_default(case, backend.default_stride)
    result = classify(result, case)
    if result.status not in ("pass", "unsupported") and check in ("forward", "grad", "default_stride"):
        _attach_evidence(result, case, check, backend, actual, expected)
    return result


def _at_default(case: Case, default: str) -> Case:
    from dataclasses import replace as dc_replace

    try:
        return dc_replace(case, spec=at_default_stride(case.spec, default), name=None,
                          expected=None, expected_shape=None, expected_grad=None)
    except InvalidSpec:
        return case


# Parts of framework messages that change from run to run (temporary file names, function
# counters, addresses), so that two runs of one suite write identical records.
_VOLATILE = (
    (re.compile(r"__autograph_generated_file\w+\.py"), "__autograph_generated_file.py"),
    (re.compile(r"(__inference_[\w<>]+?)_\d+\b"), r"\1"),
    (re.compile(r"0x[0-9a-f]{6,}"), "0x..."),
)


def stable_text(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _attach_evidence(result: Result, case: Case, check: str, backend, actual, expected) -> None:
    """Arrays or a heat map, and a reproducer, for the report's drill-down (never raises)."""
    try:
        scale = _scale(case, check)
        result.extra.update(evidence.collect(actual, expected, layout=case.spec.layout,
                                             exact=check != "grad" and case.spec.op == "max",
                                             scale=scale))
    except Exception as exc:  # evidence is a convenience; its failure must not hide the result
        result.extra["evidence_error"] = f"{type(exc).__name__}: {exc}"
    if backend is not None and hasattr(backend, "reproducer"):
        try:
            result.extra["reproducer"] = backend.reproducer(case, check)
        except Exception as exc:
            result.extra["reproducer"] = f"# no reproducer: {type(exc).__name__}: {exc}"


def diagnose(case: Case, check: str, actual: np.ndarray | None) -> str | None:
    """Which alternative semantics of the reference the backend's output matches, if any."""
    ref = _ref()
    if actual is None or check == "default_stride":
        return None
    x, labels = case.make_input(), []
    for name, variant in getattr(ref, "variants", {}).items():
        if case.spec.op not in variant.ops:
            continue
        try:
            if check == "grad":
                other = ref.vjp_variant(case.spec, x, case.make_upstream(), name)
            else:
                other = ref.forward_variant(case.spec, x, name)
        except Exception:  # the variant does not apply to this geometry
            continue
        exact = check == "forward" and case.spec.op == "max"
        scale = _scale(case, check)
        scale = scale if scale is not None and other.shape == scale.shape else None
        matches = compare(actual, other, exact=exact, scale=scale).status == "pass"
        differs = compare(other, _reference(case, check), exact=exact, scale=scale).status != "pass"
        if matches and differs:
            labels.append(f"matches reference with {variant.meaning} [{name}]")
    return "; ".join(labels) or None


def classify(result: Result, case: Case, reference: bool = True) -> Result:
    """Apply the backend's known-divergence data to a raw result. `reference=False` (a crash
    or timeout classified by the parent process) matches on the case's static facts only: the
    reference may be what hung, and the parent has no time limit."""
    entry = known.find(result.backend, result.backend_version, case, result.check, result.device,
                       result.status, reference)
    if entry is None:
        return result
    result.known = entry.summary()
    if result.status == entry.status:
        result.status = "known_divergence"
        result.message = f"known divergence {entry.id}: {entry.reason} | {result.message}"
    elif result.status == "pass" and entry.strict:
        result.status = "fixed_divergence"
        result.message = f"passes although known divergence {entry.id} expects {entry.status}"
    return result


def tasks(cases: Iterable[Case], backends: list[str], devices: Iterable[str] = ("cpu",)) -> Iterator[Task]:
    """Case x backend x check x device, in a stable order.

    The reference runs only on cases with hand-entered expectations (seed examples): anywhere
    else it would be compared with itself.
    """
    devices = list(devices)
    for case in cases:
        has_hand_values = case.expected is not None or case.expected_shape is not None \
            or case.expected_grad is not None
        for name in backends:
            if name == registry.REFERENCE and not has_hand_values:
                continue
            for check in case.checks:
                for device in devices:
                    yield case, name, check, device


def run(cases: Iterable[Case], backends: list[str], devices: Iterable[str] = ("cpu",),
        writer=None, progress=None) -> list[Result]:
    results = []
    for task in tasks(cases, backends, devices):
        result = run_check(*task)
        if writer is not None:
            writer.write(result)
        if progress is not None:
            progress(result)
        results.append(result)
    return results
