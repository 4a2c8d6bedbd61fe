"""xbuf_view through ctypes, compared with CPython's memoryview wherever memoryview supports
the operation: layout fields, contiguity, tobytes in C/F/A order, hex, 1-D slicing (memoryview
slices only one dimension), casts, and (where the library has them) tolist and equality.

Randomized and seeded: set XBUF_SEED to replay a run; the seed is printed on failure.
Run by CTest with XBUF_LIB pointing at the built libxbuf.so.
"""

import json
import math
import os
import random
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import xbuf_ctypes as xb  # noqa: E402

SEED = int(os.environ.get("XBUF_SEED", "20261125"), 0)
CASES = int(os.environ.get("XBUF_CASES", "2000"), 0)
# Native formats memoryview can both cast to and read items of.
def _castable(fmt):
    try:
        memoryview(bytes(8)).cast(fmt)
        return True
    except ValueError:  # 'e' only from Python 3.12
        return False


FORMATS = [f for f in "B b h H i I l L q Q n N f d e ? c".split() if _castable(f)]


def random_layout(rng):
    fmt = rng.choice(FORMATS)
    size = struct.calcsize(fmt)
    ndim = rng.randint(0, 3)
    # memoryview cannot cast to a shape with zeros; empty views arise from slicing below.
    shape = [rng.randint(1, 4) for _ in range(ndim)]
    n = math.prod(shape)
    if fmt == "?":
        data = bytes(rng.randint(0, 1) for _ in range(n * size))
    else:
        data = bytes(rng.randint(0, 255) for _ in range(n * size))
    return fmt, shape, data


