"""Exceptions of the public API.

`InvalidSpec` means no framework could run the spec (the normative semantics reject it);
`Unsupported` means one framework cannot express it natively. Keeping them apart is what lets a
report say "TensorFlow cannot do this" instead of "this case is broken".
"""

from __future__ import annotations

ECHO_LIMIT = 200  # characters of a user's value echoed in an error message


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """A user's value as echoed in an error: at most `limit` characters (a 10 MB case name
    must not become a 10 MB error line)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class InvalidSpec(ValueError):
    """A spec or case field has a value outside what the semantics allow."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{shorten(field)}={shorten(repr(value))} is invalid: allowed {allowed}")


class Unsupported(Exception):
    """A backend cannot express this case natively; the message is a one-line reason."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class BackendUnavailable(Exception):
    """A backend's framework is missing or broken here; the message says why."""


class UsageError(Exception):
    """Bad command-line or plugin usage (exit status 2)."""
