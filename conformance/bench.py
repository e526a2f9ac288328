"""Benchmarks, run outside the test suite (`conformance bench`). Every figure is a ratio against
a peer measured in the same run, from medians of several repetitions: these machines are shared
and noisy, so a lone absolute time means little.

  reference   the reference against PyTorch's CPU kernel (same threads), forward and
              forward+backward, with the targets of issue 14 (<= 1.0x and <= 1.5x), and the
              seed note's workload (64x3x28x28 float64, 2x2 max, forward+backward)
  scaling     reference time over 4 input sizes: time per element should stay flat (linear)
  textbook    the seeds' per-output Python loop (D2L's pool2d) against the reference
  layers      each backend's native pooling on ResNet/VGG/Inception layer shapes: median time
              and ratio to the fastest (CPU, and GPU where a framework sees one)
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from conformance import registry
from conformance.errors import Unsupported
from conformance.spec import PoolSpec


def median_time(fn: Callable[[], object], reps: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


REFERENCE_CASES = [  # (label, spec, shape, dtype, checks): issue 14's targets
    ("max 2-D 16x64x112x112 k3 s2 p1", PoolSpec("max", 3, stride=2, padding=1), (16, 64, 112, 112),
     "float32", ("forward", "vjp")),
    ("avg 2-D 16x64x112x112 k3 s2 p1", PoolSpec("avg", 3, stride=2, padding=1), (16, 64, 112, 112),
     "float32", ("forward", "vjp")),
    ("max 3-D 4x32x32^3 k3 s2", PoolSpec("max", 3, stride=2, ndim=3), (4, 32, 32, 32, 32),
     "float32", ("forward", "vjp")),
    ("avg 3-D 4x32x32^3 k3 s2", PoolSpec("avg", 3, stride=2, ndim=3), (4, 32, 32, 32, 32),
     "float32", ("forward", "vjp")),
    ("seed workload: max 2x2/2 64x3x28x28 float64", PoolSpec("max", 2), (64, 3, 28, 28),
     "float64", ("vjp",)),
]
TARGETS = {"forward": 1.0, "vjp": 1.5}  # reference time / PyTorch time


LAYERS = [
    ("ResNet stem max 3x3/2 p1", PoolSpec("max", 3, stride=2, padding=1), (8, 64, 112, 112)),
    ("VGG max 2x2/2", PoolSpec("max", 2), (8, 512, 28, 28)),
    ("Inception avg 3x3/1 p1", PoolSpec("avg", 3, stride=1, padding=1), (8, 192, 28, 28)),
    ("ResNet global avg 7x7", PoolSpec("avg", 7), (8, 2048, 7, 7)),
]


def paired_ratio(fn: Callable[[], object], peer: Callable[[], object],
                 reps: int) -> tuple[float, float, float]:
    """(ratio, fn seconds, peer seconds): the two timed in turn, rep after rep, so that a slow
    spell of this shared machine slows both; the ratio of their medians. Each timed call
    follows an untimed one of the same function: a framework's thread pool still spinning
    after its call (OpenMP waits actively) would otherwise slow whichever call comes next."""
    mine, theirs = [], []
    for _ in range(reps):
        for f, times in ((fn, mine), (peer, theirs)):
            f()
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
    a, b = statistics.median(mine), statistics.median(theirs)
    return a / b, a, b


def bench_reference(reps: int) -> list[dict]:
    """The reference against PyTorch's CPU kernel through the same Backend interface, on the
    same number of threads (PyTorch's default, one per core; numba's set to match)."""
    import torch

    from backends import reference_loops

    threads = reference_loops.match_threads(torch.get_num_threads())
    ref, torch_b = registry.get("numpy"), registry.get("torch")
    rows = []
    for label, spec, shape, dtype, checks in REFERENCE_CASES:
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        gy = np.random.default_rng(1).standard_normal(spec.output_shape(shape)).astype(dtype)
        calls = {"forward": lambda b: b.forward(spec, x), "vjp": lambda b: b.vjp(spec, x, gy)}
        for check in checks:
            ratio, mine, theirs = paired_ratio(lambda: calls[check](ref), lambda: calls[check](torch_b),
                                               reps)
            rows.append({"case": label, "pass": check, "ratio": ratio, "target": TARGETS[check],
                         "reference_s": mine, "torch_s": theirs, "threads": threads,
                         "compiled": reference_loops.available()})
    return rows


def bench_scaling(reps: int) -> list[dict]:
    ref = registry.get("numpy")
    spec = PoolSpec("max", 3, stride=2, padding=1)
    rows = []
    for side in (28, 56, 112, 224):
        shape = (4, 32, side, side)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        t = median_time(lambda: ref.forward(spec, x), reps)
        rows.append({"size": side * side, "seconds": t, "ns_per_element": 1e9 * t / x.size})
    base = rows[0]["ns_per_element"]
    for r in rows:
        r["relative_cost_per_element"] = r["ns_per_element"] / base
    return rows


def _textbook_pool2d(x: np.ndarray, k: int) -> np.ndarray:
    """The seeds' D2L pool2d: a Python loop over every output element (stride 1)."""
    out = np.zeros((x.shape[0] - k + 1, x.shape[1] - k + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = x[i:i + k, j:j + k].max()
    return out


def bench_textbook(reps: int) -> dict:
    x = np.random.default_rng(0).standard_normal((64, 64))
    spec = PoolSpec("max", 2, stride=1)
    ref = registry.get("numpy")
    loop = median_time(lambda: _textbook_pool2d(x, 2), reps)
    vec = median_time(lambda: ref.forward(spec, x.reshape(1, 1, 64, 64)), reps)
    return {"case": "max 2x2/1 on 64x64", "loop_s": loop, "reference_s": vec,
            "loop_over_reference": loop / vec}


def bench_layers(reps: int, backends: list[str]) -> list[dict]:
    rows = []
    for label, spec, shape in LAYERS:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        for device in ("cpu", "gpu"):
            times = {}
            for name in backends:
                b = registry.get(name)
                if device not in b.devices():
                    continue
                try:
                    times[name] = median_time(lambda b=b: b.forward(spec, x, device), reps)
                except Unsupported:
                    continue
            if not times:
                continue
            fastest = min(times.values())
            for name, t in times.items():
                rows.append({"layer": label, "device": device, "backend": name,
                             "version": registry.get(name).version, "median_s": t,
                             "ratio_to_fastest": t / fastest})
    return rows


def run(what: list[str], reps: int, backends: list[str], out: Path | None) -> dict:
    result: dict = {}
    if "reference" in what and "torch" in registry.available():
        result["reference"] = bench_reference(reps)
    if "scaling" in what:
        result["scaling"] = bench_scaling(reps)
    if "textbook" in what:
        result["textbook"] = bench_textbook(reps)
    if "layers" in what:
        result["layers"] = bench_layers(reps, backends)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "perf.json").write_text(json.dumps(result, indent=2))
    return result


def format_result(result: dict) -> str:
    lines = []
    for r in result.get("reference", []):
        verdict = "meets" if r["ratio"] <= r["target"] else "MISSES"
        what = {"forward": "forward", "vjp": "forward+backward"}[r["pass"]]
        lines.append(f"reference/torch {r['case']}, {what}: {r['ratio']:.2f}x ({verdict} <= "
                     f"{r['target']}x; {1e3 * r['reference_s']:.1f} ms vs {1e3 * r['torch_s']:.1f} ms, "
                     f"{r['threads']} threads{'' if r['compiled'] else ', NumPy loops: numba missing'})")
    for r in result.get("scaling", []):
        lines.append(f"scaling: {r['size']:>6} spatial elements, cost per element "
                     f"{r['relative_cost_per_element']:.2f}x the smallest")
    if "textbook" in result:
        t = result["textbook"]
        lines.append(f"textbook loop / reference ({t['case']}): {t['loop_over_reference']:.0f}x")
    for r in result.get("layers", []):
        lines.append(f"layer {r['layer']:<26} {r['device']} {r['backend']:<11} median "
                     f"{1e3 * r['median_s']:.2f} ms, {r['ratio_to_fastest']:.2f}x the fastest")
    return "\n".join(lines)


def bench_suite(backends: list[str], suite: str = "default") -> list[dict]:
    """`conformance run` per backend in fresh processes: cold (empty JAX compilation cache),
    then warm (the persistent cache filled by the first run). Milliseconds per case x check,
    and the peak RSS of a run with every backend loaded."""
    import os
    import resource
    import subprocess
    import sys
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [b for b in backends if b != "numpy"]:
            env = dict(os.environ, CONFORMANCE_JAX_CACHE=str(Path(tmp) / f"jax-{name}"))
            for phase in ("cold", "warm"):
                out = Path(tmp) / f"{name}-{phase}"
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "conformance", "run", "--suite", suite,
                                "--backends", name, "--out", str(out)], env=env, check=False,
                               capture_output=True)
                wall = time.perf_counter() - start
                tasks = sum(1 for _ in (out / "results.jsonl").open())
                rows.append({"backend": name, "phase": phase, "tasks": tasks, "wall_s": wall,
                             "ms_per_task": 1e3 * wall / max(tasks, 1),
                             "tasks_per_s": tasks / wall})
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([sys.executable, "-m", "conformance", "run", "--suite", suite,
                        "--out", str(Path(tmp) / "all")], check=False, capture_output=True)
        peak_kb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    rows.append({"backend": "all", "phase": "peak_rss", "peak_rss_gb": peak_kb / 2**20})
    return rows


def format_suite(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        if r["phase"] == "peak_rss":
            ok = "meets" if r["peak_rss_gb"] <= 2.5 else "MISSES"
            lines.append(f"peak RSS, every backend loaded: {r['peak_rss_gb']:.2f} GB ({ok} <= 2.5 GB)")
        else:
            target = 30 if r["backend"] == "jax" else 10
            ok = "meets" if r["ms_per_task"] <= target else "MISSES"
            lines.append(f"suite {r['backend']:<10} {r['phase']}: {r['tasks']} case x check in "
                         f"{r['wall_s']:.1f} s = {r['ms_per_task']:.1f} ms each, "
                         f"{r['tasks_per_s']:.0f}/s ({ok} <= {target} ms; process start and "
                         "imports included)")
    return "\n".join(lines)
