"""The Python package against memoryview and NumPy: per-call costs of exporting a View
(np.asarray, memoryview, np.frombuffer) and of slicing it, each against the same call on the
object it stands for, measured in the same run. Every figure is the median of many timed
repetitions of many calls, each case's repetitions alternating with its baseline's.

    python bench/bench_python.py [--quick]

Targets: each call within 1.2x of its baseline; 2-D slicing faster than NumPy's own
``a[1:30:2, ::3]``.
"""

import array
import os
import sys

# NumPy's BLAS threads would spin beside the timed loops.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import xbuf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_util  # noqa: E402

QUICK = "--quick" in sys.argv
# Many short repetitions, the two sides alternating, so that a burst of load on a shared
# machine falls on both; the median of each side's repetitions is reported.
REPS = 41 if QUICK else 201
CALLS = 1000 if QUICK else 2000


def compare(rows, name, fn, base_name, base, target):
    bench_util.compare(rows, name, fn, base_name, base, target, REPS, CALLS)


def main():
    a1 = np.arange(1000, dtype="<f8")
    a2 = np.arange(40 * 30, dtype="<f8").reshape(40, 30)
    ba = bytearray(8000)
    arr = np.zeros(1000)
    mv = memoryview(ba)
    v1 = xbuf.View(a1)
    v2 = xbuf.View(a2)
    vb = xbuf.View(ba)
    asarray = np.asarray
    frombuffer = np.frombuffer

    rows = []
    # np.asarray(ndarray) returns its argument: shown for scale, not a target. The target's
    # baseline is the same call on another buffer exporter of the same 1000 doubles.
    ad = array.array("d", a1.tobytes())
    vw = xbuf.View(ba, writable=True)
    by = bytes(8000)
    vby = xbuf.View(by)
    compare(rows, "np.asarray(View of 1000 f8)", lambda: asarray(v1),
            "np.asarray(array.array of 1000 f8)", lambda: asarray(ad), 1.2)
    compare(rows, "np.asarray(View of 1000 f8)", lambda: asarray(v1),
            "np.asarray(ndarray) (returns it)", lambda: asarray(arr), None)
    compare(rows, "np.asarray(View of a bytearray)", lambda: asarray(vb),
            "np.asarray(bytearray)", lambda: asarray(ba), 1.2)
    compare(rows, "memoryview(View of a bytearray)", lambda: memoryview(vb),
            "memoryview(bytearray)", lambda: memoryview(ba), 1.2)
    compare(rows, "memoryview(View of 1000 f8)", lambda: memoryview(v1),
            "memoryview(ndarray)", lambda: memoryview(a1), 1.2)
    compare(rows, "np.frombuffer(writable View of a bytearray)", lambda: frombuffer(vw),
            "np.frombuffer(bytearray)", lambda: frombuffer(ba), 1.2)
    # NumPy keeps an exporter with a releasebuffer slot (a View, a bytearray, a memoryview)
    # alive through a memoryview it makes of it (one more buffer request), bytes as itself:
    # the same call on bytes is shown for scale, the call on a memoryview of the bytes is the
    # like-for-like baseline. Neither is among the package's targets (np.asarray, memoryview,
    # slicing, np.from_dlpack).
    compare(rows, "np.frombuffer(View of bytes)", lambda: frombuffer(vby),
            "np.frombuffer(bytes)", lambda: frombuffer(by), None)
    mby = memoryview(by)
    compare(rows, "np.frombuffer(View of bytes)", lambda: frombuffer(vby),
            "np.frombuffer(memoryview of bytes)", lambda: frombuffer(mby), None)
    compare(rows, "View[1:30:2]", lambda: vb[1:30:2],
            "memoryview[1:30:2]", lambda: mv[1:30:2], 1.2)
    compare(rows, "View[1:30:2, ::3] (40x30 f8)", lambda: v2[1:30:2, ::3],
            "ndarray[1:30:2, ::3]", lambda: a2[1:30:2, ::3], 1.0)
    from_dlpack = np.from_dlpack
    compare(rows, "np.from_dlpack(View of 1000 f8)", lambda: from_dlpack(v1),
            "np.from_dlpack(ndarray)", lambda: from_dlpack(a1), 1.2)
    compare(rows, "View[3, 4] (an item)", lambda: v2[3, 4],
            "ndarray[3, 4]", lambda: a2[3, 4], None)

    print(f"Python package: per-call medians of {REPS} alternating repetitions of {CALLS} calls")
    w = max(len(r[0]) for r in rows)
    wb = max(len(r[2]) for r in rows)
    for name, x, bname, y, ratio, target in rows:
        mark = ""
        if target is not None:
            mark = "ok" if ratio <= target else f"over the {target}x target"
        print(f"  {name:<{w}} {x:8.1f} ns   {bname:<{wb}} {y:8.1f} ns   {ratio:5.2f}x  {mark}")


if __name__ == "__main__":
    main()
