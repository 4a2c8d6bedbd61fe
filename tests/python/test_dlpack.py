"""DLPack against a real peer: NumPy's np.from_dlpack on xbuf's tensors, and xbuf's imports of
NumPy's arr.__dlpack__(max_version=(1, 0)) (and of its legacy capsules), through ctypes.

Round trips must keep the bytes, shape, strides (NumPy counts bytes, DLPack items) and
read-only state, and the lifetimes: the producer's memory stays alive until the last consumer
is gone, and every deleter runs exactly once (counted: xbuf's through a wrapped buffer's
destructor and the export counts, NumPy's through the reference count of its array). Exits 77
(skipped) when NumPy is missing; the PyTorch part is skipped with a printed reason when PyTorch
is not installed. Run by CTest with XBUF_LIB pointing at the built libxbuf.so.
"""

import ctypes
import gc
import os
import sys
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_int, c_int32, c_int64,
                    c_size_t, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p)

sys.path.insert(0, os.path.dirname(__file__))
import xbuf_ctypes as xb  # noqa: E402

SKIP = 77
try:
    import numpy as np
except ImportError:
    print("skipped: NumPy is not installed")
    sys.exit(SKIP)

lib = xb.lib
XBUF_WRITABLE = 0x1
XBUF_DEVICE = 0x10000
XBUF_DLPACK_UNMARKED_READONLY = 0x20000
READ_ONLY = 1


# ---- DLPack's structs, from the specification ----------------------------------------------

class DLDevice(Structure):
    _fields_ = [("device_type", c_int32), ("device_id", c_int32)]


class DLDataType(Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLTensor(Structure):
    _fields_ = [("data", c_void_p), ("device", DLDevice), ("ndim", c_int32),
                ("dtype", DLDataType), ("shape", POINTER(c_int64)),
                ("strides", POINTER(c_int64)), ("byte_offset", c_uint64)]


class DLPackVersion(Structure):
    _fields_ = [("major", c_uint32), ("minor", c_uint32)]


class DLManagedTensorVersioned(Structure):
    pass


DELETER_V = CFUNCTYPE(None, POINTER(DLManagedTensorVersioned))
DLManagedTensorVersioned._fields_ = [("version", DLPackVersion), ("manager_ctx", c_void_p),
                                     ("deleter", DELETER_V), ("flags", c_uint64),
                                     ("dl_tensor", DLTensor)]


class DLManagedTensor(Structure):
    pass


DELETER = CFUNCTYPE(None, POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", c_void_p),
                            ("deleter", DELETER)]

assert ctypes.sizeof(DLTensor) == 48 and ctypes.sizeof(DLManagedTensorVersioned) == 80
assert ctypes.sizeof(DLManagedTensor) == 64

for name, args in [
    ("xbuf_dlpack_export", [c_void_p, c_int, POINTER(POINTER(DLManagedTensorVersioned))]),
    ("xbuf_dlpack_export_unversioned", [c_void_p, c_int, POINTER(POINTER(DLManagedTensor))]),
    ("xbuf_dlpack_import", [c_void_p, POINTER(c_void_p)]),
    ("xbuf_dlpack_import_unversioned", [c_void_p, POINTER(c_void_p)]),
    ("xbuf_wrap_new", [c_void_p, c_size_t, c_int, c_void_p, c_void_p, POINTER(c_void_p)]),
    ("xbuf_bytes_new", [c_void_p, c_size_t, POINTER(c_void_p)]),
]:
    f = getattr(lib, name)
    f.argtypes = args
    f.restype = c_int

# ---- capsules through the C API -------------------------------------------------------------

api = ctypes.pythonapi
CAPSULE_DESTRUCTOR = CFUNCTYPE(None, c_void_p)
api.PyCapsule_New.argtypes = [c_void_p, c_char_p, CAPSULE_DESTRUCTOR]
api.PyCapsule_New.restype = ctypes.py_object
api.PyCapsule_IsValid.argtypes = [c_void_p, c_char_p]
api.PyCapsule_IsValid.restype = c_int
api.PyCapsule_GetPointer.argtypes = [c_void_p, c_char_p]
api.PyCapsule_GetPointer.restype = c_void_p
api.PyCapsule_SetName.argtypes = [ctypes.py_object, c_char_p]
api.PyCapsule_SetName.restype = c_int
api.PyCapsule_GetName.argtypes = [ctypes.py_object]
api.PyCapsule_GetName.restype = c_char_p

# The names must outlive the capsules: module constants.
VERSIONED = b"dltensor_versioned"
USED_VERSIONED = b"used_dltensor_versioned"
LEGACY = b"dltensor"
USED_LEGACY = b"used_dltensor"


def _destroy_capsule(cap):
    """Deletes the tensor of a capsule nobody consumed (a consumer renames it)."""
    if api.PyCapsule_IsValid(cap, VERSIONED):
        t = ctypes.cast(api.PyCapsule_GetPointer(cap, VERSIONED), POINTER(DLManagedTensorVersioned))
        t.contents.deleter(t)
    elif api.PyCapsule_IsValid(cap, LEGACY):
        t = ctypes.cast(api.PyCapsule_GetPointer(cap, LEGACY), POINTER(DLManagedTensor))
        t.contents.deleter(t)


DESTROY = CAPSULE_DESTRUCTOR(_destroy_capsule)


class Producer:
    """An xbuf object as a DLPack producer for np.from_dlpack."""

    def __init__(self, obj, flags=0, legacy=False):
        self.obj, self.flags, self.legacy = obj, flags, legacy
        self.asked = None

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        self.asked = max_version
        if self.legacy or max_version is None or max_version[0] < 1:
            t = POINTER(DLManagedTensor)()
            xb.check(lib.xbuf_dlpack_export_unversioned(self.obj.ptr, self.flags, byref(t)))
            return api.PyCapsule_New(ctypes.cast(t, c_void_p), LEGACY, DESTROY)
        t = POINTER(DLManagedTensorVersioned)()
        xb.check(lib.xbuf_dlpack_export(self.obj.ptr, self.flags, byref(t)))
        return api.PyCapsule_New(ctypes.cast(t, c_void_p), VERSIONED, DESTROY)

    def __dlpack_device__(self):
        return (1, 0)


def import_capsule(cap):
    """xbuf's object of a NumPy capsule; the capsule is marked used on success only."""
    out = c_void_p()
    if api.PyCapsule_IsValid(ctypes.c_void_p(id(cap)), VERSIONED):
        ptr = api.PyCapsule_GetPointer(ctypes.c_void_p(id(cap)), VERSIONED)
        xb.check(lib.xbuf_dlpack_import(ptr, byref(out)))
        api.PyCapsule_SetName(cap, USED_VERSIONED)
    else:
        ptr = api.PyCapsule_GetPointer(ctypes.c_void_p(id(cap)), LEGACY)
        xb.check(lib.xbuf_dlpack_import_unversioned(ptr, byref(out)))
        api.PyCapsule_SetName(cap, USED_LEGACY)
    return xb.Object(out.value)


# ---- checks ---------------------------------------------------------------------------------

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}")


