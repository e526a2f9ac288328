"""torch.onnx.export -> ONNX Runtime: the road a PyTorch model takes to an ONNX deployment
(DESIGN.md §6 `torch-onnx-dynamo`, `torch-onnx-script`; issue 23).

The case's call is the `torch` target's functional call (same translation: `TorchBackend`),
wrapped in an `nn.Module`, exported by one of torch's two exporters (`dynamo=True`, through
torch.export and onnxscript; `dynamo=False`, the TorchScript exporter) at opset 19 (where ONNX's
ceil-mode rule is PyTorch's), and run by ONNX Runtime's CPU execution provider. So a result is
what the converter made of the call, compared with the reference; the report's "eager vs modes"
table puts it beside eager torch. Inputs go in channels-first (ONNX pools NCHW); a channels_last
case is transposed around the model. No gradients (an inference runtime), no unpooling.

The `resized` check exports with the spatial dims dynamic (torch.export `Dim`s / TorchScript
`dynamic_axes`) and runs the model at twice the size. A spatial dim of size 1 is specialised by
torch.export (0/1 specialisation): that case is `unsupported` with the reason.

A converter's refusal is `unsupported` with its words: the dynamo exporter's "No ONNX function
found for aten.X" (adaptive max pooling), torch.export's refusal to keep a dim dynamic where
tracing specialised it (ceil mode, adaptive windows), the TorchScript exporter's "Unsupported:
ONNX export of operator ...". A model the exporter writes but ONNX Runtime rejects (integer
MaxPool) is an `error`: the exporter produced an invalid model for a call torch computes.
The TorchScript exporter traces by running eager torch, so torch's own errors reach it too.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import ClassVar

import numpy as np
import onnxruntime as ort
import torch

from backends.torch import TorchBackend
from conformance.devices import Device
from conformance.errors import Unsupported

OPSET = 19


class _Pool(torch.nn.Module):
    def __init__(self, fn, kw: dict):
        super().__init__()
        self.fn, self.kw = fn, kw

    def forward(self, t):
        return self.fn(t, **self.kw)


class TorchOnnxBackend(TorchBackend):
    """The shared road; the two exporters are the subclasses below."""

    dynamo: ClassVar[bool] = True
    checks = ("forward", "default_stride", "error_parity", "indices", "resized")
    unsupported_errors = (
        *TorchBackend.unsupported_errors,
        r"Could not find an implementation for",
        r"NOT_IMPLEMENTED",
        r"Unsupported: ONNX export of operator",
        r"is not supported in the ONNX",
    )
    snippet_checks = ("forward", "default_stride")

    @property
    def exporter(self) -> str:
        return "dynamo" if self.dynamo else "TorchScript"

    @property
    def version(self) -> str:
        return f"{torch.__version__} (torch.onnx {self.exporter}, onnxruntime {ort.__version__})"

    def devices(self) -> list[str]:
        return [Device.CPU]

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {
            "converter": f"torch.onnx.export(dynamo={self.dynamo}) torch {torch.__version__}",
            "opset": OPSET,
            "runtime": f"onnxruntime {ort.__version__} CPUExecutionProvider",
        }

    def _snippet(self, spec, x, check):
        """The road written out: the module, the export, the ONNX Runtime session."""
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        cl = spec.layout == "channels_last"
        if self.dynamo:
            export = [
                f"program = torch.onnx.export(Pool(), (t,), dynamo=True, opset_version={OPSET})",
                "model = program.model_proto.SerializeToString()",
            ]
        else:
            export = [
                "buffer = io.BytesIO()",
                f"torch.onnx.export(Pool(), (t,), buffer, dynamo=False, opset_version={OPSET})",
                "model = buffer.getvalue()",
            ]
        return [
            "import io",
            "import onnxruntime as ort",
            "import torch",
            "import torch.nn.functional as F",
            "",
            "class Pool(torch.nn.Module):",
            "    def forward(self, t):",
            f"        return {self._call_text(spec, args)}",
            "",
            f"xc = np.array(np.moveaxis(x, -1, 1) if {cl} else x, order='C').astype(DTYPE)  # ONNX: NCHW",
            "t = torch.from_numpy(xc)",
            *export,
            'session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])',
            "y = session.run(None, {session.get_inputs()[0].name: xc})[0]",
            f"actual = {'np.moveaxis(y, 1, -1)' if cl else 'y'}",
        ]

    # ---- the road -----------------------------------------------------------------------------
    def _export(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...] = ()) -> bytes:
        try:
            return self._exported(module, sample, dynamic_dims)
        except Exception as exc:
            refusal = _refusal(str(exc))
            if refusal:
                raise Unsupported(f"{self.name}: {refusal}") from exc
            raise

    def _exported(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...]) -> bytes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.dynamo:
                shapes = ({d: torch.export.Dim.DYNAMIC for d in dynamic_dims},) if dynamic_dims else None
                program = torch.onnx.export(
                    module, (sample,), dynamo=True, opset_version=OPSET, dynamic_shapes=shapes, verbose=False
                )
                return program.model_proto.SerializeToString()
            buffer = io.BytesIO()
            axes = {"x": {d: f"d{d}" for d in dynamic_dims}} if dynamic_dims else None
            torch.onnx.export(
                module,
                (sample,),
                buffer,
                dynamo=False,
                opset_version=OPSET,
                input_names=["x"],
                dynamic_axes=axes,
            )
            return buffer.getvalue()

    @staticmethod
    def _session(model: bytes):
        return ort.InferenceSession(model, providers=["CPUExecutionProvider"])

    @staticmethod
    def _feed(session, xc: np.ndarray) -> list[np.ndarray]:
        return session.run(None, {session.get_inputs()[0].name: xc})

    def _channels_first(self, spec, x: np.ndarray) -> np.ndarray:
        """x in NCHW with standard strides: a copy, since np.ascontiguousarray keeps the
        channels_last strides of a moved one-channel axis, which torch (tracing the TorchScript
        export) would read as a channels_last tensor."""
        return np.array(np.moveaxis(x, -1, 1) if spec.layout == "channels_last" else x, order="C")

    def _back(self, spec, outs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        if spec.layout == "channels_last":
            return tuple(np.ascontiguousarray(np.moveaxis(o, 1, -1)) for o in outs)
        return tuple(outs)

    def _sample(self, xc: np.ndarray) -> torch.Tensor:
        if xc.dtype.name == "bfloat16":
            raise Unsupported("ONNX Runtime's CPU pooling kernels take no bfloat16")
        return torch.from_numpy(xc)

    def _run(self, spec, x, device, kw):
        """Export the call at x's shape, run it in ONNX Runtime: the output(s) in x's layout."""
        self._check_device(device)
        xc = self._channels_first(spec, x)
        model = self._export(_Pool(self._fn(spec), kw), self._sample(xc))
        outs = self._back(spec, self._feed(self._session(model), xc))
        return outs if len(outs) > 1 else outs[0]

    def _vjp(self, spec, x, gy, device):
        raise Unsupported(f"{self.name}: ONNX Runtime computes no gradients (inference models)")

    def _unpool(self, spec, x, device):
        raise Unsupported(
            f"{self.name}: F.max_unpool is not exported here (no ONNX MaxUnpool road tested yet)"
        )

    def _forward_resized(self, spec, x, second, device):
        self._check_device(device)
        xc, sc = self._channels_first(spec, x), self._channels_first(spec, second)
        dims = tuple(range(2, xc.ndim))
        if self.dynamo and any(xc.shape[d] == 1 for d in dims):
            raise Unsupported("torch.export specialises a dim of size 1: no dynamic export")
        module = _Pool(self._fn(spec), self._kwargs(spec, x))
        try:
            session = self._session(self._export(module, self._sample(xc), dims))
        except Unsupported:
            raise
        except Exception as exc:  # the road fails at the first size already: not this check's
            first = str(exc).strip().splitlines()[0][:200]
            raise Unsupported(
                f"{self.name}: no model at the first size to run at another (the forward check "
                f"reports the failure: {type(exc).__name__}: {first})"
            ) from exc
        self._feed(session, xc)  # the size it was exported at, then the other
        return self._back(spec, self._feed(session, sc))[0]


_REFUSALS = (
    # the dynamo exporter has no translation for the op (adaptive max pooling)
    (
        r"No ONNX function found for <OpOverload\(op='([\w.]+)'",
        "torch.onnx (dynamo) has no ONNX function for {}",
    ),
    # torch.export specialised a dim asked to stay dynamic (a guard on its size)
    (
        r"tracing inferred a static shape of (\d+) for dimension",
        "torch.export specialises the spatial size to {} for this call: no dynamic export",
    ),
)


def _refusal(message: str) -> str | None:
    """The exporter's refusal in one line, or None for another failure (which stays an error)."""
    for pattern, text in _REFUSALS:
        found = re.search(pattern, message)
        if found:
            return text.format(found.group(1))
    return None


class TorchOnnxDynamoBackend(TorchOnnxBackend):
    name = "torch-onnx-dynamo"
    dynamo = True
    default_stride_api = "torch.onnx.export(dynamo=True) of F.max_pool{n}d(x, k) (stride=None)"


class TorchOnnxScriptBackend(TorchOnnxBackend):
    name = "torch-onnx-script"
    dynamo = False
    default_stride_api = "torch.onnx.export(dynamo=False) of F.max_pool{n}d(x, k) (stride=None)"
