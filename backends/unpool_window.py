"""The window arguments that make a framework's max-unpooling call write back at the input's
size (shared by the targets whose unpooling API takes kernel, stride and padding)."""

from __future__ import annotations


def unpool_window(pooled: tuple[int, ...], size: tuple[int, ...]) -> tuple[tuple, tuple, tuple]:
    """kernel_size, stride and padding for a max-unpooling call (torch's F.max_unpool, paddle's
    F.max_unpool): with output_size given it only scatters by the indices, but it requires
    output_size strictly within one stride of its default (in - 1) * stride - 2 * padding +
    kernel. A pooling's own kernel misses that range with dilation, ceil mode or adaptive
    windows, so this picks arguments whose default is the input size exactly."""
    kernel, stride, padding = [], [], []
    for o, n in zip(pooled, size, strict=True):
        if n >= o:
            s, p = n // o, 0
            k = n - (o - 1) * s
        else:  # more pooled values than inputs: stride 1, padding absorbs the difference
            s, p = 1, -(-(o - n) // 2)
            k = n - o + 1 + 2 * p
        kernel.append(k)
        stride.append(s)
        padding.append(p)
    return tuple(kernel), tuple(stride), tuple(padding)
