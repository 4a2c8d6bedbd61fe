"""A small ctypes binding of libxbuf for the Python tests.

The library is found through the XBUF_LIB environment variable (the path of libxbuf.so), which
CTest sets; every call that returns a status raises XbufError on failure, with the library's
message.
"""

import ctypes
import os
from ctypes import (POINTER, Structure, byref, c_char, c_char_p, c_int, c_size_t, c_ssize_t,
                    c_uint64, c_void_p)

lib = ctypes.CDLL(os.environ.get("XBUF_LIB", "libxbuf.so"))

XBUF_FULL_RO = 0x11C
XBUF_FULL = 0x11D
XBUF_NDARRAY_READONLY = 1
XBUF_NDARRAY_PIL = 2
OMIT = -(2 ** 63)  # XBUF_SLICE_OMIT (PTRDIFF_MIN) on 64-bit platforms


class BufferInfo(Structure):
    _fields_ = [
        ("structsize", c_size_t),
        ("buf", c_void_p),
        ("releaser", c_void_p),
        ("len", c_ssize_t),
        ("itemsize", c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", POINTER(c_ssize_t)),
        ("strides", POINTER(c_ssize_t)),
        ("suboffsets", POINTER(c_ssize_t)),
        ("internal", c_void_p),
        ("_private", c_size_t * 2),
        ("_inline_layout", c_ssize_t * 6),
        ("_inline_format", c_char * 16),
        ("device_type", ctypes.c_int32),
        ("device_id", ctypes.c_int32),
    ]


class Range(Structure):
    _fields_ = [("start", c_ssize_t), ("stop", c_ssize_t), ("step", c_ssize_t)]


class XbufError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


STATUS = {
    1: "INVALID_ARGUMENT", 2: "NULL_ARGUMENT", 3: "REQUEST", 4: "READONLY",
    5: "NOT_CONTIGUOUS", 6: "FORMAT", 7: "BUSY", 8: "OUT_OF_BOUNDS", 9: "OVERFLOW",
    10: "NO_MEMORY", 11: "STRUCT_TOO_NEW", 12: "STRUCT_TOO_OLD", 13: "RELEASED", 14: "IO",
    15: "UNSUPPORTED", 16: "PANIC", 17: "BUFFER_TOO_SMALL", 18: "BAD_EXPORTER",
}

lib.xbuf_last_error_message.restype = c_char_p
lib.xbuf_exports.restype = c_ssize_t
lib.xbuf_exports.argtypes = [c_void_p]


def check(rc):
    if rc != 0:
        raise XbufError(STATUS.get(rc, str(rc)), lib.xbuf_last_error_message().decode())


def _sig(name, *argtypes):
    f = getattr(lib, name)
    f.argtypes = list(argtypes)
    f.restype = c_int
    return f


_sig("xbuf_decref", c_void_p)
_sig("xbuf_get_buffer", c_void_p, POINTER(BufferInfo), c_int)
_sig("xbuf_release", POINTER(BufferInfo))
_sig("xbuf_is_contiguous", POINTER(BufferInfo), c_char)
_sig("xbuf_ndarray_new", c_void_p, c_size_t, c_char_p, c_int, POINTER(c_ssize_t),
     POINTER(c_ssize_t), c_ssize_t, c_int, POINTER(c_void_p))
_sig("xbuf_view_new", c_void_p, c_int, POINTER(c_void_p))
_sig("xbuf_view_release", c_void_p)
_sig("xbuf_view_slice", c_void_p, POINTER(Range), c_int, POINTER(c_void_p))
_sig("xbuf_view_index", c_void_p, POINTER(c_ssize_t), c_int, POINTER(c_void_p))
_sig("xbuf_view_transpose", c_void_p, POINTER(c_void_p))
_sig("xbuf_view_cast", c_void_p, c_char_p, c_int, POINTER(c_ssize_t), POINTER(c_void_p))
_sig("xbuf_view_tobytes", c_void_p, c_char, c_void_p, c_size_t, POINTER(c_size_t))
_sig("xbuf_view_hex", c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
_sig("xbuf_view_hash", c_void_p, POINTER(c_uint64))
if hasattr(lib, "xbuf_view_tolist"):
    _sig("xbuf_view_tolist", c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
if hasattr(lib, "xbuf_view_equal"):
    _sig("xbuf_view_equal", c_void_p, c_void_p, POINTER(c_int))


_sig("xbuf_format_parse", c_char_p, POINTER(c_void_p))
lib.xbuf_format_free.argtypes = [c_void_p]
lib.xbuf_format_free.restype = None
lib.xbuf_format_itemsize.argtypes = [c_void_p]
lib.xbuf_format_itemsize.restype = c_ssize_t
lib.xbuf_format_leaf_count.argtypes = [c_void_p]
lib.xbuf_format_leaf_count.restype = c_ssize_t
_sig("xbuf_format_to_json", c_void_p, c_void_p, c_char_p, c_size_t, POINTER(c_size_t))


class LeafInfo(Structure):
    _fields_ = [
        ("structsize", c_size_t),
        ("offset", c_ssize_t),
        ("count", c_ssize_t),
        ("size", c_ssize_t),
        ("kind", c_int),
        ("code", c_char),
        ("byteorder", c_char),
    ]


_sig("xbuf_format_leaf", c_void_p, c_size_t, POINTER(LeafInfo))


class Format:
    """An owned format handle: item size, leaf runs and the JSON text of an item."""

    def __init__(self, text):
        out = c_void_p()
        check(lib.xbuf_format_parse(text.encode() if isinstance(text, str) else text, byref(out)))
        self.ptr = out.value

    def close(self):
        if self.ptr:
            lib.xbuf_format_free(self.ptr)
            self.ptr = None

    def __del__(self):
        self.close()

    def itemsize(self):
        return lib.xbuf_format_itemsize(self.ptr)

    def leaves(self):
        """[(offset, count, size, code, byteorder)] in memory order."""
        out = []
        for k in range(lib.xbuf_format_leaf_count(self.ptr)):
            info = LeafInfo(structsize=ctypes.sizeof(LeafInfo))
            check(lib.xbuf_format_leaf(self.ptr, k, byref(info)))
            out.append((info.offset, info.count, info.size, info.code.decode(),
                        info.byteorder.decode()))
        return out

    def to_json(self, item):
        """The JSON text of one item (bytes of at least itemsize())."""
        buf = ctypes.create_string_buffer(bytes(item), max(len(item), 1))
        needed = c_size_t()
        check(lib.xbuf_format_to_json(self.ptr, buf, None, 0, byref(needed)))
        out = ctypes.create_string_buffer(needed.value)
        check(lib.xbuf_format_to_json(self.ptr, buf, out, needed.value, None))
        return out.value.decode()


def _ssize_array(values):
    values = list(values)
    return (c_ssize_t * max(len(values), 1))(*values)


class Object:
    """An owned reference to an xbuf object."""

    def __init__(self, ptr):
        self.ptr = ptr

    def close(self):
        if self.ptr:
            check(lib.xbuf_decref(self.ptr))
            self.ptr = None

    def __del__(self):
        self.close()

    def exports(self):
        return lib.xbuf_exports(self.ptr)


def ndarray(data, fmt, shape, strides=None, offset=0, flags=0):
    """An ndarray over a copy of `data` (bytes)."""
    out = c_void_p()
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    check(lib.xbuf_ndarray_new(buf, len(data), fmt.encode(), len(shape), _ssize_array(shape),
                               _ssize_array(strides) if strides is not None else None, offset,
                               flags, byref(out)))
    return Object(out.value)


class View(Object):
    """An xbuf_view, with the operations spelled as memoryview's."""

    @classmethod
    def of(cls, obj, flags=XBUF_FULL_RO):
        out = c_void_p()
        check(lib.xbuf_view_new(obj.ptr, flags, byref(out)))
        return cls(out.value)

    def _new(self, call, *args):
        out = c_void_p()
        check(call(self.ptr, *args, byref(out)))
        return View(out.value)

    def slice(self, *ranges):
        rs = (Range * max(len(ranges), 1))()
        for k, r in enumerate(ranges):
            s, e, st = (OMIT if v is None else v for v in (r.start, r.stop, r.step))
            rs[k] = Range(s, e, st)
        return self._new(lib.xbuf_view_slice, rs, len(ranges))

    def index(self, *indices):
        return self._new(lib.xbuf_view_index, _ssize_array(indices), len(indices))

    def transpose(self):
        return self._new(lib.xbuf_view_transpose)

    def cast(self, fmt, shape=None):
        if shape is None:
            return self._new(lib.xbuf_view_cast, fmt.encode(), 0, None)
        return self._new(lib.xbuf_view_cast, fmt.encode(), len(shape), _ssize_array(shape))

    def info(self):
        """(format, itemsize, ndim, shape, strides, readonly, suboffsets) through the protocol."""
        v = BufferInfo(structsize=ctypes.sizeof(BufferInfo))
        check(lib.xbuf_get_buffer(self.ptr, byref(v), XBUF_FULL_RO))
        try:
            n = v.ndim
            subs = [v.suboffsets[k] for k in range(n)] if v.suboffsets else None
            contiguity = {o: lib.xbuf_is_contiguous(byref(v), o.encode()) for o in "CFA"}
            return dict(format=v.format.decode(), itemsize=v.itemsize, ndim=n,
                        shape=tuple(v.shape[k] for k in range(n)),
                        strides=tuple(v.strides[k] for k in range(n)),
                        readonly=bool(v.readonly), suboffsets=subs, contiguity=contiguity)
        finally:
            check(lib.xbuf_release(byref(v)))

    def tobytes(self, order="C"):
        needed = c_size_t()
        check(lib.xbuf_view_tobytes(self.ptr, order.encode(), None, 0, byref(needed)))
        out = ctypes.create_string_buffer(max(needed.value, 1))
        check(lib.xbuf_view_tobytes(self.ptr, order.encode(), out, needed.value, None))
        return out.raw[:needed.value]

    def _text(self, call):
        needed = c_size_t()
        check(call(self.ptr, None, 0, byref(needed)))
        out = ctypes.create_string_buffer(needed.value)
        check(call(self.ptr, out, needed.value, None))
        return out.value.decode()

    def hex(self):
        return self._text(lib.xbuf_view_hex)

    def tolist_json(self):
        return self._text(lib.xbuf_view_tolist)

    def hash(self):
        h = c_uint64()
        check(lib.xbuf_view_hash(self.ptr, byref(h)))
        return h.value

    def equal(self, other):
        r = c_int()
        check(lib.xbuf_view_equal(self.ptr, other.ptr, byref(r)))
        return bool(r.value)

    def release(self):
        check(lib.xbuf_view_release(self.ptr))
