"""The Arrow PyCapsule interface from Python, the way a Python user exchanges arrays: median
nanoseconds per exchange of 4096 float32, each case timed in the same run as pyarrow's own
exchange of the same array:

  pyarrow alone          pa.Array._import_from_c_capsule(*arr.__arrow_c_array__())
  View -> pyarrow        pa.Array._import_from_c_capsule(*v.__arrow_c_array__())
  View -> pa.array       pa.array(v) (pyarrow's dispatch to __arrow_c_array__ included)
  pyarrow -> View        xbuf.from_arrow(arr)

Every exchange exports, imports and (when the result goes) releases. Every figure is the
median of many timed repetitions of many calls, each case's repetitions alternating with its
baseline's. The C functions' own per-call costs are measured by bench_arrow.c.
Usage: bench_arrow.py [--quick]
"""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

import xbuf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_util  # noqa: E402

QUICK = "--quick" in sys.argv
REPS = 41 if QUICK else 201
CALLS = 500 if QUICK else 1000


def compare(rows, name, fn, base_name, base, target):
    bench_util.compare(rows, name, fn, base_name, base, target, REPS, CALLS)


def main():
    x = np.arange(4096, dtype=np.float32)
    arr = pa.array(x)
    v = xbuf.View(x)
    imp = pa.Array._import_from_c_capsule
    # The results are checked once: the same values, the same memory.
    assert imp(*v.__arrow_c_array__()).equals(arr)
    assert pa.array(v).equals(arr)
    assert np.shares_memory(np.asarray(xbuf.from_arrow(arr)), arr.to_numpy())
    from_arrow = xbuf.from_arrow
    alone = "pyarrow alone (arr.__arrow_c_array__ + _import_from_c_capsule)"

    rows = []
    compare(rows, "View.__arrow_c_array__ + _import_from_c_capsule",
            lambda: imp(*v.__arrow_c_array__()), alone, lambda: imp(*arr.__arrow_c_array__()),
            1.0)
    compare(rows, "pa.array(View)", lambda: pa.array(v), alone,
            lambda: imp(*arr.__arrow_c_array__()), None)
    compare(rows, "xbuf.from_arrow(arr)", lambda: from_arrow(arr), alone,
            lambda: imp(*arr.__arrow_c_array__()), 1.0)

    print(f"Arrow exchange of 4096 float32 from Python: per-call medians of {REPS} alternating "
          f"repetitions of {CALLS} calls")
    w = max(len(r[0]) for r in rows)
    wb = max(len(r[2]) for r in rows)
    for name, t, bname, b, ratio, target in rows:
        mark = ""
        if target is not None:
            mark = "ok" if ratio <= target else f"over the {target}x target"
        print(f"  {name:<{w}} {t:8.1f} ns   {bname:<{wb}} {b:8.1f} ns   {ratio:5.2f}x  {mark}")


if __name__ == "__main__":
    main()
