"""pytest plugin (entry point `pytest11`): parity tests, one per case x backend x check x device.

Any test that asks for the `parity_task` fixture is parametrised over the selected suites and
backends; `parity_result` runs the task and appends its record to `--results`. A recorded known
divergence is a strict xfail: if the backend starts to agree with the reference the test fails
(XPASS strict), so an upstream fix is noticed and the entry can be removed.
"""

from __future__ import annotations

import pytest

from conformance import known, registry, runner
from conformance.errors import UsageError
from conformance.results import ResultWriter

DEFAULT_SUITES = "seeds,smoke,regressions"


class KnownDivergenceObserved(AssertionError):
    """Raised when a result matches its known-divergence entry (the strict xfail expects it)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "pooling conformance parity runs")
    group.addoption("--backends", default=None,
                    help="comma-separated backends to test (default: every available one)")
    group.addoption("--suite", default=DEFAULT_SUITES,
                    help=f"comma-separated suites (default: {DEFAULT_SUITES})")
    group.addoption("--device", default="cpu", choices=("cpu", "gpu", "all"),
                    help="device to run backends on (default: cpu)")
    group.addoption("--results", default=None, metavar="PATH",
                    help="append every parity result to this JSON Lines file")


def _selected_backends(config: pytest.Config) -> tuple[list[str], dict[str, str]]:
    """(backends to run, unavailable backends -> reason) honouring --backends."""
    asked = config.getoption("--backends")
    if asked:
        names = [n.strip() for n in asked.split(",") if n.strip()]
        missing = {n: registry.reason(n) for n in names if registry.reason(n)}
        if missing:
            raise pytest.UsageError("requested backend(s) unavailable: " + "; ".join(missing.values()))
        return names, {}
    unavailable = {n: registry.reason(n) for n in registry.names() if registry.reason(n)}
    return [n for n in registry.names() if n not in unavailable], unavailable


def _cases(config: pytest.Config):
    from cases import get_suite

    out = []
    for name in config.getoption("--suite").split(","):
        try:
            out.extend(get_suite(name.strip()))
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from exc
    return out


def pytest_configure(config: pytest.Config) -> None:
    # Bad options are usage errors (exit status 4), checked before any collection.
    if config.getoption("--backends", default=None):
        _selected_backends(config)
    if config.getoption("--suite", default=None):
        _cases(config)
    path = config.getoption("--results", default=None)
    config._conformance_writer = ResultWriter(path) if path else None


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = getattr(config, "_conformance_writer", None)
    if writer is not None:
        writer.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "parity_task" not in metafunc.fixturenames:
        return
    config = metafunc.config
    backends, unavailable = _selected_backends(config)
    device = config.getoption("--device")
    devices = ["cpu", "gpu"] if device == "all" else [device]
    params = []
    for case, backend, check, dev in runner.tasks(_cases(config), backends, devices):
        test_id = f"{case.id}-{backend}-{check}" + ("" if dev == "cpu" else f"-{dev}")
        marks = [pytest.mark.parity]
        entry = known.find(backend, registry.get(backend).version, case, check, dev)
        if entry is not None:
            marks.append(pytest.mark.xfail(strict=True, raises=KnownDivergenceObserved,
                                           reason=f"known divergence {entry.id}: {entry.link}"))
        if dev == "gpu":
            marks.append(pytest.mark.gpu)
        params.append(pytest.param((case, backend, check, dev), id=test_id, marks=marks))
    for name, why in unavailable.items():
        params.append(pytest.param(None, id=f"{name}-unavailable",
                                   marks=pytest.mark.skip(reason=why)))
    metafunc.parametrize("parity_task", params)


@pytest.fixture
def parity_result(parity_task, request):
    """Run the parametrised task; the record goes to --results whatever the outcome."""
    result = runner.run_check(*parity_task)
    writer = request.config._conformance_writer
    if writer is not None:
        writer.write(result)
    return result


def assert_parity(result) -> None:
    """The verdict of a parity test, shared by the suite's own test module."""
    where = f"{result.case_id} on {result.backend} ({result.check}, {result.device})"
    if result.status == "unsupported":
        pytest.skip(f"unsupported: {result.message}")
    if result.status == "known_divergence":
        raise KnownDivergenceObserved(f"{where}: {result.message}")
    if result.status in ("pass", "fixed_divergence"):  # fixed: the strict xfail reports XPASS
        return
    raise AssertionError(f"{where}: {result.status}: {result.message}")


__all__ = ["assert_parity"]
