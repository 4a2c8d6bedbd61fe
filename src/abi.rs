//! The C-visible data types: request flags, `xbuf_bufferinfo`, `xbuf_type` and the proc
//! typedefs. Their sizes and field offsets are part of the ABI and are asserted in tests on
//! both the Rust and the C side.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::mem::{offset_of, size_of};

/// Request flag: nothing beyond a pointer to contiguous bytes (`format` NULL, `shape` NULL,
/// `strides` NULL). Same value as PEP 3118's `PyBUF_SIMPLE`.
pub const XBUF_SIMPLE: c_int = 0;
/// Request flag: the view must be writable.
pub const XBUF_WRITABLE: c_int = 0x0001;
/// Request flag: fill `format` (without it `format` is NULL, meaning `"B"`).
pub const XBUF_FORMAT: c_int = 0x0004;
/// Request flag: fill `shape` (without it `shape` is NULL and `ndim` is 1).
pub const XBUF_ND: c_int = 0x0008;
/// Request flag: fill `strides` (without it the memory must be C-contiguous).
pub const XBUF_STRIDES: c_int = 0x0010 | XBUF_ND;
/// Request flag: the memory must be C-contiguous (row-major).
pub const XBUF_C_CONTIGUOUS: c_int = 0x0020 | XBUF_STRIDES;
/// Request flag: the memory must be Fortran-contiguous (column-major).
pub const XBUF_F_CONTIGUOUS: c_int = 0x0040 | XBUF_STRIDES;
/// Request flag: the memory must be C- or Fortran-contiguous.
pub const XBUF_ANY_CONTIGUOUS: c_int = 0x0080 | XBUF_STRIDES;
/// Request flag: the consumer follows `suboffsets` (PIL-style indirect arrays).
pub const XBUF_INDIRECT: c_int = 0x0100 | XBUF_STRIDES;
/// Compound request: writable, C-contiguous with shape.
pub const XBUF_CONTIG: c_int = XBUF_ND | XBUF_WRITABLE;
/// Compound request: C-contiguous with shape.
pub const XBUF_CONTIG_RO: c_int = XBUF_ND;
/// Request flag: the consumer can handle memory on any device (GPU memory, for example),
/// reads `device_type`/`device_id` and never dereferences `buf` unless `device_type` is
/// `XBUF_DEVICE_CPU`. Without it, an exporter of memory on another device refuses the request
/// (`XBUF_ERR_REQUEST`), so a consumer that does not know about devices only ever receives
/// memory the CPU can read. A request with it from a struct whose `structsize` ends before
/// `device_type` is refused with `XBUF_ERR_STRUCT_TOO_OLD`. A bit no PEP 3118 flag uses.
pub const XBUF_DEVICE: c_int = 0x10000;
/// Compound request: writable, strided.
pub const XBUF_STRIDED: c_int = XBUF_STRIDES | XBUF_WRITABLE;
/// Compound request: strided.
pub const XBUF_STRIDED_RO: c_int = XBUF_STRIDES;
/// Compound request: writable, strided, with format.
pub const XBUF_RECORDS: c_int = XBUF_STRIDES | XBUF_WRITABLE | XBUF_FORMAT;
/// Compound request: strided, with format.
pub const XBUF_RECORDS_RO: c_int = XBUF_STRIDES | XBUF_FORMAT;
/// Compound request: writable, everything, suboffsets allowed.
pub const XBUF_FULL: c_int = XBUF_INDIRECT | XBUF_WRITABLE | XBUF_FORMAT;
/// Compound request: everything, suboffsets allowed.
pub const XBUF_FULL_RO: c_int = XBUF_INDIRECT | XBUF_FORMAT;

/// Every bit a request may carry.
/// cbindgen:ignore
pub(crate) const FLAG_BITS: c_int =
    0x01 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | XBUF_DEVICE;

/// `device_type` of memory the CPU reads and writes directly (DLPack's `kDLCPU`). A view whose
/// `device_type` is 0 (filled by code that predates the device fields) is CPU memory too.
pub const XBUF_DEVICE_CPU: i32 = 1;

