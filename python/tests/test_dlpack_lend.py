"""View.__dlpack__'s tensors are made from the View's shared export and hold the View itself:
the same tensors and refusals as the library's general export (xbuf_dlpack_export), one
reference to the View per live tensor handed back exactly once by the deleter on any thread
(with or without the GIL), the memory kept until the last tensor goes (also after
View.release()), and no crash when tensors are deleted at interpreter shutdown."""

import ctypes
import gc
import subprocess
import sys
import textwrap
import threading
import weakref

import numpy as np
import pytest

import xbuf

api = ctypes.pythonapi
api.PyCapsule_GetName.restype = ctypes.c_char_p
api.PyCapsule_GetName.argtypes = [ctypes.py_object]
api.PyCapsule_GetPointer.restype = ctypes.c_void_p
api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
api.PyCapsule_SetName.restype = ctypes.c_int
api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]

general = xbuf._xbuf._dlpack_general
DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def read_tensor(cap):
    """Everything a consumer reads of a capsule's tensor (versioned or legacy)."""
    name = api.PyCapsule_GetName(cap)
    p = api.PyCapsule_GetPointer(cap, name)
    u32 = lambda off: ctypes.c_uint32.from_address(p + off).value  # noqa: E731
    u64 = lambda off: ctypes.c_uint64.from_address(p + off).value  # noqa: E731
    if name == b"dltensor_versioned":
        head = {"version": (u32(0), u32(4)), "flags": u64(24)}
        t = p + 32
        assert u64(8) == p  # manager_ctx
    else:
        assert name == b"dltensor"
        head = {}
        t = p
    ndim = ctypes.c_int32.from_address(t + 16).value
    dims = lambda ptr: (  # noqa: E731
        None if ptr == 0 else [ctypes.c_int64.from_address(ptr + 8 * k).value for k in range(ndim)]
    )
    return {
        **head,
        "name": name,
        "data": ctypes.c_uint64.from_address(t).value,
        "device": (ctypes.c_int32.from_address(t + 8).value, ctypes.c_int32.from_address(t + 12).value),
        "ndim": ndim,
        "dtype": (
            ctypes.c_uint8.from_address(t + 20).value,
            ctypes.c_uint8.from_address(t + 21).value,
            ctypes.c_uint16.from_address(t + 22).value,
        ),
        "shape": dims(ctypes.c_uint64.from_address(t + 24).value),
        "strides": dims(ctypes.c_uint64.from_address(t + 32).value),
        "byte_offset": ctypes.c_uint64.from_address(t + 40).value,
    }


def deleter_of(cap):
    """The tensor's address and its deleter, the capsule renamed as consumed."""
    name = api.PyCapsule_GetName(cap)
    p = api.PyCapsule_GetPointer(cap, name)
    off = 16 if name == b"dltensor_versioned" else 56
    fn = ctypes.c_void_p.from_address(p + off).value
    assert api.PyCapsule_SetName(cap, b"used_" + name) == 0
    return p, DELETER(fn)


def outcome(fn):
    try:
        return ("ok", read_tensor(fn()))
    except Exception as e:  # noqa: BLE001
        return (type(e), str(e))


def views():
    """Views of many formats and layouts: slices in every dimension, reversed, indexed,
    permuted, cast; read-only and writable."""
    out = []
    for dt in ["i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16", "?"]:
        a = (np.arange(60) % 5).astype(dt).reshape(3, 4, 5)
        for writable in (False, True):
            v = xbuf.View(a, writable=writable)
            out += [v, v[1:, ::2, ::-1], v[::-1], v[2], v[1, 2], v.T, v.permute(2, 0, 1), v[:, 1:3].permute(1, 2, 0)]
        v = xbuf.View(a)
        out += [v.cast("B"), v.cast("B").cast(v.format, shape=[5, 12]), v.cast("B", shape=[3, 20 * a.itemsize])]
    out.append(xbuf.View(np.zeros((0, 3))))
    out.append(xbuf.View(np.float64(2.5).reshape(())))
    out.append(xbuf.View(bytearray(b"abcdef"), writable=True)[1::2])
    out.append(xbuf.View(b"abcdef"))
    out.append(xbuf.View(np.zeros((2, 3)), writable=True).toreadonly())
    return out


