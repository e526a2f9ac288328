"""The reference's normative window loops (DESIGN.md §3), compiled by numba when it is installed.

DESIGN.md §3 reads every output's window over its in-bounds elements (padding is never read,
so it never wins a max nor counts in a sum). A window is a product of per-dim ranges, so the
compiled loops (backends/reference_kernels.py) reduce it one dim after the other — depth, then
height over whole contiguous rows (which the compiler vectorises), then width — which is the
same result as walking it in row-major order:
- max keeps, among equally large elements (equal, signed zeros included, or both NaN), the one
  at the smallest plane position, and within a window the row-major first element is the one at
  the smallest plane position; NaN is above every number. Values are picked, never computed,
  so they stay in the input's dtype (float16/bfloat16 read as float64, integers as int64).
- avg sums in float64, starting from the window's first element, and rounds once (stored
  directly in float32/float64; float16/bfloat16 rounded by the caller, round_from_float64).
- gradients add dy (max: at the pick) or dy / divisor (avg) in a float64 buffer per plane,
  stored once in the input's dtype.

Every spec shape takes the same path: a 1-D or 2-D plane is a 3-D one with leading spatial
dims of size 1, and a window along one dim is `base[o] + t * step` for t in [first[o], stop[o]):
for kernel pooling base = o·s - lo, step = dilation, and [first, stop) the offsets that fall
inside the input; for adaptive pooling base = the window's start, step 1, [0, length).

numba is optional (`pip install pooling-conformance[fast]`, part of `[all]`): without it
`available()` is False and the reference runs its NumPy offset loops (backends/numpy.py), which
stay the home of every diagnosis variant; CONFORMANCE_NO_COMPILED=1 chooses them too.
tests/test_reference_loops.py holds the two to each other, tests/test_reference_crosscheck.py
each (in the CI leg where it is the one in use) to the definitional loops. Compiled code is
cached on disk (numba's `cache=True`, in `__pycache__` next to the kernels, or numba's user cache
folder where that is read-only), so only the first process compiles (about 15 s for the ten
kernels this suite uses); `conformance bench --what startup` measures a fresh process's first
call. Planes run on threads (as many as cores, like PyTorch's), each over its own run of planes.
"""

from __future__ import annotations

import functools
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from conformance.spec import AdaptiveDim, PoolSpec

DISABLE_ENV = "CONFORMANCE_NO_COMPILED"  # set to 1: the NumPy loops (for comparing the two)


@functools.cache
def _kernels():
    """The compiled loops module, or None where numba is missing."""
    try:
        from backends import reference_kernels  # noqa: PLC0415 (lazy: numba is optional (the extra `fast`))
    except ImportError:
        return None
    return reference_kernels


_THREADS = [len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1]
PARALLEL_WORK = 1 << 16  # input elements below which one thread does it all (no hand-off cost)


def match_threads(n: int) -> int:
    """Run the compiled loops on n threads; returns the number used (0 where numba is missing)."""
    if _kernels() is None:
        return 0
    _THREADS[0] = max(1, n)
    _pool.cache_clear()
    return _THREADS[0]


@functools.cache
def _pool():

    return ThreadPoolExecutor(_THREADS[0], thread_name_prefix="reference-loops")


