"""CPU facts (conformance/cpu.py): what environment.json records, what known entries may name,
and TensorFlow's oneDNN policy reproduced without importing TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conformance import Case, PoolSpec, cpu, known, registry
from conformance.known import case_facts


def _cpu(flags: str, knobs: dict[str, str] | None = None, vendor: str = "amd") -> cpu.Cpu:
    return cpu.Cpu(
        vendor, "test", "x86_64", frozenset(flags.split()), False, False, tuple(sorted((knobs or {}).items()))
    )


# CPUs whose TensorFlow choice is documented in tensorflow/core/util/port.cc and util.cc
AVX2_EPYC = _cpu("sse4_1 sse4_2 avx avx2 fma f16c")  # Zen 2/3 (issue 22)
ZEN4 = _cpu("sse4_1 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16")
ALDER_LAKE = _cpu("sse4_1 avx avx2 fma avx_vnni", vendor="intel")  # AVX-VNNI, no AVX-512


def test_tensorflow_onednn_policy_by_cpu_and_setting():
    assert not AVX2_EPYC.tf_onednn("float32")  # oneDNN off: Eigen everywhere
    assert ZEN4.tf_onednn("float32") and ZEN4.tf_onednn("bfloat16")
    assert not ZEN4.tf_onednn("float64") and not ZEN4.tf_onednn("int8")
    assert not ZEN4.tf_onednn("float16")  # needs AVX512_FP16 or AMX_FP16 too
    assert ALDER_LAKE.tf_onednn("float32") and not ALDER_LAKE.tf_onednn("bfloat16")
    off = _cpu("avx2 avx512f avx512_bf16", {"TF_ENABLE_ONEDNN_OPTS": "0"})
    on = _cpu("avx2", {"TF_ENABLE_ONEDNN_OPTS": "true"})
    assert not off.tf_onednn("float32") and on.tf_onednn("float32")


def test_the_record_round_trips_to_the_same_facts():
    here = cpu.detect()
    again = cpu.Cpu.from_record(here.record())
    for dtype in ("float32", "bfloat16", "float16", "float64", "int8"):
        assert again.facts(dtype) == here.facts(dtype)
    assert set(here.record()) >= {"vendor", "model", "flags", "ftz", "daz", "knobs"}


def test_case_facts_carry_the_cpu_facts():
    case = Case(PoolSpec(op="max", kernel=2), (1, 1, 4, 4), dtype="bfloat16")
    facts = case_facts(case, "forward", "cpu")
    assert {k: facts[k] for k in cpu.fact_names()} == cpu.facts("bfloat16")


def _known_fact_names() -> set[str]:
    case = Case(PoolSpec(op="max", kernel=2), (1, 1, 4, 4))
    adaptive = Case(PoolSpec(op="adaptive_avg", output_size=2), (1, 1, 4, 4))
    names = set(case_facts(case, "forward", "cpu")) | set(case_facts(adaptive, "forward", "cpu"))
    return names | {"differs_under"}


def test_every_condition_names_a_recorded_fact():
    """An entry naming a CPU fact no environment records (or any unknown fact) would never
    match on any machine: a silent no-op, so it fails here."""
    names = _known_fact_names()
    assert set(cpu.fact_names()) <= names
    for target in registry.names():
        for entry in known.load(target):
            unknown = set(entry.when) - names
            assert not unknown, f"{target}: {entry.id} names {sorted(unknown)}"


@pytest.mark.parametrize("setting", [None, "0", "1"])
def test_tf_onednn_agrees_with_tensorflow_itself(setting):
    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "from tensorflow.python.util import _pywrap_util_port as p\n"
        "from conformance import cpu\n"
        "print(bool(p.IsMklEnabled()), cpu.detect().tf_onednn_enabled())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    theirs, ours = out.stdout.split()[-2:]
    assert theirs == ours


def test_compile_caches_are_kept_apart_by_the_kernel_selecting_switches(monkeypatch):
    """An inductor cache filled under ATEN_CPU_CAPABILITY=avx2 gave wrong values read without
    it (issue 22's reduced-ISA leg): each switch setting gets its own cache folder."""
    native = cpu.kernel_key()
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    cpu.detect.cache_clear()
    try:
        assert cpu.kernel_key() != native
    finally:
        monkeypatch.delenv("ATEN_CPU_CAPABILITY")
        cpu.detect.cache_clear()
    assert cpu.kernel_key() == native


def test_every_target_engine_is_known_to_be_isa_capped_or_not():
    """The reduced-ISA CI leg runs the targets whose kernels the switches reach: a new target's
    engine must be placed on one side, not silently left out of (or into) the leg."""
    from conformance import registry

    engines = {registry.engine(n) for n in registry.builtin()}
    assert not cpu.ISA_CAPPED_ENGINES & cpu.ISA_UNCAPPED_ENGINES
    assert engines <= cpu.ISA_CAPPED_ENGINES | cpu.ISA_UNCAPPED_ENGINES, engines
    assert "torch-compile" in registry.isa_capped() and "onnxruntime" not in registry.isa_capped()


def test_aten_avx512_follows_the_cpu_and_the_capability_switch():
    """Inductor's int8 3-D max differs between its AVX2 and AVX-512 code (a known entry names
    aten_avx512): the fact must follow ATEN_CPU_CAPABILITY, not only the CPU's flags."""
    base = cpu.Cpu("intel", "x", "x86_64", frozenset({"avx2", "avx512f"}), False, False)
    assert base.aten_avx512()
    capped = cpu.Cpu("intel", "x", "x86_64", base.flags, False, False, (("ATEN_CPU_CAPABILITY", "avx2"),))
    assert not capped.aten_avx512()
    assert not cpu.Cpu("amd", "x", "x86_64", frozenset({"avx2"}), False, False).aten_avx512()
