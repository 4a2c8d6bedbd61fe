//! Built-in exporters: `bytes`, `bytearray`, `wrap` (caller memory with a destructor),
//! `slice`, `mmap` and `ndarray` objects, their constructors and operations.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void, CStr};

use super::{array_arg, boundary, bytes_arg, nonnull, object, object_out};
use crate::capi::{xbuf_object, XBUF_MAX_NDIM};
use crate::exporters::bytearray::ByteArray;
use crate::exporters::bytes::Bytes;
use crate::exporters::mmap::{Mmap, Mode};
use crate::exporters::ndarray::{NdArray, Spec};
use crate::exporters::slice::Slice;
use crate::exporters::wrap::Wrap;
use crate::layout::Order;
use crate::status::Result;

/// Creates an immutable `bytes` object holding a copy of `len` bytes at `data`.
///
/// Its views are read-only: a `XBUF_WRITABLE` request fails with `XBUF_ERR_READONLY`.
///
/// Borrows: `data` (copied; may be NULL when `len` is 0).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_OVERFLOW`, `XBUF_ERR_NO_MEMORY`.
/// Thread safety: any thread; the object may be shared between threads.
///
/// # Safety
/// `data` is NULL or points at as many readable bytes as stated above; `out` is NULL or points at
/// writable storage for one pointer. Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_bytes_new(
    data: *const c_void,
    len: usize,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({ object_out(out, || { Bytes::new_object(bytes_arg(data, len, "data")?) }) })
}

/// Creates a mutable, resizable `bytearray` object of `len` bytes.
///
/// Creates a mutable, resizable `bytearray` object of `len` bytes: a copy of `data`, or zeros
/// when `data` is NULL.
///
/// Borrows: `data` (copied).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT` (out), `XBUF_ERR_OVERFLOW`, `XBUF_ERR_NO_MEMORY`.
/// Thread safety: any thread; the object may be shared between threads (writers through
/// concurrent writable views must coordinate among themselves).
///
/// # Safety
/// `data` is NULL or points at as many readable bytes as stated above; `out` is NULL or points at
/// writable storage for one pointer. Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_bytearray_new(
    data: *const c_void,
    len: usize,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let obj = if data.is_null() {
                if len > isize::MAX as usize {
                    crate::bail!(Overflow, "length {len} exceeds the largest object size");
                }
                ByteArray::zeroed_object(len)?
            } else {
                ByteArray::new_object(bytes_arg(data, len, "data")?)?
            };
            Ok(obj)
        })
    })
}

/// Resizes a `bytearray` to `len` bytes (new bytes are zero; the memory may move).
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a bytearray),
/// `XBUF_ERR_BUSY` while the object has views or locks (the message names the count),
/// `XBUF_ERR_OVERFLOW`, `XBUF_ERR_NO_MEMORY` (the contents are then unchanged).
/// Thread safety: any thread; atomic with respect to concurrent `xbuf_get_buffer` calls.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_bytearray_resize(obj: *mut xbuf_object, len: usize) -> c_int {
    boundary!({ ByteArray::resize(object(obj, "obj")?, len) })
}

/// Frees wrapped memory: called with the `data`, `len` and `ctx` given to `xbuf_wrap_new`.
pub type xbuf_wrap_destructor =
    Option<unsafe extern "C" fn(data: *mut c_void, len: usize, ctx: *mut c_void)>;

/// Creates a `wrap` object lending `len` bytes of caller memory at `data`.
///
/// Creates a `wrap` object lending `len` bytes of caller memory at `data` (read-only when
/// `readonly` is non-zero). `destructor(data, len, ctx)`, if not NULL, is called exactly once,
/// on whichever thread drops the last reference or the last view, when both are gone.
///
/// Takes: `data` on success (the caller must not free it; the destructor does). On failure the
/// destructor is not called and the caller keeps `data`.
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT` (out), `XBUF_ERR_INVALID_ARGUMENT` (NULL data with
/// len > 0), `XBUF_ERR_OVERFLOW`.
/// Thread safety: any thread; the destructor must be callable from any thread.
///
/// # Safety
/// `data` is NULL only with `len` 0, else points at `len` bytes (writable unless `readonly`) that
/// stay valid until `destructor` runs; `ctx` is never read by the library, only handed on; `out` is
/// NULL or points at writable storage for one pointer. Each must stay valid during the call (and
/// longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_wrap_new(
    data: *mut c_void,
    len: usize,
    readonly: c_int,
    destructor: xbuf_wrap_destructor,
    ctx: *mut c_void,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            Wrap::new_object(data.cast(), len, readonly != 0, destructor, ctx)
        })
    })
}

/// Creates a `slice`: a window of `length` bytes at `offset` into `base`'s memory.
///
/// Creates a `slice`: a window of `length` bytes at `offset` into `base`'s memory (the seed
/// discussion's ByteBufferSlice). For its whole lifetime the slice locks `base` and holds one
/// `XBUF_SIMPLE` view of it (an export at `base`'s releaser, which keeps the memory even for
/// exporters that hand out memory per view), so `base` refuses resizes meanwhile. Its views
/// name `base`'s releaser as their releaser, so the slice can be destroyed while they live. A
/// lock on the slice is forwarded to that releaser. The window is read-only when `base`'s
/// memory is.
///
/// Borrows: `base` (the slice takes its own reference).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_OUT_OF_BOUNDS`
/// (window outside the base), `XBUF_ERR_BUSY` (base being changed), or the base's status for an
/// `XBUF_SIMPLE` request (for example `XBUF_ERR_NOT_CONTIGUOUS`).
/// Thread safety: any thread; the slice may be shared between threads.
///
/// # Safety
/// `base` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `out` is NULL or points at writable
/// storage for one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_slice_new(
    base: *mut xbuf_object,
    offset: usize,
    length: usize,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            Slice::new_object(object(base, "base")?, offset, length)
        })
    })
}

