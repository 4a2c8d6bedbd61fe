"""Small copies (one and two dimensions, the library's short paths) against NumPy: xbuf.copy
against np.copyto from a snapshot of the source, between random strided windows (negative
steps, transposes, zero extents) of arrays of item sizes 1 to 16 and packed structs, apart and
overlapping; View.tobytes in C, F and A order against ndarray.tobytes. Item bytes are compared
exactly.

Randomized and seeded: set XBUF_SEED to replay a run.
"""

import os
import random

import numpy as np
import pytest

import xbuf

SEED = int(os.environ.get("XBUF_SEED", "20261126"), 0)
CASES = int(os.environ.get("XBUF_CASES", "300"), 0)

# Item sizes 1, 2, 4, 8, 16 and packed structs of 3 and 12 bytes.
DTYPES = ["u1", "<i2", "<f4", "<i8", "<c16", "u1,u2", "<i4,<f8"]


def window(rng, base_shape, shape, transposed):
    """A random strided window of an array of `base_shape`, of `shape`: each axis reversed or
    not, stepped by 1 or 2; a 2-D window transposed or not. Returned as (index, transposed), to
    apply to any array of `base_shape` with `apply`."""
    want = shape[::-1] if transposed else shape
    index = []
    for axis, n in enumerate(want):
        room = base_shape[axis]
        step = rng.choice([1, 2]) if 2 * n <= room else 1
        start = rng.randint(0, room - (n - 1) * step - 1) if n else 0
        sl = slice(start, start + (n - 1) * step + 1, step) if n else slice(0, 0)
        if n and rng.random() < 0.5:
            sl = slice(sl.stop - 1, None if sl.start == 0 else sl.start - 1, -step)
        index.append(sl)
    return tuple(index), transposed


def apply(base, spec):
    index, transposed = spec
    w = base[index]
    return w.T if transposed else w


def random_case(rng):
    dt = np.dtype(rng.choice(DTYPES))
    ndim = rng.choice([1, 1, 2, 2, 2])
    shape = [rng.choice([0, 1, 2, 3, 5, 8, 8]) for _ in range(ndim)]
    side = 2 * max(shape) + 3
    big = [side] * ndim
    raw = bytes(rng.getrandbits(8) for _ in range(side**ndim * dt.itemsize))
    base = np.frombuffer(raw, dtype=dt).reshape(big).copy()
    return dt, shape, base


def transposes(rng, shape):
    return len(shape) == 2 and rng.random() < 0.5


def test_copy_matches_numpy_copyto():
    rng = random.Random(f"{SEED}:small-copy")
    for case in range(CASES):
        dt, shape, sbase = random_case(rng)
        overlapping = rng.random() < 0.3
        dbase = sbase if overlapping else np.zeros_like(sbase)
        sspec = window(rng, sbase.shape, shape, transposes(rng, shape))
        dspec = window(rng, dbase.shape, shape, transposes(rng, shape))
        # NumPy on a copy of the same memory, from a snapshot of the source (xbuf reads the
        # source completely before writing; np.copyto of overlapping views need not).
        want_d = dbase.copy()
        want_s = want_d if overlapping else sbase.copy()
        np.copyto(apply(want_d, dspec), apply(want_s, sspec).copy())
        xbuf.copy(xbuf.View(apply(dbase, dspec), writable=True), xbuf.View(apply(sbase, sspec)))
        what = (case, dt, shape, overlapping, sspec, dspec)
        assert dbase.tobytes() == want_d.tobytes(), what


@pytest.mark.parametrize("order", ["C", "F", "A"])
def test_tobytes_matches_numpy(order):
    rng = random.Random(f"{SEED}:small-tobytes:{order}")
    for case in range(CASES):
        dt, shape, base = random_case(rng)
        a = apply(base, window(rng, base.shape, shape, transposes(rng, shape)))
        assert xbuf.View(a).tobytes(order) == a.tobytes(order), (case, dt, shape)


def test_refusals_match_for_small_views():
    # The refusals xbuf.copy makes on small views: another shape, another format, a read-only
    # destination (TypeError, as memoryview's assignment raises).
    a = np.zeros((2, 3), "<f4")
    with pytest.raises(ValueError):
        xbuf.copy(xbuf.View(a, writable=True), xbuf.View(np.zeros((3, 2), "<f4")))
    with pytest.raises(ValueError):
        xbuf.copy(xbuf.View(a, writable=True), xbuf.View(np.zeros((2, 3), "<i4")))
    with pytest.raises(TypeError, match="read-only"):
        xbuf.copy(xbuf.View(a), xbuf.View(np.ones((2, 3), "<f4")))
    assert not a.any()
