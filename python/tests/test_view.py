"""xbuf.View against memoryview and NumPy: exporters, the buffer it exports, memoryview's API,
N-dimensional slicing and indexing, values by the library's rule, and bad input.

Randomized and seeded: set XBUF_SEED to replay a run (the seed is in each test's id).
"""

import array
import math
import mmap
import os
import random
import struct

import numpy as np
import pytest

import xbuf

SEED = int(os.environ.get("XBUF_SEED", "20261126"), 0)
CASES = int(os.environ.get("XBUF_CASES", "300"), 0)

DTYPES = ["u1", "i1", "<i2", ">u2", "<i4", ">i4", "<u8", "<f4", ">f8", "<f2", "?", "<c16", "<c8"]


def rng_for(name):
    return random.Random(f"{SEED}:{name}")


def random_array(rng, max_ndim=4):
    """A NumPy array of a random dtype whose layout is a random strided window (negative and
    zero-free strides, transposes) of a larger array."""
    dt = np.dtype(rng.choice(DTYPES))
    ndim = rng.randint(0, max_ndim)
    shape = [rng.randint(1, 5) for _ in range(ndim)]
    big = [n * rng.randint(1, 3) for n in shape]
    base = np.frombuffer(
        bytes(rng.getrandbits(8) for _ in range(max(math.prod(big), 1) * dt.itemsize)),
        dtype=dt,
    )[: math.prod(big)].reshape(big).copy()
    if dt.kind == "b":
        base = np.asarray(base.view("u1") % 2, dtype="?").reshape(big)
    if dt.kind in "fc":
        base = np.asarray(np.nan_to_num(base, nan=1.5, posinf=2.5, neginf=-2.5), dtype=dt).reshape(big)
    key = tuple(
        slice(None, None, rng.choice([1, 2, -1, -2])) for _ in range(ndim)
    )
    a = base[key] if ndim else base
    a = a[tuple(slice(0, n) for n in shape)] if ndim else a
    if ndim > 1 and rng.random() < 0.4:
        a = a.transpose(rng.sample(range(ndim), ndim))
    return a


def random_key(rng, shape, allow_int=True):
    key = []
    for n in shape:
        r = rng.random()
        if allow_int and r < 0.25 and n > 0:
            key.append(rng.randint(-n, n - 1))
        elif r < 0.35:
            key.append(slice(None))
        else:
            lo = rng.randint(-n - 2, n + 2)
            hi = rng.randint(-n - 2, n + 2)
            step = rng.choice([1, 1, 2, 3, -1, -2, -3])
            key.append(slice(rng.choice([lo, None]), rng.choice([hi, None]), step))
    # Sometimes fewer keys than dimensions, sometimes an Ellipsis.
    if key and rng.random() < 0.3:
        key = key[: rng.randint(0, len(key))]
    if rng.random() < 0.2:
        at = rng.randint(0, len(key))
        key.insert(at, Ellipsis)
    return tuple(key)


def same(x, y):
    """Values equal, NaN equal to NaN, types kept (bool is not int)."""
    if isinstance(x, list):
        return isinstance(y, list) and len(x) == len(y) and all(map(same, x, y))
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        return x == y or (math.isnan(x) and math.isnan(y))
    if isinstance(x, complex):
        return same(x.real, y.real) and same(x.imag, y.imag)
    return x == y


# --- exporters and the export View holds -------------------------------------------------


def test_readme_one_liner():
    v = xbuf.View(np.arange(12.0).reshape(3, 4))
    assert np.asarray(v[1:, ::2]).tolist() == [[4.0, 6.0], [8.0, 10.0]]


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"\x01\x02\x03\x04",
        lambda: bytearray(b"\x01\x02\x03\x04"),
        lambda: array.array("h", [1, -2, 3]),
        lambda: memoryview(b"abcdef")[::2],
        lambda: np.arange(6, dtype="<i4").reshape(2, 3)[:, ::-1],
        lambda: np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
        lambda: xbuf.View(b"xyz"),
    ],
)
def test_any_exporter_matches_memoryview(make):
    src = make()
    v = xbuf.View(src)
    m = memoryview(src)
    assert v.format == m.format
    assert v.itemsize == m.itemsize
    assert v.ndim == m.ndim
    assert v.shape == m.shape
    assert v.strides == m.strides
    assert v.suboffsets == m.suboffsets
    assert v.nbytes == m.nbytes
    assert v.readonly is True
    assert (v.c_contiguous, v.f_contiguous, v.contiguous) == (
        m.c_contiguous,
        m.f_contiguous,
        m.contiguous,
    )
    assert v.tobytes() == m.tobytes()
    assert v.obj is src or isinstance(src, xbuf.View)
    assert v.device == (1, 0)


