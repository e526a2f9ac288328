"""Pooling conformance suite: do frameworks compute the same pooling layer, and if not, why?

Importing this package imports NumPy and the standard library only, never a framework.
"""

from conformance import registry
from conformance.case import Case
from conformance.errors import BackendUnavailable, InvalidSpec, Unsupported, UsageError
from conformance.spec import PoolSpec

__all__ = [
    "BackendUnavailable",
    "Case",
    "InvalidSpec",
    "PoolSpec",
    "Unsupported",
    "UsageError",
    "registry",
]
__version__ = "0.1.0"
