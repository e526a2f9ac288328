#!/usr/bin/env bash
# Run a command as on an AVX2-only x86-64 CPU (an AMD EPYC 7763 or Zen 2, a Haswell; GitHub's
# hosted runners), whatever CPU this is: each framework's kernel dispatch capped at AVX2.
#   TF_ENABLE_ONEDNN_OPTS=0      TensorFlow turns oneDNN off on CPUs without AVX512_VNNI,
#                                AVX512_BF16, AVX_VNNI or AMX: its Eigen kernels run
#   ONEDNN_MAX_CPU_ISA=AVX2      oneDNN (PyTorch's, OpenVINO's) JIT kernels
#   ATEN_CPU_CAPABILITY=avx2     PyTorch's vectorised ATen kernels
#   XLA_FLAGS=--xla_cpu_max_isa  XLA (JAX, Flax, Keras on JAX, tf.function(jit_compile=True))
#   NUMBA_CPU_NAME=haswell       the reference's compiled loops
# ONNX Runtime's MLAS and XNNPACK (LiteRT) have no such switch: they keep this CPU's kernels.
# Usage: bash scripts/reduced-isa.sh COMMAND [ARGS...]   (README: "One verdict on every CPU")
set -euo pipefail
export TF_ENABLE_ONEDNN_OPTS=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 \
  XLA_FLAGS="--xla_cpu_max_isa=AVX2 ${XLA_FLAGS:-}" NUMBA_CPU_NAME=haswell
exec "$@"
