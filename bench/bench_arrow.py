"""The Arrow C Data Interface from Python, median microseconds per exchange, in one run:

  pyarrow alone     arr._export_to_c + pa.Array._import_from_c (pyarrow's own round trip)
  xbuf → pyarrow    xbuf_arrow_export (through ctypes) + pa.Array._import_from_c
  pyarrow → xbuf    arr._export_to_c + xbuf_arrow_import + xbuf_decref (through ctypes)

Through ctypes every call pays Python's foreign-call overhead (argument conversion, a few
hundred nanoseconds), which a compiled extension would not; the numbers say what a ctypes
user gets. Run with XBUF_LIB pointing at libxbuf.so and an interpreter that has pyarrow.
Usage: bench_arrow.py [--quick]
"""

import ctypes
import os
import statistics
import sys
import time
from ctypes import byref, c_void_p

import numpy as np
import pyarrow as pa

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import test_arrow as ta  # noqa: E402  (the ctypes structs and signatures)
import xbuf_ctypes as xb  # noqa: E402

QUICK = "--quick" in sys.argv
SAMPLES, ITERS = (11, 2000) if QUICK else (31, 10000)
lib = xb.lib


def median_us(fn):
    for _ in range(ITERS // 10):
        fn()
    times = []
    for _ in range(SAMPLES):
        t0 = time.perf_counter_ns()
        for _ in range(ITERS):
            fn()
        times.append((time.perf_counter_ns() - t0) / ITERS / 1000)
    return statistics.median(times)


def main():
    x = np.arange(4096, dtype=np.float32)
    arr = pa.array(x)
    obj = xb.ndarray(x.tobytes(), "f", (4096,))
    s, a = ta.ArrowSchema(), ta.ArrowArray()
    sp, ap = ctypes.addressof(s), ctypes.addressof(a)
    out = c_void_p()
    export, import_, decref = lib.xbuf_arrow_export, lib.xbuf_arrow_import, lib.xbuf_decref
    ptr = obj.ptr
    ps, pa_ = byref(s), byref(a)

    def pyarrow_alone():
        arr._export_to_c(ap, sp)
        pa.Array._import_from_c(ap, sp)

    def xbuf_to_pyarrow():
        export(ptr, ps, pa_)
        pa.Array._import_from_c(ap, sp)

    def pyarrow_to_xbuf():
        arr._export_to_c(ap, sp)
        import_(ps, pa_, byref(out))
        ta.release_schema(s)
        decref(out)

    rows = [("pyarrow alone (_export_to_c + _import_from_c)", median_us(pyarrow_alone)),
            ("xbuf_arrow_export + pa.Array._import_from_c", median_us(xbuf_to_pyarrow)),
            ("_export_to_c + xbuf_arrow_import + decref", median_us(pyarrow_to_xbuf))]
    base = rows[0][1]
    print(f"Arrow exchange of 4096 float32 from Python, median us ({SAMPLES} batches of {ITERS})")
    for name, t in rows:
        print(f"{name:50s} {t:8.2f} {t / base:6.2f}x")
    obj.close()


if __name__ == "__main__":
    main()
