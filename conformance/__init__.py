"""Pooling conformance suite: do frameworks compute the same pooling layer, and if not, why?

The public names load on first use (PEP 562), so importing the package, or any of its small
modules (the pytest plugin imports `conformance.devices` in every pytest session of the
environment), imports nothing else; none of them ever imports a framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance import registry
    from conformance.case import Case
    from conformance.errors import BackendUnavailable, InvalidSpec, Unsupported, UsageError
    from conformance.spec import PoolSpec

_PUBLIC = {
    "BackendUnavailable": "conformance.errors",
    "Case": "conformance.case",
    "InvalidSpec": "conformance.errors",
    "PoolSpec": "conformance.spec",
    "Unsupported": "conformance.errors",
    "UsageError": "conformance.errors",
    "registry": "conformance.registry",
}
__all__ = [  # the names of _PUBLIC (tests/test_imports.py compares them)
    "BackendUnavailable",
    "Case",
    "InvalidSpec",
    "PoolSpec",
    "Unsupported",
    "UsageError",
    "registry",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if name == "registry" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
