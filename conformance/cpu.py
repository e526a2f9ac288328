"""The CPU a run computes on, and the kernel choices it implies: the one home of CPU facts.

Frameworks pick their CPU kernels by what the processor offers, and subnormal, -inf, NaN and tie
behaviour follows the kernel. Measured here (issue 22: the same suite gave 23 unexpected results
on an AVX2-only AMD EPYC and none on an AVX-512 one):

- TensorFlow turns its oneDNN custom ops on by default only on Linux x86 CPUs with AVX512_VNNI,
  AVX512_BF16, AVX_VNNI or AMX (`DefaultOneDnnPolicy`, tensorflow/core/util/port.cc);
  `TF_ENABLE_ONEDNN_OPTS=0/1` overrides the choice. Within oneDNN it computes bfloat16 only
  where the CPU has AVX512F or AVX_NE_CONVERT, float16 only with AVX512BW plus AVX512_FP16 or
  AMX_FP16 (or AVX_NE_CONVERT), and never float64 or integers
  (`IsDataTypeSupportedByOneDNNOnThisCPU`, tensorflow/core/util/util.cc); everything else runs
  Eigen's kernels, which flush float32 subnormals, start a bfloat16 max from bfloat16's lowest
  value and reject NCHW on CPU. TensorFlow tests the CPUID bits, not `ONEDNN_MAX_CPU_ISA`, so
  the facts below do the same. Known entries name this as the fact `tf_onednn`.
- `ONEDNN_MAX_CPU_ISA`, `ATEN_CPU_CAPABILITY`, `XLA_FLAGS=--xla_cpu_max_isa` and
  `NUMBA_CPU_NAME` cap the ISA the JIT kernels of oneDNN, ATen, XLA and numba use; the
  reduced-ISA leg (README, "One verdict on every CPU") sets them all and finds no change in
  any result of those targets, so no entry needs a fact about them. They are recorded so a
  report says under which caps it was made.

`detect()` reads the CPU once per process (Linux `/proc/cpuinfo`, else `platform`);
`record()` is what environment.json stores under "cpu"; `facts(dtype)` are the facts known
entries' `when` conditions may name (`fact_names()`; a test fails when an entry names another).
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

# ISA features that select kernels, spelled as Linux /proc/cpuinfo spells them (x86, then Arm).
KERNEL_FLAGS = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "avx_ne_convert",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
    "asimd",
    "asimdhp",
    "sve",
    "sve2",
    "bf16",
    "i8mm",
)
# Environment variables that change which CPU kernels run (recorded with the CPU).
KNOBS = (
    "TF_ENABLE_ONEDNN_OPTS",
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "ATEN_CPU_CAPABILITY",
    "XLA_FLAGS",
    "NUMBA_CPU_NAME",
    "NUMBA_CPU_FEATURES",
    "OPENBLAS_CORETYPE",
)
# The engines (a target's runtime, else its framework: registry.engine) whose CPU kernels the
# KNOBS reach: numba (the reference), ATen and oneDNN (torch, OpenVINO, paddle, MindSpore:
# measured, its float32 average flushes subnormals under AVX2 and AVX-512, not under SSE4.1),
# TensorFlow's oneDNN/Eigen choice, XLA (jax, flax, tensorflow-xla) and Keras on each. ONNX
# Runtime (MLAS), LiteRT and ExecuTorch (XNNPACK, portable C++ kernels), IREE, TVM (compiled for
# a generic CPU here), MLX and tinygrad (clang with the native CPU as its target: no switch caps
# it) have no such switch: a reduced-ISA run computes them as a native one does, so the
# reduced-ISA CI leg leaves them out.
ISA_CAPPED_ENGINES = frozenset(
    ("numpy", "torch", "tensorflow", "jax", "keras", "flax", "openvino", "paddle", "mindspore")
)
# every engine is in one of the two (a test)
ISA_UNCAPPED_ENGINES = frozenset(("onnxruntime", "litert", "iree", "tvm", "mlx", "executorch", "tinygrad"))
# TensorFlow's default oneDNN policy on Linux x86 (DefaultOneDnnPolicy).
_TF_ONEDNN_DEFAULT = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")
_VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}


@dataclass(frozen=True)
class Cpu:
    vendor: str  # "intel", "amd", "arm" or what the CPU calls itself
    model: str
    machine: str  # platform.machine(): x86_64, aarch64, arm64
    flags: frozenset[str]  # the KERNEL_FLAGS this CPU has
    ftz: bool  # this process flushes subnormal results to zero at start
    daz: bool  # this process reads subnormal inputs as zero at start
    knobs: tuple[tuple[str, str], ...] = ()  # the KNOBS set in this process's environment

    def record(self) -> dict[str, Any]:
        """The CPU as environment.json stores it (`from_record` reads it back)."""
        return {
            "vendor": self.vendor,
            "model": self.model,
            "machine": self.machine,
            "flags": sorted(self.flags),
            "ftz": self.ftz,
            "daz": self.daz,
            "knobs": dict(self.knobs),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Cpu:
        return cls(
            record["vendor"],
            record["model"],
            record["machine"],
            frozenset(record["flags"]),
            record["ftz"],
            record["daz"],
            tuple(sorted(record.get("knobs", {}).items())),
        )

    @property
    def x86(self) -> bool:
        return self.machine.lower() in ("x86_64", "amd64", "i686", "i386")

    def tf_onednn_enabled(self) -> bool:
        """TensorFlow's oneDNN custom ops are on: TF_ENABLE_ONEDNN_OPTS, else the CPU decides."""
        setting = dict(self.knobs).get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
        if setting in ("1", "true"):
            return True
        if setting in ("0", "false"):
            return False
        return self.x86 and platform.system() == "Linux" and bool(self.flags & set(_TF_ONEDNN_DEFAULT))

    def tf_onednn(self, dtype: str) -> bool:
        """TensorFlow computes this dtype with oneDNN here (else with Eigen's kernels)."""
        if not self.tf_onednn_enabled():
            return False
        has = self.flags.__contains__
        return {
            "float32": True,
            "bfloat16": has("avx512f") or has("avx_ne_convert"),
            "float16": (has("avx512bw") and (has("avx512_fp16") or has("amx_fp16"))) or has("avx_ne_convert"),
        }.get(dtype, False)

    def aten_avx512(self) -> bool:
        """ATen's kernels, and inductor's CPU code (which follows ATen's capability), use
        AVX-512: the CPU has it and ATEN_CPU_CAPABILITY does not cap below it."""
        cap = dict(self.knobs).get("ATEN_CPU_CAPABILITY", "").strip().lower()
        return "avx512f" in self.flags and (cap == "" or cap.startswith(("avx512", "amx")))

    def facts(self, dtype: str) -> dict[str, Any]:
        """The facts known entries may name, for a case of this dtype."""
        return {
            "cpu_vendor": self.vendor,
            "cpu_x86": self.x86,
            "cpu_avx512": "avx512f" in self.flags,
            "aten_avx512": self.aten_avx512(),
            "tf_onednn": self.tf_onednn(dtype),
        }


