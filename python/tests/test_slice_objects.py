"""Slices made through the quick path (the View type's own allocator, slices pending until
first used, sharing their parent's view object): differential against memoryview and NumPy on
random keys, chains of slices of released parents, weak references, reference counts."""

import gc
import os
import random
import sys
import weakref

import numpy as np
import pytest

import xbuf

SEED = int(os.environ.get("XBUF_SEED", "20261126"), 0)
CASES = int(os.environ.get("XBUF_CASES", "300"), 0)


def random_slice(rng, n):
    lo = rng.choice([None, rng.randint(-n - 3, n + 3)])
    hi = rng.choice([None, rng.randint(-n - 3, n + 3)])
    step = rng.choice([None, 1, 2, 3, 7, -1, -2, -5])
    return slice(lo, hi, step)


def test_quick_path_is_used():
    v = xbuf.View(bytearray(8))
    s = v[1:]
    assert xbuf._xbuf._quick_views()
    assert type(s) is xbuf.View
    assert bytes(s) == bytes(7)


def test_one_dimensional_slices_match_memoryview():
    rng = random.Random(f"{SEED}:slice-1d")
    for case in range(CASES * 3):
        n = rng.randint(0, 40)
        data = bytearray(rng.getrandbits(8) for _ in range(n))
        v, m = xbuf.View(data), memoryview(data)
        key = random_slice(rng, n)
        got, want = v[key], m[key]
        assert isinstance(got, xbuf.View), (case, key)
        assert got.tolist() == want.tolist(), (case, key)
        assert (got.shape, got.strides, got.nbytes) == (want.shape, want.strides, want.nbytes)
        # A slice of the slice, before and after the first one is used.
        key2 = random_slice(rng, len(want))
        assert got[key2].tolist() == want[key2].tolist(), (case, key, key2)
        fresh = v[key][key2]
        assert bytes(fresh) == bytes(want[key2]), (case, key, key2)


def test_tuple_keys_match_numpy():
    rng = random.Random(f"{SEED}:slice-nd")
    for case in range(CASES * 2):
        ndim = rng.randint(1, 4)
        shape = tuple(rng.randint(0, 6) for _ in range(ndim))
        a = np.arange(int(np.prod(shape)), dtype="<i4").reshape(shape)
        if ndim > 1 and rng.random() < 0.3:
            a = a.transpose(rng.sample(range(ndim), ndim))
        v = xbuf.View(a)
        key = tuple(random_slice(rng, n) for n in a.shape[: rng.randint(1, ndim)])
        got, want = v[key], a[key]
        n = np.asarray(got)
        assert n.shape == want.shape, (case, key)
        # (Strides of dimensions of one item, and of empty arrays, are arbitrary.)
        if want.size:
            for k, (x, y) in enumerate(zip(n.strides, want.strides)):
                assert x == y or want.shape[k] == 1, (case, key)
        assert np.array_equal(n, want), (case, key)
        key2 = tuple(random_slice(rng, k) for k in want.shape)
        assert np.array_equal(np.asarray(v[key][key2]), want[key2]), (case, key, key2)


def test_bad_slice_keys_raise():
    v = xbuf.View(np.zeros((3, 4)))
    with pytest.raises(ValueError):
        v[::0]
    with pytest.raises(ValueError):
        v[1:2, ::0]
    with pytest.raises(TypeError):
        v["a":]
    with pytest.raises(TypeError):
        v[1:2, 1.5:]
    with pytest.raises(IndexError):
        v[:, :, :]
    v.release()
    with pytest.raises(ValueError):
        v[1:]
    with pytest.raises(ValueError):
        v[1:, :]


def test_slice_of_slice_of_released_parent():
    ba = bytearray(range(20))
    v = xbuf.View(ba)
    s = v[2:18]
    v.release()
    t = s[::3]
    u = t[1:]
    del s
    assert t.tolist() == list(range(2, 18, 3))
    assert u.tolist() == list(range(5, 18, 3))
    del t
    with pytest.raises(BufferError):
        ba.append(0)
    u.release()
    with pytest.raises(ValueError):
        u.tolist()
    del u
    gc.collect()
    ba.append(0)
    assert len(ba) == 21


def test_chain_of_pending_slices_holds_the_export():
    ba = bytearray(range(30))
    v = xbuf.View(ba)
    s = v[1:][2:][::2]
    del v
    with pytest.raises(BufferError):
        ba.append(0)
    assert s.tolist() == list(range(3, 30, 2))
    del s
    ba.append(0)


def test_weak_references_to_slices():
    v = xbuf.View(bytearray(b"abcdef"))
    s = v[1:4]
    called = []
    r = weakref.ref(s, lambda _ref: called.append(True))
    assert r() is s
    assert bytes(r()) == b"bcd"
    del s
    assert r() is None and called == [True]
    # Many slices, each with a weak reference, none of them kept.
    refs = [weakref.ref(v[i:]) for i in range(50)]
    assert all(x() is None for x in refs)
    s2 = v[::2]
    r2 = weakref.ref(s2)
    assert r2() is s2


