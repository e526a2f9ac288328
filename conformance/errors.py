"""Exceptions of the public API.

`InvalidSpec` means no framework could run the spec (the normative semantics reject it);
`Unsupported` means one framework cannot express it natively. Keeping them apart is what lets a
report say "TensorFlow cannot do this" instead of "this case is broken".
"""

from __future__ import annotations


class InvalidSpec(ValueError):
    """A spec or case field has a value outside what the semantics allow."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is invalid: allowed {allowed}")


class Unsupported(Exception):
    """A backend cannot express this case natively; the message is a one-line reason."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class BackendUnavailable(Exception):
    """A backend's framework is missing or broken here; the message says why."""


class UsageError(Exception):
    """Bad command-line or plugin usage (exit status 2)."""
