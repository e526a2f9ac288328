"""Side environments: targets whose converter pins versions that clash with the main
environment (onnx2tf pins TensorFlow 2.19 and NumPy 1.x, paddle2onnx an older onnx, MindSpore
NumPy < 2) run in a Python environment of their own, one per `registry.Target.environment`.

One run still covers them: conformance.isolation starts such a target's worker with that
environment's interpreter (`python -m conformance.worker`), which imports this suite's own
source (not a copy installed there) and answers the same task protocol, so its records join
the run's results as any other target's. The environment needs only the suite's core
dependencies and the converter's packages: `scripts/bootstrap.sh` with VENV=.venv-<name>
EXTRAS=<name> builds it (the extra of the same name in pyproject.toml).

Where it is: $CONFORMANCE_ENV_<NAME> (the interpreter; NAME upper-case, '-' as '_'), else
.venv-<name>/bin/python beside this project's source. Missing, the target is unavailable with
the command that builds it.
"""

from __future__ import annotations

import os
from pathlib import Path

from conformance import packages


def variable(name: str) -> str:
    """The environment variable that points at environment `name`'s interpreter."""
    return "CONFORMANCE_ENV_" + name.upper().replace("-", "_")


def default_folder(name: str) -> Path:
    return packages.ROOT / f".venv-{name}"


def interpreter(name: str) -> Path | None:
    """Environment `name`'s Python interpreter, or None where it is not set up."""
    explicit = os.environ.get(variable(name))  # set, it wins: a wrong path is not set up
    # POSIX layout: the workers need pass_fds
    python = Path(explicit) if explicit else default_folder(name) / "bin" / "python"
    return python if python.is_file() and os.access(python, os.X_OK) else None


def setup_command(name: str) -> str:
    return f"VENV=.venv-{name} EXTRAS={name} bash scripts/bootstrap.sh"


def missing(name: str) -> str:
    """Why a target of environment `name` cannot load here: the fix, spelled out."""
    return (
        f"needs its own environment {name!r} (its packages pin versions that clash with the "
        f"main one), not set up here: run `{setup_command(name)}` in the project's folder, or "
        f"point {variable(name)} at a Python that has it"
    )


def fingerprint(names: list[str]) -> str:
    """What a probe memo of these environments depends on: each interpreter's path and its
    site-packages' modification time (installing or removing a package there changes it)."""
    parts = []
    for name in sorted(set(names)):
        python = interpreter(name)
        stamp = ""
        if python is not None:
            lib = python.parent.parent / "lib"
            stamp = ",".join(str(p.stat().st_mtime_ns) for p in sorted(lib.glob("python*/site-packages")))
        parts.append(f"{name}={python}:{stamp}")
    return ";".join(parts)
