#!/usr/bin/env bash
# Builds the default preset and runs every benchmark: bench_core (per-call costs, copy kernels
# and equality against CPython, memcpy and memcmp, in C), bench_copies.py (large copies against
# CPython, NumPy and memcpy, through ctypes), bench_format (format lookups and parses),
# bench_dlpack (DLPack export + import + release per call, against get + release and memcpy),
# bench_arrow (the Arrow C Data Interface per call), bench_arrow.py (the Arrow PyCapsule
# interface from Python against pyarrow's own exchange, when .venv has pyarrow and the package)
# and bench_python.py (the Python package against memoryview and NumPy).
# Installs NumPy with pip when it is missing.
# Usage: bash bench/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset default >/dev/null
cmake --build --preset default >/dev/null
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
build/default/bench_core "$@"
echo
XBUF_LIB=build/default/lib/libxbuf.so python3 bench/bench_copies.py "$@"
echo
build/default/bench_format
echo
build/default/bench_dlpack "$@"
echo
build/default/bench_arrow "$@"
echo
# The Python package, built and installed into the repository's environment (.venv) by the
# default preset's python.package test; skipped with the reason when it is not installed.
py=.venv/bin/python3
[ -x "$py" ] || py=python3
if "$py" -c "import pyarrow, numpy, xbuf" 2>/dev/null; then
  "$py" bench/bench_arrow.py "$@"
  echo
else
  echo "bench_arrow.py skipped: $py lacks pyarrow or the xbuf package"
fi
if "$py" -c "import xbuf" 2>/dev/null; then
  "$py" bench/bench_python.py "$@"
else
  echo "bench_python.py skipped: the xbuf package is not installed for $py (ctest --preset default -R python.package installs it)"
fi
