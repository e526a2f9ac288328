"""onnx2tf: the suite's single-node ONNX model (backends/onnx_model.py, the one `onnxruntime`
runs) converted by onnx2tf to TensorFlow Lite and run by the LiteRT interpreter, as a model
that left PyTorch as ONNX reaches a phone (DESIGN.md §6 `onnx2tf-litert`; issue 23).

onnx2tf pins its own TensorFlow, onnx, onnxruntime and NumPy 1.x, so the target runs in a side
environment (conformance.environments, `onnx2tf`; README "Converter paths").

The road as onnx2tf's users take it: `onnx2tf.convert` with its defaults, which rewrites the
model channels-last (the converted model takes NHWC and gives NHWC: the NCHW tensors are
transposed around it here, as a deployer feeding that model does), and the `_float32.tflite`
file it writes, run by `ai_edge_litert.interpreter.Interpreter` in its default configuration
(op resolver AUTO: XNNPACK for float32), as the `litert` target runs its models. A conversion
takes 0.2 to 0.6 s, so without --complete a run computes the hand-written cases only.

onnx2tf writes float32 models only (its `_float16.tflite` is float32 with float16 weights):
a float16 or float64 ONNX model becomes a float32 one, so the input is cast to the model's
float32 and its output back to the case's dtype, as a deployer feeding the model does.

onnx2tf refusing a model (NotImplementedError, "not implemented") is `unsupported` with its
words; any other failure of the conversion is an error (the converter takes the op and breaks
on it: a finding), and a model that converts and computes something else is a mismatch.

No network: onnx2tf downloads a set of sample images from GitHub to validate its conversion of
any model whose input looks like an image (4-D, 3 channels last). The download is replaced by
an equally shaped local array (seeded random numbers in [0, 1), like the images' range); the
samples feed onnx2tf's own output check only, never the converted model.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx2tf
from ai_edge_litert import interpreter as litert

from backends.onnxruntime import OnnxRuntimeBackend
from conformance.errors import Unsupported

_SAMPLE_IMAGES = (20, 128, 128, 3)  # what onnx2tf's download_test_image_data returns


def _local_sample_images() -> np.ndarray:
    return np.random.default_rng(0).random(_SAMPLE_IMAGES, dtype=np.float32)


# the conversion module calls it by this name (from onnx2tf.utils.common_functions import ...)
importlib.import_module("onnx2tf.onnx2tf").download_test_image_data = _local_sample_images


def _channels_last(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if x.ndim >= 3 else x


def _channels_first(y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if y.ndim >= 3 else y


class Onnx2TfLiteRtBackend(OnnxRuntimeBackend):
    name = "onnx2tf-litert"
    default_stride_api = "ONNX MaxPool / AveragePool without strides, converted by onnx2tf"
    resolver = litert.OpResolverType.AUTO
    unsupported_errors = (
        *OnnxRuntimeBackend.unsupported_errors,
        r"not in list of allowed values",  # TensorFlow has no kernel for the dtype
        r"No registered '\w+' OpKernel",
    )

    @property
    def version(self) -> str:
        runtime = f"tensorflow {version('tensorflow')}, ai-edge-litert {version('ai-edge-litert')}"
        return f"onnx2tf {version('onnx2tf')} ({runtime})"

    def configuration(self) -> str:
        return (
            "onnx2tf.convert(defaults: channels-last model), <model>_float32.tflite in "
            "ai_edge_litert Interpreter(op resolver AUTO: XNNPACK for float32)"
        )

    def devices(self) -> list[str]:
        return ["cpu"]

    def _vjp(self, spec, x, gy, device):
        raise Unsupported("a TFLite model computes no gradients (an inference runtime)")

    def _load(self, data: bytes):
        with tempfile.TemporaryDirectory(prefix="onnx2tf-") as folder:
            source = Path(folder, "model.onnx")
            source.write_bytes(data)
            said = io.StringIO()
            try:
                with contextlib.redirect_stdout(said):
                    onnx2tf.convert(
                        input_onnx_file_path=str(source), output_folder_path=folder, non_verbose=True
                    )
                tflite = Path(folder, "model_float32.tflite").read_bytes()
            except (Exception, SystemExit) as exc:  # onnx2tf sys.exit()s on some failures
                words = [line.strip() for line in said.getvalue().splitlines() if line.strip()]
                last = f"{type(exc).__name__}: {exc}" if str(exc) not in ("", "1") else ""
                what = (last or " | ".join(words[-3:]))[:400]
                if isinstance(exc, NotImplementedError) or "not implemented" in what.lower():
                    raise Unsupported(f"onnx2tf does not convert this model: {what}") from None
                raise RuntimeError(f"onnx2tf failed to convert the model: {what}") from None
        interpreter = litert.Interpreter(model_content=tflite, experimental_op_resolver_type=self.resolver)
        interpreter.allocate_tensors()
        return interpreter

    def _infer(self, model, x: np.ndarray) -> list[np.ndarray]:
        given = model.get_input_details()[0]
        model.set_tensor(given["index"], _channels_last(x).astype(given["dtype"]))
        model.invoke()
        outs = [model.get_tensor(d["index"]) for d in model.get_output_details()]
        # the model's float32 result in the case's dtype; integer outputs (indices) as they are
        return [_channels_first(o.astype(x.dtype) if o.dtype.kind == "f" else o.copy()) for o in outs]

    def _run_lines(self) -> list[str]:
        return [
            "import tempfile, onnx, onnx2tf, onnx2tf.onnx2tf",
            "# no network: onnx2tf downloads sample images to check an image-like model's conversion",
            "onnx2tf.onnx2tf.download_test_image_data = lambda: np.random.default_rng(0).random(",
            "    (20, 128, 128, 3), dtype=np.float32)",
            "from ai_edge_litert import interpreter as litert",
            "folder = tempfile.mkdtemp()",
            "onnx.save(model, f'{folder}/model.onnx')",
            "onnx2tf.convert(input_onnx_file_path=f'{folder}/model.onnx', output_folder_path=folder, "
            "non_verbose=True)",
            "it = litert.Interpreter(model_path=f'{folder}/model_float32.tflite')",
            "it.allocate_tensors()",
            "it.set_tensor(it.get_input_details()[0]['index'], np.moveaxis(xin, 1, -1).astype(np.float32))",
            "it.invoke()",
            "out = np.moveaxis(it.get_tensor(it.get_output_details()[0]['index']), -1, 1).astype(xin.dtype)",
        ]