class Counter:
    def __init__(self):
        self.n = 0


WRAP_DESTRUCTOR = CFUNCTYPE(None, c_void_p, c_size_t, c_void_p)
_counters = {}


@WRAP_DESTRUCTOR
def _count_destructor(data, length, ctx):
    _counters[ctx].n += 1


def wrapped(data):
    """An xbuf wrap object over a ctypes copy of `data`, its buffer and its destructor count."""
    buf = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
    counter = Counter()
    key = id(counter)
    _counters[key] = counter
    out = c_void_p()
    xb.check(lib.xbuf_wrap_new(buf, len(data), 0, ctypes.cast(_count_destructor, c_void_p),
                               c_void_p(key), byref(out)))
    return xb.Object(out.value), buf, counter


def view_info(obj, flags=xb.XBUF_FULL_RO):
    v = xb.BufferInfo(structsize=ctypes.sizeof(xb.BufferInfo))
    xb.check(lib.xbuf_get_buffer(obj.ptr, byref(v), flags))
    try:
        n = v.ndim
        return dict(buf=v.buf or 0, format=v.format.decode(), itemsize=v.itemsize,
                    shape=tuple(v.shape[k] for k in range(n)),
                    strides=tuple(v.strides[k] for k in range(n)), readonly=bool(v.readonly),
                    device=(v.device_type, v.device_id))
    finally:
        xb.check(lib.xbuf_release(byref(v)))


def xbuf_error(call):
    try:
        call()
    except xb.XbufError as e:
        return e.status, e.message
    return None


# ---- xbuf -> NumPy --------------------------------------------------------------------------

