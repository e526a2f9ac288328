#!/usr/bin/env bash
# Set up a virtual environment, from scratch or incrementally. Used by the README's two
# commands and by .ci/run. torch is pinned to the CPU build first (an unpinned torch pulls a
# multi-GB CUDA build); the project's own requirement stays a range that the pin satisfies.
#   VENV    the environment's folder (default .venv)
#   EXTRAS  the extras to install (default all,dev; "dev" alone = the numpy-only leg)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-all,dev}
TORCH_PIN=${TORCH_PIN:-torch==2.13.0}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" --upgrade pip
if [[ ",$EXTRAS," == *",all,"* || "$EXTRAS" == *torch* || "$EXTRAS" == *executorch* ]] \
    && ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "${pip[@]}" "$TORCH_PIN" || "${pip[@]}" --index-url https://download.pytorch.org/whl/cpu torch
fi
"${pip[@]}" -e ".[$EXTRAS]"
# Compile the reference's loops once (numba caches them on disk; a no-op without numba), so
# that the first run or test does not pay for it.
"$VENV/bin/python" -m backends.reference_loops