def _on_threads(kernel, shared: tuple, planes: tuple[np.ndarray, ...]) -> None:
    """kernel(*shared, *planes) over disjoint runs of planes (the first axis of every array in
    `planes`), one per thread; small inputs on this thread. numba's own parallel loops
    (prange) would do the same but take twice as long to compile."""
    count = planes[0].shape[0]
    chunks = min(_THREADS[0], count) if planes[0].size >= PARALLEL_WORK else 1
    if chunks <= 1:
        kernel(*shared, *planes)
        return
    bounds = [count * i // chunks for i in range(chunks + 1)]
    runs = [
        _pool().submit(kernel, *shared, *(a[lo:hi] for a in planes)) for lo, hi in itertools.pairwise(bounds)
    ]
    for run in runs:
        run.result()


def available() -> bool:
    return os.environ.get(DISABLE_ENV, "") in ("", "0") and _kernels() is not None


def _dim_windows(g) -> tuple:
    """(base, first, stop, step) of one dim: window o reads base[o] + t * step for t in
    [first[o], stop[o]), the in-bounds elements only."""
    o = np.arange(g.out, dtype=np.int64)
    if isinstance(g, AdaptiveDim):  # [start, start + length)
        starts = np.array([g.window(j)[0] for j in range(g.out)], dtype=np.int64)
        return starts, np.zeros_like(o), np.array(g.lengths, dtype=np.int64), 1
    base = o * g.s - g.lo
    first = np.clip(-(base // g.d), 0, g.k)  # ceil(-base / d) for base <= 0, else 0
    stop = np.clip(-((base - g.n) // g.d), 0, g.k)  # ceil((n - base) / d)
    return base, first, np.maximum(stop, first), g.d


@functools.lru_cache(maxsize=1024)
def _windows(geoms) -> tuple[np.ndarray, np.ndarray]:
    """The loops' geometry: win (3 dims, 3 rows: base/first/stop, outputs) and step (3,), with
    1-D and 2-D specs padded to 3 dims (a leading dim of size 1: one window of one element).
    Memoised per geometry (the kernels only read them; writable, or numba would compile a
    read-only variant): on the small inputs of the suites, building them was most of a call."""
    dims = [((0,), (0,), (1,), 1)] * (3 - len(geoms)) + [_dim_windows(g) for g in geoms]
    win = np.zeros((3, 3, max(len(d[0]) for d in dims)), dtype=np.int64)
    for i, (base, first, stop, _) in enumerate(dims):
        win[i, :, : len(base)] = base, first, stop
    return win, np.array([d[3] for d in dims], dtype=np.int64)


def _planes(a: np.ndarray, work=None) -> np.ndarray:
    """(N, C, *spatial) channels-first -> contiguous (N*C, D, H, W), in `work` if given."""
    spatial = a.shape[2:]
    shape = (a.shape[0] * a.shape[1], *(1,) * (3 - len(spatial)), *spatial)
    if not a.flags.writeable:  # a read-only array is another type to numba: copy, not compile
        a = np.array(a, dtype=work, order="C")
    return np.ascontiguousarray(a, dtype=work).reshape(shape)


def _read_dtype(dtype: np.dtype):
    """float32/float64/int64 as they are; every other float as float64 (exact), every other
    integer as int64: the dtypes the loops are compiled for."""
    if dtype in (np.float32, np.float64, np.int64):
        return dtype
    return np.int64 if dtype.kind in "iu" else np.float64


def _store_dtype(dtype: np.dtype):
    """Where a float64 result is stored: float32/float64 directly (a cast rounds once, to
    nearest even); float16/bfloat16 as float64, which the caller rounds (round_from_float64)."""
    return dtype if dtype in (np.float32, np.float64) else np.float64


def _divisor(divisor: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
    """A fresh writable float64 (D, H, W) array (a read-only view would be another type to
    numba, and another compilation)."""
    return np.array(
        np.broadcast_to(divisor, (1, 1, *out)).reshape((*(1,) * (3 - len(out)), *out)),
        dtype=np.float64,
        order="C",
    )


def _out_shape(xc: np.ndarray, geoms) -> tuple[int, ...]:
    return (*xc.shape[:2], *(g.out for g in geoms))


def max_forward(xc: np.ndarray, geoms) -> np.ndarray:
    """Channels-first max, in the read dtype (a pick is exact in any dtype)."""
    xs = _planes(xc, _read_dtype(xc.dtype))
    y = np.empty(_out_shape(xc, geoms), dtype=xs.dtype)
    _on_threads(_kernels().max_forward, _windows(geoms), (xs, _planes(y)))
    return y


def max_with_positions(xc: np.ndarray, geoms) -> tuple[np.ndarray, np.ndarray]:
    """Channels-first max and each pick's position in its (N, C) plane (int64)."""
    xs = _planes(xc, _read_dtype(xc.dtype))
    y = np.empty(_out_shape(xc, geoms), dtype=xs.dtype)
    idx = np.empty(y.shape, dtype=np.int64)
    _on_threads(_kernels().max_with_positions, _windows(geoms), (xs, _planes(y), _planes(idx)))
    return y, idx


def _require_output_shape(xc: np.ndarray, geoms, gy: np.ndarray) -> None:
    """The loops index by gy's shape: another shape would read and write out of bounds."""
    if gy.shape != _out_shape(xc, geoms):
        raise ValueError(f"gy shape {gy.shape} != the output shape {_out_shape(xc, geoms)}")


def max_vjp(xc: np.ndarray, geoms, gy: np.ndarray) -> np.ndarray:
    """Channels-first max gradient: each window's dy added at its first maximum."""
    _require_output_shape(xc, geoms, gy)
    xs = _planes(xc, _read_dtype(xc.dtype))
    gx = np.empty(xc.shape, dtype=_store_dtype(xc.dtype))
    _on_threads(
        _kernels().max_vjp,
        _windows(geoms),
        (xs, _planes(gy, _read_dtype(gy.dtype)), gx.reshape(xs.shape[0], -1)),
    )
    return gx


def avg_forward(xc: np.ndarray, geoms, divisor: np.ndarray) -> np.ndarray:
    """Channels-first average: the float64 sum over the divisor, stored in _store_dtype."""
    xs = _planes(xc, _read_dtype(xc.dtype))
    y = np.empty(_out_shape(xc, geoms), dtype=_store_dtype(xc.dtype))
    _on_threads(_kernels().avg_forward, (*_windows(geoms), _divisor(divisor, y.shape[2:])), (xs, _planes(y)))
    return y


def avg_vjp(xc: np.ndarray, geoms, divisor: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Channels-first average gradient: dy / divisor to every in-bounds element."""
    _require_output_shape(xc, geoms, gy)
    gx = np.empty(xc.shape, dtype=_store_dtype(xc.dtype))
    planes = _planes(gx)
    _on_threads(
        _kernels().avg_vjp,
        (*_windows(geoms), _divisor(divisor, gy.shape[2:]), *planes.shape[2:]),
        (_planes(gy, _read_dtype(gy.dtype)), gx.reshape(planes.shape[0], -1)),
    )
    return gx


def warm_up() -> bool:
    """Compile every kernel for every dtype the reference reads (or load them from the on-disk
    cache): what the first process on a fresh machine would otherwise do inside its first calls.
    scripts/bootstrap.sh runs it once after installing. False where numba is missing."""
    if not available():
        return False

    spec = PoolSpec("max", 2, stride=1)
    geoms = spec.geometry((1, 1, 3, 3))
    for dtype in (np.float32, np.float64, np.int64):
        x = np.arange(9, dtype=dtype).reshape(1, 1, 3, 3)
        max_forward(x, geoms)
        max_with_positions(x, geoms)
        if dtype != np.int64:
            gy = np.ones(spec.output_shape(x.shape), dtype=dtype)
            max_vjp(x, geoms, gy)
            avg_forward(x, geoms, np.ones(1))
            avg_vjp(x, geoms, np.ones(1), gy)
    return True


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    done = warm_up()
    print(
        f"reference loops: {'compiled or loaded' if done else 'numba missing: NumPy loops'} "
        f"in {time.perf_counter() - start:.1f} s"
    )
