"""DLPack both ways: NumPy (and PyTorch, when installed) take Views zero-copy and Views take their
tensors zero-copy, with lifetimes checked (the memory stays until the last consumer is gone)
and every refusal raising."""

import gc
import weakref

import numpy as np
import pytest

import xbuf


DTYPES = ["i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16", "?"]


@pytest.mark.parametrize("dt", DTYPES)
def test_numpy_from_dlpack_of_a_view(dt):
    a = (np.arange(24) % 7).astype(dt).reshape(4, 6)[1:, ::2]
    v = xbuf.View(a)
    n = np.from_dlpack(v)
    assert n.dtype == a.dtype and n.shape == a.shape
    assert np.array_equal(n, a) and np.shares_memory(n, a)
    assert not n.flags.writeable  # a read-only View gives a read-only tensor
    w = np.from_dlpack(xbuf.View(a, writable=True))
    assert w.flags.writeable


def test_view_from_dlpack_of_numpy():
    a = np.arange(12, dtype="<f4").reshape(3, 4).T
    v = xbuf.from_dlpack(a)
    assert v.shape == (4, 3) and v.strides == a.strides and v.format in ("f", "<f")
    assert v.tolist() == a.tolist()
    assert np.shares_memory(np.asarray(v), a)
    w = xbuf.from_dlpack(a, writable=True)
    w[0, 0] = 42.0
    assert a[0, 0] == 42.0
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.raises(BufferError):
        xbuf.from_dlpack(ro, writable=True)


def test_dlpack_round_trip_keeps_the_source_alive():
    a = np.arange(8.0)
    ref = weakref.ref(a)
    v = xbuf.from_dlpack(a)
    n = np.from_dlpack(v[::2])
    del a, v
    gc.collect()
    assert ref() is not None
    assert n.tolist() == [0.0, 2.0, 4.0, 6.0]
    del n
    gc.collect()
    assert ref() is None


def test_dlpack_protocol_arguments():
    v = xbuf.View(np.arange(4, dtype="<i4"), writable=True)
    assert v.__dlpack_device__() == (1, 0)
    cap = v.__dlpack__(max_version=(1, 1))
    assert "dltensor_versioned" in repr(cap)
    legacy = v.__dlpack__()
    assert '"dltensor"' in repr(legacy)
    del cap, legacy  # unconsumed capsules delete their tensors
    assert np.from_dlpack(v).tolist() == [0, 1, 2, 3]
    with pytest.raises(BufferError):
        v.__dlpack__(copy=True)
    with pytest.raises(BufferError):
        v.__dlpack__(dl_device=(2, 0))
    with pytest.raises(ValueError):
        v.__dlpack__(stream=1)
    with pytest.raises(BufferError):
        xbuf.View(b"abcd").__dlpack__()  # legacy DLPack cannot mark read-only memory
    with pytest.raises(ValueError):
        xbuf.View(np.zeros(2, dtype=[("a", "<i4")])).__dlpack__(max_version=(1, 0))
    with pytest.raises(NotImplementedError):
        xbuf._xbuf._ndarray(bytes(8), "B", [2, 4], pil=True).__dlpack__(max_version=(1, 0))
    with pytest.raises(TypeError):
        xbuf.from_dlpack(object())


def test_torch_round_trip():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    t = torch.from_dlpack(xbuf.View(a, writable=True))
    assert t.tolist() == a.tolist()
    v = xbuf.from_dlpack(t)
    assert v.tolist() == a.tolist()