def refused_views():
    """Views whose memory DLPack cannot describe."""
    odd = np.ndarray(buffer=bytearray(16), dtype="<i2", shape=(4,), strides=(3,))
    return [
        xbuf.View(np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")])),
        xbuf.View(np.zeros(3, dtype=">i4")),
        xbuf.View(np.zeros((2, 3), dtype="<i4")).cast("B").cast("2i", shape=[3]),
        xbuf.View(odd),
        xbuf._xbuf._ndarray(bytes(12), "B", [3, 4], pil=True),
        xbuf._xbuf._ndarray(bytes(12), "B", [3, 4], pil=True)[1:],
    ]


def test_tensors_are_those_of_the_general_export():
    n = 0
    for v in views():
        for versioned in (True, False):
            kwargs = {"max_version": (1, 0)} if versioned else {}
            mine = outcome(lambda: v.__dlpack__(**kwargs))
            theirs = outcome(lambda: general(v, versioned))
            assert mine == theirs, (v, versioned)
            # Again: from the tensor the first call worked out.
            assert outcome(lambda: v.__dlpack__(**kwargs)) == theirs, (v, versioned)
            n += mine[0] == "ok"
        # NumPy reads the same array either way.
        a = np.from_dlpack(v)
        assert a.tolist() == v.tolist() and a.flags.writeable == (not v.readonly)
    assert n > 200


def test_refusals_are_those_of_the_general_export():
    for v in refused_views():
        for versioned in (True, False):
            kwargs = {"max_version": (1, 0)} if versioned else {}
            mine = outcome(lambda: v.__dlpack__(**kwargs))
            assert mine == outcome(lambda: general(v, versioned)), v
            assert mine == outcome(lambda: v.__dlpack__(**kwargs)), v
            assert mine[0] in (ValueError, NotImplementedError, BufferError), mine
        # The refusal holds nothing: the View can still be released.
        before = sys.getrefcount(v)
        with pytest.raises((ValueError, NotImplementedError)):
            v.__dlpack__(max_version=(1, 0))
        assert sys.getrefcount(v) == before
        v.release()


def test_each_tensor_holds_the_view_until_deleted_once():
    v = xbuf.View(np.arange(12.0).reshape(3, 4), writable=True)
    base = sys.getrefcount(v)
    arrays = [np.from_dlpack(v) for _ in range(5)]
    caps = [v.__dlpack__(max_version=(1, 1)), v.__dlpack__()]
    assert sys.getrefcount(v) == base + 7
    del arrays[0], arrays[0]
    assert sys.getrefcount(v) == base + 5
    del caps  # unconsumed capsules delete their tensors
    assert sys.getrefcount(v) == base + 3
    arrays[0][1, 1] = -1.0
    assert v[1, 1] == -1.0
    del arrays
    gc.collect()
    assert sys.getrefcount(v) == base


def test_the_memory_outlives_the_view_and_its_release():
    a = np.arange(10, dtype="<i4")
    ref = weakref.ref(a)
    v = xbuf.View(a)
    s = v[2:8:2]
    t = np.from_dlpack(s)
    u = np.from_dlpack(v)
    mv = memoryview(v)
    v.release()
    # The View refuses as memoryview does after a release; its consumers read on.
    with pytest.raises(ValueError, match="released"):
        np.from_dlpack(v)
    with pytest.raises(ValueError, match="released"):
        v.__dlpack__(max_version=(1, 0))
    del a, v, s
    gc.collect()
    assert ref() is not None
    assert t.tolist() == [2, 4, 6] and u.tolist() == list(range(10)) and mv[9] == 9
    del t, mv
    gc.collect()
    assert ref() is not None
    assert u.tolist() == list(range(10))
    del u
    gc.collect()
    assert ref() is None


def test_a_bytearray_stays_exported_until_the_last_tensor_goes():
    ba = bytearray(8)
    v = xbuf.View(ba, writable=True)
    t = np.from_dlpack(v)
    v.release()
    del v
    with pytest.raises(BufferError):
        ba.append(0)
    t[0] = 7
    del t
    gc.collect()
    ba.append(1)
    assert ba[0] == 7 and len(ba) == 9
    # The same with the released View alive: the last tensor hands the shared export back.
    v = xbuf.View(ba, writable=True)
    ts = [np.from_dlpack(v), np.from_dlpack(v[1:])]
    v.release()
    with pytest.raises(BufferError):
        ba.append(0)
    del ts[0]
    with pytest.raises(BufferError):
        ba.append(0)
    del ts
    ba.append(2)
    assert len(ba) == 10 and v.__repr__() == "<released xbuf.View>"


def test_deleters_run_on_a_native_thread_without_the_gil():
    v = xbuf.View(np.arange(6, dtype="<f4"), writable=True)
    base = sys.getrefcount(v)
    for kwargs in ({"max_version": (1, 0)}, {}):
        cap = v.__dlpack__(**kwargs)
        assert sys.getrefcount(v) == base + 1
        xbuf._xbuf._delete_tensor_on_native_thread(cap)
        assert sys.getrefcount(v) == base
        # The capsule gave its tensor away: destroying it deletes nothing more.
        with pytest.raises(TypeError):
            xbuf._xbuf._delete_tensor_on_native_thread(cap)
        del cap
        assert sys.getrefcount(v) == base
    # The last user of the shared export after a release, on a native thread.
    a = np.arange(3.0)
    ref = weakref.ref(a)
    w = xbuf.View(a)
    cap = w.__dlpack__(max_version=(1, 0))
    w.release()
    del w, a
    gc.collect()
    assert ref() is not None
    xbuf._xbuf._delete_tensor_on_native_thread(cap)
    gc.collect()
    assert ref() is None


def test_deleters_called_from_python_threads_with_the_gil_released():
    # ctypes releases the GIL around a CFUNCTYPE call: the deleter takes it back.
    v = xbuf.View(np.arange(4.0))
    base = sys.getrefcount(v)
    made = [deleter_of(v.__dlpack__(max_version=(1, 0))) for _ in range(16)]
    assert sys.getrefcount(v) == base + 16
    threads = [threading.Thread(target=fn, args=(p,)) for p, fn in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sys.getrefcount(v) == base


def test_many_threads_exchanging_one_view():
    a = np.arange(1000, dtype="<i8")
    ref = weakref.ref(a)
    v = xbuf.View(a)
    base = sys.getrefcount(v)
    errors = []
    barrier = threading.Barrier(6)

    def work(k):
        try:
            barrier.wait()
            kept = []
            for i in range(300):
                t = np.from_dlpack(v if i % 2 else v[k::6])
                assert t[0] == (0 if i % 2 else k)
                kept.append(t)
                if len(kept) > 4:
                    kept.pop(0)
                if i % 50 == 0:
                    p, fn = deleter_of(v.__dlpack__(max_version=(1, 0)))
                    fn(p)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    gc.collect()
    assert sys.getrefcount(v) == base
    v.release()
    del v, a
    gc.collect()
    assert ref() is None


def run_python(code):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tensors_deleted_at_shutdown_are_leaked_without_a_crash():
    r = run_python(
        """
        import ctypes, threading, time, numpy as np, xbuf
        v = xbuf.View(np.arange(6.0), writable=True)
        keep = [np.from_dlpack(v), np.from_dlpack(v[::2]), v.__dlpack__(max_version=(1, 0)), v.__dlpack__()]
        class Cycle: pass
        c = Cycle(); c.self = c; c.t = np.from_dlpack(xbuf.View(np.ones(3)))
        def churn():
            w = xbuf.View(np.ones(5))
            while True:
                t = np.from_dlpack(w)
                time.sleep(0.001)
        threading.Thread(target=churn, daemon=True).start()
        time.sleep(0.05)
        print("leaked before exit", xbuf._xbuf._dlpack_leaked())
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "leaked before exit 0"
    assert "Fatal" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_tensors_deleted_after_the_atexit_hook_are_leaked():
    r = run_python(
        """
        import numpy as np, xbuf
        v = xbuf.View(np.arange(3.0))
        a = np.from_dlpack(v); b = np.from_dlpack(v)
        del a
        print(xbuf._xbuf._dlpack_leaked())
        xbuf._xbuf._shutdown()
        del b
        print(xbuf._xbuf._dlpack_leaked())
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["0", "1"]
