"""Shared helpers for the suite's own tests."""

from __future__ import annotations

import pytest

from conformance import registry


def framework_backends() -> list[str]:
    """Every non-reference backend name (available or not)."""
    return [n for n in registry.names() if n != registry.REFERENCE]


@pytest.fixture(scope="session")
def ref():
    return registry.get(registry.REFERENCE)
