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
  startup     fresh-process costs: `conformance list` against importing the frameworks it
              reports, the reference's first calls (numba cache warm / cold / NumPy loops)
  suite       `conformance run` per target: case x check results per second and peak RSS
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from conformance import packages, registry
from conformance.devices import DEVICES
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
    (
        "max 2-D 16x64x112x112 k3 s2 p1",
        PoolSpec("max", 3, stride=2, padding=1),
        (16, 64, 112, 112),
        "float32",
        ("forward", "vjp"),
    ),
    (
        "avg 2-D 16x64x112x112 k3 s2 p1",
        PoolSpec("avg", 3, stride=2, padding=1),
        (16, 64, 112, 112),
        "float32",
        ("forward", "vjp"),
    ),
    (
        "max 3-D 4x32x32^3 k3 s2",
        PoolSpec("max", 3, stride=2, ndim=3),
        (4, 32, 32, 32, 32),
        "float32",
        ("forward", "vjp"),
    ),
    (
        "avg 3-D 4x32x32^3 k3 s2",
        PoolSpec("avg", 3, stride=2, ndim=3),
        (4, 32, 32, 32, 32),
        "float32",
        ("forward", "vjp"),
    ),
    ("seed workload: max 2x2/2 64x3x28x28 float64", PoolSpec("max", 2), (64, 3, 28, 28), "float64", ("vjp",)),
]
TARGETS = {"forward": 1.0, "vjp": 1.5}  # reference time / PyTorch time
SETTLE = 0.2  # seconds for the other side's threads to go idle (libgomp spins ~0.1 s at most)


LAYERS = [
    ("ResNet stem max 3x3/2 p1", PoolSpec("max", 3, stride=2, padding=1), (8, 64, 112, 112)),
    ("VGG max 2x2/2", PoolSpec("max", 2), (8, 512, 28, 28)),
    ("Inception avg 3x3/1 p1", PoolSpec("avg", 3, stride=1, padding=1), (8, 192, 28, 28)),
    ("ResNet global avg 7x7", PoolSpec("avg", 7), (8, 2048, 7, 7)),
]


def paired_ratio(
    fn: Callable[[], object], peer: Callable[[], object], reps: int
) -> tuple[float, float, float]:
    """(ratio, fn seconds, peer seconds): the two timed in turn, rep after rep, so that a slow
    spell of this shared machine slows both; the ratio of their medians. Each side's turn
    starts with a pause and two untimed calls, then times three: a framework's thread pool
    still spinning after its turn (OpenMP waits actively) would slow the other side on a
    machine with as many cores as threads, and the first calls after a pause run slower."""
    mine, theirs = [], []
    for _ in range(reps):
        for f, times in ((fn, mine), (peer, theirs)):
            time.sleep(SETTLE)
            f(), f()
            for _ in range(3):
                start = time.perf_counter()
                f()
                times.append(time.perf_counter() - start)
    a, b = statistics.median(mine), statistics.median(theirs)
    return a / b, a, b


def bench_reference(reps: int) -> list[dict]:
    """The reference against PyTorch's CPU kernel through the same Backend interface, on the
    same number of threads (PyTorch's default, one per core; numba's set to match)."""
    import torch  # noqa: PLC0415 (lazy: framework (torch is an extra))

    reference_loops = packages.load("backends.reference_loops")
    threads = reference_loops.match_threads(torch.get_num_threads())
    ref, torch_b = registry.get("numpy"), registry.get("torch")
    rows = []
    for label, spec, shape, dtype, checks in REFERENCE_CASES:
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        gy = np.random.default_rng(1).standard_normal(spec.output_shape(shape)).astype(dtype)
        calls = {"forward": lambda b: b.forward(spec, x), "vjp": lambda b: b.vjp(spec, x, gy)}
        for check in checks:
            ratio, mine, theirs = paired_ratio(lambda: calls[check](ref), lambda: calls[check](torch_b), reps)
            rows.append(
                {
                    "case": label,
                    "pass": check,
                    "ratio": ratio,
                    "target": TARGETS[check],
                    "reference_s": mine,
                    "torch_s": theirs,
                    "threads": threads,
                    "compiled": reference_loops.available(),
                }
            )
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
            out[i, j] = x[i : i + k, j : j + k].max()
    return out


def bench_textbook(reps: int) -> dict:
    x = np.random.default_rng(0).standard_normal((64, 64))
    spec = PoolSpec("max", 2, stride=1)
    ref = registry.get("numpy")
    loop = median_time(lambda: _textbook_pool2d(x, 2), reps)
    vec = median_time(lambda: ref.forward(spec, x.reshape(1, 1, 64, 64)), reps)
    return {
        "case": "max 2x2/1 on 64x64",
        "loop_s": loop,
        "reference_s": vec,
        "loop_over_reference": loop / vec,
    }


