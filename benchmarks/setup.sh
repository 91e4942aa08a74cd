#!/usr/bin/env sh
# Installs what benchmarks/compare.py compares against, from PyPI (nothing is vendored):
# micrograd 0.1.0 (Karpathy's engine, the baseline) and PyTorch (CPU build, float64 reference).
# Usage: sh benchmarks/setup.sh [python]   (default: .venv/bin/python if present, else python3)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
py=${1:-}
if [ -z "$py" ]; then
    if [ -x "$here/.venv/bin/python" ]; then py="$here/.venv/bin/python"; else py=python3; fi
fi
"$py" -m pip install -q -e "$here"
"$py" -m pip install -q "micrograd==0.1.0"
"$py" -m pip install -q "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
    || "$py" -m pip install -q torch
"$py" -c "import micrograd, torch; print('benchmark setup ok: micrograd', 'torch', torch.__version__)"
