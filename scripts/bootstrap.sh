#!/usr/bin/env bash
# Set up .venv with every framework, from scratch or incrementally. Used by the README's two
# commands and by .ci/run. torch is pinned to the CPU build first (an unpinned torch pulls a
# multi-GB CUDA build); the project's own requirement stays a range that the pin satisfies.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_PIN=${TORCH_PIN:-torch==2.13.0}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)
"${pip[@]}" --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  "${pip[@]}" "$TORCH_PIN" || "${pip[@]}" --index-url https://download.pytorch.org/whl/cpu torch
fi
"${pip[@]}" -e ".[all,dev]"
