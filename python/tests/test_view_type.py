"""The View type's own slots: every View is an instance of exactly ``xbuf.View``; the slices
and buffer requests it answers itself (keys of slices of ints, requests the shared export
answers) against memoryview and NumPy, including the cases it must hand to the general code
(released views, suboffsets, read-only views asked for writable buffers, tuple subclasses,
bounds of other types, non-contiguous simple requests); deallocation without the collector
drops the source at once."""

import ctypes
import gc
import hashlib
import struct
import sys
import weakref

import numpy as np
import pyarrow as pa
import pytest

import xbuf


def test_every_view_is_of_the_view_type(tmp_path):
    assert xbuf._xbuf._quick_views()
    a = np.arange(24.0).reshape(4, 6)
    v = xbuf.View(a)
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(16)))
    made = {
        "View()": v,
        "View(View)": xbuf.View(v),
        "slice": v[1:],
        "2-D slice": v[1:3, ::2],
        "3 slices": xbuf.View(np.zeros((2, 3, 4)))[:, :, ::2],
        "index": v[1],
        "index and slice": v[1:, 2],
        "ellipsis": v[..., 0],
        "iteration": next(iter(v)),
        "T": v.T,
        "permute": v.permute(1, 0),
        "cast": xbuf.View(bytearray(8)).cast("d"),
        "toreadonly": v.toreadonly(),
        "capsule": xbuf.View._from_object_capsule(v._to_object_capsule()),
        "bytearray": xbuf.bytearray(4),
        "open": xbuf.open(str(path)),
        "from_dlpack": xbuf.from_dlpack(np.arange(3)),
        "from_arrow": xbuf.from_arrow(pa.array([1, 2, 3], pa.int32())),
        "_ndarray": xbuf._xbuf._ndarray(bytes(8), "B", [8]),
    }
    for name, x in made.items():
        assert type(x) is xbuf.View, name
        assert isinstance(x, xbuf.View), name
        assert not gc.is_tracked(x), name
    assert xbuf.View.__name__ == "View" and xbuf.View.__module__ == "xbuf"
    assert xbuf.View.__doc__ and "buffer exporter" in xbuf.View.__doc__
    with pytest.raises(TypeError):

        class Sub(xbuf.View):
            pass


def test_source_goes_with_the_last_view():
    # A View's deallocation drops its reference to the Python object at once, not deferred to
    # a later call into the package (no such call is made between the deletions and the
    # checks below).
    a = np.arange(6, dtype="u1")
    r = weakref.ref(a)
    before = sys.getrefcount(a)
    v = xbuf.View(a)
    del v
    assert sys.getrefcount(a) == before
    v = xbuf.View(a)
    s = v[1:]
    t = s[::2]
    del v
    assert sys.getrefcount(a) > before
    del s, t
    assert sys.getrefcount(a) == before
    del a
    assert r() is None


def test_weak_references_and_their_callbacks():
    v = xbuf.View(np.arange(6.0).reshape(2, 3))
    calls = []
    refs = [weakref.ref(x, calls.append) for x in (v[:, 1:], v[1:], v[0])]
    assert len(calls) == 3 and all(r() is None for r in refs)
    keep = v[::-1, ::2]
    r = weakref.ref(keep, calls.append)
    assert r() is keep and len(calls) == 3
    del keep
    assert r() is None and len(calls) == 4


class TupleKey(tuple):
    pass


class Index:
    def __init__(self, i):
        self.i = i

    def __index__(self):
        return self.i


def test_keys_the_type_hands_on_match_numpy():
    a = np.arange(40).reshape(5, 8)
    v = xbuf.View(a)
    v.shape  # the layout is read: the View type's own slicing applies
    keys = [
        (slice(1, 4), slice(None, None, 2)),
        TupleKey((slice(1, 4), slice(None, None, 2))),
        (slice(Index(1), Index(4)), slice(None, None, Index(-3))),
        (slice(1, 2**70), slice(-(2**70), 3)),
        slice(np.int64(1), None, np.int8(2)),
        (slice(None, None, -1),),
        (slice(2, None), 3),
        (Ellipsis, slice(1, 3)),
        1,
        (1, 2),
    ]
    for key in keys:
        want = a[tuple(key) if isinstance(key, tuple) else key]
        got = v[key]
        if isinstance(got, xbuf.View):
            assert np.asarray(got).tolist() == want.tolist(), key
        else:
            assert got == want, key