def test_mmap_source(tmp_path):
    p = tmp_path / "data.bin"
    p.write_bytes(bytes(range(16)))
    with open(p, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 0)
        v = xbuf.View(mm, writable=True)
        v[0] = 200
        assert mm[0] == 200
        # mmap refuses to close while exported.
        with pytest.raises(BufferError):
            mm.close()
        v.release()
        del v
        mm.close()


def test_writable_views_write_through():
    a = np.arange(6, dtype="<i4")
    v = xbuf.View(a, writable=True)
    assert v.readonly is False
    v[2] = 77
    v[-1] = -5
    v[0:2] = xbuf.View(np.array([10, 11], dtype="<i4"))
    assert a.tolist() == [10, 11, 77, 3, 4, -5]
    with pytest.raises(BufferError):
        xbuf.View(b"abc", writable=True)


def test_read_only_view_of_writable_memory():
    a = np.arange(4, dtype="u1")
    v = xbuf.View(a)
    assert v.readonly
    with pytest.raises(TypeError):
        v[0] = 1
    with pytest.raises(TypeError):
        xbuf.copy(v, b"\x00" * 4)
    with pytest.raises(BufferError):
        xbuf.View(v, writable=True)
    m = memoryview(v)
    assert m.readonly
    w = xbuf.View(a, writable=True)
    assert xbuf.View(w).readonly and w.toreadonly().readonly
    assert w[1:].readonly is False
    assert hash(v) == hash(xbuf.View(bytes(a)))


def test_export_held_until_last_view_released():
    ba = bytearray(b"abcdef")
    v = xbuf.View(ba)
    s = v[1:4]
    v.release()
    with pytest.raises(BufferError):
        ba.append(0)  # the slice still holds an export of ba
    assert bytes(s) == b"bcd"
    m = memoryview(s)
    del s
    with pytest.raises(BufferError):
        ba.append(0)  # and the memoryview of the slice
    assert m.tobytes() == b"bcd"
    m.release()
    ba.append(0x67)
    assert ba == b"abcdefg"


def test_source_stays_alive_until_last_view_is_gone():
    import gc
    import weakref

    a = np.arange(10.0)
    ref = weakref.ref(a)
    v = xbuf.View(a)[2:5]
    n = np.asarray(v)
    del a, v
    gc.collect()
    assert ref() is not None
    assert n.tolist() == [2.0, 3.0, 4.0]
    del n
    gc.collect()
    assert ref() is None


def test_release_and_context_manager():
    with xbuf.View(b"abc") as v:
        assert v.tolist() == [97, 98, 99]
    for op in (
        lambda: v.tolist(),
        lambda: v[0],
        lambda: v.shape,
        lambda: len(v),
        lambda: memoryview(v),
        lambda: v.cast("c"),
        lambda: v.tobytes(),
    ):
        with pytest.raises((ValueError, BufferError)):
            op()
    v.release()  # a second release does nothing
    assert "released" in repr(v)


# --- the buffer a View exports -----------------------------------------------------------


def test_exports_random_layouts_to_numpy_and_memoryview():
    rng = rng_for("export")
    for case in range(CASES):
        a = random_array(rng)
        v = xbuf.View(a)
        n = np.asarray(v)
        assert n.dtype == a.dtype or n.dtype.newbyteorder("=") == a.dtype.newbyteorder("="), case
        assert n.shape == a.shape, case
        # Strides of dimensions of extent 0 or 1 are never used; the library may normalise them.
        assert [s for s, d in zip(n.strides, a.shape) if d > 1] == [
            s for s, d in zip(a.strides, a.shape) if d > 1
        ], case
        assert np.shares_memory(n, a) or a.size == 0, case
        assert np.array_equal(n, a), case
        m = memoryview(v)
        ma = memoryview(a)
        assert (m.format, m.shape, m.itemsize) == (ma.format, ma.shape, ma.itemsize), case
        assert [s for s, d in zip(m.strides, m.shape) if d > 1] == [
            s for s, d in zip(ma.strides, ma.shape) if d > 1
        ], case
        assert bytes(v) == ma.tobytes(), case


