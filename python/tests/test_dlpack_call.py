"""View.__dlpack__ as consumers call it: every way of passing its keywords gives the capsule
the array API standard asks for, and every bad argument raises as it says (the common calls
are read without PyO3's argument parsing; the others are handed to the method it made)."""

import ctypes
import gc
import inspect
import weakref

import numpy as np
import pytest

import xbuf

api = ctypes.pythonapi
api.PyCapsule_GetName.restype = ctypes.c_char_p
api.PyCapsule_GetName.argtypes = [ctypes.py_object]
api.PyCapsule_GetPointer.restype = ctypes.c_void_p
api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def flags_of(cap):
    """The flags word of a versioned capsule's DLManagedTensorVersioned."""
    p = api.PyCapsule_GetPointer(cap, b"dltensor_versioned")
    return ctypes.c_uint64.from_address(p + 24).value


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({}, b"dltensor"),
        ({"max_version": None}, b"dltensor"),
        ({"max_version": (0, 8)}, b"dltensor"),
        ({"max_version": (1, 0)}, b"dltensor_versioned"),
        ({"max_version": (2, 3)}, b"dltensor_versioned"),
        ({"max_version": (1, 0), "dl_device": None, "copy": None}, b"dltensor_versioned"),
        ({"copy": None, "dl_device": None, "max_version": (1, 1)}, b"dltensor_versioned"),
        ({"stream": None, "copy": False, "max_version": (1, 0)}, b"dltensor_versioned"),
        ({"dl_device": (1, 0), "max_version": (1, 0)}, b"dltensor_versioned"),
        ({"dl_device": (1, 0)}, b"dltensor"),
        ({"copy": False}, b"dltensor"),
    ],
)
def test_keyword_calls_give_the_standard_capsule(kwargs, name):
    v = xbuf.View(np.arange(6, dtype="<i4"), writable=True)
    cap = v.__dlpack__(**kwargs)
    assert api.PyCapsule_GetName(cap) == name
    if name == b"dltensor_versioned":
        assert flags_of(cap) == 0
    # The same call made again (the names of the call site are remembered).
    assert api.PyCapsule_GetName(v.__dlpack__(**kwargs)) == name


def test_a_read_only_view_is_marked_or_refused():
    v = xbuf.View(bytes(8))
    assert flags_of(v.__dlpack__(max_version=(1, 0))) == 1
    for kwargs in [{}, {"max_version": None}, {"max_version": (0, 9)}, {"copy": None}]:
        with pytest.raises(BufferError, match="cannot mark it so"):
            v.__dlpack__(**kwargs)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((), {"copy": True}, BufferError, "copy=True"),
        ((), {"copy": True, "max_version": (1, 0)}, BufferError, "copy=True"),
        ((), {"stream": 1}, ValueError, "stream must be None"),
        ((), {"stream": 0, "max_version": (1, 0)}, ValueError, "stream must be None"),
        ((), {"dl_device": (2, 0)}, BufferError, r"device \(2, 0\)"),
        ((), {"dl_device": (1, 3), "max_version": (1, 0)}, BufferError, r"device \(1, 3\)"),
        ((), {"foo": 1}, TypeError, "unexpected keyword argument 'foo'"),
        ((), {"max_version": (1, 0), "foo": None}, TypeError, "unexpected keyword argument 'foo'"),
        ((), {"max_version": "x"}, TypeError, "tuple"),
        ((), {"max_version": (1,)}, ValueError, "length"),
        ((), {"max_version": (1, 0, 0)}, ValueError, "length"),
        ((), {"max_version": (-1, 0)}, OverflowError, "out of range"),
        ((), {"max_version": (1 << 40, 0)}, OverflowError, "out of range"),
        ((), {"max_version": (1.0, 0)}, TypeError, "integer"),
        ((), {"copy": 1}, TypeError, "bool"),
        ((None,), {}, TypeError, "positional"),
        (((1, 0),), {}, TypeError, "positional"),
    ],
)
def test_bad_arguments_raise(args, kwargs, exc, match):
    v = xbuf.View(np.arange(4.0), writable=True)
    with pytest.raises(exc, match=match):
        v.__dlpack__(*args, **kwargs)
    # Nothing is held by a refused call.
    assert np.from_dlpack(v).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_the_method_is_described_as_before():
    m = xbuf.View.__dlpack__
    assert m.__name__ == "__dlpack__"
    assert "max_version" in m.__doc__ and "BufferError" in m.__doc__
    params = inspect.signature(m).parameters
    assert list(params) == ["self", "stream", "max_version", "dl_device", "copy"]
    assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY for p in list(params)[1:])
    with pytest.raises(TypeError, match="doesn't apply to a 'bytes' object"):
        m(b"x")
    with pytest.raises(TypeError):
        m()


def test_released_view_raises():
    v = xbuf.View(np.arange(4.0), writable=True)
    v.release()
    for kwargs in [{}, {"max_version": (1, 0)}, {"max_version": (1, 0), "dl_device": (1, 0)}]:
        with pytest.raises(ValueError, match="released"):
            v.__dlpack__(**kwargs)


def test_many_call_sites_and_lifetimes():
    # Call sites with different tuples of keyword names, alternating, each through NumPy.
    a = np.arange(10.0)
    ref = weakref.ref(a)
    v = xbuf.View(a, writable=True)
    out = []
    for k in range(50):
        out.append(np.from_dlpack(v))
        out.append(np.from_dlpack(v, copy=False))
        out.append(np.from_dlpack(v, device="cpu"))
        cap = v.__dlpack__(max_version=(1, k))
        out.append(np.from_dlpack(_Capsule(cap)))
    assert all(np.shares_memory(o, a) for o in out)
    del a, v
    gc.collect()
    assert ref() is not None
    del out
    gc.collect()
    assert ref() is None


class _Capsule:
    """A producer handing out one capsule it was given."""

    def __init__(self, cap):
        self.cap = cap

    def __dlpack__(self, **kwargs):
        cap, self.cap = self.cap, None
        return cap

    def __dlpack_device__(self):
        return (1, 0)


def test_names_from_another_tuple_object():
    v = xbuf.View(np.arange(3.0), writable=True)
    # Keyword names that are not the interned literals (built at run time).
    names = ["".join(["max_", "version"]), "".join(["co", "py"])]
    kwargs = {names[0]: (1, 0), names[1]: None}
    assert api.PyCapsule_GetName(v.__dlpack__(**kwargs)) == b"dltensor_versioned"
    assert flags_of(v.__dlpack__(**kwargs)) == 0