def test_slices_of_a_slice_not_used_yet():
    a = np.arange(60).reshape(6, 10)
    v = xbuf.View(a)
    s = v[1:, ::2]
    t = s[::2, 1:]  # the layout of `s` is not read yet
    assert np.asarray(t).tolist() == a[1:, ::2][::2, 1:].tolist()
    s.shape
    u = s[1:3, ::-1]  # now it is
    assert np.asarray(u).tolist() == a[1:, ::2][1:3, ::-1].tolist()


def test_slices_of_released_views_raise():
    v = xbuf.View(np.zeros((3, 4)))
    v.shape
    v[1:, ::2]
    v.release()
    for key in (slice(1, None), (slice(1, None), slice(None, None, 2))):
        with pytest.raises(ValueError, match="released"):
            v[key]


def test_too_many_slices_raise():
    v = xbuf.View(bytearray(6))
    v.shape
    with pytest.raises(IndexError):
        v[1:, ::2]
    w = xbuf.View(np.zeros(()))
    w.shape
    with pytest.raises((TypeError, IndexError)):
        w[:]


def test_slices_of_views_with_suboffsets():
    # Row pointers (PIL style): slices are made by the library at once, as memoryview would.
    data = bytes(range(12))
    v = xbuf._xbuf._ndarray(data, "B", [3, 4], pil=True)
    v.suboffsets
    want = np.arange(12).reshape(3, 4)
    for key in ((slice(1, None), slice(None, None, 2)), slice(None, None, -1)):
        s = v[key]
        assert s.suboffsets, key
        assert s.tolist() == want[key].tolist(), key


def test_slices_of_read_only_views_stay_read_only():
    ba = bytearray(range(12))
    w = xbuf.View(ba, writable=True)
    r = w.toreadonly()
    r.shape
    s = r[1:][::2]
    assert s.readonly
    with pytest.raises(TypeError):
        s[0] = 1
    assert not np.asarray(s).flags.writeable
    t = w[2:][::3]
    assert not t.readonly
    t[0] = 99
    assert ba[2] == 99


def test_buffer_requests_against_memoryview():
    ba = bytearray(range(16))
    ro = xbuf.View(ba)
    rw = xbuf.View(ba, writable=True)
    for v, writable in ((ro, False), (rw, True), (rw.toreadonly(), False)):
        for _ in range(3):  # the first request takes the shared export, the others use it
            m = memoryview(v)
            assert m.tolist() == list(ba) and m.readonly == (not writable)
            assert np.asarray(v).flags.writeable == writable
            assert np.frombuffer(v, dtype="u1").tolist() == list(ba)
            assert hashlib.md5(v).hexdigest() == hashlib.md5(ba).hexdigest()
            m.release()
    # A non-contiguous view refuses a simple (byte) request, before and after its export.
    s = xbuf.View(ba)[::2]
    for _ in range(2):
        with pytest.raises(BufferError):
            hashlib.md5(s)
        assert memoryview(s).tolist() == list(ba[::2])
    # Writable requests (struct.pack_into asks PyBUF_WRITABLE) of read-only views are refused
    # after the shared export was taken as before; writable views take them.
    for v in (ro, rw.toreadonly(), xbuf.View(rw)):
        memoryview(v)
        with pytest.raises(TypeError, match="read-write"):
            struct.pack_into("B", v, 0, 200)
        assert ba[0] == 0
    memoryview(rw)
    struct.pack_into("B", rw, 1, 201)
    assert ba[1] == 201
    ba[1] = 1
    # ctypes takes a simple (byte) export and refuses a read-only one.
    for v in (ro, rw.toreadonly()):
        memoryview(v)
        with pytest.raises(TypeError, match="not writable"):
            (ctypes.c_char * 16).from_buffer(v)
    c = (ctypes.c_char * 16).from_buffer(rw)
    c[0] = b"z"
    assert ba[0] == ord("z")
    del c


