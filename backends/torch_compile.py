"""torch.compile (inductor) around the same functional calls as the `torch` target.

Every distinct call (op, arguments, input shape, dtype, strides, device, autograd) gets its own
compiled function with `fullgraph=True, dynamic=False`, so a graph break or a silent fallback to
eager cannot pass for the compiler's answer, and a guard failure never recompiles one function
past dynamo's recompile limit (which would quietly run eager). Inductor's FX-graph cache keeps
compilations on disk across runs, in a folder per CPU kernel key under
CONFORMANCE_INDUCTOR_CACHE (default ~/.cache/pooling-conformance/inductor); it overrides
TORCHINDUCTOR_CACHE_DIR, which torch itself sets to a folder shared by every ISA setting. The
invariant and determinism checks are left to the eager sibling: each would compile several
more graphs; so is the unpool round trip (an eager F.max_unpool call). The indices check
compiles the `return_indices=True` call (inductor has its own lowering of max pooling with
indices).
"""

from __future__ import annotations

import itertools
import os
import types
from pathlib import Path
from typing import ClassVar

from conformance import cachedir, cpu

# One folder per CPU kernel key: a cache filled under another ISA gives wrong values (README,
# "One verdict on every CPU"). Set, not defaulted: torch.export (torch-onnx-dynamo,
# openvino-torch in the same worker) calls inductor's cache_dir(), which writes its default
# /tmp/torchinductor_<user> into TORCHINDUCTOR_CACHE_DIR; through that folder a native run's
# kernels reached CI's reduced-ISA run and gave three wrong float64/bfloat16 results there.
os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(
    Path(os.environ.get("CONFORMANCE_INDUCTOR_CACHE") or cachedir.folder("inductor")) / cpu.kernel_key()
)

import torch

from backends.torch import TorchBackend

_MAX_COMPILED = 128  # compiled functions kept in memory; the disk cache makes a rebuild cheap
# Each compiled function sees one signature only, so dynamo's recompile limits may not stop it
# (and fullgraph=True turns a hit limit into an error, not eager).
torch._dynamo.config.recompile_limit = 1_000_000
torch._dynamo.config.accumulated_recompile_limit = 1_000_000
_serial = itertools.count()


def _own_code(fn):
    """`fn` with a code object of its own. Dynamo keeps compiled graphs and their guards on the
    code object: lambdas from one line share one, so every signature ever compiled would sit
    in one cache, told apart by guards on closure objects whose ids a later object may reuse.
    One code object per compiled function keeps each graph to the call it was made for."""
    code = fn.__code__.replace(co_name=f"pool_call_{next(_serial)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


class TorchCompileBackend(TorchBackend):
    name = "torch-compile"
    checks = ("forward", "grad", "default_stride", "error_parity", "indices")
    default_stride_api = "torch.compile(F.max_pool{n}d / F.avg_pool{n}d(x, k)) (stride=None)"
    _compiled: ClassVar[dict] = {}

    def _fn(self, spec):
        eager = super()._fn(spec)

        def call(t, **kw):
            key = (
                eager.__name__,
                tuple(sorted(kw.items())),
                tuple(t.shape),
                t.dtype,
                tuple(t.stride()),
                t.device.type,
                t.requires_grad,
            )
            fn = self._compiled.get(key)
            if fn is None:
                if len(self._compiled) >= _MAX_COMPILED:
                    self._compiled.clear()
                    torch._dynamo.reset()
                fn = torch.compile(_own_code(lambda a: eager(a, **kw)), fullgraph=True, dynamic=False)
                self._compiled[key] = fn
            return fn(t)

        return call

    def _call_text(self, spec, args: str) -> str:
        return (
            f"torch.compile(lambda a: F.{spec.op}_pool{spec.ndim}d(a, {args}), "
            f"fullgraph=True, dynamic=False)(t)"
        )
