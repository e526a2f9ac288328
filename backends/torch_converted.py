"""A torch call that reaches a runtime through a converter: the shared road of `torch-onnx-*`
(torch.onnx.export -> ONNX Runtime) and `openvino-torch` (OpenVINO's PyTorch frontend).

The case's call is the `torch` target's functional call (same translation: `TorchBackend`),
wrapped in an `nn.Module`, converted at the input's shape (`_convert`), loaded by the runtime
(`_load`) and fed the input (`_feed`); a subclass writes those three. Inputs go in channels-first
(the converted models pool NCHW, as a torch model is written); a channels_last case is
transposed around the model. No gradients (inference runtimes), no unpooling.

The `resized` check converts with the spatial dims dynamic where the road can, and runs the
model at the size it was converted at, then at the other. A converter's refusal becomes
`unsupported` with its words where the subclass recognises it (`_refusal`); anything else stays
an error, since the source framework computes the call.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import torch

from backends.torch import TorchBackend
from conformance.devices import Device
from conformance.errors import Unsupported


class _Pool(torch.nn.Module):
    def __init__(self, fn, kw: dict):
        super().__init__()
        self.fn, self.kw = fn, kw

    def forward(self, t):
        return self.fn(t, **self.kw)


# torch.export specialised a dim asked to stay dynamic (a guard on its size): every road through
# torch.export meets it in the `resized` check
EXPORT_REFUSALS = (
    (
        r"tracing inferred a static shape of (\d+) for dimension",
        "torch.export specialises the spatial size to {} for this call: no dynamic export",
    ),
)


class TorchConvertedBackend(TorchBackend):
    checks = ("forward", "default_stride", "error_parity", "indices", "resized")
    snippet_checks = ("forward", "default_stride")
    # (pattern with one group, one-line text) of the converter's refusals: `unsupported`
    refusals: ClassVar[tuple[tuple[str, str], ...]] = ()
    # the road exports through torch.export, which specialises a dim of size 1 (0/1
    # specialisation): no dynamic export of it, so `resized` is unsupported there
    torch_export: ClassVar[bool] = False

    def devices(self) -> list[str]:
        return [Device.CPU]

    # ---- what a road writes -------------------------------------------------------------------
    def _convert(self, module: torch.nn.Module, sample: torch.Tensor, dynamic_dims: tuple[int, ...]):
        raise NotImplementedError

    def _load(self, model):
        raise NotImplementedError

    def _feed(self, session, xc: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def _refusal(self, message: str) -> str | None:
        """The converter's refusal in one line (the first of `refusals` whose pattern the
        message holds, its group put in the text), or None for another failure (an error)."""
        for pattern, text in self.refusals:
            found = re.search(pattern, message)
            if found:
                return text.format(found.group(1))
        return None

    def _sample(self, xc: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(xc)

    def _snippet_road(self) -> tuple[list[str], list[str]]:
        """The reproducer's imports, and its lines that convert `Pool()` at `xc` (NCHW) and
        leave the runtime's first output in `y`."""
        raise NotImplementedError

    def _snippet(self, spec, x, check):
        """The road written out: the module, the input in NCHW, the road, the output back."""
        kw = self._kwargs(spec, x, with_stride=check != "default_stride")
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        cl = spec.layout == "channels_last"
        imports, road = self._snippet_road()
        return [
            *imports,
            "import torch",
            "import torch.nn.functional as F",
            "",
            "class Pool(torch.nn.Module):",
            "    def forward(self, t):",
            f"        return {self._call_text(spec, args)}",
            "",
            f"xc = np.array(np.moveaxis(x, -1, 1) if {cl} else x, order='C')  # NCHW",
            "xc = xc.astype(DTYPE if DTYPE != 'bfloat16' else 'float32')  # NumPy has no bfloat16",
            *road,
            f"actual = {'np.moveaxis(y, 1, -1)' if cl else 'y'}",
        ]

    # ---- the road -----------------------------------------------------------------------------
    def _converted(self, module, sample: torch.Tensor, dynamic_dims: tuple[int, ...] = ()):
        try:
            return self._convert(module, sample, dynamic_dims)
        except Exception as exc:
            refusal = self._refusal(str(exc))
            if refusal:
                raise Unsupported(f"{self.name}: {refusal}") from exc
            raise

    def _channels_first(self, spec, x: np.ndarray) -> np.ndarray:
        """x in NCHW with standard strides: a copy, since np.ascontiguousarray keeps the
        channels_last strides of a moved one-channel axis, which torch (tracing the TorchScript
        export) would read as a channels_last tensor."""
        return np.array(np.moveaxis(x, -1, 1) if spec.layout == "channels_last" else x, order="C")

    def _back(self, spec, outs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        if spec.layout == "channels_last":
            return tuple(np.ascontiguousarray(np.moveaxis(o, 1, -1)) for o in outs)
        return tuple(outs)

    def _run(self, spec, x, device, kw):
        """Convert the call at x's shape, run it in the runtime: the output(s) in x's layout."""
        self._check_device(device)
        xc = self._channels_first(spec, x)
        model = self._converted(_Pool(self._fn(spec), kw), self._sample(xc))
        outs = self._back(spec, self._feed(self._load(model), xc))
        return outs if len(outs) > 1 else outs[0]

    def _vjp(self, spec, x, gy, device):
        raise Unsupported(f"{self.name}: the runtime computes no gradients (inference models)")

    def _unpool(self, spec, x, device):
        raise Unsupported(f"{self.name}: F.max_unpool is not converted here (no unpooling road tested yet)")

    def _forward_resized(self, spec, x, second, device):
        self._check_device(device)
        xc, sc = self._channels_first(spec, x), self._channels_first(spec, second)
        if self.torch_export and any(n == 1 for n in xc.shape[2:]):
            raise Unsupported("torch.export specialises a dim of size 1: no dynamic export")
        module = _Pool(self._fn(spec), self._kwargs(spec, x))
        try:
            session = self._load(self._converted(module, self._sample(xc), tuple(range(2, xc.ndim))))
        except Unsupported:
            raise
        except Exception as exc:  # the road fails at the first size already: not this check's
            first = str(exc).strip().splitlines()[0][:200]
            raise Unsupported(
                f"{self.name}: no model at the first size to run at another (the forward check "
                f"reports the failure: {type(exc).__name__}: {first})"
            ) from exc
        self._feed(session, xc)  # the size it was converted at, then the other
        return self._back(spec, self._feed(session, sc))[0]
