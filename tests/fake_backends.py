"""Deliberately wrong backends, registered only by the tests, to show that checks can fail."""

from __future__ import annotations

import numpy as np

from backends.numpy import NumpyBackend


class LayoutBugBackend(NumpyBackend):
    """Channels-last outputs come back with their channels reversed."""

    name = "fake-layout-bug"

    def _forward(self, spec, x, device, variant=None):
        y = super()._forward(spec, x, device, variant)
        return np.ascontiguousarray(y[..., ::-1]) if spec.layout == "channels_last" else y


class CrossTalkBackend(NumpyBackend):
    """Each output channel leaks a tenth of channel 0 into the others (but not into itself)."""

    name = "fake-cross-talk"

    def _forward(self, spec, x, device, variant=None):
        y = super()._forward(spec, x, device, variant).astype(np.float64)
        axis = 1 if spec.layout == "channels_first" else -1
        first = np.take(y, [0], axis=axis)
        leak = np.concatenate([np.zeros_like(first)] + [first / 10] * (y.shape[axis] - 1), axis=axis)
        return (y + leak).astype(x.dtype)


class CipFlippedBackend(NumpyBackend):
    """Average pooling with count_include_pad the other way round (as TF's SAME does)."""

    name = "fake-cip-flipped"

    def _forward(self, spec, x, device, variant=None):
        return super()._forward(spec, x, device, "cip_flipped" if spec.op == "avg" else variant)


class PermissiveBackend(NumpyBackend):
    """Accepts any geometry and returns zeros of a made-up shape (like a lax call would)."""

    name = "fake-permissive"

    def _forward(self, spec, x, device, variant=None):
        return np.zeros((1,), dtype=x.dtype)


class StrictBackend(NumpyBackend):
    """Raises a framework-style error for every geometry the semantics reject."""

    name = "fake-strict"

    def _forward(self, spec, x, device, variant=None):
        from conformance.errorparity import RawSpec

        if isinstance(spec, RawSpec):
            raise RuntimeError("framework says: invalid pooling geometry")
        return super()._forward(spec, x, device, variant)


class FaultyBackend(NumpyBackend):
    """Misbehaves on purpose, chosen by the case's input shape (first dim = batch N):
    N=1 segfault, N=2 abort, N=3 hang, N=4 raise, N=5 wrong shape, N=6 NaN, else correct."""

    name = "fake-faulty"

    def _forward(self, spec, x, device, variant=None):
        import ctypes
        import os
        import sys
        import time

        n = x.shape[0]
        if n == 1:
            print("about to dereference NULL", file=sys.stderr, flush=True)
            ctypes.string_at(0)
        if n == 2:
            os.abort()
        if n == 3:
            time.sleep(3600)
        if n == 4:
            raise RuntimeError("faulty backend raised on purpose")
        y = super()._forward(spec, x, device, variant)
        if n == 5:
            return y[..., :-1]
        if n == 6:
            return np.full_like(y, np.nan)
        return y


class SplitTiesBackend(NumpyBackend):
    """Max pooling whose gradient is shared by all tied maxima (a reduce_max-based port)."""

    name = "fake-split-ties"

    def _vjp(self, spec, x, gy, device, variant=None):
        return super()._vjp(spec, x, gy, device, "grad_split_ties" if spec.op == "max" else variant)


class ExactBackend(NumpyBackend):
    """The reference under another name: a target that agrees everywhere, so that tests of
    the runner, resume, parallel runs and reports have tasks where no framework is installed."""

    name = "fake-exact"

    def _forward(self, spec, x, device, variant=None):
        from conformance.errorparity import RawSpec
        from conformance.errors import InvalidSpec

        if isinstance(spec, RawSpec):  # error parity: react as a strict framework would
            try:
                spec = spec.as_poolspec()
                spec.geometry(x.shape)
            except InvalidSpec as exc:
                raise ValueError(f"fake framework rejects the geometry: {exc}") from None
        return super()._forward(spec, x, device, variant)


class ForwardOnlyBackend(NumpyBackend):
    """Implements `_forward` only, as a third-party inference runtime might."""

    name = "fake-forward-only"

    def _vjp(self, spec, x, gy, device, variant=None):
        from conformance.backend import Backend

        return Backend._vjp(self, spec, x, gy, device)


class NothingBackend(ExactBackend):
    """Runs no check at all: every result is unsupported (a run with nothing to compare)."""

    name = "fake-nothing"
    checks = ("no-such-check",)


# name -> "module:Class", for registry.register or CONFORMANCE_EXTRA_BACKENDS (subprocesses)
FAKES = {
    "fake-exact": "tests.fake_backends:ExactBackend",
    "fake-cip-flipped": "tests.fake_backends:CipFlippedBackend",
    "fake-faulty": "tests.fake_backends:FaultyBackend",
    "fake-forward-only": "tests.fake_backends:ForwardOnlyBackend",
    "fake-nothing": "tests.fake_backends:NothingBackend",
}


def environment(*names: str) -> dict[str, str]:
    """os.environ plus CONFORMANCE_EXTRA_BACKENDS naming these fakes, for a subprocess."""
    import os

    from conformance.registry import EXTRA_ENV

    return {**os.environ, EXTRA_ENV: ",".join(f"{n}={FAKES[n]}" for n in names)}


class StrideOneBackend(ExactBackend):
    """An API whose omitted stride means 1 (as tf.nn.pool and Flax document)."""

    name = "fake-stride-one"
    default_stride = "1"
    default_stride_api = "fake.pool(x, k) (stride omitted)"

    def _forward_default_stride(self, spec, x, device):
        from conformance.spec import replace

        return self._forward(replace(spec, stride=(1,) * spec.ndim), x, device)


class MisdocumentedStrideBackend(StrideOneBackend):
    """Documents the kernel as its default stride but uses 1: a divergence."""

    name = "fake-misdocumented-stride"
    default_stride = "kernel"


class PidBackend(NumpyBackend):
    """Answers with the id of the process it runs in (to see which worker ran a task)."""

    name = "fake-pid"

    def _forward(self, spec, x, device, variant=None):
        import os

        return np.full(spec.output_shape(x.shape), os.getpid(), dtype=x.dtype)
