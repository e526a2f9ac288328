"""A second, deliberately naive implementation of DESIGN.md §3, for cross-checking the reference.

Written from the text of §3 alone: its own geometry, straight Python loops over output
elements and window positions, plain float arithmetic. Slow on purpose; only for small inputs.
It reads the spec's raw fields and shares no code with backends/numpy.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def _pads_and_out(n, k, s, d, padding, ceil_mode):
    e = d * (k - 1) + 1
    if padding == "valid":
        lo = hi = 0
    elif padding in ("same", "same_lower"):
        out = math.ceil(n / s)
        total = max((out - 1) * s + e - n, 0)
        lo = math.floor(total / 2) if padding == "same" else math.ceil(total / 2)
        hi = total - lo
    else:
        lo, hi = padding
    if ceil_mode:
        out = math.ceil((n + lo + hi - e) / s) + 1
        if (out - 1) * s >= n + lo:
            out -= 1
    else:
        out = math.floor((n + lo + hi - e) / s) + 1
    return lo, hi, out


def _is_nan(v):
    return isinstance(v, float) and math.isnan(v)


def _dims(spec, spatial):
    dims = []
    for i, n in enumerate(spatial):
        pad = spec.padding if isinstance(spec.padding, str) else spec.padding[i]
        k, s, d = spec.kernel[i], spec.stride[i], spec.dilation[i]
        lo, hi, out = _pads_and_out(n, k, s, d, pad, spec.ceil_mode)
        dims.append((n, k, s, d, lo, hi, out))
    return dims


def _adaptive_windows(spec, spatial):
    """Adaptive pooling: window i of o along a dim of n covers [floor(i*n/o), ceil((i+1)*n/o))."""
    per_dim = [
        [range(math.floor(i * n / o), math.ceil((i + 1) * n / o)) for i in range(o)]
        for n, o in zip(spatial, spec.output_size, strict=True)
    ]
    for j in itertools.product(*(range(o) for o in spec.output_size)):
        ranges = [per_dim[a][jj] for a, jj in enumerate(j)]
        yield j, [(p, True) for p in itertools.product(*ranges)]


def _out_sizes(spec, spatial):
    if spec.op.startswith("adaptive"):
        return tuple(spec.output_size)
    return tuple(d[6] for d in _dims(spec, spatial))


def _all_windows(spec, spatial):
    if spec.op.startswith("adaptive"):
        return _adaptive_windows(spec, spatial)
    return _windows(_dims(spec, spatial))


def _windows(dims):
    """For each output index tuple: list of (input index tuple or None, counts_for_pad)."""
    for j in itertools.product(*(range(dim[6]) for dim in dims)):
        positions = []
        for t in itertools.product(*(range(dim[1]) for dim in dims)):
            idx, inside_input, inside_pad = [], True, True
            for (n, _k, s, d, lo, hi, _o), jj, tt in zip(dims, j, t, strict=False):
                p = jj * s + tt * d - lo
                idx.append(p)
                inside_input &= 0 <= p < n
                inside_pad &= -lo <= p < n + hi
            positions.append((tuple(idx) if inside_input else None, inside_pad))
        yield j, positions


def _channels_first(spec, a):
    return np.moveaxis(a, -1, 1) if spec.layout == "channels_last" else a


def _back(spec, a):
    return np.moveaxis(a, 1, -1) if spec.layout == "channels_last" else a


def _first_max(vals):
    """Index of the first maximal value, NaN counting as the maximum."""
    best = 0
    for i in range(1, len(vals)):
        a, b = vals[i], vals[best]
        if (not _is_nan(b)) and (_is_nan(a) or a > b):
            best = i
    return best


def _sum(values):
    """Exact sum of finite values (math.fsum); float64 overflow and non-finite values as plain
    summation gives them (inf, nan), which is what the float64 reference sum gives too."""
    if all(map(math.isfinite, values)):
        try:
            return math.fsum(values)
        except OverflowError:
            pass
    return sum(values)


def _divisor(spec, positions):
    """The average's divisor for one window: override, positions counting padding, or inside."""
    if spec.divisor_override is not None:
        return spec.divisor_override
    if spec.op.startswith("adaptive"):
        return len(positions)
    if spec.count_include_pad:
        return sum(1 for _, in_pad in positions if in_pad)
    return sum(1 for p, _ in positions if p is not None)


def forward(spec, x):
    xc = _channels_first(spec, np.asarray(x))
    kind = np.int64 if xc.dtype.kind in "iu" else np.float64  # int64 keeps values near 2**63
    out = np.zeros(xc.shape[:2] + _out_sizes(spec, xc.shape[2:]), dtype=kind)
    for nb, c in itertools.product(range(xc.shape[0]), range(xc.shape[1])):
        plane = xc[nb, c]
        for j, positions in _all_windows(spec, xc.shape[2:]):
            inside = [plane[p] for p, _ in positions if p is not None]
            inside = [float(v) if plane.dtype.kind != "i" else int(v) for v in inside]
            if spec.op in ("max", "adaptive_max"):
                out[(nb, c, *j)] = inside[_first_max(inside)]
            else:
                div = _divisor(spec, positions)
                out[(nb, c, *j)] = _sum(inside) / div
    return _back(spec, out)


def vjp(spec, x, gy):
    xc = _channels_first(spec, np.asarray(x))
    gc = _channels_first(spec, np.asarray(gy, dtype=np.float64))
    gx = np.zeros(xc.shape, dtype=np.float64)
    for nb, c in itertools.product(range(xc.shape[0]), range(xc.shape[1])):
        plane = xc[nb, c]
        for j, positions in _all_windows(spec, xc.shape[2:]):
            g = gc[(nb, c, *j)]
            inside = [p for p, _ in positions if p is not None]
            if spec.op in ("max", "adaptive_max"):
                vals = [float(plane[p]) for p in inside]
                gx[(nb, c) + inside[_first_max(vals)]] += g
            else:
                div = _divisor(spec, positions)
                for p in inside:
                    gx[(nb, c, *p)] += g / div
    return _back(spec, gx)


def indices(spec, x):
    """Max pooling's indices: the first maximal element's row-major position in its plane."""
    xc = _channels_first(spec, np.asarray(x))
    spatial = xc.shape[2:]
    out = np.zeros(xc.shape[:2] + _out_sizes(spec, spatial), dtype=np.int64)
    for nb, c in itertools.product(range(xc.shape[0]), range(xc.shape[1])):
        plane = xc[nb, c]
        for j, positions in _all_windows(spec, spatial):
            inside = [p for p, _ in positions if p is not None]
            vals = [int(plane[p]) if plane.dtype.kind in "iu" else float(plane[p]) for p in inside]
            out[(nb, c, *j)] = int(np.ravel_multi_index(inside[_first_max(vals)], spatial))
    return _back(spec, out)