def test_numpy_reads_xbuf_tensors():
    values = np.arange(6, dtype=np.float64) * 1.5
    wrap, buf, freed = wrapped(values.tobytes())
    view = xb.View.of(wrap).cast("d", [2, 3])
    producer = Producer(view)
    arr = np.from_dlpack(producer)
    check(producer.asked is not None and producer.asked[0] == 1, f"NumPy asked {producer.asked}")
    check(arr.shape == (2, 3) and arr.strides == (24, 8), f"{arr.shape} {arr.strides}")
    check(arr.dtype == np.float64, str(arr.dtype))
    check(arr.ctypes.data == ctypes.addressof(buf), "zero-copy address")
    check(arr.tolist() == values.reshape(2, 3).tolist(), str(arr))
    check(arr.flags.writeable, "writable memory gives a writable array")
    check(wrap.exports() == 2, f"exports {wrap.exports()} (the view's and the tensor's)")
    # Writes through NumPy reach the memory xbuf lent.
    arr[1, 2] = -7.0
    check(view.tolist_json() == "[[0.0, 1.5, 3.0], [4.5, 6.0, -7.0]]", view.tolist_json())
    # Every xbuf object goes; NumPy's array keeps the memory until it goes too.
    view.close()
    check(wrap.exports() == 1, f"exports {wrap.exports()}")
    wrap.close()
    check(freed.n == 0, "the memory outlives the xbuf objects while NumPy holds it")
    check(arr[1, 1] == 6.0, "still readable")
    del arr
    gc.collect()
    check(freed.n == 1, f"destructor ran {freed.n} times after NumPy released the tensor")


def test_numpy_layouts_and_dtypes():
    raw = bytes(range(48))
    for fmt, shape, dtype in [("b", [48], np.int8), ("B", [6, 8], np.uint8), ("h", [4, 6], np.int16),
                              ("H", [24], np.uint16), ("i", [3, 4], np.int32),
                              ("I", [12], np.uint32), ("q", [6], np.int64), ("Q", [2, 3], np.uint64),
                              ("l", [6], np.dtype("l")), ("e", [24], np.float16),
                              ("f", [12], np.float32), ("d", [6], np.float64),
                              ("Zf", [6], np.complex64), ("Zd", [3], np.complex128)]:
        obj = xb.ndarray(raw, fmt, shape)
        arr = np.from_dlpack(Producer(obj))
        check(arr.dtype == np.dtype(dtype), f"{fmt}: dtype {arr.dtype}")
        check(arr.tobytes() == raw, f"{fmt}: bytes")
        check(list(arr.shape) == shape, f"{fmt}: shape {arr.shape}")
        del arr
        check(obj.exports() == 0, f"{fmt}: exports {obj.exports()}")
    obj = xb.ndarray(bytes([0, 1, 0, 1]), "?", [4])
    check(np.from_dlpack(Producer(obj)).tolist() == [False, True, False, True], "bool")
    # Fortran order, reversed and zero-dimensional layouts.
    base = xb.ndarray(np.arange(12, dtype=np.int32).tobytes(), "i", [3, 4])
    v = xb.View.of(base)
    t = np.from_dlpack(Producer(v.transpose()))
    check(t.strides == (4, 16) and t.tolist() == np.arange(12).reshape(3, 4).T.tolist(), "transpose")
    r = np.from_dlpack(Producer(v.slice(slice(None, None, -1), slice(1, None, 2))))
    check(r.strides == (-16, 8), f"reversed strides {r.strides}")
    check(r.tolist() == np.arange(12).reshape(3, 4)[::-1, 1::2].tolist(), "reversed values")
    z = np.from_dlpack(Producer(v.index(2, 3)))
    check(z.shape == () and int(z) == 11, f"zero-dimensional {z!r}")
    del t, r, z
    v.close()
    check(base.exports() == 0, f"exports {base.exports()}")


def test_numpy_read_only_and_legacy():
    out = c_void_p()
    xb.check(lib.xbuf_bytes_new(b"abcdefgh", 8, byref(out)))
    obj = xb.Object(out.value)
    arr = np.from_dlpack(Producer(obj))
    check(not arr.flags.writeable, "read-only memory gives a read-only array")
    check(arr.tobytes() == b"abcdefgh", "bytes")
    err = xbuf_error(lambda: np.from_dlpack(Producer(obj, flags=XBUF_WRITABLE)))
    check(err is not None and err[0] == "READONLY", f"XBUF_WRITABLE on bytes: {err}")
    # Legacy capsules: refused for read-only memory unless the caller accepts the missing mark.
    err = xbuf_error(lambda: np.from_dlpack(Producer(obj, legacy=True)))
    check(err is not None and err[0] == "READONLY" and "UNMARKED" in err[1], f"legacy: {err}")
    arr2 = np.from_dlpack(Producer(obj, flags=XBUF_DLPACK_UNMARKED_READONLY, legacy=True))
    check(arr2.tobytes() == b"abcdefgh", "legacy bytes")
    check(obj.exports() == 2, f"exports {obj.exports()}")
    del arr, arr2
    gc.collect()
    check(obj.exports() == 0, f"exports {obj.exports()}")
    wrap, buf, freed = wrapped(b"12345678")
    arr = np.from_dlpack(Producer(wrap, legacy=True))
    # NumPy makes every legacy import read-only (the struct cannot say); the memory is xbuf's.
    check(arr.ctypes.data == ctypes.addressof(buf), "legacy zero-copy")
    check(not arr.flags.writeable, "NumPy's legacy imports are read-only")
    del arr
    wrap.close()
    check(freed.n == 1, f"legacy destructor ran {freed.n} times")


