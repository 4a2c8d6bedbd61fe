"""The Arrow PyCapsule interface both ways: pyarrow takes Views zero-copy and Views take its
arrays zero-copy, with lifetimes checked (the memory stays until the last consumer is gone)
and every refusal raising."""

import gc
import weakref

import numpy as np
import pytest

import xbuf

pa = pytest.importorskip("pyarrow")


def test_pyarrow_takes_views():
    a = np.arange(10, dtype="<i8")
    arr = pa.array(xbuf.View(a))
    assert arr.type == pa.int64() and arr.to_pylist() == list(range(10))
    buf = arr.buffers()[1]
    assert buf.address == a.ctypes.data  # zero-copy
    t = pa.table({"x": xbuf.View(np.arange(3.0))})
    assert t.column("x").to_pylist() == [0.0, 1.0, 2.0]
    m = pa.array(xbuf.View(np.arange(6, dtype="<f4").reshape(2, 3)))
    assert m.type.extension_name == "arrow.fixed_shape_tensor"
    assert m.to_numpy_ndarray().tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(BufferError):
        pa.array(xbuf.View(a)[::2])  # not contiguous: no silent copy


def test_views_of_pyarrow_arrays():
    arr = pa.array([1.5, 2.5, 3.5], type=pa.float64())
    v = xbuf.from_arrow(arr)
    assert v.format in ("d", "<d") and v.tolist() == [1.5, 2.5, 3.5] and v.readonly
    assert np.asarray(v).ctypes.data == arr.buffers()[1].address
    sl = xbuf.from_arrow(arr.slice(1))
    assert sl.tolist() == [2.5, 3.5]
    nulls = pa.array([1, None, 3], type=pa.int32())
    with pytest.raises(ValueError):
        xbuf.from_arrow(nulls)
    assert xbuf.from_arrow(nulls, ignore_nulls=True)[0] == 1
    with pytest.raises(NotImplementedError):
        xbuf.from_arrow(pa.array(["a", "b"]))
    with pytest.raises(TypeError):
        xbuf.from_arrow(np.arange(3))


def test_arrow_round_trip_lifetime():
    a = np.arange(5, dtype="<i4")
    ref = weakref.ref(a)
    arr = pa.array(xbuf.View(a))
    v = xbuf.from_arrow(arr)
    del a, arr
    gc.collect()
    assert ref() is not None
    assert v.tolist() == [0, 1, 2, 3, 4]
    del v
    gc.collect()
    assert ref() is None




def test_exports_outlive_a_released_view():
    # The Arrow array and the DLPack tensor each hold an export of the memory's owner, not of
    # the View: the View may be released and dropped first, in either order of the consumers.
    for arrow_first in (True, False):
        a = np.arange(5, dtype="<i4")
        ref = weakref.ref(a)
        v = xbuf.View(a)
        arr = pa.array(v)
        n = np.from_dlpack(v[1:])
        v.release()
        with pytest.raises(ValueError):
            pa.array(v)
        del a, v
        gc.collect()
        assert arr.to_pylist() == [0, 1, 2, 3, 4] and n.tolist() == [1, 2, 3, 4]
        if arrow_first:
            del arr
        else:
            del n
        gc.collect()
        assert ref() is not None
        if arrow_first:
            assert n.tolist() == [1, 2, 3, 4]
            del n
        else:
            assert arr.to_pylist() == [0, 1, 2, 3, 4]
            del arr
        gc.collect()
        assert ref() is None


def test_a_released_view_refuses_arrow_while_its_slices_live():
    # The slice shares the View's library object, which outlives the release: the View itself
    # refuses, as every other operation on a released View does.
    a = np.arange(5, dtype="<i4")
    v = xbuf.View(a)
    s = v[1:]
    v.release()
    with pytest.raises(ValueError, match="released"):
        v.__arrow_c_array__()
    with pytest.raises(ValueError, match="released"):
        pa.array(v)
    assert pa.array(s).to_pylist() == [1, 2, 3, 4]
