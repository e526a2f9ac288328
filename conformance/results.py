"""Result records (DESIGN.md §4) and the JSON Lines file they are appended to."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from conformance.cpu import detect
from conformance.registry import TARGETS, target

STATUSES = (
    "pass",
    "mismatch",
    "shape_mismatch",
    "unsupported",
    "error",
    "crash",
    "timeout",
    "known_divergence",
    "fixed_divergence",
    "nondeterministic",
)
# Statuses that make a run (and a pytest parity test) fail. `nondeterministic` (the same call
# twice gave different bits) extends DESIGN.md §4's list: it is a finding of its own kind.
FAILING = ("mismatch", "shape_mismatch", "error", "crash", "timeout", "fixed_divergence", "nondeterministic")


@dataclass
class Result:
    case_id: str
    suite: str
    spec: dict[str, Any]
    input_shape: list[int]
    dtype: str
    family: str
    backend: str
    backend_version: str
    device: str
    check: str
    status: str
    max_abs_err: float | None = None
    max_ulp_err: float | None = None
    mismatch_count: int = 0
    diagnosis: str | None = None
    message: str = ""
    seconds: float = 0.0
    # Beyond DESIGN.md §4: what the report needs to explain a result.
    framework: str = ""  # the target's framework (torch for torch-compile, keras for keras-jax)
    mode: str = ""  # eager | compile | graph | xla | layer | runtime | export | reference
    expected_from: str = "reference"  # reference | seed (hand-entered from a seed document)
    known: dict[str, str] | None = None  # the matching known-divergence entry (id, reason, link)
    note: str = ""
    features: list[str] = field(default_factory=list)  # conformance.features: the map's rows
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.framework:  # from the registry's static table: no import needed
            t = target(self.backend)
            self.framework, self.mode = t.framework, self.mode or t.mode

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("max_abs_err", "max_ulp_err"):
            v = d[key]
            d[key] = None if v is None or not math.isfinite(v) else v
        return d


class ResultWriter:
    """Appends one JSON line per result and flushes it, so an interrupted run loses nothing."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, result: Result) -> None:
        self._fh.write(json.dumps(result.to_json(), sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Distributions whose versions decide results, per framework of the registry (a Keras target's
# numbers depend on its backend's version too: see `versions_label`), and the reference's own.
FRAMEWORK_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "jax": ("jax", "jaxlib"),
    "keras": ("keras",),
    "flax": ("flax",),
    "onnxruntime": ("onnxruntime", "onnx"),
    "openvino": ("openvino",),
    "litert": ("ai-edge-litert",),
    "numpy": ("ml_dtypes", "numba"),
}


def framework_versions() -> dict[str, str]:
    """Installed versions of FRAMEWORK_DISTRIBUTIONS (metadata only: nothing is imported)."""
    found = {}
    for names in FRAMEWORK_DISTRIBUTIONS.values():
        for name in names:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                continue
    return found


def versions_label(targets: list[str]) -> str:
    """A folder-name suffix naming the versions the targets' results depend on, e.g.
    "jax-0.4.30" or "keras-3.15.1-jax-0.10.2": what `run --versioned-out` appends, so that
    tox/CI runs of one environment with other pins land in folders of their own."""
    installed = framework_versions()
    frameworks: list[str] = []
    for name in targets:
        t = TARGETS.get(name)
        if t is None or t.framework == "numpy":
            continue
        for fw in (t.framework, *(TARGETS[p].framework for p in t.inherits)):
            if fw not in frameworks:
                frameworks.append(fw)
    parts = []
    for fw in frameworks:
        for dist in FRAMEWORK_DISTRIBUTIONS.get(fw, ()):  # the first installed: the framework
            if dist in installed:
                parts.append(f"{dist.removesuffix('-cpu')}-{installed[dist]}")
                break
    if not parts:  # the reference alone
        parts.append(f"numpy-{np.__version__}")
    label = "-".join(dict.fromkeys(parts))
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in label)


def environment(backends: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """What a run ran on: written beside results.jsonl as environment.json."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": detect().record(),  # the kernels frameworks pick follow it (conformance.cpu)
        "host": platform.node(),
        "numpy": np.__version__,
        "frameworks": framework_versions(),
        "backends": backends,
        **extra,
    }


def source_row(env: dict[str, Any], folder: str) -> dict[str, Any]:
    """One row of a report's environment table: a run (or each run a merged report holds)."""
    cpu = env.get("cpu") or {}
    knobs = " ".join(f"{k}={v}" for k, v in (cpu.get("knobs") or {}).items())
    return {
        "folder": folder,
        "python": env.get("python", ""),
        "numpy": env.get("numpy", ""),
        "platform": env.get("platform", ""),
        "cpu": ", ".join(p for p in (cpu.get("model", ""), " ".join(cpu.get("flags", [])), knobs) if p),
        "targets": {n: b.get("version", "") for n, b in (env.get("backends") or {}).items()},
        "frameworks": env.get("frameworks") or {},
    }