def test_zero_copy_writes_are_seen():
    a = np.zeros((3, 4), dtype="<f8")
    v = xbuf.View(a, writable=True)
    n = np.asarray(v[1:, ::2])
    n[:] = 7
    assert a[1:, ::2].tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert np.frombuffer(xbuf.View(b"\x01\x02"), dtype="u1").tolist() == [1, 2]


def test_suboffsets_are_exported():
    data = bytes(range(24))
    v = xbuf._xbuf._ndarray(data, "B", [4, 6], pil=True)
    assert v.suboffsets and v.suboffsets[0] >= 0
    m = memoryview(v)
    assert m.suboffsets == v.suboffsets
    assert m.tolist() == [list(data[i * 6 : i * 6 + 6]) for i in range(4)]
    assert v[1:3, ::2].tolist() == [[6, 8, 10], [12, 14, 16]]
    assert v[2, 5] == 17
    with pytest.raises(TypeError):
        memoryview(v).cast("c")  # indirect memory is never contiguous
    with pytest.raises(BufferError):
        v.cast("c")
    with pytest.raises(NotImplementedError):
        v.T
    # NumPy refuses indirect buffers; the error is NumPy's.
    with pytest.raises((ValueError, BufferError, TypeError)):
        np.asarray(v)


def test_exporter_request_errors_are_buffer_errors():
    v = xbuf.View(np.arange(12, dtype="u1").reshape(3, 4)[:, ::2])
    import ctypes

    # A C-contiguous request of a strided view fails as memoryview's would.
    with pytest.raises(BufferError):
        (ctypes.c_char * 6).from_buffer_copy(v)
    with pytest.raises(BufferError):
        np.frombuffer(v, dtype="u1")


# --- memoryview's API ----------------------------------------------------------------------


def _castable(fmt):
    try:
        memoryview(bytes(8)).cast(fmt)
        return True
    except ValueError:  # 'e' only from Python 3.12
        return False


STRUCT_FORMATS = [f for f in "B b h H i I l L q Q n N f d ? c e".split() if _castable(f)]


def random_memoryview(rng):
    fmt = rng.choice(STRUCT_FORMATS)
    size = struct.calcsize(fmt)
    ndim = rng.randint(0, 3)
    shape = [rng.randint(1, 4) for _ in range(ndim)]
    n = math.prod(shape)
    if fmt == "?":
        data = bytes(rng.randint(0, 1) for _ in range(n * size))
    else:
        data = bytes(rng.getrandbits(8) for _ in range(n * size))
    m = memoryview(data).cast("B").cast(fmt, shape) if ndim else memoryview(data).cast(fmt, [])
    return m


def test_memoryview_api_differential():
    rng = rng_for("api")
    for case in range(CASES):
        m = random_memoryview(rng)
        if m.ndim == 1 and rng.random() < 0.5:
            m = m[:: rng.choice([1, 2, -1])]
        v = xbuf.View(m)
        assert same(v.tolist(), m.tolist()), case
        for order in ("C", "F", "A"):
            assert v.tobytes(order) == m.tobytes(order), (case, order)
        assert v.hex() == m.hex(), case
        assert v.hex(":", 2) == m.hex(":", 2), case
        if m.ndim:
            assert len(v) == len(m), case
        else:
            with pytest.raises(TypeError):
                len(v)
        assert (v == m) == (m == m), case  # NaN makes both unequal
        if m.ndim == 1:
            assert all(same(x, y) for x, y in zip(v, m)), case
            assert same(list(v), m.tolist()), case
        assert v.tojson() == __import__("json").dumps(xbuf_json_values(v.tolist())), case


def xbuf_json_values(x):
    """The library's JSON reading of values: bytes as Latin-1 text, complex as [re, im]."""
    if isinstance(x, list):
        return [xbuf_json_values(y) for y in x]
    if isinstance(x, dict):
        return {k: xbuf_json_values(y) for k, y in x.items()}
    if isinstance(x, bytes):
        return x.decode("latin-1")
    if isinstance(x, complex):
        return [x.real, x.imag]
    return x


