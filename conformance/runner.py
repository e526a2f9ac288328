"""Running one check of one case on one backend, and whole suites.

Every outcome becomes a `Result`: a framework's exception is an `error` record with its
message, never an exception out of the runner, so one bad case cannot end a run.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Iterable, Iterator

from conformance import checkdefs, checks, diagnosis, evidence, known, registry
from conformance.case import Case
from conformance.compare import TOLERANCE_ULPS, Comparison, compare
from conformance.devices import Device
from conformance.errors import BackendUnavailable, InvalidSpec, Unsupported
from conformance.results import Result
from conformance.task import Task


def run_check(case: Case, backend_name: str, check: str, device: Device = Device.CPU) -> Result:
    """Run one check and classify it (known divergences included); never raises for a case."""
    start = time.perf_counter()
    version, cmp, source, actual, expected = "", Comparison("error"), "reference", None, None
    backend, stride_info, suite_refused = None, None, False
    try:
        backend = registry.get(backend_name)
        version = backend.version
        if backend.checks is not None and check not in backend.checks:
            raise Unsupported(
                f"{backend_name} runs the {', '.join(backend.checks)} checks; its "
                f"eager sibling covers {check}"
            )
        if check not in checkdefs.ALL:
            raise InvalidSpec("check", check, f"one of {checkdefs.NAMES}")
        definition = checkdefs.of(check)
        outcome = definition.function()(case, backend, device)
        cmp, source, actual, expected = outcome.cmp, outcome.source, outcome.actual, outcome.expected
        if cmp is None:  # an array check: compared here, by the check's declared rule
            cmp = compare(
                actual, expected, exact=definition.is_exact(case.spec.kind.selects), scale=outcome.scale
            )
        stride_info = outcome.info
    except Unsupported as exc:  # a framework's words may carry graph counters, temp names
        cmp = Comparison("unsupported", message=stable_text(exc.reason))
    except BackendUnavailable as exc:
        cmp = Comparison("unsupported", message=str(exc))
    except Exception as exc:  # a framework's (or our) failure on this case: record it
        # InvalidSpec is the suite's own refusal (no target raises it): never a known divergence
        suite_refused = isinstance(exc, InvalidSpec)
        tb = traceback.extract_tb(exc.__traceback__)
        where = stable_text(f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})") if tb else ""
        cmp = Comparison("error", message=stable_text(f"{type(exc).__name__}: {exc}")[:2000] + where)
    result = Task(case, backend_name, check, device).result(
        cmp.status,
        cmp.message,
        backend_version=version,
        max_abs_err=cmp.max_abs_err,
        max_ulp_err=cmp.max_ulp_err,
        mismatch_count=cmp.mismatch_count,
        seconds=round(time.perf_counter() - start, 6),
        expected_from=source,
        diagnosis=diagnosis.diagnose(case, check, actual) if cmp.status == "mismatch" else None,
        extra={"tolerance_ulps": TOLERANCE_ULPS.get(case.dtype)}
        if case.spec.kind.averages or check == "grad"
        else {},
    )
    if stride_info is not None:
        result.extra["default_stride"] = stride_info
    if backend is not None:
        case = case_as_checked(case, check, backend.default_stride)
    known_check = checkdefs.ALL.get(check)
    if backend is not None and known_check and known_check.native_call and cmp.status != "unsupported":
        _attach_native_call(result, case, check, backend)
    if not suite_refused:  # a known divergence describes a target, never the suite's own error
        result = classify(result, case)
    if result.status not in ("pass", "unsupported") and known_check and known_check.evidence:
        _attach_evidence(result, case, check, backend, actual, expected, source)
    return result


def _attach_native_call(result: Result, case: Case, check: str, backend) -> None:
    try:
        facts = backend.native_call(case.spec, case.input_shape, case.dtype, check)
    except Exception as exc:  # a description must not hide the result
        facts = {"error": f"{type(exc).__name__}: {exc}"}
    if facts:
        result.extra["native_call"] = facts


def case_as_checked(case: Case, check: str, default_stride: str | None) -> Case:
    """The case a known entry is matched on, where a check computes another one than it was
    given (checkdefs `checked_case`: default_stride at the target's documented default, resized
    at the second size); the runner and the pytest plugin both classify through this."""
    if check not in checkdefs.ALL:
        return case
    try:
        return checkdefs.of(check).case_checked(case, default_stride)
    except (Unsupported, InvalidSpec):
        return case


# Parts of framework messages that change from run to run (temporary file names, function
# counters, addresses), so that two runs of one suite write identical records, and terminal
# colour codes (converters colour the log lines their refusals quote).
_VOLATILE = (
    (re.compile(r"\x1b\[[0-9;]*m"), ""),
    (re.compile(r"(/tmp/[A-Za-z0-9_]+-)[a-z0-9_]{8}\b"), r"\1XXXXXXXX"),  # tempfile.mkdtemp(prefix=...)
    (re.compile(r"__autograph_generated_file\w+\.py"), "__autograph_generated_file.py"),
    (re.compile(r"(__inference_[\w<>]+?)_\d+\b"), r"\1"),
    (re.compile(r"(__inference_[\w<>]+?)\[[^\]]*\]"), r"\1"),  # XLA's per-process attributes
    (re.compile(r"0x[0-9a-f]{6,}"), "0x..."),
    (re.compile(r"\b([A-Z][A-Za-z]+)_\d+\b"), r"\1_N"),  # OpenVINO's node counter (MaxPool_84285, MaxPool_2)
)


def stable_text(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _attach_evidence(result: Result, case: Case, check: str, backend, actual, expected, source: str) -> None:
    """Arrays or a heat map, and a reproducer, for the report's drill-down (never raises)."""
    try:
        scale = checks.scale(case, check)
        result.extra.update(
            evidence.collect(
                actual, expected, layout=case.spec.layout, exact=checks.exact(case, check), scale=scale
            )
        )
    except Exception as exc:  # evidence is a convenience; its failure must not hide the result
        result.extra["evidence_error"] = f"{type(exc).__name__}: {exc}"
    if backend is not None and hasattr(backend, "reproducer"):
        try:
            if expected is None:  # the call raised: the script still shows what was expected
                expected, source = checks.expected_values(case, check, backend.default_stride)
            result.extra["reproducer"] = backend.reproducer(case, check, expected, source)
        except Exception as exc:
            result.extra["reproducer"] = f"# no reproducer: {type(exc).__name__}: {exc}"


