"""The Arrow C Data Interface from Python, median microseconds per exchange of 4096 float32,
in one run:

  pyarrow alone        arr._export_to_c(array, schema) + pa.Array._import_from_c(array, schema)
  xbuf -> pyarrow      xbuf_arrow_export(obj, schema, array) + pa.Array._import_from_c(array, schema)
  pyarrow alone, type  arr._export_to_c(array) + pa.Array._import_from_c(array, arr.type)
  pyarrow -> xbuf      arr._export_to_c(array) + xbuf_arrow_import(schema, array) + xbuf_decref,
                       the schema exported once and borrowed by every import

The xbuf functions are called through ctypes without argument conversion (arguments built once
as c_void_p), so that the comparison is about the exchange, not about ctypes' conversions; a
binding with declared argtypes adds about a microsecond per call. Run with XBUF_LIB pointing at
libxbuf.so and an interpreter that has pyarrow.
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


def medians_us(fns):
    """Median us per call of each function, all timed in turn within each repetition, so that
    a busy machine slows them alike."""
    for fn in fns:
        for _ in range(ITERS // 10):
            fn()
    times = [[] for _ in fns]
    for _ in range(SAMPLES):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter_ns()
            for _ in range(ITERS):
                fn()
            times[k].append((time.perf_counter_ns() - t0) / ITERS / 1000)
    return [statistics.median(t) for t in times]


def main():
    raw = ctypes.CDLL(os.environ.get("XBUF_LIB", "libxbuf.so"))
    export, import_, decref = raw.xbuf_arrow_export, raw.xbuf_arrow_import, raw.xbuf_decref
    x = np.arange(4096, dtype=np.float32)
    arr = pa.array(x)
    obj = xb.ndarray(x.tobytes(), "f", (4096,))
    s, a, fixed = ta.ArrowSchema(), ta.ArrowArray(), ta.ArrowSchema()
    sp, ap = ctypes.addressof(s), ctypes.addressof(a)
    vobj, vs, va = c_void_p(obj.ptr), c_void_p(sp), c_void_p(ap)
    arr.type._export_to_c(ctypes.addressof(fixed))
    vfixed = c_void_p(ctypes.addressof(fixed))
    out = c_void_p()
    pout = byref(out)

    def pyarrow_alone():
        arr._export_to_c(ap, sp)
        pa.Array._import_from_c(ap, sp)

    def xbuf_to_pyarrow():
        export(vobj, vs, va)
        pa.Array._import_from_c(ap, sp)

    def pyarrow_alone_type():
        arr._export_to_c(ap)
        pa.Array._import_from_c(ap, arr.type)

    def pyarrow_to_xbuf():
        arr._export_to_c(ap)
        import_(vfixed, va, pout)
        decref(out)

    names = ["pyarrow alone (_export_to_c + _import_from_c)",
             "xbuf_arrow_export + pa.Array._import_from_c",
             "pyarrow alone, type object for the schema",
             "_export_to_c + xbuf_arrow_import + decref"]
    rows = list(zip(names, medians_us([pyarrow_alone, xbuf_to_pyarrow, pyarrow_alone_type,
                                       pyarrow_to_xbuf])))
    print(f"Arrow exchange of 4096 float32 from Python, median us ({SAMPLES} batches of {ITERS})")
    for k, (name, t) in enumerate(rows):
        base = rows[0 if k < 2 else 2][1]
        print(f"{name:50s} {t:8.2f} {t / base:6.2f}x")
    ta.release_schema(fixed)
    obj.close()


if __name__ == "__main__":
    main()