/// The largest `ndim` a view may have.
pub const XBUF_MAX_NDIM: c_int = 64;

/// The largest `structsize` the library accepts for any struct; larger values are taken for an
/// uninitialised struct and rejected with `XBUF_ERR_INVALID_ARGUMENT`.
pub const XBUF_STRUCTSIZE_MAX: usize = 4096;

/// How many `ptrdiff_t` of layout (shape, strides and suboffsets together) a full-size
/// `xbuf_bufferinfo` holds without allocating.
pub const XBUF_INLINE_LAYOUT: usize = 6;
/// How many bytes of format text (including the terminating NUL) a full-size
/// `xbuf_bufferinfo` holds without allocating.
pub const XBUF_INLINE_FORMAT: usize = 16;

/// An exporter or consumer object: opaque, library-allocated and atomically reference-counted.
/// Made by `xbuf_object_new` or a built-in constructor; kept alive with `xbuf_incref` and
/// `xbuf_decref`.
pub struct xbuf_object {
    _opaque: [u8; 0],
}

/// A view of an object's memory: what `xbuf_get_buffer` fills and `xbuf_release` empties.
///
/// The consumer allocates it (on the stack is fine), sets `structsize` to
/// `sizeof(xbuf_bufferinfo)` and the rest to zero (`XBUF_BUFFERINFO_INIT` does both) and must
/// not move or copy it while it holds a view: `shape`, `strides` and `format` may point into
/// the struct itself (`xbuf_bufferinfo_move` relocates a view to another struct). A struct
/// holds one view at a time: `xbuf_get_buffer` tells a struct that still holds one by its
/// `releaser` and private words, and refuses it.
/// Fields from `structsize` to `_private` (`XBUF_BUFFERINFO_SIZE_MIN` bytes) are the first
/// published layout; a struct that ends there still works, the library then keeps every
/// layout on the heap. One `xbuf_bufferinfo` belongs to one thread at a time.
#[repr(C)]
#[derive(Debug)]
pub struct xbuf_bufferinfo {
    /// Size of the caller's struct in bytes; set by the caller, never changed by the library.
    pub structsize: usize,
    /// Start of the memory: the address of the item with all indices 0. With suboffsets, where
    /// the first dimension's pointers are read: the exporter's memory or, for some slices of
    /// `xbuf_view`s (see `xbuf_view_slice`), a row-pointer table in the view's own layout
    /// storage, valid until `xbuf_release` like `shape`.
    pub buf: *mut c_void,
    /// The object this view must be handed back to; owns one reference and one export that
    /// `xbuf_release` drops. NULL in an empty view.
    pub releaser: *mut xbuf_object,
    /// `product(shape) * itemsize`: the logical size in bytes.
    pub len: isize,
    /// Size of one item in bytes (true even when `format` was not requested).
    pub itemsize: isize,
    /// 1 if the memory must not be written, else 0.
    pub readonly: c_int,
    /// Number of dimensions, 0 to `XBUF_MAX_NDIM` (1 when `shape` was not requested).
    pub ndim: c_int,
    /// Item format in PEP 3118 struct syntax, NUL-terminated; NULL means `"B"`.
    pub format: *const c_char,
    /// `ndim` extents, or NULL when `XBUF_ND` was not requested.
    pub shape: *mut isize,
    /// `ndim` byte steps, or NULL when `XBUF_STRIDES` was not requested.
    pub strides: *mut isize,
    /// `ndim` suboffsets (negative = no indirection), or NULL when there are none.
    pub suboffsets: *mut isize,
    /// For the exporter: handed unchanged to the releaser's `releasebuffer`.
    pub internal: *mut c_void,
    /// Library-private: the view's heap layout block and an integrity check.
    pub _private: [usize; 2],
    /// Library-private: inline storage for small shape/strides/suboffsets.
    pub _inline_layout: [isize; XBUF_INLINE_LAYOUT],
    /// Library-private: inline storage for short format strings.
    pub _inline_format: [c_char; XBUF_INLINE_FORMAT],
    /// Where the memory lives, as a DLPack `DLDeviceType` code: `XBUF_DEVICE_CPU` (1) for
    /// ordinary memory (also 0, in a view filled before this field existed), e.g. 2 for CUDA
    /// device memory, whose `buf` the CPU must never dereference. A filled view holds another
    /// device only when the request had `XBUF_DEVICE`. Added after the first published layout:
    /// a struct whose `structsize` ends before it never receives memory of another device.
    pub device_type: i32,
    /// Which device of that type (DLPack's `device_id`; 0 for the CPU).
    pub device_id: i32,
}

