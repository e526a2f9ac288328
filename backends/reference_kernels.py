"""The compiled loops of backends/reference_loops.py (which explains them), one per op and pass.

Imported only where numba is installed, and only when the reference first computes; numba
compiles each function once per argument dtype and caches the machine code on disk.

`win[dim]` holds three rows over that dim's outputs o: base[o], first[o], stop[o]; window o reads
base[o] + t * step[dim] for t in [first[o], stop[o]). Dims are (depth, height, width); x, y and
the gradients are (planes, depth, height, width), planes = N*C, or flattened per plane.
"""

import numba
import numpy as np

_jit = numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")


@numba.njit(inline="always")
def greater(v, best):
    """v > best with NaN above every number and not above another NaN; one comparison in the
    common case (`v <= best` is false for v > best and whenever either is NaN)."""
    return not (v <= best) and best == best


@numba.njit(inline="always")
def first_max(xf, shape, dims, od, oh, ow):
    """(value, position) of the first maximum, in row-major window order, of window (od, oh, ow)
    of one plane `xf` (flattened; `shape` its (height, width))."""
    height, width = shape
    bd, fd, ed, sd, bh, fh, eh, sh, bw, fw, ew, sw = dims
    first_row = ((bd[od] + fd[od] * sd) * height + bh[oh] + fh[oh] * sh) * width + bw[ow]
    arg = first_row + fw[ow] * sw
    best = xf[arg]
    for td in range(fd[od], ed[od]):
        depth_row = (bd[od] + td * sd) * height + bh[oh]
        for th in range(fh[oh], eh[oh]):
            row = (depth_row + th * sh) * width + bw[ow]
            for tw in range(fw[ow], ew[ow]):
                v = xf[row + tw * sw]
                if greater(v, best):
                    best, arg = v, row + tw * sw
    return best, arg


@_jit
def max_forward(x, win, step, y):
    """Each window's first maximum (values only: tracking the position costs twice the time)."""
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    for p in numba.prange(x.shape[0]):
        for od in range(y.shape[1]):
            for oh in range(y.shape[2]):
                for ow in range(y.shape[3]):
                    best = x[p, bd[od] + fd[od] * sd, bh[oh] + fh[oh] * sh, bw[ow] + fw[ow] * sw]
                    for td in range(fd[od], ed[od]):
                        i = bd[od] + td * sd
                        for th in range(fh[oh], eh[oh]):
                            j = bh[oh] + th * sh
                            for tw in range(fw[ow], ew[ow]):
                                v = x[p, i, j, bw[ow] + tw * sw]
                                if greater(v, best):
                                    best = v
                    y[p, od, oh, ow] = best


@_jit
def max_with_positions(x, win, step, y, idx):
    """Each window's first maximum and its position in the plane."""
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    shape = (x.shape[2], x.shape[3])
    for p in numba.prange(x.shape[0]):
        xf, dims = x[p].ravel(), (bd, fd, ed, sd, bh, fh, eh, sh, bw, fw, ew, sw)
        for od in range(y.shape[1]):
            for oh in range(y.shape[2]):
                for ow in range(y.shape[3]):
                    y[p, od, oh, ow], idx[p, od, oh, ow] = first_max(xf, shape, dims, od, oh, ow)


@_jit
def max_vjp(x, win, step, gy, gx):
    """Each window's dy added (in float64) at its first maximum; stored once in gx's dtype."""
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    shape = (x.shape[2], x.shape[3])
    for p in numba.prange(x.shape[0]):
        xf, dims = x[p].ravel(), (bd, fd, ed, sd, bh, fh, eh, sh, bw, fw, ew, sw)
        acc = np.zeros(gx.shape[1])
        for od in range(gy.shape[1]):
            for oh in range(gy.shape[2]):
                for ow in range(gy.shape[3]):
                    acc[first_max(xf, shape, dims, od, oh, ow)[1]] += np.float64(gy[p, od, oh, ow])
        for e in range(acc.size):
            gx[p, e] = acc[e]


@numba.njit(inline="always")
def _sum_along_first(src, dst, base, first, stop, step):
    """dst[o] = sum of src[base[o] + t * step] for t in [first[o], stop[o]), in float64, one
    whole trailing slice at a time (contiguous: the compiler vectorises it). The sum starts
    from the first element, not from 0.0, so a window of -0.0 sums to -0.0."""
    for o in range(dst.shape[0]):
        head = base[o] + first[o] * step
        for r in range(dst.shape[1]):
            for c in range(dst.shape[2]):
                dst[o, r, c] = src[head, r, c]
        for t in range(first[o] + 1, stop[o]):
            i = base[o] + t * step
            for r in range(dst.shape[1]):
                for c in range(dst.shape[2]):
                    dst[o, r, c] += src[i, r, c]


@_jit
def avg_forward(x, win, step, divisor, y):
    """Each window's in-bounds sum in float64 over its divisor, stored once in y's dtype.

    A window is a product of per-dim ranges, so the sum runs one dim after the other: depth,
    then height (both over whole contiguous rows), then width. That is the same float64 sum
    in another order, with a third of the additions of a 3x3x3 window, most of them vectorised.
    """
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    for p in numba.prange(x.shape[0]):
        columns = np.empty((y.shape[1], y.shape[2], width))  # summed over depth and height
        if depth == 1 and y.shape[1] == 1:  # a 1-D or 2-D plane: nothing to sum over depth
            _sum_along_first(x[p, 0].reshape((height, 1, width)),
                             columns[0].reshape((y.shape[2], 1, width)), bh, fh, eh, sh)
        else:
            planes = np.empty((y.shape[1], height, width))  # summed over depth
            _sum_along_first(x[p], planes, bd, fd, ed, sd)
            for od in range(y.shape[1]):
                _sum_along_first(planes[od].reshape((height, 1, width)),
                                 columns[od].reshape((y.shape[2], 1, width)), bh, fh, eh, sh)
        for od in range(y.shape[1]):
            for oh in range(y.shape[2]):
                for ow in range(y.shape[3]):
                    total = columns[od, oh, bw[ow] + fw[ow] * sw]
                    for tw in range(fw[ow] + 1, ew[ow]):
                        total += columns[od, oh, bw[ow] + tw * sw]
                    y[p, od, oh, ow] = total / divisor[od, oh, ow]


@_jit
def avg_vjp(win, step, divisor, gy, gx, height, width):
    """dy / divisor (float64) added to every in-bounds element; stored once in gx's dtype."""
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    for p in numba.prange(gy.shape[0]):
        acc = np.zeros(gx.shape[1])
        for od in range(gy.shape[1]):
            for oh in range(gy.shape[2]):
                for ow in range(gy.shape[3]):
                    share = np.float64(gy[p, od, oh, ow]) / divisor[od, oh, ow]
                    for td in range(fd[od], ed[od]):
                        depth_row = (bd[od] + td * sd) * height + bh[oh]
                        for th in range(fh[oh], eh[oh]):
                            row = (depth_row + th * sh) * width + bw[ow]
                            for tw in range(fw[ow], ew[ow]):
                                acc[row + tw * sw] += share
        for e in range(acc.size):
            gx[p, e] = acc[e]
