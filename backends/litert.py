"""LiteRT: the `tensorflow` target's tf.nn pooling call, converted by the TFLite converter and
run by the LiteRT interpreter (`ai-edge-litert`), as a model shipped to a phone runs it.

Each call is traced into a tf.function with the case's exact input signature, converted with
default converter settings (builtin TFLite ops only: a conversion that would need TF ops is
`unsupported` with the converter's words), and run by `ai_edge_litert.interpreter.Interpreter`
in its default configuration: op resolver AUTO, which applies the XNNPACK delegate to the
float32 operations it supports (the configuration recorded in `native_call`). `litert-builtin`
runs the same model on TFLite's builtin kernels without the default delegates, so a difference
between XNNPACK and the builtin kernels shows as a difference between the two targets.

Native: what tf.nn.max_pool / avg_pool say in NHWC (TFLite's pooling layout) with SAME/VALID
(explicit zero padding is VALID; explicit max-pool pads go through the converter as it chooses),
the dtypes TFLite's float kernels take. No gradients (an inference runtime) and no default
stride: TFLite's pooling ops carry explicit strides (the converter writes tf.nn.pool's 1s).
"""

from __future__ import annotations

from collections import OrderedDict
from importlib.metadata import version as dist_version

import numpy as np
import tensorflow as tf
from ai_edge_litert import interpreter as litert

from backends.tensorflow import TensorFlowBackend
from conformance.backend import Backend
from conformance.devices import Device
from conformance.dtypes import name_of
from conformance.errors import Unsupported

_MODELS = 128  # converted models kept (conversion costs tens of milliseconds)


class LiteRtBackend(TensorFlowBackend):
    name = "litert"
    no_adaptive = "TFLite has no adaptive pooling operator (and the tf.nn source has none)"
    resolver = litert.OpResolverType.AUTO
    configuration = "Interpreter(op resolver AUTO: XNNPACK delegate for float32, builtin kernels otherwise)"
    default_stride = None
    default_stride_api = "TFLite MAX_POOL_2D / AVERAGE_POOL_2D (stride_w, stride_h required)"
    unsupported_errors = (
        *TensorFlowBackend.unsupported_errors,
        r"ConverterError",
        r"not supported by",
        r"Type .* not currently supported",
        r"failed to legalize",
        r"Didn't find op for builtin opcode",
    )
    _models: OrderedDict

    def __init__(self) -> None:
        self._models = OrderedDict()

    @property
    def version(self) -> str:
        return f"{dist_version('ai-edge-litert')} (converter: tensorflow {tf.__version__})"

    def devices(self) -> list[str]:
        return [Device.CPU]

    def native_call(self, spec, input_shape, dtype: str, check: str) -> dict:
        return {"runtime": self.configuration}

    def _forward_with_indices(self, spec, x, device):
        # not the eager sibling's tf.nn.max_pool_with_argmax: the converter has no builtin for it
        raise Unsupported(
            "TFLite has no builtin max pooling with indices (MaxPoolWithArgmax "
            "is a TF Select op, which LiteRT does not run)"
        )

    def _args(self, spec, x):
        if spec.layout != "channels_last":
            raise Unsupported("TFLite pools NHWC (channels_last) tensors only")
        if spec.ndim == 3:
            raise Unsupported(
                "TFLite has no builtin 3-D pooling: tf.nn.*_pool3d converts only "
                "with TF Select ops, which the LiteRT interpreter does not run"
            )
        if name_of(x.dtype) != "float32":
            raise Unsupported(
                f"TFLite's float pooling kernels take float32 ({name_of(x.dtype)} "
                f"pooling exists only in quantized models, which need a "
                f"representative data set to convert)"
            )
        return super()._args(spec, x)

    def _vjp(self, spec, x, gy, device):
        return Backend._vjp(self, spec, x, gy, device)

    def _forward_default_stride(self, spec, x, device):
        return Backend._forward_default_stride(self, spec, x, device)

    def _convert(self, fn, x: np.ndarray, key) -> bytes:
        data = self._models.get(key)
        if data is None:
            function = tf.function(fn, input_signature=[tf.TensorSpec(x.shape, tf.float32)], autograph=False)
            converter = tf.lite.TFLiteConverter.from_concrete_functions(
                [function.get_concrete_function()], function
            )
            data = converter.convert()
            self._models[key] = data
            if len(self._models) > _MODELS:
                self._models.popitem(last=False)
        return data

    def _forward(self, spec, x, device):
        args, pool = self._args(spec, x), self._fn(spec)
        key = (pool.__name__, repr(sorted(args.items())), x.shape)
        data = self._convert(lambda xt: pool(xt, **args), x, key)
        interpreter = litert.Interpreter(model_content=data, experimental_op_resolver_type=self.resolver)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

    def _snippet(self, spec, x, check):
        args = ", ".join(f"{k}={v!r}" for k, v in self._args(spec, x).items())
        return [
            "import tensorflow as tf",
            "from ai_edge_litert import interpreter as litert",
            "",
            f"f = tf.function(lambda xt: tf.nn.{spec.op}_pool(xt, {args}), "
            f"input_signature=[tf.TensorSpec({tuple(x.shape)}, tf.float32)], autograph=False)",
            "conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)",
            f"it = litert.Interpreter(model_content=conv.convert(), "
            f"experimental_op_resolver_type=litert.OpResolverType.{self.resolver.name})",
            "it.allocate_tensors()",
            "it.set_tensor(it.get_input_details()[0]['index'], x.astype(np.float32))",
            "it.invoke()",
            "actual = it.get_tensor(it.get_output_details()[0]['index'])",
        ]


class LiteRtBuiltinBackend(LiteRtBackend):
    name = "litert-builtin"
    resolver = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    configuration = (
        "Interpreter(op resolver BUILTIN_WITHOUT_DEFAULT_DELEGATES: TFLite's builtin kernels, no XNNPACK)"
    )