def bench_layers(reps: int, backends: list[str]) -> list[dict]:
    rows = []
    for label, spec, shape in LAYERS:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        for device in DEVICES:
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
                rows.append(
                    {
                        "layer": label,
                        "device": device,
                        "backend": name,
                        "version": registry.get(name).version,
                        "median_s": t,
                        "ratio_to_fastest": t / fastest,
                    }
                )
    return rows


def run(what: list[str], reps: int, backends: list[str], out: Path | None, suite: str = "smoke") -> dict:
    result: dict = {}
    if "reference" in what and "torch" in registry.available():
        result["reference"] = bench_reference(reps)
    if "scaling" in what:
        result["scaling"] = bench_scaling(reps)
    if "textbook" in what:
        result["textbook"] = bench_textbook(reps)
    if "layers" in what:
        result["layers"] = bench_layers(reps, backends)
    if "startup" in what:
        result["startup"] = bench_startup(max(1, min(reps, 3)))
    if "suite" in what:
        result["suite"] = bench_suite(backends, suite)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "perf.json").write_text(json.dumps(result, indent=2))
    return result


def format_result(result: dict) -> str:
    lines = []
    for r in result.get("reference", []):
        verdict = "meets" if r["ratio"] <= r["target"] else "MISSES"
        what = {"forward": "forward", "vjp": "forward+backward"}[r["pass"]]
        lines.append(
            f"reference/torch {r['case']}, {what}: {r['ratio']:.2f}x ({verdict} <= "
            f"{r['target']}x; {1e3 * r['reference_s']:.1f} ms vs {1e3 * r['torch_s']:.1f} ms, "
            f"{r['threads']} threads{'' if r['compiled'] else ', NumPy loops: numba missing'})"
        )
    for r in result.get("scaling", []):
        lines.append(
            f"scaling: {r['size']:>6} spatial elements, cost per element "
            f"{r['relative_cost_per_element']:.2f}x the smallest"
        )
    if "textbook" in result:
        t = result["textbook"]
        lines.append(f"textbook loop / reference ({t['case']}): {t['loop_over_reference']:.0f}x")
    for r in result.get("layers", []):
        lines.append(
            f"layer {r['layer']:<26} {r['device']} {r['backend']:<11} median "
            f"{1e3 * r['median_s']:.2f} ms, {r['ratio_to_fastest']:.2f}x the fastest"
        )
    if result.get("startup"):
        lines.append(format_startup(result["startup"]))
    if result.get("suite"):
        lines.append(format_suite(result["suite"]))
    return "\n".join(lines)


def _timed_process(argv: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in GB of the process and the workers it waited for, exit code)
    of one command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss / 2**20, proc.returncode


def bench_suite(backends: list[str], suite: str = "smoke") -> list[dict]:
    """`conformance run --suite SUITE --backends NAME --no-isolate` per target, each in a fresh
    process: case x check results per second of the run itself (imports and suite loading
    excluded: the run folder records its own seconds), the whole process's wall time, and its
    peak RSS (the target's framework and the reference loaded). Compiled modes and JAX use
    their persistent compilation caches as they are on this machine."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [b for b in backends if b != "numpy"]:
            out = Path(tmp) / name
            wall, rss, code = _timed_process(
                [
                    sys.executable,
                    "-m",
                    "conformance",
                    "run",
                    "--suite",
                    suite,
                    "--backends",
                    name,
                    "--no-isolate",
                    "--out",
                    str(out),
                ]
            )
            try:
                tasks = sum(1 for _ in (out / "results.jsonl").open())
                seconds = json.loads((out / "environment.json").read_text())["seconds"]
            except (OSError, ValueError, KeyError):
                rows.append({"backend": name, "suite": suite, "failed": f"exit status {code}"})
                continue
            rows.append(
                {
                    "backend": name,
                    "suite": suite,
                    "tasks": tasks,
                    "run_s": seconds,
                    "wall_s": wall,
                    "results_per_s": tasks / max(seconds, 1e-9),
                    "peak_rss_gb": rss,
                    "exit": code,
                }
            )
    return rows


def format_suite(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        if "failed" in r:
            lines.append(f"suite {r['suite']} {r['backend']:<16} no results ({r['failed']})")
            continue
        lines.append(
            f"suite {r['suite']} {r['backend']:<16} {r['tasks']:>5} case x check in "
            f"{r['run_s']:6.1f} s = {r['results_per_s']:7.1f}/s; process {r['wall_s']:6.1f} s "
            f"with start-up; peak RSS {r['peak_rss_gb']:.2f} GB"
        )
    return "\n".join(lines)


SHOW_CASE = "seed000-maxpool2d-3-default-stride"  # a seed example: small, in every installation
FIRST_CALL = """
import time
start = time.perf_counter()
import numpy as np
from conformance import registry
from conformance.spec import PoolSpec
ref = registry.get("numpy")
for op in ("max", "avg"):
    for dtype in ("float32", "float64"):
        spec, x = PoolSpec(op, 3, stride=2, padding=1), np.ones((2, 3, 9, 9), dtype)
        ref.forward(spec, x), ref.vjp(spec, x, np.ones(spec.output_shape(x.shape), dtype))