def classify(result: Result, case: Case, reference: bool = True) -> Result:
    """Apply the backend's known-divergence data to a raw result. `reference=False` (a crash
    or timeout classified by the parent process) matches on the case's static facts only: the
    reference may be what hung, and the parent has no time limit."""
    entry = known.find(
        result.backend, result.backend_version, case, result.check, result.device, result.status, reference
    )
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


def tasks(
    cases: Iterable[Case], backends: list[str], devices: Iterable[Device] = (Device.CPU,)
) -> Iterator[Task]:
    """Case x backend x check x device, in a stable order.

    The reference runs only on cases with hand-entered expectations (seed examples): anywhere
    else it would be compared with itself.
    """
    devices = list(devices)
    for case in cases:
        has_hand_values = (
            case.expected is not None or case.expected_shape is not None or case.expected_grad is not None
        )
        for name in backends:
            if name == registry.REFERENCE and not has_hand_values:
                continue
            for check in case.checks:
                for device in devices:
                    yield Task(case, name, check, device)


def run(
    cases: Iterable[Case],
    backends: list[str],
    devices: Iterable[Device] = (Device.CPU,),
    writer=None,
    progress=None,
) -> list[Result]:
    results = []
    for task in tasks(cases, backends, devices):
        result = run_check(*task)
        if writer is not None:
            writer.write(result)
        if progress is not None:
            progress(result)
        results.append(result)
    return results