def same_value(a, b):
    """memoryview's item values against the library's JSON: NaN matches NaN, `c` bytes match
    the one-character string of the same code point."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, bytes):
        return b == a.decode("latin-1")
    if isinstance(a, bool):
        return b is a
    if isinstance(a, float):
        return isinstance(b, (int, float)) and (a == b or (math.isnan(a) and math.isnan(b)))
    return type(b) is int and a == b


class MemoryviewComparison(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(SEED)

    def fail_case(self, case, what):
        self.fail(f"{what} (case {case}, replay with XBUF_SEED={SEED})")

    def check_same(self, case, mv, v):
        info = v.info()
        if info["shape"] != mv.shape or info["itemsize"] != mv.itemsize:
            self.fail_case(case, f"layout {info} vs memoryview {mv.shape} {mv.strides}")
        if mv.nbytes and info["strides"] != mv.strides and all(mv.shape):
            self.fail_case(case, f"strides {info['strides']} vs {mv.strides}")
        want = {"C": mv.c_contiguous, "F": mv.f_contiguous, "A": mv.contiguous}
        if mv.ndim == 1 and mv.nbytes == 0:
            # A deliberate difference: memoryview judges an empty 1-D view by its stride, but
            # PyBuffer_IsContiguous (and xbuf, in every dimension) calls any empty layout
            # contiguous.
            want = {"C": True, "F": True, "A": True}
        got = {o: bool(c) for o, c in info["contiguity"].items()}
        if got != want:
            self.fail_case(case, f"contiguity {got} vs {want} for {mv.shape} {mv.strides}")
        for order in "CFA":
            if v.tobytes(order) != mv.tobytes(order):
                self.fail_case(case, f"tobytes('{order}') differs for {mv.format} {mv.shape}")
        if v.hex() != mv.hex():
            self.fail_case(case, "hex differs")
        if hasattr(xb.lib, "xbuf_view_tolist"):
            got = json.loads(v.tolist_json())
            if not same_value(mv.tolist(), got):
                self.fail_case(case, f"tolist {got} vs {mv.tolist()} ({mv.format})")

    def test_layouts_and_slices(self):
        checked = 0
        for case in range(CASES):
            fmt, shape, data = random_layout(self.rng)
            mv = memoryview(bytearray(data)).cast("B").cast(fmt, shape)
            arr = xb.ndarray(data, fmt, shape)
            v = xb.View.of(arr)
            self.check_same(case, mv, v)
            # 1-D slicing, compared with memoryview's (including negative steps).
            if mv.ndim == 1:
                n = mv.shape[0]
                pick = lambda: None if self.rng.random() < 0.25 else self.rng.randint(-n - 2, n + 2)
                step = self.rng.choice([None, 1, 2, 3, -1, -2, -3])
                s = slice(pick(), pick(), step)
                sv = v.slice(s)
                self.check_same(case, mv[s], sv)
                # Slicing the slice again (views of views).
                s2 = slice(None, None, self.rng.choice([1, -1, 2]))
                self.check_same(case, mv[s][s2], sv.slice(s2))
                sv.close()
            # Casts memoryview allows: to bytes, and from bytes to N-D.
            if mv.c_contiguous and fmt != "B":
                b = v.cast("B")
                self.check_same(case, mv.cast("B"), b)
                back = b.cast(fmt, shape)
                self.check_same(case, mv.cast("B").cast(fmt, shape), back)
                back.close()
                b.close()
            v.close()
            self.assertEqual(arr.exports(), 0)
            arr.close()
            checked += 1
        self.assertEqual(checked, CASES)

    def test_equality_follows_memoryview(self):
        if not hasattr(xb.lib, "xbuf_view_equal"):
            self.skipTest("this build of the library has no xbuf_view_equal")
        for case in range(CASES // 4):
            fmt, shape, data = random_layout(self.rng)
            other = bytearray(data)
            if other and self.rng.random() < 0.5:
                other[self.rng.randrange(len(other))] ^= 1
            a = memoryview(bytearray(data)).cast("B").cast(fmt, shape)
            b = memoryview(other).cast("B").cast(fmt, shape)
            xa = xb.ndarray(data, fmt, shape)
            xo = xb.ndarray(bytes(other), fmt, shape)
            va, vb = xb.View.of(xa), xb.View.of(xo)
            if va.equal(vb) != (a == b):
                self.fail_case(case, f"equal {va.equal(vb)} vs memoryview {a == b} for {fmt}")
            for o in (va, vb, xa, xo):
                o.close()

    def test_released_view(self):
        arr = xb.ndarray(bytes(range(12)), "i", [3])
        v = xb.View.of(arr)
        mv = memoryview(bytearray(range(12))).cast("i")
        v.release()
        mv.release()
        with self.assertRaises(ValueError):
            mv.tobytes()
        with self.assertRaises(xb.XbufError) as e:
            v.tobytes()
        self.assertEqual(e.exception.status, "RELEASED")
        v.release()  # a second release is a no-op, as memoryview's
        v.close()
        self.assertEqual(arr.exports(), 0)
        arr.close()

    def test_multidimensional_slicing_beyond_memoryview(self):
        # memoryview cannot slice 2-D; xbuf can. Check against a list model.
        rows, cols = 4, 5
        data = struct.pack(f"{rows * cols}i", *range(rows * cols))
        arr = xb.ndarray(data, "i", [rows, cols])
        v = xb.View.of(arr)
        model = [[r * cols + c for c in range(cols)] for r in range(rows)]
        for _ in range(200):
            s0 = slice(self.rng.randint(-5, 5), self.rng.randint(-5, 5), self.rng.choice([1, 2, -1, -2]))
            s1 = slice(self.rng.choice([None, 1, -1]), None, self.rng.choice([1, -2, 3]))
            want = [row[s1] for row in model[s0]]
            sv = v.slice(s0, s1)
            flat = [x for row in want for x in row]
            self.assertEqual(sv.tobytes("C"), struct.pack(f"{len(flat)}i", *flat))
            t = sv.transpose()
            tflat = [want[r][c] for c in range(len(want[0]) if want else 0) for r in range(len(want))]
            self.assertEqual(t.tobytes("C"), struct.pack(f"{len(tflat)}i", *tflat))
            t.close()
            sv.close()
        v.close()
        arr.close()


if __name__ == "__main__":
    unittest.main()