def _get_buffer_error(obj, flags):
    """PyObject_GetBuffer(obj, flags) refused: (exception type, message, view.obj left)."""
    getbuffer = ctypes.pythonapi.PyObject_GetBuffer
    getbuffer.argtypes = (ctypes.py_object, ctypes.c_void_p, ctypes.c_int)
    getbuffer.restype = ctypes.c_int
    # A Py_buffer is 80 bytes on 64-bit builds; `obj` is its second pointer, pre-set to garbage.
    raw = (ctypes.c_void_p * 16)()
    raw[1] = 0x5A5A
    try:
        getbuffer(obj, raw, 0x1)  # PyBUF_WRITABLE
    except BaseException as e:  # ctypes raises the exception the call set
        return type(e), str(e), raw[1]
    raise AssertionError("the writable request was granted")


def test_a_writable_request_of_a_read_only_view_is_refused_alike_on_both_paths():
    by = bytes(range(8))
    # memoryview refuses with BufferError as well; the message is the View's own.
    assert _get_buffer_error(memoryview(by), 0x1)[0] is BufferError
    for make in (lambda: xbuf.View(by), lambda: xbuf.View(bytearray(by)).toreadonly(),
                 lambda: xbuf.View(by)[1:7]):
        v = make()
        general = _get_buffer_error(v, 0x1)  # the layout is not read yet: __getbuffer__
        assert general[0] is BufferError
        assert "read-only" in general[1] and general[2] is None
        memoryview(v)  # the layout read and the shared export taken: the type's own slot
        quick = _get_buffer_error(v, 0x1)
        assert quick == general
        assert np.frombuffer(v, dtype="u1").tolist() == list(memoryview(v))
        assert not np.frombuffer(v, dtype="u1").flags.writeable


def test_the_last_consumer_of_a_released_view_hands_the_export_back():
    ba = bytearray(8)
    v = xbuf.View(ba)
    ms = [memoryview(v) for _ in range(3)]
    v.release()
    for m in ms[:-1]:
        m.release()
        with pytest.raises(BufferError):
            ba.append(0)
    ms[-1].release()
    ba.append(0)
    assert len(ba) == 9


def test_reference_counts_of_buffer_consumers():
    v = xbuf.View(bytearray(8))
    before = sys.getrefcount(v)
    ms = [memoryview(v) for _ in range(5)]
    assert sys.getrefcount(v) == before + 5
    for m in ms:
        m.release()
    assert sys.getrefcount(v) == before


PLAIN = ["u1", "i1", "<i2", ">u2", "<i4", ">i4", "<u8", ">i8", "<f4", ">f8", "<f2", "?"]


def general_key(key):
    # The same indices as NumPy ints: not exactly ints, so the general indexing reads them.
    return tuple(np.int64(i) for i in key)


def test_items_the_type_reads_match_numpy_and_the_general_path():
    rng = np.random.default_rng(20261126)
    for dt in PLAIN + ["<c16", "S3", [("a", "<i2"), ("b", "<f8")]]:
        for ndim in range(1, 6):
            shape = tuple(int(n) for n in rng.integers(1, 4, ndim))
            raw = rng.integers(0, 256, int(np.prod(shape)) * np.dtype(dt).itemsize, dtype="u1")
            a = raw.view(dt).reshape(shape)
            if np.dtype(dt).kind == "b":
                a = a.astype(bool)
            v = xbuf.View(a)
            v.shape
            for _ in range(10):
                key = tuple(int(rng.integers(-n - 2, n + 2)) for n in shape)
                try:
                    want = a[key]
                except IndexError:
                    with pytest.raises(IndexError):
                        v[key]
                    with pytest.raises(IndexError):
                        v[general_key(key)]
                    continue
                got = v[key]
                assert got == v[general_key(key)] or got != got, (dt, key)
                if np.dtype(dt).kind in "biuf":
                    assert type(got) is type(want.item()), (dt, key)
                    assert got == want.item() or (got != got and want != want), (dt, key)
                if ndim == 1:
                    assert v[key[0]] == got or got != got, (dt, key)


