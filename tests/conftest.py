"""Shared helpers for the suite's own tests, and this repository's own pytest conveniences:
the short option names (--suite, --backends, --device, --results: aliases of the plugin's
--conformance-* options, defined here so they never clash with other projects' options) and
xdist's `-n auto` when pytest-xdist is installed (the plugin forces neither on its users)."""

from __future__ import annotations

import pytest

from conformance import registry
from conformance.options import DEVICE_CHOICES
from conformance.pytest_plugin import OPTIONS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    for name in OPTIONS:
        choices = DEVICE_CHOICES if name == "device" else None
        group.addoption(
            f"--{name}",
            dest=f"conformance_{name}",
            default=None,
            choices=choices,
            help=f"short for --conformance-{name} (this repository only)",
        )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Parallel by default where xdist is installed; `-n 0` (or `-p no:xdist`) runs serially."""
    if (
        config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and getattr(config.option, "numprocesses", None) is None
    ):
        config.option.numprocesses = "auto"


def framework_backends() -> list[str]:
    """Every built-in non-reference target name, available or not. The project's own tests
    never pick up third-party targets (entry points) they were not asked for."""
    return [n for n in registry.builtin() if n != registry.REFERENCE]


def available_frameworks() -> list[str]:
    """The built-in non-reference targets whose framework imports here."""
    return [n for n in framework_backends() if registry.reason(n) is None]


def require(name: str):
    """The backend, or a skip that says why it is unavailable here."""
    why = registry.reason(name)
    if why:
        pytest.skip(why)
    return registry.get(name)


@pytest.fixture(scope="session")
def ref():
    return registry.get(registry.REFERENCE)