def test_unconsumed_capsules_delete_their_tensor():
    obj = xb.ndarray(bytes(16), "i", [4])
    cap = Producer(obj).__dlpack__(max_version=(1, 0))
    check(api.PyCapsule_GetName(cap) == VERSIONED, "capsule name")
    check(obj.exports() == 1, "the capsule's tensor holds an export")
    del cap
    gc.collect()
    check(obj.exports() == 0, f"an unconsumed capsule deletes its tensor: {obj.exports()}")
    cap = Producer(obj).__dlpack__()
    check(api.PyCapsule_GetName(cap) == LEGACY, "legacy capsule name")
    del cap
    check(obj.exports() == 0, f"legacy: {obj.exports()}")


# ---- NumPy -> xbuf --------------------------------------------------------------------------

def test_xbuf_reads_numpy_tensors():
    base = np.empty((4, 6), dtype=np.int32)  # owns its memory (a reshape would not)
    base[...] = np.arange(24).reshape(4, 6)
    arr = base[1:, ::2]
    cap = arr.__dlpack__(max_version=(1, 0))
    check(api.PyCapsule_GetName(cap) == VERSIONED, "NumPy gives a versioned capsule")
    obj = import_capsule(cap)
    check(api.PyCapsule_GetName(cap) == USED_VERSIONED, "the capsule is marked used")
    info = view_info(obj)
    check(info["format"] == "i" and info["itemsize"] == 4, str(info))
    check(info["shape"] == arr.shape and info["strides"] == arr.strides,
          f"{info['shape']} {info['strides']} vs {arr.shape} {arr.strides}")
    check(info["buf"] == arr.ctypes.data, "zero-copy address")
    check(not info["readonly"], "writable")
    check(info["device"] == (1, 0), f"device {info['device']}")
    v = xb.View.of(obj)
    check(v.tobytes() == arr.tobytes(), "bytes")
    check(v.tolist_json() == str(arr.tolist()), v.tolist_json())
    # Lifetime: the producer's memory lives until the last xbuf view is gone.
    alive = weakref.ref(base)
    del base, arr, cap
    gc.collect()
    check(alive() is not None, "NumPy's array lives while xbuf holds its tensor")
    obj.close()
    gc.collect()
    check(alive() is not None, "... and while a view of the object lives")
    check(v.tolist_json().startswith("[[6, 8, 10]"), "still readable")
    v.close()
    gc.collect()
    check(alive() is None, "the deleter ran when the last view went")


def test_numpy_deleter_runs_exactly_once():
    arr = np.arange(10, dtype=np.float32)
    before = sys.getrefcount(arr)
    cap = arr.__dlpack__(max_version=(1, 0))
    check(sys.getrefcount(arr) == before + 1, "the tensor holds the array")
    obj = import_capsule(cap)
    del cap
    gc.collect()
    check(sys.getrefcount(arr) == before + 1, "a used capsule leaves the tensor to xbuf")
    v = xb.View.of(obj)
    obj.close()
    check(sys.getrefcount(arr) == before + 1, "the view holds it")
    v.close()
    check(sys.getrefcount(arr) == before, f"deleter ran once: {sys.getrefcount(arr)} vs {before}")