def test_equality_and_hash():
    a = xbuf.View(np.array([1, 2, 3], dtype="<i4"))
    b = xbuf.View(np.array([1.0, 2.0, 3.0]))
    assert a == b  # by value across formats, as memoryview
    assert a != xbuf.View(np.array([1, 2], dtype="<i4"))
    assert xbuf.View(b"abc") == b"abc" and xbuf.View(b"abc") != b"abd"
    assert (a == "not a buffer") is False
    nan = xbuf.View(np.array([float("nan")]))
    assert nan != nan
    s = np.zeros(2, dtype=[("x", "<i2"), ("y", "<f4")])
    assert xbuf.View(s) == xbuf.View(s.copy())  # structs: memoryview cannot compare them
    assert not (memoryview(s) == memoryview(s.copy()))  # memoryview's gap, for the record
    assert hash(xbuf.View(b"abc")) == hash(xbuf.View(bytearray(b"abc")))
    with pytest.raises(ValueError):
        hash(xbuf.View(bytearray(b"abc"), writable=True))
    with pytest.raises(TypeError):
        xbuf.View(b"a") < xbuf.View(b"b")  # noqa: B015


def test_cast_and_permute():
    a = np.arange(24, dtype="<i4").reshape(2, 3, 4)
    v = xbuf.View(a)
    assert np.array_equal(np.asarray(v.T), a.T)
    assert np.array_equal(np.asarray(v.permute(1, 0, 2)), a.transpose(1, 0, 2))
    assert np.array_equal(np.asarray(v.permute([2, 0, 1])), a.transpose(2, 0, 1))
    c = v.cast("B")
    assert c.shape == (96,) and bytes(c) == a.tobytes()
    c2 = v.cast("<h", shape=[4, 12])
    assert np.array_equal(np.asarray(c2), a.view("<i2").reshape(4, 12))
    assert v.cast("d").format == "d"  # any format to any other, byte size kept
    with pytest.raises(ValueError):
        v.permute(0, 0, 1)
    with pytest.raises(ValueError):
        v.cast("<i4", shape=[5])
    with pytest.raises(ValueError):
        v.cast("not a format")
    with pytest.raises(BufferError):
        v[:, ::2].cast("B")
    with pytest.raises(ValueError):
        v.permute(2**40)


def test_values_follow_the_library_rule():
    cases = [
        ("<h", struct.pack("<h", -5), -5),
        ("?", b"\x01", True),
        ("c", b"z", b"z"),
        ("3s", b"ab\x00", b"ab\x00"),
        ("<2h", struct.pack("<2h", 1, 2), [1, 2]),
        ("<e", struct.pack("<e", 1.5), 1.5),
        ("<Zd", struct.pack("<2d", 1.0, -2.0), complex(1, -2)),
        ("T{<i:a:<d:b:}", struct.pack("<id", 7, 0.5), {"a": 7, "b": 0.5}),
        ("(2)<H", struct.pack("<2H", 3, 4), [3, 4]),
        ("<u", "hi".encode("utf-16-le")[:2], "h"),
        ("<w", "\U0001f600".encode("utf-32-le"), "\U0001f600"),
    ]
    for fmt, data, want in cases:
        v = xbuf.View(data).cast(fmt, shape=[1])
        got = v[0]
        assert same(got, want), (fmt, got, want)
        assert same(v.tolist(), [want]), fmt
    # struct formats against struct.unpack
    rng = rng_for("values")
    for _ in range(CASES):
        fmt = "<" + "".join(rng.choice("bBhHiIqQfd?") for _ in range(rng.randint(1, 4)))
        size = struct.calcsize(fmt)
        data = bytes(rng.getrandbits(8) for _ in range(size))
        if "?" in fmt:
            data = bytes(b & 1 for b in data)
        want = list(struct.unpack(fmt, data))
        got = xbuf.View(data).cast(fmt, shape=[1])[0]
        got = got if isinstance(got, list) else [got]
        assert same(got, want), (fmt, data)


def test_item_assignment_packs_values():
    v = xbuf.bytearray(16)
    d = v.cast("<d")
    d[1] = 2.5
    assert struct.unpack("<2d", bytes(v)) == (0.0, 2.5)
    pair = v.cast("<ii", shape=[2])
    pair[0] = (7, -8)
    assert struct.unpack("<ii", bytes(v)[:8]) == (7, -8)
    with pytest.raises((struct.error, ValueError, OverflowError)):
        v.cast("b")[0] = 1000
    with pytest.raises(TypeError):
        d[0] = "x"
    t = v.cast("T{<i:a:<i:b:}", shape=[2])
    t[1] = struct.pack("<ii", 1, 2)
    assert t[1] == {"a": 1, "b": 2}
    with pytest.raises(ValueError):
        t[0] = b"short"
    with pytest.raises(ValueError):
        v[0:2] = b"abc"  # different structures, as memoryview


