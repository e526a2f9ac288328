"""paddle2onnx: the `paddle` target's own call (paddle.nn.functional pooling, the same
arguments), exported by `paddle.onnx.export` (paddle2onnx) and run by ONNX Runtime, as a
Paddle model is deployed outside Paddle (DESIGN.md §6 `paddle-onnx`; issue 23).

paddle2onnx pins onnx <= 1.17, older than the main environment's, so the target runs in a
side environment (conformance.environments, `paddle-onnx`; README "Converter paths").

The road as its users take it: the call wrapped in a paddle.nn.Layer, `paddle.onnx.export`
with an InputSpec of the case's exact shape and dtype and paddle2onnx's defaults (opset
upgraded as the ops need, polygraphy's graph optimisation), the .onnx file run by ONNX
Runtime's CPU execution provider with default session options. Max pooling's mask (the
`indices` check) is the exported model's second output; max_unpool exports the pooling and
F.max_unpool chain as one model. An export takes about 0.7 s, so without --complete a run
computes the hand-written cases only. `resized`: exported with the spatial dims of the InputSpec
None (any size), run at the case's size, then at the other.

Each call runs eagerly first, as a model runs in Paddle before it is exported: what Paddle
itself refuses is refused with the `paddle` target's words (paddle.jit.save's to_static hides
them behind "In transformed code"). The exporter refusing a call (its "not supported" messages)
is `unsupported` with its words; any other export failure is an error (a finding), as is a
model ONNX Runtime rejects. No gradients: an inference runtime.

One refusal is made here, before the exporter: paddle2onnx 2.1 logs "[OP: pd_op.pool2d] NHWC
format is not supported" for a pool with data_format NHWC / NDHWC and then aborts the process
(SIGABRT in paddle2onnx::Export) instead of raising, so such a case would cost a worker and
its restart; it is `unsupported` with those words instead. So is an adaptive (not global) pool
exported with dynamic spatial dims ("Adaptive only support static input shape", then abort).
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from collections import OrderedDict
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import onnxruntime as ort

# both checked before paddle's import: where paddle2onnx is missing the target is unavailable
# anyway, and importing paddle where tensorflow is loaded kills the process (backends/paddle.py)
if find_spec("paddle2onnx") is None:
    raise ImportError("No module named 'paddle2onnx' (paddle.onnx.export's exporter)")
if "tensorflow" in sys.modules:
    raise ImportError("paddle cannot be imported in a process where tensorflow is loaded already")
import paddle
import paddle.nn.functional as F

from backends.paddle import PaddleBackend
from backends.unpool_window import unpool_window
from conformance.dtypes import name_of
from conformance.errors import Unsupported

_SESSIONS = 128  # exported models kept (an export costs about 0.7 s)


class _Call(paddle.nn.Layer):
    """One pooling call (or the pool-and-unpool chain) as the Layer that paddle.onnx.export takes."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class PaddleOnnxBackend(PaddleBackend):
    name = "paddle-onnx"
    unsupported_errors = (
        *PaddleBackend.unsupported_errors,
        r"(?i)not supported",
        r"(?i)unsupported",
        r"Could not find an implementation for",
    )
    snippet_checks = ("forward", "default_stride", "indices")

    def __init__(self) -> None:
        self._sessions: OrderedDict = OrderedDict()

    @property
    def version(self) -> str:
        runtime = f"paddle {paddle.__version__}, onnxruntime {ort.__version__}"
        return f"paddle2onnx {version('paddle2onnx')} ({runtime})"

    def devices(self) -> list[str]:
        return ["cpu"]

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {
            "export": "paddle.onnx.export(Layer, InputSpec(exact shape, dtype)), paddle2onnx defaults",
            "runtime": "onnxruntime CPUExecutionProvider, default session options",
        }

    def _vjp(self, spec, x, gy, device):
        raise Unsupported("an ONNX Runtime model computes no gradients (an inference runtime)")

    # ---- the road: export, then run in ONNX Runtime -----------------------------------------
    def _export(self, fn, x: np.ndarray, dynamic: bool = False) -> bytes:
        """The call exported at x's shape (`dynamic`: its spatial dims None, any size)."""
        layer = _Call(fn)
        layer.eval()
        shape = list(x.shape[:2]) + [None] * (x.ndim - 2) if dynamic else list(x.shape)
        spec = paddle.static.InputSpec(shape, name_of(x.dtype), "x")
        said = io.StringIO()
        with tempfile.TemporaryDirectory(prefix="paddle2onnx-") as folder:
            prefix = str(Path(folder, "model"))
            try:
                with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                    paddle.onnx.export(layer, prefix, input_spec=[spec])
                return Path(prefix + ".onnx").read_bytes()
            except (Exception, SystemExit) as exc:  # paddle2onnx logs its reason, then sys.exit()s
                logged = [line.strip() for line in said.getvalue().splitlines() if "[ERROR]" in line]
                what = (" | ".join(logged) or f"{type(exc).__name__}: {exc}")[:400]
                if any(p in what.lower() for p in ("not supported", "unsupported", "not implement")):
                    raise Unsupported(f"paddle2onnx does not export this call: {what}") from None
                raise RuntimeError(f"paddle2onnx failed to export the call: {what}") from None

    def _session(self, key, fn, x: np.ndarray, dynamic: bool = False):
        session = self._sessions.get(key)
        if session is None:
            data = self._export(fn, x, dynamic)
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            self._sessions[key] = session
            if len(self._sessions) > _SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def _through_onnx(self, key, fn, x: np.ndarray, second: np.ndarray | None = None):
        """The exported call's output(s) at x; given `second`, exported with dynamic spatial
        dims, run at x's size, then at second's (the `resized` check): the output there."""
        if name_of(x.dtype) == "bfloat16":
            raise Unsupported("ONNX Runtime's Python API takes no bfloat16 arrays (NumPy has no bfloat16)")
        dynamic = second is not None
        session = self._session((*key, x.shape, name_of(x.dtype), dynamic), fn, x, dynamic)
        name = session.get_inputs()[0].name
        outs = session.run(None, {name: np.ascontiguousarray(x)})
        if dynamic:
            outs = session.run(None, {name: np.ascontiguousarray(second)})
        return tuple(np.asarray(o) for o in outs) if len(outs) > 1 else np.asarray(outs[0])

    def _forward_resized(self, spec, x, second, device):
        kw = self._kwargs(spec, x)
        self._refusals(spec, x, device, kw)
        if spec.kind.adaptive and not spec.is_global:
            raise Unsupported(
                "paddle2onnx exports adaptive pooling at a static input shape only ('[OP: pd_op."
                "pool2d] Adaptive only support static input shape'), and then aborts the process "
                "(SIGABRT in paddle2onnx::Export): not called"
            )
        call = getattr(F, self._fn_name(spec))
        return self._through_onnx(
            (self._fn_name(spec), repr(sorted(kw.items()))), lambda t: call(t, **kw), x, second
        )

    def _refusals(self, spec, x, device, kw) -> None:
        """Paddle's own refusals first, in its words (the eager call), then NHWC (docstring)."""
        super()._run(spec, x, device, kw)
        fmt = kw.get("data_format", "")
        if fmt in ("NHWC", "NDHWC"):
            raise Unsupported(
                f"paddle2onnx does not export pooling with data_format {fmt} ('[OP: pd_op.pool"
                f"{spec.ndim}d] {fmt} format is not supported'), and then aborts the process "
                "(SIGABRT in paddle2onnx::Export): not called"
            )

    def _run(self, spec, x, device, kw):
        self._refusals(spec, x, device, kw)
        call = getattr(F, self._fn_name(spec))
        return self._through_onnx((self._fn_name(spec), repr(sorted(kw.items()))), lambda t: call(t, **kw), x)

    def _unpool(self, spec, x, device):
        """The pooling with its mask and F.max_unpool{n}d at the input's size, exported as one
        model (the eager target's chain; unpool_window's geometry)."""
        kw = {**self._kwargs(spec, x), "return_mask": True}
        spatial = tuple(x.shape[2:] if spec.layout == "channels_first" else x.shape[1:-1])
        y, _ = self._forward_with_indices(spec, x, device)
        pooled = tuple(y.shape[2:] if spec.layout == "channels_first" else y.shape[1:-1])
        kernel, stride, padding = unpool_window(pooled, spatial)
        pool, unpool = getattr(F, self._fn_name(spec)), getattr(F, f"max_unpool{spec.ndim}d")
        fmt = {"data_format": kw["data_format"]} if "data_format" in kw else {}

        def chain(t):
            out, mask = pool(t, **kw)
            return unpool(out, mask, kernel_size=kernel, stride=stride, padding=padding, **fmt)

        return self._through_onnx(("unpool", repr(sorted(kw.items()))), chain, x)

    def _snippet(self, spec, x, check):
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        if check == "indices":
            kw["return_mask"] = True
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        return [
            "import tempfile",
            "import onnxruntime as ort",
            "import paddle",
            "import paddle.nn.functional as F",
            "",
            "class Call(paddle.nn.Layer):",
            "    def forward(self, t):",
            f"        return F.{self._fn_name(spec)}(t, {args})",
            "",
            "prefix = tempfile.mkdtemp() + '/model'",
            f"spec = paddle.static.InputSpec({list(x.shape)}, DTYPE, 'x')",
            "paddle.onnx.export(Call(), prefix, input_spec=[spec])",
            "sess = ort.InferenceSession(prefix + '.onnx', providers=['CPUExecutionProvider'])",
            "outs = sess.run(None, {sess.get_inputs()[0].name: x.astype(DTYPE)})",
            f"actual = outs[{1 if check == 'indices' else 0}]",
        ]
