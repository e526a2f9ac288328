"""pytest plugin (entry point `pytest11`): parity tests, one per case x backend x check x device.

Any test that asks for the `parity_task` fixture is parametrised over the selected suites and
backends; `parity_result` runs the task and appends its record to `--conformance-results`. A
recorded known divergence is a strict xfail: if the backend starts to agree with the reference
the test fails (XPASS strict), so an upstream fix is noticed and the entry can be removed.

The plugin loads in every pytest session of the environment it is installed in, so it stays
out of the way: its options are prefixed (`--conformance-suite`, `--conformance-backends`,
`--conformance-device`, `--conformance-results`), it imports nothing of the suite (no registry,
no frameworks, no `backends`/`cases` packages) until a test asks for `parity_task` or an option
is given, and it sets no pytest options (xdist's `-n` included) for anyone. The ini option
`conformance_backends` sets the default target list (this repository sets "builtin": its own
tests never pick up third-party targets they were not asked for).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.devices import Device

DEFAULT_SUITES = "seeds,smoke,regressions"
OPTIONS = ("suite", "backends", "device", "results")  # each is --conformance-<name>


class KnownDivergenceObserved(AssertionError):
    """Raised when a result matches its known-divergence entry (the strict xfail expects it)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    from conformance import options

    group = parser.getgroup("conformance", "pooling conformance parity runs")
    options.add_to_pytest(
        group,
        {
            "suite": DEFAULT_SUITES,
            "device": Device.CPU,
            "backends": "the ini option conformance_backends, else every available target",
        },
    )
    group.addoption(
        "--conformance-results",
        dest="conformance_results",
        default=None,
        metavar="PATH",
        help="append every parity result to this JSON Lines file",
    )
    parser.addini(
        "conformance_backends",
        "default targets of parity tests: a comma-separated "
        "list, 'builtin' (the targets this suite ships) or empty (every available)",
        default="",
    )


def _option(config: pytest.Config, name: str):
    return config.getoption(f"conformance_{name}", default=None)


def _selected_backends(config: pytest.Config) -> tuple[list[str], dict[str, str]]:
    """(backends to run, unavailable backends -> reason) honouring --conformance-backends."""
    from conformance import registry

    asked = _option(config, "backends")
    if asked:
        names = [n.strip() for n in asked.split(",") if n.strip()]
        missing = {n: _reason(config, n) for n in names if _reason(config, n)}
        if missing:
            raise pytest.UsageError("requested backend(s) unavailable: " + "; ".join(missing.values()))
        return names, {}
    default = config.getini("conformance_backends").strip()
    if default == "builtin":
        candidates = registry.builtin()
    elif default:
        candidates = [n.strip() for n in default.split(",") if n.strip()]
    else:
        candidates = registry.names()
    unavailable = {n: _reason(config, n) for n in candidates if _reason(config, n)}
    return [n for n in candidates if n not in unavailable], unavailable


def _own_pool(config: pytest.Config):
    """Worker processes for the targets that need a process of their own (Keras picks its
    backend once per process): one per target, for the whole session."""
    if getattr(config, "_conformance_pool", None) is None:
        from conformance.isolation import WorkerPool

        config._conformance_pool = WorkerPool(1)
        config._conformance_probed = {}
    return config._conformance_pool


def _needs_own(name: str) -> bool:
    from conformance import registry

    return registry.target(name).own_process


def _info(config: pytest.Config, name: str) -> dict:
    """{"version": ..., "default_stride": ...} or {"reason": ...}; own-process targets are
    probed in their worker."""
    from conformance import registry

    if not _needs_own(name):
        why = registry.reason(name)
        if why:
            return {"reason": why}
        b = registry.get(name)
        return {"version": b.version, "default_stride": b.default_stride}
    pool = _own_pool(config)
    if name not in config._conformance_probed:
        config._conformance_probed |= pool.probe([name])
    return config._conformance_probed[name]


def _reason(config: pytest.Config, name: str) -> str | None:
    return _info(config, name).get("reason")


def _cases(config: pytest.Config):
    from conformance import packages
    from conformance.errors import InvalidSpec, UsageError

    try:
        packages.ensure("cases")
        from cases import load_suites

        return load_suites(_option(config, "suite") or DEFAULT_SUITES)
    except (UsageError, InvalidSpec) as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "parity: conformance parity test generated from a suite (case x target x check)"
    )
    config.addinivalue_line("markers", "gpu: needs a GPU; skipped cleanly where none is present")
    # Bad options are usage errors (exit status 4), checked before any collection; nothing is
    # loaded when none is given.
    if _option(config, "backends"):
        _selected_backends(config)
    if _option(config, "suite"):
        _cases(config)
    config._conformance_writer = None
    path = _option(config, "results")
    if path:
        from conformance.results import ResultWriter

        if Path(path).is_dir():
            raise pytest.UsageError(f"--conformance-results {path}: a directory; give a file path")
        config._conformance_writer = ResultWriter(path)


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = getattr(config, "_conformance_writer", None)
    if writer is not None:
        writer.close()
    pool = getattr(config, "_conformance_pool", None)
    if pool is not None:
        pool.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "parity_task" not in metafunc.fixturenames:
        return
    from conformance import known, runner
    from conformance.devices import expand

    config = metafunc.config
    backends, unavailable = _selected_backends(config)
    device = _option(config, "device") or Device.CPU
    devices = expand(device)
    params = []
    for case, backend, check, dev in runner.tasks(_cases(config), backends, devices):
        test_id = f"{case.id}-{backend}-{check}" + ("" if dev == Device.CPU else f"-{dev}")
        marks = [pytest.mark.parity]
        info = _info(config, backend)
        as_checked = runner.case_as_checked(case, check, info.get("default_stride"))
        entry = known.find(backend, info["version"], as_checked, check, dev)
        if entry is not None:
            # strict unless the entry says the behaviour is order-dependent (strict = false)
            marks.append(
                pytest.mark.xfail(
                    strict=entry.strict,
                    raises=KnownDivergenceObserved,
                    reason=f"known divergence {entry.id}: {entry.link}",
                )
            )
        if dev == Device.GPU:
            marks.append(pytest.mark.gpu)
        params.append(pytest.param((case, backend, check, dev), id=test_id, marks=marks))
    for name, why in unavailable.items():
        params.append(pytest.param(None, id=f"{name}-unavailable", marks=pytest.mark.skip(reason=why)))
    metafunc.parametrize("parity_task", params)


@pytest.fixture
def parity_result(parity_task, request):
    """Run the parametrised task; the record goes to --conformance-results whatever the outcome."""
    from conformance import runner

    if _needs_own(parity_task[1]):  # in the target's own worker process
        result = next(_own_pool(request.config).run([parity_task]))
    else:
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
    pytest.fail(failure_message(result), pytrace=False)


def failure_message(result) -> str:
    """What a failing parity test says: the diagnosis first (which semantics the target
    follows), then the comparison, then the command to inspect it; no traceback into this
    plugin and no dump of the whole record."""
    from conformance.report import clean
    from conformance.summary import show_command

    record = {"case_id": result.case_id, "backend": result.backend, "suite": result.suite}
    lines = [
        f"{result.case_id} on {result.backend} ({result.check}, {result.device}): {result.status}",
        f"  diagnosis: {result.diagnosis or 'no alternative semantics of the reference matches'}",
        f"  {clean(result.message)[:600]}",
        f"  inspect: {show_command(record)}",
    ]
    return "\n".join(lines)


__all__ = ["assert_parity"]