# --- N-dimensional slicing and indexing against NumPy -------------------------------------


def test_slicing_and_indexing_against_numpy():
    rng = rng_for("slicing")
    for case in range(CASES * 3):
        a = random_array(rng)
        v = xbuf.View(a)
        key = random_key(rng, a.shape)
        want = a[key]
        got = v[key]
        if isinstance(got, xbuf.View):
            n = np.asarray(got)
            assert n.shape == want.shape, (case, key)
            assert np.array_equal(n, want, equal_nan=a.dtype.kind in "fc"), (case, key)
            assert got.tolist() == want.tolist() or a.dtype.kind in "fc", (case, key)
        else:
            assert isinstance(want, np.generic), (case, key)
            assert same(got, want.item()), (case, key, got, want)


def test_two_dimensional_slice_like_numpy():
    a = np.arange(40 * 30, dtype="<f8").reshape(40, 30)
    v = xbuf.View(a)
    assert np.array_equal(np.asarray(v[1:30:2, ::3]), a[1:30:2, ::3])
    assert np.array_equal(np.asarray(v[::-3, 5]), a[::-3, 5])
    assert v[3, -1] == a[3, -1]
    assert np.array_equal(np.asarray(v[..., 2]), a[..., 2])
    assert np.array_equal(np.asarray(v[()]), a)
    assert np.array_equal(np.asarray(v[...]), a)


def test_iteration():
    a = np.arange(6).reshape(2, 3)
    v = xbuf.View(a)
    rows = list(v)
    assert [r.tolist() for r in rows] == a.tolist()
    assert list(xbuf.View(b"ab")) == [97, 98]
    with pytest.raises(TypeError):
        iter(xbuf.View(np.float64(1.0)))


def test_index_errors():
    v = xbuf.View(np.arange(12).reshape(3, 4))
    with pytest.raises(IndexError):
        v[3]
    with pytest.raises(IndexError):
        v[0, -5]
    with pytest.raises(IndexError):
        v[0, 0, 0]
    with pytest.raises(IndexError):
        v[..., ...]
    with pytest.raises(TypeError):
        v[1.0]
    with pytest.raises(TypeError):
        v["a"]
    with pytest.raises(TypeError):
        v[None]
    with pytest.raises(ValueError):
        v[::0]
    z = xbuf.View(np.float64(2.0))
    assert z.ndim == 0 and z[()] == 2.0 and z.tolist() == 2.0
    with pytest.raises(TypeError):
        z[0]


# --- sources -------------------------------------------------------------------------------


def test_bytearray_source():
    v = xbuf.bytearray(4)
    assert bytes(v) == b"\0" * 4 and not v.readonly and v.obj is None
    w = xbuf.bytearray(b"hello")
    assert bytes(w) == b"hello"
    w[0] = ord("j")
    assert bytes(w) == b"jello"
    assert bytes(xbuf.bytearray(np.array([1, 2], dtype="u1"))) == b"\x01\x02"
    assert bytes(xbuf.bytearray()) == b""
    with pytest.raises(ValueError):
        xbuf.bytearray(-1)
    with pytest.raises(TypeError):
        xbuf.bytearray("text")
    with pytest.raises(TypeError):
        xbuf.bytearray(1.5)


