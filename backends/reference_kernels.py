"""The compiled loops of backends/reference_loops.py (which explains them), one per op and pass.

Imported only where numba is installed, and only when the reference first computes; numba
compiles each function once per argument dtype and caches the machine code on disk. Every
kernel takes the shared geometry first and then arrays whose first axis is the plane, so the
caller can hand disjoint slices of planes to threads (the kernels release the GIL).

`win[dim]` holds three rows over that dim's outputs o: base[o], first[o], stop[o]; window o reads
base[o] + t * step[dim] for t in [first[o], stop[o]). Dims are (depth, height, width); x, y and
the gradients are (planes, depth, height, width), planes = N*C, or flattened per plane.
"""

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")  # nogil: planes run on threads


@_jit
def greater(v, best):
    """v > best with NaN above every number and not above another NaN; one comparison in the
    common case (`v <= best` is false for v > best and whenever either is NaN)."""
    return not (v <= best) and best == best


@_jit
def tie(v, b):
    """v and b are equally large: equal (signed zeros included) or both NaN."""
    return v == b or (v != v and b != b)


@_jit
def _first_max_along_first(src, pos, dst, dpos, base, first, stop, step):
    """Over axis 0 of (A, B, C) arrays: dst[o] = the maximum of src[base[o] + t * step] for t in
    [first[o], stop[o]), dpos[o] its plane position (from `pos`, or, where pos is None, src
    being the plane itself: (i * B + r) * C + c). Among equally large elements the one at the
    smallest plane position wins: in a window that is the first in row-major order, so
    reducing one dim after another (in any order) picks DESIGN.md §3's element."""
    rows, cols = src.shape[1], src.shape[2]
    for o in range(dst.shape[0]):
        head = base[o] + first[o] * step
        for r in range(rows):
            for c in range(cols):
                dst[o, r, c] = src[head, r, c]
                dpos[o, r, c] = pos[head, r, c] if pos is not None else (head * rows + r) * cols + c
        for t in range(first[o] + 1, stop[o]):
            i = base[o] + t * step
            for r in range(rows):
                for c in range(cols):
                    v, b = src[i, r, c], dst[o, r, c]
                    q = pos[i, r, c] if pos is not None else (i * rows + r) * cols + c
                    if greater(v, b) or (tie(v, b) and q < dpos[o, r, c]):
                        dst[o, r, c] = v
                        dpos[o, r, c] = q


@_jit
def _plane_first_max(plane, win, step, out_shape):
    """Values and plane positions (OD, OH, OW) of every window's first maximum in one plane:
    reduced over depth, then height (whole contiguous rows, vectorised), then width."""
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    depth, height, width = plane.shape
    n_od, n_oh, n_ow = out_shape
    cv = np.empty((n_od, n_oh, width), plane.dtype)  # reduced over depth and height
    cp = np.empty((n_od, n_oh, width), np.int64)
    if depth == 1 and n_od == 1:  # a 1-D or 2-D plane: nothing to reduce over depth
        _first_max_along_first(
            plane[0].reshape((height, 1, width)),
            None,
            cv[0].reshape((n_oh, 1, width)),
            cp[0].reshape((n_oh, 1, width)),
            bh,
            fh,
            eh,
            sh,
        )
    else:
        dv = np.empty((n_od, height, width), plane.dtype)  # reduced over depth
        dp = np.empty((n_od, height, width), np.int64)
        _first_max_along_first(plane, None, dv, dp, bd, fd, ed, sd)
        for od in range(n_od):
            _first_max_along_first(
                dv[od].reshape((height, 1, width)),
                dp[od].reshape((height, 1, width)),
                cv[od].reshape((n_oh, 1, width)),
                cp[od].reshape((n_oh, 1, width)),
                bh,
                fh,
                eh,
                sh,
            )
    values = np.empty(out_shape, plane.dtype)
    positions = np.empty(out_shape, np.int64)
    for od in range(n_od):
        for oh in range(n_oh):
            for ow in range(n_ow):
                k = bw[ow] + fw[ow] * sw
                best, arg = cv[od, oh, k], cp[od, oh, k]
                for tw in range(fw[ow] + 1, ew[ow]):
                    k = bw[ow] + tw * sw
                    v, q = cv[od, oh, k], cp[od, oh, k]
                    if greater(v, best) or (tie(v, best) and q < arg):
                        best, arg = v, q
                values[od, oh, ow], positions[od, oh, ow] = best, arg
    return values, positions


@_jit
def max_forward(win, step, x, y):
    """Each window's first maximum."""
    for p in range(x.shape[0]):
        y[p] = _plane_first_max(x[p], win, step, y.shape[1:])[0]


@_jit
def max_with_positions(win, step, x, y, idx):
    """Each window's first maximum and its position in the plane."""
    for p in range(x.shape[0]):
        y[p], idx[p] = _plane_first_max(x[p], win, step, y.shape[1:])


@_jit
def max_vjp(win, step, x, gy, gx):
    """Each window's dy added (in float64) at its first maximum; stored once in gx's dtype."""
    for p in range(x.shape[0]):
        positions = _plane_first_max(x[p], win, step, gy.shape[1:])[1].ravel()
        dy = gy[p].ravel()
        acc = np.zeros(gx.shape[1])
        for o in range(positions.size):
            acc[positions[o]] += np.float64(dy[o])
        for e in range(acc.size):
            gx[p, e] = acc[e]


@_jit
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
def avg_forward(win, step, divisor, x, y):
    """Each window's in-bounds sum in float64 over its divisor, stored once in y's dtype.

    A window is a product of per-dim ranges, so the sum runs one dim after the other: depth,
    then height (both over whole contiguous rows), then width. That is the same float64 sum
    in another order, with a third of the additions of a 3x3x3 window, most of them vectorised.
    """
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    for p in range(x.shape[0]):
        columns = np.empty((y.shape[1], y.shape[2], width))  # summed over depth and height
        if depth == 1 and y.shape[1] == 1:  # a 1-D or 2-D plane: nothing to sum over depth
            _sum_along_first(
                x[p, 0].reshape((height, 1, width)),
                columns[0].reshape((y.shape[2], 1, width)),
                bh,
                fh,
                eh,
                sh,
            )
        else:
            planes = np.empty((y.shape[1], height, width))  # summed over depth
            _sum_along_first(x[p], planes, bd, fd, ed, sd)
            for od in range(y.shape[1]):
                _sum_along_first(
                    planes[od].reshape((height, 1, width)),
                    columns[od].reshape((y.shape[2], 1, width)),
                    bh,
                    fh,
                    eh,
                    sh,
                )
        for od in range(y.shape[1]):
            for oh in range(y.shape[2]):
                for ow in range(y.shape[3]):
                    total = columns[od, oh, bw[ow] + fw[ow] * sw]
                    for tw in range(fw[ow] + 1, ew[ow]):
                        total += columns[od, oh, bw[ow] + tw * sw]
                    y[p, od, oh, ow] = total / divisor[od, oh, ow]


@_jit
def avg_vjp(win, step, divisor, height, width, gy, gx):
    """dy / divisor (float64) added to every in-bounds element; stored once in gx's dtype."""
    (bd, fd, ed), (bh, fh, eh), (bw, fw, ew), (sd, sh, sw) = win[0], win[1], win[2], step
    for p in range(gy.shape[0]):
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