def test_xbuf_imports_read_only_legacy_and_dtypes():
    arr = np.arange(6, dtype=np.int16)
    arr.flags.writeable = False
    obj = import_capsule(arr.__dlpack__(max_version=(1, 0)))
    check(view_info(obj)["readonly"], "READ_ONLY gives a read-only object")
    err = xbuf_error(lambda: view_info(obj, xb.XBUF_FULL))
    check(err is not None and err[0] == "READONLY", f"XBUF_WRITABLE: {err}")
    obj.close()

    arr = np.arange(6, dtype=np.int16)
    cap = arr.__dlpack__()
    check(api.PyCapsule_GetName(cap) == LEGACY, "no max_version: a legacy capsule")
    obj = import_capsule(cap)
    check(view_info(obj)["readonly"], "legacy imports are read-only")
    check(xb.View.of(obj).tobytes() == arr.tobytes(), "legacy bytes")
    obj.close()

    for dtype, fmt in [(np.int8, "b"), (np.uint8, "B"), (np.int16, "h"), (np.uint16, "H"),
                       (np.int32, "i"), (np.uint32, "I"), (np.int64, "q"), (np.uint64, "Q"),
                       (np.float16, "e"), (np.float32, "f"), (np.float64, "d"),
                       (np.complex64, "Zf"), (np.complex128, "Zd"), (np.bool_, "?")]:
        a = (np.arange(12) % 3).astype(dtype).reshape(3, 4)[:, 1:]
        obj = import_capsule(a.__dlpack__(max_version=(1, 0)))
        info = view_info(obj)
        check(info["format"] == fmt, f"{dtype}: format {info['format']}")
        check(info["strides"] == a.strides, f"{dtype}: strides")
        check(xb.View.of(obj).tobytes() == a.tobytes(), f"{dtype}: bytes")
        obj.close()


def test_refused_imports_leave_the_capsule_to_numpy():
    # NumPy exports nothing xbuf refuses (it refuses long double itself), so its tensor is
    # given a field xbuf refuses for the attempt, and restored before NumPy sees it again.
    arr = np.zeros(3, dtype=np.float32)
    before = sys.getrefcount(arr)
    for field, bad, status in [("lanes", 2, "UNSUPPORTED"), ("major", 2, "UNSUPPORTED"),
                               ("ndim", -1, "INVALID_ARGUMENT"), ("device", 4, "UNSUPPORTED")]:
        cap = arr.__dlpack__(max_version=(1, 0))
        t = ctypes.cast(api.PyCapsule_GetPointer(ctypes.c_void_p(id(cap)), VERSIONED),
                        POINTER(DLManagedTensorVersioned)).contents
        where, name = {"lanes": (t.dl_tensor.dtype, "lanes"), "major": (t.version, "major"),
                       "ndim": (t.dl_tensor, "ndim"),
                       "device": (t.dl_tensor.device, "device_type")}[field]
        saved = getattr(where, name)
        setattr(where, name, bad)
        err = xbuf_error(lambda: import_capsule(cap))
        setattr(where, name, saved)
        check(err is not None and err[0] == status, f"{field} = {bad}: {err}")
        check(api.PyCapsule_GetName(cap) == VERSIONED, f"{field}: the capsule is still unused")
        check(sys.getrefcount(arr) == before + 1, f"{field}: the deleter did not run")
        del cap, t, where
        gc.collect()
        check(sys.getrefcount(arr) == before, f"{field}: NumPy's capsule deleted its tensor once")


def test_round_trip_numpy_xbuf_numpy():
    src = np.arange(20, dtype=np.float64).reshape(4, 5)[::2, ::-1]
    alive = weakref.ref(src.base)
    obj = import_capsule(src.__dlpack__(max_version=(1, 0)))
    back = np.from_dlpack(Producer(obj))
    check(back.ctypes.data == src.ctypes.data, "zero-copy both ways")
    check(back.strides == src.strides and back.tolist() == src.tolist(), f"{back.strides}")
    check(back.flags.writeable, "writable both ways")
    del src
    obj.close()
    gc.collect()
    check(alive() is not None, "NumPy's result keeps the first array alive through xbuf")
    del back
    gc.collect()
    check(alive() is None, "everything handed back")


def test_pytorch():
    try:
        import torch  # noqa: F401
    except ImportError:
        print("skipped the PyTorch part: PyTorch is not installed")
        return
    t = torch.arange(12, dtype=torch.int32).reshape(3, 4).t()
    obj = import_capsule(t.__dlpack__())
    info = view_info(obj)
    check(info["shape"] == (4, 3) and info["strides"] == (4, 16), str(info))
    back = torch.from_dlpack(Producer(obj))
    check(back.tolist() == t.tolist(), "torch round trip")


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for t in tests:
        before = failures
        t()
        print(("ok   " if failures == before else "FAIL ") + t.__name__)
    gc.collect()
    print(f"checks: {checks}, failures: {failures} (NumPy {np.__version__})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
