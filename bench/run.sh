#!/usr/bin/env bash
# Builds the default preset and runs every benchmark: bench_core (per-call costs, copy kernels
# and equality against CPython, memcpy and memcmp, in C), bench_copies.py (large copies against
# CPython, NumPy and memcpy, through ctypes), bench_format (format lookups and parses),
# bench_dlpack (DLPack export + import + release per call, against get + release and memcpy)
# and bench_arrow (the Arrow C Data Interface per call, and from Python against pyarrow when the
# interpreter has pyarrow).
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
if python3 -c "import pyarrow, numpy" 2>/dev/null; then
  echo
  XBUF_LIB=build/default/lib/libxbuf.so python3 bench/bench_arrow.py "$@"
fi