/// Fills `view` for the request `flags` (see `xbuf_get_buffer`) or fails with a status (after
/// `xbuf_set_error` for a message). `obj` is the object asked; `view` is a zeroed, full-size
/// struct owned by the library for the duration of the call; the proc must not change its
/// `structsize` (`xbuf_fill_info`, `xbuf_get_buffer` and the functions that read a view
/// refuse a grown one with `XBUF_ERR_INVALID_ARGUMENT` instead of going past the struct, and
/// the answer is refused with `XBUF_ERR_BAD_EXPORTER`). A proc may also answer with
/// `return xbuf_get_buffer(other, view, flags);`, as CPython exporters often do: the
/// consumer's view then takes over that view's export, and it is released to `other`'s
/// releaser.
///
/// Memory on a device other than the CPU: the proc sets `device_type`/`device_id` (left 0, the
/// memory is the CPU's) and may answer whatever the request; the library gives such memory
/// only to requests with `XBUF_DEVICE` (others fail with `XBUF_ERR_REQUEST` and the answer goes
/// back to `releasebuffer`), never with suboffsets (`XBUF_ERR_BAD_EXPORTER`).
///
/// An answer the library refuses is handed back through a `releasebuffer` call, so that what
/// the proc set up (its `internal`) is undone: to the object asked when the answer cannot be
/// trusted at all (`ndim` out of range, a changed `structsize`, or a `releaser` that is not a
/// live object: objects live in memory the library owns, and such a pointer is recognised by
/// its address before anything is read through it), else to the releaser the answer names (also when that releaser
/// refuses the export because exclusive access to it is held). A view the proc filled with
/// `xbuf_get_buffer` is released instead.
pub type xbuf_getbufferproc = Option<
    unsafe extern "C" fn(obj: *mut xbuf_object, view: *mut xbuf_bufferinfo, flags: c_int) -> c_int,
>;

/// Called on the releaser when a view is released (with that view, whose `internal` is what
/// the exporter put there) and with `view == NULL` when a lock taken with `xbuf_lock` is
/// returned. A releaser also receives the views of the objects that delegate to it (a slice of
/// it, an `xbuf_view` of it, an exporter that fills `releaser` with it), which it never filled
/// itself: their `internal` is what the filling exporter set (NULL for the library's own), so
/// an exporter that counts its views should count them in `releasebuffer` by `internal`.
pub type xbuf_releasebufferproc =
    Option<unsafe extern "C" fn(obj: *mut xbuf_object, view: *mut xbuf_bufferinfo)>;

/// Extra work when a lock is taken on `obj` with `xbuf_lock` (for example forwarding the lock
/// to the object that really owns the memory). Returns a status; on failure the lock is not
/// taken.
pub type xbuf_lockbufferproc = Option<unsafe extern "C" fn(obj: *mut xbuf_object) -> c_int>;

/// Frees the exporter's state when its object's last reference and last export are gone.
pub type xbuf_deallocproc = Option<unsafe extern "C" fn(state: *mut c_void)>;

