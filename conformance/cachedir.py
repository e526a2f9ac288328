"""The one folder this project caches things in: built suites, framework probes, JAX's and
inductor's compilations. $CONFORMANCE_CACHE_DIR, else $XDG_CACHE_HOME/pooling-conformance, else
~/.cache/pooling-conformance. Deleting it is always safe: everything there is rebuilt on demand."""

from __future__ import annotations

import os
from pathlib import Path


def folder(*parts: str) -> Path:
    explicit = os.environ.get("CONFORMANCE_CACHE_DIR")
    if explicit:
        return Path(explicit, *parts)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, "pooling-conformance", *parts)


PROJECT = Path(__file__).resolve().parent.parent


def hash_sources(digest, sources: tuple[tuple[str, str], ...]) -> None:
    """Feed every project file matching (folder, glob pattern, recursive) — name and bytes — into
    `digest`: a memo keyed by it goes stale the moment any of them is edited."""
    for sub, pattern in sources:
        for path in sorted((PROJECT / sub).rglob(pattern)):
            digest.update(str(path.relative_to(PROJECT)).encode())
            digest.update(path.read_bytes())
