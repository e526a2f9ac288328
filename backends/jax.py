"""JAX: jax.lax.reduce_window with lax.max (max) and lax.add (the sum of an average).

JAX has no average-pooling primitive; the average is the idiom Flax's `avg_pool` and Keras'
JAX backend use: the windowed sum divided by the window size (count_include_pad), by the
windowed sum of ones (padding excluded), or by divisor_override. Native: strides, "SAME",
"SAME_LOWER", "VALID" and explicit (before, after) padding, window dilation, both layouts
(window dims are per axis, no transpose), every dtype. Not expressible: ceil_mode (where it
changes the output) and a default stride (window_strides is required).
"""

from __future__ import annotations

import os

import jax

from conformance import cachedir, cpu

jax.config.update("jax_enable_x64", True)  # float64 and int64 inputs stay 64-bit


def _persistent_cache() -> None:
    """Keep XLA's compilations across runs (each new shape compiles): a user cache folder."""
    folder = os.environ.get("CONFORMANCE_JAX_CACHE") or str(
        cachedir.folder("jax") / cpu.kernel_key()  # as inductor's: one folder per CPU key
    )
    for option, value in (
        ("jax_compilation_cache_dir", folder),
        ("jax_persistent_cache_min_compile_time_secs", 0.0),
        ("jax_persistent_cache_min_entry_size_bytes", 0),
    ):
        try:
            jax.config.update(option, value)
        except (AttributeError, KeyError, ValueError):  # an older JAX without the option
            pass


_persistent_cache()

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

from conformance.backend import Backend  # noqa: E402
from conformance.devices import Device, available  # noqa: E402
from conformance.spec import PoolSpec  # noqa: E402


def _full(spec: PoolSpec, spatial: tuple, fill) -> tuple:
    """Spatial per-dim values extended with `fill` for the batch and channel axes."""
    if spec.layout == "channels_first":
        return (fill, fill, *tuple(spatial))
    return (fill, *tuple(spatial), fill)


class JaxBackend(Backend):
    name = "jax"
    no_adaptive = "JAX has no adaptive pooling (lax.reduce_window takes a fixed window)"
    default_stride = None  # window_strides is a required argument in the installed JAX
    default_stride_api = "lax.reduce_window (window_strides required)"
    unsupported_errors = (r"not implemented for", r"Unsupported dtype")

    @property
    def version(self) -> str:
        return jax.__version__

    def devices(self) -> list[str]:
        platforms = {d.platform for d in jax.devices()}
        return available(bool(platforms & {"gpu", "cuda", "rocm"}))

    def _device(self, device: str):
        # JAX's own platform names ("gpu", "cpu"), chosen by our Device
        return jax.devices("gpu")[0] if device == Device.GPU else jax.devices("cpu")[0]

    def _window_args(self, spec: PoolSpec, x: np.ndarray) -> dict:
        self.moot_ceil_mode(spec, x, "lax.reduce_window")
        padding = spec.padding.upper() if isinstance(spec.padding, str) else _full(spec, spec.padding, (0, 0))
        return dict(
            window_dimensions=_full(spec, spec.kernel, 1),
            window_strides=_full(spec, spec.stride, 1),
            padding=padding,
            window_dilation=_full(spec, spec.dilation, 1),
        )

    @staticmethod
    def _constant(value, dtype):
        """A reduction's init value, in the input's dtype."""
        return jnp.array(value, dtype)

    def _pool(self, spec: PoolSpec, xj, args: dict):
        if spec.kind.selects:
            dt = xj.dtype
            init = -jnp.inf if jnp.issubdtype(dt, jnp.floating) else jnp.iinfo(dt).min
            return lax.reduce_window(xj, self._constant(init, dt), lax.max, **args)
        total = lax.reduce_window(xj, self._constant(0, xj.dtype), lax.add, **args)
        if spec.divisor_override is not None:
            return total / jnp.array(spec.divisor_override, xj.dtype)
        if spec.count_include_pad:
            return total / jnp.array(np.prod(spec.kernel), xj.dtype)
        ones = jnp.ones_like(xj)
        return total / lax.reduce_window(ones, self._constant(0, xj.dtype), lax.add, **args)

    _calls = 0

    def _bounded_memory(self) -> None:
        """XLA keeps every compiled executable (one per shape and op) in memory; a suite compiles
        thousands. Dropping them now and then keeps a run's RSS flat; the persistent compilation
        cache makes the recompilation cheap."""
        JaxBackend._calls += 1
        if JaxBackend._calls % 64 == 0:
            jax.clear_caches()

    def _forward(self, spec, x, device):
        self._bounded_memory()
        args = self._window_args(spec, x)
        xj = jax.device_put(x, self._device(device))
        return np.asarray(self._pool(spec, xj, args))

    def _vjp(self, spec, x, gy, device):
        self._bounded_memory()
        args = self._window_args(spec, x)
        dev = self._device(device)
        _, pullback = jax.vjp(lambda a: self._pool(spec, a, args), jax.device_put(x, dev))
        (gx,) = pullback(jax.device_put(gy, dev))
        return np.asarray(gx)

    def _snippet(self, spec, x, check):
        args = ", ".join(f"{k}={v!r}" for k, v in self._window_args(spec, x).items())
        lines = [
            "import jax",
            'jax.config.update("jax_enable_x64", True)',
            "import jax.numpy as jnp",
            "from jax import lax",
            "",
        ]
        if spec.kind.selects:
            init = (
                "-jnp.inf" if x.dtype.kind == "f" or x.dtype.name == "bfloat16" else "jnp.iinfo(a.dtype).min"
            )
            lines.append(
                f"pool = lambda a: lax.reduce_window(a, jnp.array({init}, a.dtype), lax.max, {args})"
            )
        else:
            if spec.divisor_override is not None:
                div = f"{spec.divisor_override}"
            elif spec.count_include_pad:
                div = f"{int(np.prod(spec.kernel))}"
            else:
                div = f"lax.reduce_window(jnp.ones_like(a), jnp.array(0, a.dtype), lax.add, {args})"
            lines.append(
                f"pool = lambda a: lax.reduce_window(a, jnp.array(0, a.dtype), lax.add, {args}) / {div}"
            )
        lines.append("xj = jnp.asarray(x).astype(DTYPE)")
        if check == "grad":
            lines += ["y, pullback = jax.vjp(pool, xj)", "out = pullback(jnp.asarray(gy).astype(DTYPE))[0]"]
        else:
            lines.append("out = pool(xj)")
        lines.append("actual = np.asarray(out.astype(jnp.float32) if DTYPE == 'bfloat16' else out)")
        return lines