def test_open_maps_files(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(np.arange(8, dtype="<i4").tobytes())
    v = xbuf.open(p)
    assert v.readonly and v.shape == (32,)
    assert v.cast("<i").tolist() == list(range(8))
    with pytest.raises(TypeError):
        v[0] = 1
    w = xbuf.open(str(p), "r+")
    w.cast("<i")[0] = 42
    w.release()
    assert np.fromfile(p, dtype="<i4")[0] == 42
    c = xbuf.open(p, "c")
    c.cast("<i")[1] = 99
    assert np.fromfile(p, dtype="<i4")[1] == 1  # copy-on-write: the file is unchanged
    assert c.cast("<i")[1] == 99
    with pytest.raises(FileNotFoundError):
        xbuf.open(tmp_path / "missing")
    with pytest.raises(ValueError):
        xbuf.open(p, "w")
    with pytest.raises(OSError):
        xbuf.open(tmp_path)


def test_object_capsule_round_trip():
    a = np.arange(6, dtype="<i2")
    v = xbuf.View(a)
    cap = v._to_object_capsule()
    assert type(cap).__name__ == "PyCapsule"
    w = xbuf.View._from_object_capsule(cap)
    assert w.tolist() == [0, 1, 2, 3, 4, 5] and w.format == "<h" or w.format == "h"
    del v, cap
    assert np.asarray(w).tolist() == list(range(6))
    with pytest.raises(TypeError):
        xbuf.View._from_object_capsule(object())
    import ctypes

    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    junk_mem = ctypes.create_string_buffer(64)
    junk = new(ctypes.addressof(junk_mem), b"xbuf.object", None)
    with pytest.raises(ValueError):
        xbuf.View._from_object_capsule(junk)
    wrong = new(ctypes.addressof(junk_mem), b"other.name", None)
    with pytest.raises(TypeError):
        xbuf.View._from_object_capsule(wrong)


def test_copy():
    a = np.zeros((3, 4), dtype="<i8")
    b = np.arange(12, dtype="<i8").reshape(3, 4)
    xbuf.copy(xbuf.View(a, writable=True)[:, ::2], xbuf.View(b)[::-1, 1::2])
    assert np.array_equal(a[:, ::2], b[::-1, 1::2])
    # overlapping memory: read completely before written
    c = np.arange(10, dtype="u1")
    w = xbuf.View(c, writable=True)
    xbuf.copy(w[1:], w[:-1])
    assert c.tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    big = np.arange(1 << 18, dtype="<f8")
    dst = np.empty_like(big)
    xbuf.copy(dst, big)  # plain exporters; large: without the GIL
    assert np.array_equal(dst, big)
    with pytest.raises(ValueError):
        xbuf.copy(np.zeros(3, "<i8"), np.zeros(4, "<i8"))
    with pytest.raises(ValueError):
        xbuf.copy(np.zeros(3, "<i8"), np.zeros(3, "<f8"))
    with pytest.raises(BufferError):
        xbuf.copy(b"abc", b"abc")


def test_release_with_slices_not_used_yet():
    # Slices are made when first used; the export a released view still shares with such
    # slices goes back when the last of them is gone, as if each held its own.
    ba = bytearray(b"abcdef")
    v = xbuf.View(ba)
    s1, s2 = v[1:], v[2:]
    v.release()
    with pytest.raises(ValueError):
        v[1:]
    del s1
    with pytest.raises(BufferError):
        ba.append(0)
    assert bytes(s2) == b"cdef"
    del s2
    ba.append(0x67)
    ba.pop()
    v = xbuf.View(ba)
    s = v[::2]
    v.release()
    del v
    with pytest.raises(BufferError):
        ba.append(0)
    assert s.tolist() == [97, 99, 101]
    m = memoryview(s)
    del s
    with pytest.raises(BufferError):
        ba.append(0)
    m.release()
    ba.append(0x67)
    assert bytes(ba) == b"abcdefg"


def test_bad_arguments_raise():
    v = xbuf.View(np.arange(6, dtype="<i2"))
    with pytest.raises(TypeError):
        xbuf.View(object())
    with pytest.raises(TypeError):
        xbuf.View("text")
    with pytest.raises(ValueError):
        v.tobytes("X")
    with pytest.raises(ValueError):
        v.cast("<h", shape=[-1, -6])
    with pytest.raises(ValueError):
        v.cast("B", shape=[1] * 65)
    with pytest.raises(ValueError):
        v.cast("B\0")
    with pytest.raises(TypeError):
        v.cast(3)
    with pytest.raises(ValueError):
        v.permute(1)
    with pytest.raises(TypeError):
        v.permute("a")
    with pytest.raises(TypeError):
        xbuf.open(3.5)
    with pytest.raises(ValueError):
        xbuf.open("a\0b")
    with pytest.raises(IndexError):
        xbuf._xbuf._ndarray(bytes(4), "B", [2, 2], strides=[4, 1])
    with pytest.raises(ValueError):
        xbuf._xbuf._ndarray(bytes(4), "B", [2, 2], strides=[1])
    with pytest.raises(ValueError):
        xbuf._xbuf._ndarray(bytes(4), "k", [4])
    with pytest.raises(TypeError):
        xbuf.copy(object(), v)