def _proc_cpuinfo() -> dict[str, str]:
    try:
        with open("/proc/cpuinfo") as fh:
            text = fh.read()
    except OSError:
        return {}
    first = text.split("\n\n", 1)[0]  # one processor's block: they agree on what matters here
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in first.splitlines())}


def _flush_state() -> tuple[bool, bool]:
    """(FTZ, DAZ) of this thread, measured: a subnormal product, and a subnormal compared."""
    tiny = np.float32(1e-39)  # subnormal in float32
    with np.errstate(all="ignore"):
        ftz = bool(tiny * np.float32(1.0) == 0)
        daz = bool(not (tiny > np.float32(0)))
    return ftz, daz


@cache
def detect() -> Cpu:
    """This machine's CPU and the kernel-selecting environment of this process."""
    info = _proc_cpuinfo()
    raw_vendor = info.get("vendor_id") or info.get("CPU implementer", "")
    vendor = _VENDORS.get(raw_vendor, "arm" if "CPU implementer" in info else raw_vendor.lower())
    model = info.get("model name") or info.get("Model") or platform.processor() or "unknown"
    present = set((info.get("flags") or info.get("Features") or "").split())
    ftz, daz = _flush_state()
    knobs = tuple((k, os.environ[k]) for k in KNOBS if k in os.environ)
    return Cpu(
        vendor=vendor or "unknown",
        model=model,
        machine=platform.machine(),
        flags=frozenset(f for f in KERNEL_FLAGS if f in present),
        ftz=ftz,
        daz=daz,
        knobs=knobs,
    )


@cache
def facts(dtype: str) -> dict[str, Any]:
    """This process's CPU facts for a case of `dtype` (known.case_facts adds them)."""
    return detect().facts(dtype)


def kernel_key() -> str:
    """A short key of what selects compiled kernels here (the CPU's flags and the ISA
    switches): compile caches live in a folder per key. Measured (issue 22): inductor's cache,
    filled with ATEN_CPU_CAPABILITY=avx2 and read without it (or the other way round), returns
    wrong values (garbage sums, subnormal noise) for float64 and bfloat16 pooling."""
    here = detect()
    text = f"{here.machine}|{sorted(here.flags)}|{sorted(here.knobs)}"
    return "cpu-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def fact_names() -> tuple[str, ...]:
    """The names of the CPU facts every environment records (entries may name no other)."""
    return tuple(facts("float32"))