/// An exporter's vtable. Set `structsize = sizeof(xbuf_type)`; slots past the caller's
/// `structsize` count as NULL. `xbuf_object_new` copies the struct and the `name` string, so it
/// may live on the stack.
#[repr(C)]
pub struct xbuf_type {
    /// Size of the caller's struct in bytes.
    pub structsize: usize,
    /// A short name used in messages (may be NULL).
    pub name: *const c_char,
    /// Fills a view; NULL for objects that only take locks.
    pub getbuffer: xbuf_getbufferproc,
    /// Called when a view or lock is returned to this object; may be NULL.
    pub releasebuffer: xbuf_releasebufferproc,
    /// Called when a lock is taken; may be NULL.
    pub lockbuffer: xbuf_lockbufferproc,
    /// Frees the state after the last reference and export; may be NULL.
    pub dealloc: xbuf_deallocproc,
}

/// Size of the first published `xbuf_bufferinfo` (through `_private`). Smaller is rejected.
/// cbindgen:ignore
pub const XBUF_BUFFERINFO_SIZE_MIN: usize = offset_of!(xbuf_bufferinfo, _inline_layout);
/// Size of the `xbuf_bufferinfo` published before the device fields: the inline storage, no
/// `device_type`/`device_id`.
/// cbindgen:ignore
pub const XBUF_BUFFERINFO_SIZE_NODEVICE: usize = offset_of!(xbuf_bufferinfo, device_type);
/// Size of today's `xbuf_bufferinfo`.
/// cbindgen:ignore
pub const XBUF_BUFFERINFO_SIZE: usize = size_of::<xbuf_bufferinfo>();
/// Size of the first published `xbuf_type`. Smaller is rejected.
/// cbindgen:ignore
pub const XBUF_TYPE_SIZE_MIN: usize = size_of::<xbuf_type>();

/// Checks a caller's `structsize` for the struct called `name`: at least `min` (the first
/// published size) and at most [`XBUF_STRUCTSIZE_MAX`].
/// cbindgen:ignore
#[inline]
pub(crate) fn check_structsize(name: &str, size: usize, min: usize) -> crate::status::Result<()> {
    if size < min || size > XBUF_STRUCTSIZE_MAX {
        return structsize_error(name, size, min);
    }
    Ok(())
}

/// The error for a `structsize` that [`check_structsize`] refuses.
/// cbindgen:ignore
#[cold]
fn structsize_error(name: &str, size: usize, min: usize) -> crate::status::Result<()> {
    if size < min {
        crate::bail!(
            StructTooOld,
            "{name}.structsize is {size}; the smallest published size is {min} (set it to sizeof({name}))"
        );
    }
    if size > XBUF_STRUCTSIZE_MAX {
        crate::bail!(
            InvalidArgument,
            "{name}.structsize is {size}, more than any plausible struct ({XBUF_STRUCTSIZE_MAX}); is the struct initialised?"
        );
    }
    Ok(())
}

/// For a struct the library reads: a caller's struct larger than the `known` bytes this library
/// knows must have an all-zero unknown tail, else it uses fields this library cannot honour.
///
/// # Safety
/// `p` must point at `size` readable bytes.
/// cbindgen:ignore
pub(crate) unsafe fn check_unknown_tail(
    name: &str,
    p: *const u8,
    size: usize,
    known: usize,
) -> crate::status::Result<()> {
    if size > known {
        let tail = std::slice::from_raw_parts(p.add(known), size - known);
        if let Some(at) = tail.iter().position(|&b| b != 0) {
            crate::bail!(
                StructTooNew,
                "{name}.structsize is {size} and byte {} is not zero; this library knows only the first {known} bytes, so the struct uses fields it cannot honour",
                known + at
            );
        }
    }
    Ok(())
}

