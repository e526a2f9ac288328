"""Backend registry: names to lazily imported backend classes.

Built-in backends are dotted strings; third parties add theirs through the entry-point group
`conformance.backends` (value "module:Class"), or for one process tree (a test, a quick try)
through the environment variable CONFORMANCE_EXTRA_BACKENDS="name=module:Class,...", which
worker processes inherit. Nothing is imported until a backend is asked
for, and an import failure makes that backend unavailable with its reason instead of raising
ImportError. torch is always imported before tensorflow (importing them the other way round
has crashed processes with clashing native libraries).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points

from conformance import cpu, environments, packages
from conformance.backend import Backend
from conformance.errors import BackendUnavailable


@dataclass(frozen=True)
class Target:
    """A way of computing pooling that users deploy (DESIGN.md §6): where its class lives, its
    framework and execution mode (for grouping in reports), and whether it needs a process of
    its own (Keras picks its backend once per process, at import; paddle cannot be imported
    after TensorFlow) or an environment of its own (conformance.environments: its converter
    pins versions that clash with the main environment's; such a target has its own process
    too, started with that environment's interpreter)."""

    path: str
    framework: str
    mode: str = "eager"
    own_process: bool = False
    # targets whose known divergences hold here too (the same kernels underneath), unless the
    # target's own data file lists them under `not_inherited`
    inherits: tuple[str, ...] = ()
    # cases computed by a run without --complete (conformance.share): set where every call
    # compiles (seconds cold) and the whole default suite would take most of a first run
    first_run_cases: int | None = None
    # a first run computes the hand-written cases only (witnesses, error parity, regressions,
    # seeds: every known entry's witness), however many the suites hold (conformance.share)
    first_run_hand_written: bool = False
    # relative cost of one task in the shard model (conformance/shard.py): a compiled mode
    # compiles per shape, a runtime builds a model per case. A model, the same everywhere.
    cost: float = 1.0
    # a converter path (source framework -> converter -> runtime): the converter and the runtime
    # it targets, for the compatibility map's grouping; empty for a framework's own call
    converter: str = ""
    runtime: str = ""
    # a converter path's source: the target computing what the converter was given (the source
    # framework's own eager call, or for the suite's ONNX models ONNX Runtime), whose results the
    # converted model should preserve (conformance.fidelity)
    source: str = ""
    # the side environment it runs in (conformance.environments), "" for the main one
    environment: str = ""

    def __post_init__(self) -> None:
        if self.environment:  # another interpreter is another process
            object.__setattr__(self, "own_process", True)


# One line per target. Names are the contract (DESIGN.md §6); the order is the report's.
TARGETS: dict[str, Target] = {
    "numpy": Target("backends.numpy:NumpyBackend", "numpy", "reference"),
    "torch": Target("backends.torch:TorchBackend", "torch"),
    "torch-compile": Target(
        "backends.torch_compile:TorchCompileBackend",
        "torch",
        "compile",
        inherits=("torch",),
        first_run_cases=84,
        cost=20.0,
    ),
    "torch-onnx-dynamo": Target(
        "backends.torch_onnx:TorchOnnxDynamoBackend",
        "torch",
        "export",
        inherits=("onnxruntime",),
        first_run_hand_written=True,  # 0.4 s a call (torch.export + onnxscript)
        cost=10.0,
        converter="torch.onnx (dynamo)",
        source="torch",
        runtime="onnxruntime",
    ),
    "torch-onnx-script": Target(
        "backends.torch_onnx:TorchOnnxScriptBackend",
        "torch",
        "export",
        inherits=("onnxruntime",),
        cost=4.0,
        converter="torch.onnx (TorchScript)",
        source="torch",
        runtime="onnxruntime",
    ),
    "tensorflow": Target("backends.tensorflow:TensorFlowBackend", "tensorflow"),
    "tensorflow-graph": Target(
        "backends.tensorflow_function:TensorFlowGraphBackend",
        "tensorflow",
        "graph",
        inherits=("tensorflow",),
        cost=4.0,
    ),
    "tensorflow-xla": Target(
        "backends.tensorflow_function:TensorFlowXlaBackend",
        "tensorflow",
        "xla",
        inherits=("tensorflow",),
        cost=8.0,
    ),
    "jax": Target("backends.jax:JaxBackend", "jax", first_run_cases=120, cost=2.0),
    "jax2tf": Target(
        "backends.jax2tf:Jax2TfBackend",
        "jax",
        "export",
        inherits=("jax",),
        first_run_hand_written=True,  # 0.07 s a call (conversion + TF trace)
        cost=8.0,
        converter="jax2tf",
        source="jax",
        runtime="tensorflow",
    ),
    "keras-tensorflow": Target(
        "backends.keras:KerasTensorFlowBackend",
        "keras",
        "layer",
        own_process=True,
        inherits=("tensorflow",),
        cost=3.0,
    ),
    "keras-jax": Target(
        "backends.keras:KerasJaxBackend",
        "keras",
        "layer",
        own_process=True,
        inherits=("jax",),
        first_run_cases=84,
        cost=3.0,
    ),
    "keras-torch": Target(
        "backends.keras:KerasTorchBackend", "keras", "layer", own_process=True, inherits=("torch",), cost=3.0
    ),
    "flax": Target(
        "backends.flax:FlaxBackend", "flax", "layer", inherits=("jax",), first_run_cases=120, cost=2.0
    ),
    "onnxruntime": Target("backends.onnxruntime:OnnxRuntimeBackend", "onnxruntime", "runtime", cost=2.0),
    "openvino": Target(
        "backends.openvino:OpenVinoBackend", "openvino", "runtime", first_run_cases=200, cost=3.0
    ),
    "openvino-torch": Target(
        "backends.openvino_torch:OpenVinoTorchBackend",
        "torch",
        "export",
        inherits=("openvino",),
        first_run_cases=200,  # as openvino: every call converts and compiles a model
        cost=6.0,
        converter="OpenVINO PyTorch frontend",
        source="torch",
        runtime="openvino",
    ),
    "openvino-tf": Target(
        "backends.openvino_tf:OpenVinoTfBackend",
        "tensorflow",
        "export",
        inherits=("openvino",),
        first_run_cases=200,  # as openvino: every call converts and compiles a model
        cost=6.0,
        converter="OpenVINO TensorFlow frontend",
        source="tensorflow",
        runtime="openvino",
    ),
    "iree-onnx": Target(
        "backends.iree_onnx:IreeOnnxBackend",
        "onnx",
        "export",
        first_run_hand_written=True,  # a model compiles in about 1.5 s
        cost=30.0,
        converter="IREE (ONNX import, llvm-cpu)",
        source="onnxruntime",
        runtime="iree",
    ),
    # own process: importing paddle where tensorflow is loaded already segfaults (libpaddle)
    "tvm-onnx": Target(
        "backends.tvm_onnx:TvmOnnxBackend",
        "onnx",
        "export",
        first_run_hand_written=True,  # a model imports and compiles in about 0.15 s
        cost=10.0,
        converter="TVM (Relax ONNX frontend, llvm)",
        runtime="tvm",
        source="onnxruntime",
    ),
    "executorch-portable": Target(
        "backends.executorch:ExecutorchPortableBackend",
        "torch",
        "export",
        first_run_hand_written=True,  # about 0.7 s a call (torch.export + lowering)
        cost=10.0,
        converter="ExecuTorch (portable kernels)",
        runtime="executorch",
        source="torch",
    ),
    "executorch-xnnpack": Target(
        "backends.executorch:ExecutorchXnnpackBackend",
        "torch",
        "export",
        inherits=("executorch-portable",),
        first_run_hand_written=True,
        cost=10.0,
        converter="ExecuTorch (XNNPACK delegate)",
        runtime="executorch",
        source="torch",
    ),
    "onnx2tf-litert": Target(
        "backends.onnx2tf:Onnx2TfLiteRtBackend",
        "onnx",
        "export",
        inherits=("litert",),  # the same interpreter and XNNPACK kernels underneath
        first_run_hand_written=True,  # a conversion takes 0.2 to 0.6 s
        cost=20.0,
        converter="onnx2tf",
        runtime="litert",
        source="onnxruntime",
        environment="onnx2tf",  # onnx2tf pins TensorFlow 2.19, onnx 1.19, NumPy 1.26
    ),
    "torch-litert": Target(
        "backends.torch_litert:TorchLiteRtBackend",
        "torch",
        "export",
        inherits=("litert",),  # the same interpreter and XNNPACK kernels underneath
        first_run_hand_written=True,  # a conversion takes 0.5 to 1 s
        cost=20.0,
        converter="litert-torch",
        runtime="litert",
        source="torch",
        environment="torch-litert",  # litert-torch pins typing_extensions < 4.13
    ),
    "paddle": Target("backends.paddle:PaddleBackend", "paddle", own_process=True),
    "paddle-onnx": Target(
        "backends.paddle_onnx:PaddleOnnxBackend",
        "paddle",
        "export",
        inherits=("onnxruntime",),  # the same runtime kernels underneath
        first_run_hand_written=True,  # an export takes about 0.7 s
        cost=20.0,
        converter="paddle2onnx",
        runtime="onnxruntime",
        source="paddle",
        environment="paddle-onnx",  # paddle2onnx pins onnx <= 1.17
    ),
    "mindspore": Target(
        "backends.mindspore:MindSporeBackend",
        "mindspore",
        environment="mindspore",  # NumPy < 2
    ),
    "mlx": Target("backends.mlx:MlxBackend", "mlx"),
    "tinygrad": Target("backends.tinygrad:TinygradBackend", "tinygrad", cost=3.0),
    "litert": Target("backends.litert:LiteRtBackend", "litert", "runtime", cost=6.0),
    "litert-builtin": Target("backends.litert:LiteRtBuiltinBackend", "litert", "runtime", cost=6.0),
}
# DESIGN.md §6 names that are not targets here yet, and why: `conformance list` prints them and
# asking for one says why instead of "unknown backend" (README, "Converter paths").
NOT_YET: dict[str, str] = {}
BUILTIN = {name: t.path for name, t in TARGETS.items()}
REFERENCE = "numpy"
EXTRA_ENV = "CONFORMANCE_EXTRA_BACKENDS"
# torch before tensorflow (the other order has crashed processes with clashing native libraries)
_IMPORT_FIRST = {
    name: "torch"
    for name in (
        "tensorflow",
        "tensorflow-graph",
        "tensorflow-xla",
        "jax2tf",
        "openvino-tf",
        "litert",
        "litert-builtin",
    )
}

_loaded: dict[str, Backend] = {}
_failed: dict[str, str] = {}
_extra: dict[str, str] = {}


def register(name: str, target: str) -> None:
    """Add (or replace) a backend by dotted 'module:Class' path."""
    _extra[name] = target
    _loaded.pop(name, None)
    _failed.pop(name, None)


def _from_environment() -> dict[str, str]:
    out = {}
    for item in os.environ.get(EXTRA_ENV, "").split(","):
        name, sep, target = item.strip().partition("=")
        if sep and name.strip() and ":" in target:
            out[name.strip()] = target.strip()
    return out


def _targets() -> dict[str, str]:
    targets = dict(BUILTIN)
    for ep in entry_points(group="conformance.backends"):
        targets.setdefault(ep.name, ep.value)
    targets.update(_from_environment())
    targets.update(_extra)
    return targets


def builtin() -> list[str]:
    """The targets this project ships (its own tests run these unless told otherwise)."""
    return list(BUILTIN)


def target(name: str) -> Target:
    """A target's static description, without importing it (third-party targets: framework =
    their name, eager mode)."""
    return TARGETS.get(name) or Target(_targets().get(name, ""), name)


def engine(name: str) -> str:
    """What computes a target's results: the runtime a converter targets, else the framework."""
    t = target(name)
    return t.runtime or t.framework


def isa_capped() -> list[str]:
    """The targets whose kernels scripts/reduced-isa.sh's switches reach (cpu.ISA_CAPPED_ENGINES)."""
    return [n for n in names() if engine(n) in cpu.ISA_CAPPED_ENGINES]


def names() -> list[str]:
    """Every known backend name, available or not, the reference first."""
    return list(_targets())


def get(name: str) -> Backend:
    """The backend instance; raises BackendUnavailable (with the reason) if it cannot load."""
    if name in _loaded:
        return _loaded[name]
    targets = _targets()
    if name not in targets:
        if name in NOT_YET:
            raise BackendUnavailable(f"{name} is not a target here yet: {NOT_YET[name]}")
        raise BackendUnavailable(f"unknown backend {name!r}; known: {', '.join(targets)}")
    if name in _failed:
        raise BackendUnavailable(_failed[name])
    first = _IMPORT_FIRST.get(name)
    if first:
        try:
            importlib.import_module(first)
        except Exception:  # only an ordering courtesy; its absence is fine
            pass
    module_name, _, cls_name = targets[name].partition(":")
    try:
        siblings = module_name.partition(".")[0] in packages.SIBLINGS
        module = packages.load(module_name) if siblings else importlib.import_module(module_name)
        cls = getattr(module, cls_name)
        backend = cls()
        backend.version  # noqa: B018 (a broken install fails here, not mid-run)
    except Exception as exc:  # missing or broken framework
        _failed[name] = f"{name} unavailable: {type(exc).__name__}: {exc}".splitlines()[0]
        side = target(name).environment
        if side:  # the usual cause: asked for outside its environment
            where = environments.interpreter(side)
            _failed[name] += "; " + (
                environments.missing(side)
                if where is None
                else f"it runs in its own environment ({where}): run isolated (not --no-isolate)"
            )
        raise BackendUnavailable(_failed[name]) from exc
    _loaded[name] = backend
    return backend


def available() -> list[str]:
    """Names of backends whose framework imports here."""
    out = []
    for name in names():
        try:
            get(name)
            out.append(name)
        except BackendUnavailable:
            pass
    return out


def reason(name: str) -> str | None:
    """Why a backend is unavailable, or None if it loads."""
    try:
        get(name)
        return None
    except BackendUnavailable as exc:
        return str(exc)
