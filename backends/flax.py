"""Flax: flax.linen.max_pool / avg_pool (with its count_include_pad).

Flax pools an (batch, spatial..., features) array: channels-last only. Native: strides (and
their omission: the documented default is 1), "SAME", "VALID" and explicit (before, after)
padding, count_include_pad, every dtype JAX has. Not expressible: channels-first inputs,
dilation, ceil_mode (where it changes the output), divisor_override, "same_lower".
Gradients through jax.vjp, as a Flax training step computes them.
"""

from __future__ import annotations

import flax
import flax.linen as nn
import jax
import numpy as np

import backends.jax as jax_target  # x64, the persistent compilation cache, the devices
from conformance.backend import Backend
from conformance.errors import Unsupported
from conformance.spec import PoolSpec, replace


class FlaxBackend(Backend):
    name = "flax"
    no_adaptive = "Flax has no adaptive pooling (flax.linen pools take a fixed window)"
    unsupported_errors = (r"not implemented for", r"Unsupported dtype")
    default_stride = "1"
    default_stride_api = "flax.linen.max_pool / avg_pool(x, window_shape) (strides=None)"

    @property
    def version(self) -> str:
        return flax.__version__

    devices = jax_target.JaxBackend.devices  # the same JAX devices as the `jax` target
    _device = jax_target.JaxBackend._device

    def _kwargs(self, spec: PoolSpec, x: np.ndarray, with_stride: bool = True) -> dict:
        if spec.layout != "channels_last":
            raise Unsupported(
                "flax.linen pooling takes channels-last (batch, spatial..., features) inputs only"
            )
        if any(d != 1 for d in spec.dilation):
            raise Unsupported("flax.linen pooling has no dilation")
        if spec.divisor_override is not None:
            raise Unsupported("flax.linen.avg_pool has no divisor_override")
        if spec.padding == "same_lower":
            raise Unsupported("flax.linen pooling has no SAME_LOWER padding")
        self.moot_ceil_mode(spec, x, "flax.linen pooling")
        padding = spec.padding.upper() if isinstance(spec.padding, str) else tuple(spec.padding)
        kw = dict(window_shape=tuple(spec.kernel), padding=padding)
        if with_stride:
            kw["strides"] = tuple(spec.stride)
        if spec.kind.averages:
            kw["count_include_pad"] = spec.count_include_pad
        return kw

    def _pool(self, spec: PoolSpec):
        return nn.max_pool if spec.kind.selects else nn.avg_pool

    def _forward(self, spec, x, device):
        kw = self._kwargs(spec, x)
        return np.asarray(self._pool(spec)(jax.device_put(x, self._device(device)), **kw))

    def _vjp(self, spec, x, gy, device):
        kw, pool, dev = self._kwargs(spec, x), self._pool(spec), self._device(device)
        _, pullback = jax.vjp(lambda a: pool(a, **kw), jax.device_put(x, dev))
        return np.asarray(pullback(jax.device_put(gy, dev))[0])

    def _forward_default_stride(self, spec, x, device):
        kw = self._kwargs(replace(spec, stride=(1,) * spec.ndim), x, with_stride=False)
        return np.asarray(self._pool(spec)(jax.device_put(x, self._device(device)), **kw))

    def _snippet(self, spec, x, check):
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        lines = [
            "import jax",
            'jax.config.update("jax_enable_x64", True)',
            "import jax.numpy as jnp",
            "import flax.linen as nn",
            "",
            f"pool = lambda a: nn.{spec.op}_pool(a, {args})",
            "xj = jnp.asarray(x).astype(DTYPE)",
        ]
        if check == "grad":
            lines += ["y, pullback = jax.vjp(pool, xj)", "out = pullback(jnp.asarray(gy).astype(DTYPE))[0]"]
        else:
            lines.append("out = pool(xj)")
        lines.append("actual = np.asarray(out.astype(jnp.float32) if DTYPE == 'bfloat16' else out)")
        return lines