impl xbuf_bufferinfo {
    /// A zeroed, full-size struct.
    pub fn empty() -> xbuf_bufferinfo {
        xbuf_bufferinfo {
            structsize: XBUF_BUFFERINFO_SIZE,
            buf: std::ptr::null_mut(),
            releaser: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
            _private: [0; 2],
            _inline_layout: [0; XBUF_INLINE_LAYOUT],
            _inline_format: [0; XBUF_INLINE_FORMAT],
            device_type: 0,
            device_id: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep3118_flag_values() {
        assert_eq!(XBUF_SIMPLE, 0);
        assert_eq!(XBUF_WRITABLE, 0x1);
        assert_eq!(XBUF_FORMAT, 0x4);
        assert_eq!(XBUF_ND, 0x8);
        assert_eq!(XBUF_STRIDES, 0x18);
        assert_eq!(XBUF_C_CONTIGUOUS, 0x38);
        assert_eq!(XBUF_F_CONTIGUOUS, 0x58);
        assert_eq!(XBUF_ANY_CONTIGUOUS, 0x98);
        assert_eq!(XBUF_INDIRECT, 0x118);
        assert_eq!(XBUF_CONTIG, 0x9);
        assert_eq!(XBUF_CONTIG_RO, 0x8);
        assert_eq!(XBUF_STRIDED, 0x19);
        assert_eq!(XBUF_STRIDED_RO, 0x18);
        assert_eq!(XBUF_RECORDS, 0x1d);
        assert_eq!(XBUF_RECORDS_RO, 0x1c);
        assert_eq!(XBUF_FULL, 0x11d);
        assert_eq!(XBUF_FULL_RO, 0x11c);
        // No PEP 3118 flag (CPython's PyBUF_* use 0x1 to 0x200) shares XBUF_DEVICE's bit.
        assert_eq!(XBUF_DEVICE, 0x10000);
        assert_eq!(XBUF_DEVICE & 0x3ff, 0);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn published_layout_lp64() {
        assert_eq!(offset_of!(xbuf_bufferinfo, structsize), 0);
        assert_eq!(offset_of!(xbuf_bufferinfo, buf), 8);
        assert_eq!(offset_of!(xbuf_bufferinfo, releaser), 16);
        assert_eq!(offset_of!(xbuf_bufferinfo, len), 24);
        assert_eq!(offset_of!(xbuf_bufferinfo, itemsize), 32);
        assert_eq!(offset_of!(xbuf_bufferinfo, readonly), 40);
        assert_eq!(offset_of!(xbuf_bufferinfo, ndim), 44);
        assert_eq!(offset_of!(xbuf_bufferinfo, format), 48);
        assert_eq!(offset_of!(xbuf_bufferinfo, shape), 56);
        assert_eq!(offset_of!(xbuf_bufferinfo, strides), 64);
        assert_eq!(offset_of!(xbuf_bufferinfo, suboffsets), 72);
        assert_eq!(offset_of!(xbuf_bufferinfo, internal), 80);
        assert_eq!(offset_of!(xbuf_bufferinfo, _private), 88);
        assert_eq!(XBUF_BUFFERINFO_SIZE_MIN, 104);
        assert_eq!(offset_of!(xbuf_bufferinfo, _inline_layout), 104);
        assert_eq!(offset_of!(xbuf_bufferinfo, _inline_format), 152);
        assert_eq!(XBUF_BUFFERINFO_SIZE_NODEVICE, 168);
        assert_eq!(offset_of!(xbuf_bufferinfo, device_type), 168);
        assert_eq!(offset_of!(xbuf_bufferinfo, device_id), 172);
        assert_eq!(XBUF_BUFFERINFO_SIZE, 176);

        assert_eq!(offset_of!(xbuf_type, structsize), 0);
        assert_eq!(offset_of!(xbuf_type, name), 8);
        assert_eq!(offset_of!(xbuf_type, getbuffer), 16);
        assert_eq!(offset_of!(xbuf_type, releasebuffer), 24);
        assert_eq!(offset_of!(xbuf_type, lockbuffer), 32);
        assert_eq!(offset_of!(xbuf_type, dealloc), 40);
        assert_eq!(XBUF_TYPE_SIZE_MIN, 48);

        // The format structs' layouts are asserted beside them, in capi/format.rs.
        use crate::capi::view::xbuf_range;
        assert_eq!(offset_of!(xbuf_range, stop), 8);
        assert_eq!(offset_of!(xbuf_range, step), 16);
        assert_eq!(size_of::<xbuf_range>(), 24);
    }
}
