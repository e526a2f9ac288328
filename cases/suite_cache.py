"""An on-disk memo of built suites, so that `conformance list`, `show` and `run` do not spend
seconds regenerating covering arrays (the `default` suite takes about 6 s to build, `full` 5 s;
loading either takes a fraction of a second). It lives in conformance.cachedir's "suites".

A suite is stored under a key that hashes every source and data file it is built from (this
package, `conformance/`, `backends/native/*.toml`) with the NumPy, ml_dtypes and Python versions:
any edit or upgrade builds afresh, and only the current key's files are kept.
CONFORMANCE_SUITE_CACHE=0 turns the memo off. A file that cannot be read is rebuilt, never trusted.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

import ml_dtypes
import numpy as np

from conformance import cachedir

# The suites worth remembering: generated from covering arrays (seconds). The hand-written ones
# build in milliseconds, and building them has effects a stored copy would skip (the
# regressions suite fills cases.regressions.LINKS).
GENERATED = ("smoke", "default", "full")
SOURCES = (("cases", "*.py"), ("conformance", "*.py"), ("backends/native", "*.toml"))


def enabled() -> bool:
    return os.environ.get("CONFORMANCE_SUITE_CACHE", "1") != "0"


@functools.cache
def source_key() -> str:

    digest = hashlib.sha256(f"{sys.version}|{np.__version__}|{ml_dtypes.__version__}".encode())
    cachedir.hash_sources(digest, SOURCES)
    return digest.hexdigest()[:20]


def _path(name: str, seed: int) -> Path:
    return cachedir.folder("suites") / f"suite-{source_key()}-{name}-{seed}.pickle"


def load(name: str, seed: int):
    """The stored suite, or None (absent, unreadable, or the memo turned off)."""
    if not enabled():
        return None
    try:
        with _path(name, seed).open("rb") as fh:
            return pickle.load(fh)
    except Exception:  # absent, truncated, from another version: build it again
        return None


def store(name: str, seed: int, cases) -> None:
    """Write atomically; remove suites stored under older keys. Never fails a run."""
    if not enabled():
        return
    try:
        target = _path(name, seed)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False, prefix=".suite-") as fh:
            pickle.dump(cases, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, target)
        for old in target.parent.glob("suite-*.pickle"):
            if not old.name.startswith(f"suite-{source_key()}-"):
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only home, a full disk: the memo is an optimisation only