/// Map the file read-only.
pub const XBUF_MMAP_READ: c_int = 0;

/// Map the file read-write and shared: writes go through to the file.
pub const XBUF_MMAP_WRITE: c_int = 1;

/// Map the file copy-on-write: the view is writable, the file never changes.
pub const XBUF_MMAP_COPY: c_int = 2;

/// Opens the file at `path` and maps it whole.
///
/// Opens the file at `path` and maps it whole: `XBUF_MMAP_READ` (read-only views),
/// `XBUF_MMAP_WRITE` (writable views; writes reach the file) or `XBUF_MMAP_COPY` (writable
/// views; the file never changes). An empty file gives empty views. Only a regular file (or a
/// symbolic link to one) is mapped: anything else (a FIFO, a device, a directory, a socket) is
/// refused before it is opened, so the call never blocks and never acts on a device; the
/// file is opened with `O_NONBLOCK | O_NOCTTY | O_CLOEXEC` and checked again once open.
///
/// Borrows: `path` (a NUL-terminated file name, used as raw bytes).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`, which unmaps and closes
/// once no view is left); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (mode), `XBUF_ERR_IO` (the
/// message names the path and the OS error, or says "not a regular file"),
/// `XBUF_ERR_OVERFLOW`.
/// Thread safety: any thread. Another process truncating the file while it is mapped makes
/// reads past the new end fault (SIGBUS); that is the nature of shared mappings.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or points at writable storage for one
/// pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_mmap_open(
    path: *const c_char,
    mode: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let path = CStr::from_ptr(nonnull(path, "path")?.as_ptr());
            Mmap::open(path.to_bytes(), Mode::from_c(mode)?)
        })
    })
}

/// Resizes a read-write mapping's file to `len` bytes and remaps it.
///
/// Resizes a read-write mapping's file to `len` bytes and remaps it (new bytes are zero; the
/// memory may move). A shrink maps the new size before it cuts the file, a grow extends the
/// file before it maps the new size, so a resize that fails (`XBUF_ERR_IO`: the new mapping
/// or the new length refused, for instance under an address-space limit) changes nothing: the
/// file keeps its length and every byte, and views taken afterwards see the old mapping
/// (only if a failed grow cannot give the file its length back do zeros stay added at its
/// end).
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not an mmap),
/// `XBUF_ERR_READONLY` (mapped read-only or copy-on-write), `XBUF_ERR_BUSY` while the object
/// has views or locks, `XBUF_ERR_RELEASED` (closed), `XBUF_ERR_IO` (nothing changed),
/// `XBUF_ERR_OVERFLOW`.
/// Thread safety: any thread; atomic with respect to concurrent `xbuf_get_buffer` calls.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_mmap_resize(obj: *mut xbuf_object, len: usize) -> c_int {
    boundary!({ Mmap::resize(object(obj, "obj")?, len) })
}

/// Writes a read-write mapping's changes to its file (`msync`); a no-op for the other modes.
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not an mmap),
/// `XBUF_ERR_RELEASED` (closed), `XBUF_ERR_BUSY` (a resize is running), `XBUF_ERR_IO`.
/// Thread safety: any thread.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_mmap_flush(obj: *mut xbuf_object) -> c_int {
    boundary!({ Mmap::flush(object(obj, "obj")?) })
}

/// Unmaps and closes the file now, before the last reference goes.
///
/// Unmaps and closes the file now, before the last reference goes; later requests fail with
/// `XBUF_ERR_RELEASED`. The caller still owns its reference.
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not an mmap),
/// `XBUF_ERR_BUSY` while the object has views or locks, `XBUF_ERR_RELEASED` (already closed).
/// Thread safety: any thread; atomic with respect to concurrent `xbuf_get_buffer` calls.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_mmap_close(obj: *mut xbuf_object) -> c_int {
    boundary!({ Mmap::close(object(obj, "obj")?) })
}

