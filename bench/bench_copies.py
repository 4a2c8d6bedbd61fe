"""Copies of large strided arrays to C order, measured in one run on the same arrays:

  xbuf     xbuf_to_contiguous (through ctypes; the call overhead is microseconds), with the
           default thread cap (xbuf_get_max_threads; bench_core prints the scaling by threads)
  CPython  PyBuffer_ToContiguous (through ctypes.pythonapi) and memoryview.tobytes()
  NumPy    np.copyto into a preallocated C-ordered array
  memcpy   of the same number of bytes (ctypes.memmove)

Prints the median time of each and ratios. Not a test: it never fails on slowness.
Usage: XBUF_LIB=build/default/lib/libxbuf.so python3 bench/bench_copies.py [--quick]
"""

import ctypes
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import xbuf_ctypes as xb  # noqa: E402

try:
    import numpy as np
except ImportError:  # pragma: no cover
    sys.exit("bench_copies.py needs NumPy: python3 -m pip install numpy")

QUICK = "--quick" in sys.argv
REPS = 5 if QUICK else 11


class PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.POINTER(ctypes.c_ssize_t)),
                ("strides", ctypes.POINTER(ctypes.c_ssize_t)),
                ("suboffsets", ctypes.POINTER(ctypes.c_ssize_t)), ("internal", ctypes.c_void_p)]


api = ctypes.pythonapi
api.PyObject_GetBuffer.argtypes = [ctypes.py_object, ctypes.POINTER(PyBuffer), ctypes.c_int]
api.PyBuffer_Release.argtypes = [ctypes.POINTER(PyBuffer)]
api.PyBuffer_ToContiguous.argtypes = [ctypes.c_void_p, ctypes.POINTER(PyBuffer), ctypes.c_ssize_t, ctypes.c_char]
PyBUF_FULL_RO = 0x11C
xb.lib.xbuf_to_contiguous.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(xb.BufferInfo), ctypes.c_char]
xb.lib.xbuf_to_contiguous.restype = ctypes.c_int


def median_seconds(fn):
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def describe(a):
    """An xbuf_bufferinfo describing NumPy array `a` (memory the caller owns)."""
    n = a.ndim
    shape = (ctypes.c_ssize_t * n)(*a.shape)
    strides = (ctypes.c_ssize_t * n)(*a.strides)
    v = xb.BufferInfo(structsize=ctypes.sizeof(xb.BufferInfo), buf=a.ctypes.data, len=a.nbytes,
                      itemsize=a.itemsize, readonly=1, ndim=n, format=a.dtype.char.encode(),
                      shape=ctypes.cast(shape, ctypes.POINTER(ctypes.c_ssize_t)),
                      strides=ctypes.cast(strides, ctypes.POINTER(ctypes.c_ssize_t)))
    v._keep = (shape, strides)
    return v


def case(name, src):
    out = np.empty(src.shape, src.dtype)
    dst = out.ctypes.data
    n = src.nbytes
    info = describe(src)
    contiguous_src = np.ascontiguousarray(src)

    def run_xbuf():
        xb.check(xb.lib.xbuf_to_contiguous(dst, n, ctypes.byref(info), b"C"))

    view = PyBuffer()
    if api.PyObject_GetBuffer(src, ctypes.byref(view), PyBUF_FULL_RO) != 0:
        raise RuntimeError("PyObject_GetBuffer failed")

    def run_cpython():
        if api.PyBuffer_ToContiguous(dst, ctypes.byref(view), n, b"C") != 0:
            raise RuntimeError("PyBuffer_ToContiguous failed")

    mv = memoryview(src)
    results = {
        "memcpy": median_seconds(lambda: ctypes.memmove(dst, contiguous_src.ctypes.data, n)),
        "xbuf": median_seconds(run_xbuf),
        "NumPy": median_seconds(lambda: np.copyto(out, src)),
        "CPython": median_seconds(run_cpython),
    }
    if n <= (64 << 20):
        results["tobytes"] = median_seconds(mv.tobytes)
    api.PyBuffer_Release(ctypes.byref(view))
    # The copy is right (a cheap spot check of the whole array).
    run_xbuf()
    assert np.array_equal(out, src), name
    gbs = {k: n / v / 1e9 for k, v in results.items()}
    print(f"{name:<40} {n >> 20:>5} {gbs['memcpy']:>7.2f} {gbs['xbuf']:>7.2f} {gbs['NumPy']:>7.2f} "
          f"{gbs['CPython']:>7.2f} {gbs.get('tobytes', float('nan')):>7.2f} "
          f"{results['memcpy'] / results['xbuf']:>7.2f} {results['NumPy'] / results['xbuf']:>7.2f} "
          f"{results['CPython'] / results['xbuf']:>7.2f}")


def main():
    big = 1024 if QUICK else 4096
    cube = 128 if QUICK else 256
    rng = np.random.default_rng(1)
    print(f"xbuf {ctypes.string_at(xb.lib.xbuf_version_string()).decode()} (up to "
          f"{xb.lib.xbuf_get_max_threads()} threads per large copy), "
          f"NumPy {np.__version__}, Python {sys.version.split()[0]}; medians of {REPS}")
    print("throughput in GB/s (bytes of the result per second); ratios = other's time / xbuf's time")
    print(f"{'case':<40} {'MiB':>5} {'memcpy':>7} {'xbuf':>7} {'NumPy':>7} {'CPython':>7} {'tobytes':>7} "
          f"{'/memcpy':>7} {'xNumPy':>7} {'xCPy':>7}")
    a8 = rng.integers(0, 255, (big, big), dtype=np.uint8)
    a32 = rng.random((big, big), dtype=np.float32)
    a64 = rng.random((big, big))
    case("2-D transpose uint8", a8.T)
    case("2-D transpose float32", a32.T)
    case("2-D transpose float64", a64.T)
    wide = rng.random((big, 2 * big), dtype=np.float32)
    case("every second float32 (4096x8192)", wide[:, ::2])
    case("every second row float32", a32[::2, :])
    c3 = rng.random((cube, cube, cube))
    case("3-D float64 permuted (2,0,1)", c3.transpose(2, 0, 1))
    case("2-D float32 both strides negative", a32[::-1, ::-1])
    case("contiguous float32", a32)
    small = rng.random((8, 8), dtype=np.float32)
    case("small: 8x8 float32 transpose", small.T)


if __name__ == "__main__":
    xb.lib.xbuf_version_string.restype = ctypes.c_void_p
    main()
