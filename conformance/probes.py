"""Which targets load on this machine, their versions and devices — probed once, then remembered.

Probing imports every framework, each Keras target in a process of its own (conformance.isolation
asks all workers at once, so they import in parallel): seconds that `conformance list` should
not spend every time. The answer is stored in conformance.cachedir's "probes" under a key of
everything it depends on: the installed distributions and their versions, this project's
source, the Python executable, the side environments (conformance.environments), the
environment variables that select devices or backends, and whether a GPU device node exists.
Installing, upgrading or removing anything probes afresh; `conformance list --fresh` does too.
A run never uses this memo: it loads its targets itself and records what loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from importlib.metadata import distributions
from pathlib import Path

from conformance import cachedir, environments, registry
from conformance.isolation import WorkerPool

# environment variables that change which targets load or which devices they see
ENVIRONMENT = (
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "JAX_PLATFORMS",
    "KERAS_BACKEND",
    "CONFORMANCE_EXTRA_BACKENDS",
    "TF_CPP_MIN_LOG_LEVEL",
)


def key() -> str:
    digest = hashlib.sha256(sys.executable.encode())
    installed = sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions())
    digest.update("\n".join(installed).encode())
    for name in ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name)}".encode())
    digest.update(str(any(Path("/dev").glob("nvidia[0-9]*"))).encode())
    sides = [t.environment for t in registry.TARGETS.values() if t.environment]
    digest.update(environments.fingerprint(sides).encode())  # their installs, as this one's
    cachedir.hash_sources(digest, (("backends", "*.py"), ("conformance", "*.py")))
    return digest.hexdigest()[:20]


def targets(fresh: bool = False) -> tuple[dict[str, dict], float | None]:
    """(name -> {"version", "devices"} or {"reason"}, when it was probed if remembered)."""
    path = cachedir.folder("probes") / f"probe-{key()}.json"
    if not fresh:
        try:
            data = json.loads(path.read_text())
            return data["targets"], data["probed_at"]
        except (OSError, ValueError, KeyError):
            pass

    pool = WorkerPool(jobs=1)
    try:
        found = pool.probe()
    finally:
        pool.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("probe-*.json"):
            old.unlink(missing_ok=True)
        path.write_text(json.dumps({"targets": found, "probed_at": time.time()}))
    except OSError:
        pass  # the memo is an optimisation only
    return found, None