def test_item_keys_the_type_hands_on():
    a = np.arange(12, dtype="<i4").reshape(3, 4)
    v = xbuf.View(a)
    v.shape
    assert v[1, 2] == 6 and v[-1, -1] == 11
    assert v[True, 1] == a[1, 1]
    assert v[np.int8(2), 3] == 11
    assert v[Index(1), 1] == 5
    for key in ((2**70, 0), (0, -(2**70)), (3, 0), (0, -5)):
        with pytest.raises(IndexError):
            v[key]
    with pytest.raises(IndexError):
        v[1, 2, 3]
    assert isinstance(v[1], xbuf.View) and v[1].tolist() == [4, 5, 6, 7]
    assert isinstance(v[(1,)], xbuf.View) and v[(1,)].tolist() == [4, 5, 6, 7]
    assert isinstance(v[-1], xbuf.View) and v[(-1,)].tolist() == [8, 9, 10, 11]
    w = xbuf.View(np.arange(5, dtype="<f8"))
    w.shape
    assert w[3] == 3.0 and w[-5] == 0.0
    with pytest.raises(IndexError):
        w[5]
    with pytest.raises(TypeError):
        w[1.0]
    v.release()
    w.release()
    with pytest.raises(ValueError, match="released"):
        v[1, 2]
    with pytest.raises(ValueError, match="released"):
        w[1]


def test_items_of_slices_and_of_read_only_views():
    a = np.arange(40, dtype="<u2").reshape(5, 8)
    v = xbuf.View(a)
    s = v[1:, ::-3]
    s.shape
    want = a[1:, ::-3]
    for i in range(want.shape[0]):
        for j in range(want.shape[1]):
            assert s[i, j] == want[i, j]
    r = xbuf.View(bytearray(b"\x01\x02\x03"), writable=True).toreadonly()
    r.shape
    assert r[2] == 3


def test_ints_beyond_the_index_range_are_index_errors_as_in_memoryview():
    m = memoryview(bytearray(4))
    v = xbuf.View(bytearray(4))
    w = xbuf.View(np.zeros((2, 2)))
    for big in (2**63, 2**70, -(2**70)):
        with pytest.raises(IndexError) as want:
            m[big]
        with pytest.raises(IndexError):
            v[big]
        with pytest.raises(IndexError):
            w[big, 0]
        with pytest.raises(IndexError):
            w[0, big]
    assert "index-sized" in str(want.value)


def test_slices_items_and_exports_from_several_threads():
    import threading

    a = np.arange(600.0).reshape(20, 30)
    v = xbuf.View(a)
    errors = []

    def work(k):
        try:
            for i in range(300):
                s = v[k % 3 :, :: (k % 4) + 1]
                want = a[k % 3 :, :: (k % 4) + 1]
                assert s[1, 2] == want[1, 2]
                m = memoryview(s)
                assert m.shape == want.shape
                assert np.asarray(v)[i % 20, 3] == a[i % 20, 3]
                m.release()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_class_assignment_between_the_view_types_is_refused():
    # The two types allocate and free differently (one collected, one not): an object may
    # never change from one to the other.
    v = xbuf.View(b"abc")
    b = xbuf._xbuf._View(b"abc")
    for obj, other in ((v, xbuf._xbuf._View), (b, xbuf.View)):
        with pytest.raises(TypeError):
            obj.__class__ = other
    assert type(v) is xbuf.View and bytes(v) == b"abc" and bytes(b) == b"abc"