print(time.perf_counter() - start)
"""


def bench_startup(reps: int) -> list[dict]:
    """Fresh-process costs: `conformance list` against importing every framework it reports
    (its target), the reference's first forward and gradient calls (max and avg, float32 and
    float64) with numba's on-disk cache warm, cold (an empty cache folder: every kernel
    compiles), and with the NumPy loops; and the time to load each suite."""
    modules = sorted({m for n in registry.names() for m in _framework_modules(n)})
    imports = "; ".join(f"__import__({m!r})" for m in modules)
    rows = []

    def median_wall(argv, env=None):
        return statistics.median(_timed_process(argv, env)[0] for _ in range(reps))

    base = median_wall([sys.executable, "-c", "import numpy"])
    frameworks = median_wall([sys.executable, "-c", imports])
    listing = median_wall([sys.executable, "-m", "conformance", "list"])
    rows.append(
        {
            "what": "conformance list (remembered probes, cached suites)",
            "seconds": listing,
            "peer": f"importing {len(modules)} framework modules",
            "peer_seconds": frameworks,
            "ratio": listing / frameworks,
            "target": 1.0,
        }
    )
    fresh = median_wall([sys.executable, "-m", "conformance", "list", "--fresh"])
    rows.append(
        {
            "what": "conformance list --fresh (probing every target in worker processes)",
            "seconds": fresh,
            "peer": "importing the frameworks in one process",
            "peer_seconds": frameworks,
            "ratio": fresh / frameworks,
        }
    )
    show = median_wall([sys.executable, "-m", "conformance", "show", SHOW_CASE])
    rows.append(
        {
            "what": f"conformance show {SHOW_CASE} (every target computes it)",
            "seconds": show,
            "peer": "importing the frameworks in one process",
            "peer_seconds": frameworks,
            "ratio": show / frameworks,
        }
    )
    rows.append({"what": "python -c 'import numpy' (process start)", "seconds": base})

    def first_call(env):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip().splitlines()[-1])

    numpy_loops = statistics.median(
        first_call(dict(os.environ, CONFORMANCE_NO_COMPILED="1")) for _ in range(reps)
    )
    warm = statistics.median(first_call(dict(os.environ)) for _ in range(reps))
    with tempfile.TemporaryDirectory() as tmp:
        cold = first_call(dict(os.environ, NUMBA_CACHE_DIR=tmp))
    for label, value in (
        ("compiled loops, on-disk cache warm", warm),
        ("compiled loops, cache cold (compiles 10 kernels)", cold),
    ):
        rows.append(
            {
                "what": f"reference first calls in a fresh process: {label}",
                "seconds": value,
                "peer": "NumPy loops",
                "peer_seconds": numpy_loops,
                "ratio": value / numpy_loops,
            }
        )

    suites = packages.load("cases")
    for name in suites.SUITES:
        start = time.perf_counter()
        suites.get_suite.__wrapped__(name)
        rows.append({"what": f"load suite {name} (suite cache)", "seconds": time.perf_counter() - start})
    return rows


def _framework_modules(name: str) -> list[str]:
    """The top-level modules a target's framework needs (what `list` must import to probe it)."""
    framework = registry.target(name).framework
    return {
        "numpy": [],
        "litert": ["ai_edge_litert", "tensorflow"],
        "flax": ["flax", "jax"],
        "keras": ["keras"],
        "onnxruntime": ["onnx", "onnxruntime"],
    }.get(framework, [framework])


def format_startup(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        line = f"start-up: {r['what']}: {r['seconds']:.2f} s"
        if "peer" in r:
            line += f", {r['ratio']:.2f}x {r['peer']} ({r['peer_seconds']:.2f} s)"
        if "target" in r:
            line += f" ({'meets' if r['ratio'] <= r['target'] else 'MISSES'} <= {r['target']}x)"
        lines.append(line)
    return "\n".join(lines)