/// `xbuf_ndarray_new` flag: views of the array are read-only.
pub const XBUF_NDARRAY_READONLY: c_int = 1;

/// `xbuf_ndarray_new` flag: describe the array PIL-style (indirect rows).
///
/// `xbuf_ndarray_new` flag: describe the array PIL-style. The first dimension becomes a table
/// of row pointers stored in the array's memory (`strides[0] == sizeof(void *)`; each pointer is
/// the lowest address its row reaches and `suboffsets[0] >= 0` leads from there to the row's
/// first item; the other suboffsets are -1); consumers then need `XBUF_INDIRECT`.
pub const XBUF_NDARRAY_PIL: c_int = 2;

/// Creates an `ndarray` holding a copy of `len` bytes at `data`.
///
/// Creates an `ndarray`: a copy of `len` bytes at `data` read as an array of `format` items
/// in `shape` with `strides` (any sign; NULL means C-contiguous), whose item with all indices 0
/// lies at byte `offset` of the copy. Every byte an item reaches must lie inside the copy.
/// `flags`: `XBUF_NDARRAY_READONLY` (views are read-only), `XBUF_NDARRAY_PIL` (the first
/// dimension becomes a table of row pointers described by suboffsets, so consumers need
/// `XBUF_INDIRECT`). Its views answer every request by the protocol's rules (a
/// `XBUF_C_CONTIGUOUS` request on a Fortran array fails with `XBUF_ERR_NOT_CONTIGUOUS`, ...).
///
/// Borrows: `data` (copied; NULL allowed when `len` is 0), `format`, `shape`, `strides` (`ndim`
/// entries each; NULL allowed when `ndim` is 0).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (ndim outside 0..64, negative
/// extent, unknown flags, PIL with ndim 0), `XBUF_ERR_FORMAT`, `XBUF_ERR_OUT_OF_BOUNDS` (items
/// outside the data), `XBUF_ERR_OVERFLOW`, `XBUF_ERR_NO_MEMORY`.
/// Thread safety: any thread; the object may be shared between threads.
///
/// # Safety
/// `data` is NULL or points at as many readable bytes as stated above; `format` is NULL or a
/// NUL-terminated string; `shape` is NULL or points at as many readable `ptrdiff_t` as stated
/// above; `strides` is NULL or points at as many readable `ptrdiff_t` as stated above; `out` is
/// NULL or points at writable storage for one pointer. Each must stay valid during the call (and
/// longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_ndarray_new(
    data: *const c_void,
    len: usize,
    format: *const c_char,
    ndim: c_int,
    shape: *const isize,
    strides: *const isize,
    offset: isize,
    flags: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let format = CStr::from_ptr(nonnull(format, "format")?.as_ptr());
            let shape = ndim_array(shape, ndim, "shape")?;
            let strides = if strides.is_null() {
                None
            } else {
                Some(ndim_array(strides, ndim, "strides")?)
            };
            NdArray::new_object(&Spec {
                data: bytes_arg(data, len, "data")?,
                format: format.to_bytes(),
                shape,
                strides,
                offset,
                flags,
            })
        })
    })
}

/// Creates a zero-filled `ndarray` of `format` items in `shape`.
///
/// Creates a zero-filled `ndarray` of `format` items in `shape`, laid out contiguously in
/// `order` (`'C'` or `'F'`; `'A'` means `'C'`). `flags` as for `xbuf_ndarray_new`.
///
/// Borrows: `format`, `shape` (`ndim` entries; NULL allowed when `ndim` is 0).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: as `xbuf_ndarray_new`, and `XBUF_ERR_INVALID_ARGUMENT` for a bad order.
/// Thread safety: any thread.
///
/// # Safety
/// `format` is NULL or a NUL-terminated string; `shape` is NULL or points at as many readable
/// `ptrdiff_t` as stated above; `out` is NULL or points at writable storage for one pointer. Each
/// must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_ndarray_zeros(
    format: *const c_char,
    ndim: c_int,
    shape: *const isize,
    order: c_char,
    flags: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let format = CStr::from_ptr(nonnull(format, "format")?.as_ptr());
            let shape = ndim_array(shape, ndim, "shape")?;
            let order = Order::from_char(order as u8)?;
            NdArray::zeros(format.to_bytes(), shape, order, flags)
        })
    })
}

/// A layout array of `ndim` entries, with `ndim` checked against the protocol's limit.
unsafe fn ndim_array<'a>(p: *const isize, ndim: c_int, name: &str) -> Result<&'a [isize]> {
    if !(0..=XBUF_MAX_NDIM).contains(&ndim) {
        crate::bail!(
            InvalidArgument,
            "ndim is {ndim} (0 to {XBUF_MAX_NDIM} allowed)"
        );
    }
    array_arg(p, ndim, name)
}