def test_type_and_source_reference_counts_stay_balanced():
    a = np.arange(100.0).reshape(10, 10)
    v = xbuf.View(a)

    def churn():
        for _ in range(1000):
            v[1:3]
            v[::2, 1:]
            v[1:][::-1][2:]
        gc.collect()
        return sys.getrefcount(xbuf.View), sys.getrefcount(a)

    # The first round lets the interpreter settle its own caches.
    first = churn()
    assert churn() == first
    t0 = first[0]

    def keep(n):
        return [v[i % 10 :, ::2] for i in range(n)]

    # Each slice alive holds one reference to the type; none is left once they are gone.
    kept = keep(10)
    t10 = sys.getrefcount(xbuf.View)
    del kept
    kept = keep(30)
    # (Counted outside the assert statements, which hold the type while they run.)
    t30 = sys.getrefcount(xbuf.View)
    assert t30 == t10 + 20
    del kept
    t = sys.getrefcount(xbuf.View)
    assert t == t0


def test_views_are_not_tracked_by_the_collector():
    # A View reports no references to the collector (its type has no traverse of its own
    # objects), so tracking it would only cost time: its type is not a collected one, and a
    # View goes with its last reference.
    assert not xbuf.View.__flags__ & (1 << 14)  # Py_TPFLAGS_HAVE_GC
    v = xbuf.View(bytearray(4))
    s = v[1:]
    assert not gc.is_tracked(v) and not gc.is_tracked(s)
    assert not any(o is s for o in gc.get_objects())
    r = weakref.ref(s)
    del s
    assert r() is None


def test_every_small_slice_matches_memoryview():
    # Every bound from beyond one end to beyond the other, omitted, and every small step:
    # slices whose bounds are resolved quickly and slices read the general way.
    for n in range(6):
        data = bytearray(range(10, 10 + n))
        v, m = xbuf.View(data), memoryview(data)
        bounds = [None, *range(-n - 2, n + 3)]
        for step in (None, 1, 2, 3, -1, -2, -3):
            for lo in bounds:
                for hi in bounds:
                    key = slice(lo, hi, step)
                    assert v[key].tolist() == m[key].tolist(), (n, key)
                    w = xbuf.View(np.arange(n * 3).reshape(n, 3))
                    assert np.asarray(w[key, ::-1]).tolist() == np.arange(n * 3).reshape(n, 3)[key, ::-1].tolist(), (n, key)


class Int(int):
    def __index__(self):
        raise AssertionError("an int subclass is read as an int")


class Index:
    def __init__(self, i):
        self.i = i

    def __index__(self):
        return self.i


def test_slice_bounds_of_every_kind():
    data = bytearray(range(20))
    v, m = xbuf.View(data), memoryview(data)
    a = np.arange(40).reshape(20, 2)
    w = xbuf.View(a)
    big = 2**70
    kinds = [
        slice(True, 5), slice(False, True), slice(np.int64(2), np.int32(9), np.int8(2)),
        slice(Int(3), Int(12), Int(3)), slice(Index(-5), Index(2), Index(-1)),
        slice(-big, big), slice(big, -big, -1), slice(None, None, big), slice(None, None, -big),
        slice(1, 2**63 - 1), slice(-(2**63), 5), slice(None, None, -(2**63)),
        slice(None, None, 2**63 - 1), slice(19, None, -(2**63) + 1), slice(-21, 20),
        slice(5, -21, -1), slice(20, None, -1), slice(-1, -22, -3),
    ]
    for key in kinds:
        assert v[key].tolist() == m[key].tolist(), key
        assert np.asarray(w[key, key]).tolist() == a[key, key].tolist(), key
        assert np.asarray(w[1:, key]).tolist() == a[1:, key].tolist(), key


def test_bad_slice_bounds_raise_as_memoryview():
    data = bytearray(10)
    v, m = xbuf.View(data), memoryview(data)
    for key in (slice(None, None, 0), slice(1.0, 2), slice(None, "a"), slice(0, 2, 0.5)):
        with pytest.raises(Exception) as want:
            m[key]
        with pytest.raises(want.type):
            v[key]
        with pytest.raises(want.type):
            xbuf.View(np.zeros((3, 3)))[:, key]
    # No error is left behind by a bound read the quick way that did not fit.
    assert v[2**64 :].tolist() == []
    assert v[: 2**64].tolist() == [0] * 10


def test_bounds_below_the_ssize_t_range_are_not_omitted():
    # PY_SSIZE_T_MIN, which bounds below the range are clamped to, is also the library's
    # "omitted": a stop of a positive step and a start of a negative step there select
    # nothing, as in memoryview.
    data = bytearray(range(10))
    v, m = xbuf.View(data), memoryview(data)
    a = np.arange(30).reshape(10, 3)
    w = xbuf.View(a)
    for low in (-(2**63), -(2**64), -(10**30)):
        for key in (slice(None, low), slice(low, None, -1), slice(2, low, 3), slice(low, 3, -2),
                    slice(low, None), slice(None, low, -1), slice(low, low)):
            assert v[key].tolist() == m[key].tolist(), key
            assert np.asarray(w[key]).tolist() == a[key].tolist(), key
            assert np.asarray(w[key, 1]).tolist() == a[key, 1].tolist(), key
            assert np.asarray(w[1:, key]).tolist() == a[1:, key].tolist(), key
