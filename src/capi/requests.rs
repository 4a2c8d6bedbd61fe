//! Requests and `xbuf_bufferinfo`: the request flags, the view struct (whose sizes and field
//! offsets are part of the ABI, asserted in tests on both the Rust and the C side), getting,
//! releasing and moving a view, and reading one.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::mem::{offset_of, size_of};

use super::{boundary, nonnull, object, write_out, xbuf_object};
use crate::bufferinfo;
use crate::layout::{self, Order};
use crate::status::Result;

/// Request flag: a pointer to contiguous bytes and nothing more.
///
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

/// Request flag: the consumer can handle memory on any device.
///
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

/// `device_type` of memory the CPU reads and writes directly.
///
/// `device_type` of memory the CPU reads and writes directly (DLPack's `kDLCPU`). A view whose
/// `device_type` is 0 (filled by code that predates the device fields) is CPU memory too.
pub const XBUF_DEVICE_CPU: i32 = 1;

/// The largest `ndim` a view may have.
pub const XBUF_MAX_NDIM: c_int = 64;

/// The largest `structsize` the library accepts for any struct.
///
/// The largest `structsize` the library accepts for any struct; larger values are taken for an
/// uninitialised struct and rejected with `XBUF_ERR_INVALID_ARGUMENT`.
pub const XBUF_STRUCTSIZE_MAX: usize = 4096;

/// How many `ptrdiff_t` of layout an `xbuf_bufferinfo` holds without allocating.
///
/// How many `ptrdiff_t` of layout (shape, strides and suboffsets together) a full-size
/// `xbuf_bufferinfo` holds without allocating.
pub const XBUF_INLINE_LAYOUT: usize = 6;

/// How many bytes of format text an `xbuf_bufferinfo` holds without allocating.
///
/// How many bytes of format text (including the terminating NUL) a full-size
/// `xbuf_bufferinfo` holds without allocating.
pub const XBUF_INLINE_FORMAT: usize = 16;

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

/// Asks `obj` for a view of its memory that meets the request `flags`.
///
/// Asks `obj` for a view of its memory that meets the request `flags` (`XBUF_SIMPLE`,
/// `XBUF_FULL_RO`, ...; see the flag constants).
///
/// The library checks the exporter's answer (ndim, len against shape and itemsize, itemsize
/// against the format, the flags honoured, strides inside the address space) and copies
/// `shape`, `strides`, `suboffsets` and `format` into storage owned by the view, so they stay
/// valid even if the exporter goes away. On success the view's `releaser` holds one reference
/// and one export.
///
/// Borrows: `obj` (the caller must hold a reference), `view` (set `structsize` first; empty:
/// never filled, or released).
/// Returns: a filled `view`, owned by the caller until `xbuf_release(view)`; the struct must
/// not be moved or copied while it holds the view (`xbuf_bufferinfo_move` relocates it).
/// Device memory: `view->device_type`/`device_id` (when `structsize` reaches them) say where
/// the memory lives; only a request with `XBUF_DEVICE` receives memory of a device other than
/// the CPU, and such a request from a struct that ends before `device_type` is refused.
///
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_STRUCT_TOO_OLD` / `XBUF_ERR_INVALID_ARGUMENT`
/// (structsize; also `XBUF_DEVICE` asked with a struct that ends before `device_type`),
/// `XBUF_ERR_INVALID_ARGUMENT` (unknown or inconsistent flag bits; `view`
/// still holds a view, which is then left as it was, its export kept: release it first; a
/// `structsize` larger than the struct the library lent to the exporter calling),
/// `XBUF_ERR_READONLY`, `XBUF_ERR_NOT_CONTIGUOUS`, `XBUF_ERR_REQUEST` (also: device memory
/// without `XBUF_DEVICE`), `XBUF_ERR_FORMAT`,
/// `XBUF_ERR_BUSY` (exclusive change in progress, on `obj` or on the releaser the exporter
/// names), `XBUF_ERR_UNSUPPORTED` (no getbuffer), `XBUF_ERR_BAD_EXPORTER` (a broken answer,
/// or a `releaser` that is not a live object, such as a freed one: it is recognised without
/// being read, and the answer goes back to the exporter's `releasebuffer`),
/// `XBUF_ERR_NO_MEMORY`, or the exporter's own status. On failure the view is left empty and
/// owes no release; an answer the exporter gave is handed back to it as
/// `xbuf_getbufferproc` describes.
/// Thread safety: any thread, concurrently with others on the same object; one `view` belongs
/// to one thread at a time.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `view` is NULL or points at an
/// `xbuf_bufferinfo` whose first `structsize` bytes are readable and writable, used by no other
/// thread during the call. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_get_buffer(
    obj: *mut xbuf_object,
    view: *mut xbuf_bufferinfo,
    flags: c_int,
) -> c_int {
    boundary!({
        let view = nonnull(view, "view")?;
        let obj = object(obj, "obj")?;
        bufferinfo::get_buffer(obj, view.as_ptr(), flags)
    })
}

/// Hands a view back to its releaser and empties it.
///
/// Hands a view back: calls the releaser's `releasebuffer` (if any), frees the view's layout
/// storage, drops the export and the reference the view held, and empties the view. Releasing
/// an empty view (never filled, already released, or after a failed get) is a no-op, so a
/// double release is harmless.
///
/// The saved bytes of a view written back into the struct after its release are refused
/// (`XBUF_ERR_INVALID_ARGUMENT`, nothing released) whenever its releaser is still alive and
/// holds no export for a view (only locks, or none); the export count never wraps below
/// zero. Releasing such an image while the releaser is freed, or while it has other views,
/// cannot be told from a real view and is undefined, as calling `free` twice is.
///
/// Borrows: `view`, which must be the struct `xbuf_get_buffer` filled or the one
/// `xbuf_bufferinfo_move` moved it to (not a copy).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_STRUCT_TOO_OLD` / `XBUF_ERR_INVALID_ARGUMENT`
/// (structsize), `XBUF_ERR_INVALID_ARGUMENT` (the view was not filled by the library, or was
/// moved, copied or overwritten, or was released already; nothing is released then).
/// Thread safety: any thread; not concurrently with other uses of the same view.
///
/// # Safety
/// `view` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable and
/// writable, used by no other thread during the call. Each must stay valid during the call (and
/// longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_release(view: *mut xbuf_bufferinfo) -> c_int {
    boundary!({ bufferinfo::release(nonnull(view, "view")?.as_ptr()) })
}

/// Moves a filled view from the struct `src` to the struct `dst`.
///
/// Moves a filled view from the struct `src` to the struct `dst`, so that a view can change
/// address (a C++ or Rust value that holds one can be moved): the layout pointers that point
/// into `src` itself (at `len`, `itemsize` or its inline storage) are re-pointed at the same
/// places in `dst`, the inline storage is copied, the view is sealed for its new address, and
/// `src` is left empty (every field zero but `structsize`). Nothing is allocated and the
/// releaser's reference and export counts do not change: the view in `dst` holds what the
/// view in `src` held and is released with `xbuf_release(dst)`. An empty `src` (never filled,
/// released, or moved from) makes `dst` empty. `dst == src` is a no-op. An exporter's
/// `releasebuffer` later receives `dst`, so exporters must not identify views by their
/// address (use `internal`).
///
/// Borrows: `dst` (set `structsize`; its other fields may hold anything but a live view),
/// `src` (a view filled by `xbuf_get_buffer`, possibly moved since, or an empty view).
/// Returns: on success, `dst` owns the view; `src` owes no release.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`; `XBUF_ERR_STRUCT_TOO_OLD` / `XBUF_ERR_INVALID_ARGUMENT`
/// (a `structsize` out of range); `XBUF_ERR_INVALID_ARGUMENT` when `src` was not filled by
/// the library (or was copied or overwritten), when `dst` holds a live view (release it
/// first: it would leak), or when the two structs overlap; `XBUF_ERR_STRUCT_TOO_OLD` when
/// `src` keeps its layout in the inline storage and `dst` is shorter than
/// `sizeof(xbuf_bufferinfo)`; `XBUF_ERR_STRUCT_TOO_NEW` when `src` is larger than this
/// library knows and its unknown tail is not zero. On failure neither struct changes.
/// Thread safety: any thread; not concurrently with any other use of `dst` or `src`.
///
/// # Safety
/// `dst` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable and
/// writable, used by no other thread during the call; `src` is NULL or points at an
/// `xbuf_bufferinfo` whose first `structsize` bytes are readable and writable, used by no other
/// thread during the call. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_bufferinfo_move(
    dst: *mut xbuf_bufferinfo,
    src: *mut xbuf_bufferinfo,
) -> c_int {
    boundary!({
        let dst = nonnull(dst, "dst")?;
        let src = nonnull(src, "src")?;
        bufferinfo::move_view(dst.as_ptr(), src.as_ptr())
    })
}

/// Whether the memory `view` describes is contiguous in `order`.
///
/// Whether the memory `view` describes is contiguous in `order`: `'C'` (row-major), `'F'`
/// (column-major) or `'A'` (either), by CPython's rules (suboffsets never are; no items always
/// is; extent-1 dimensions may have any stride). A view without `strides` is C-contiguous.
///
/// Borrows: `view` (filled by `xbuf_get_buffer`, or by hand).
/// Returns: 1 or 0. A predicate: on bad input (NULL or empty view, bad order) it answers 0 and
/// records the reason for `xbuf_last_error_message`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable,
/// used by no other thread during the call. Each must stay valid during the call (and longer where
/// stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_is_contiguous(view: *const xbuf_bufferinfo, order: c_char) -> c_int {
    boundary!({
        let order = Order::from_char(order as u8)?;
        let v = bufferinfo::read_view(nonnull(view, "view")?.as_ptr())?;
        Ok(layout::is_contiguous(
            v.shape(),
            v.strides,
            v.has_suboffsets(),
            v.itemsize,
            order,
        ))
    })
}

/// The address of the item at `indices` in a view.
///
/// The address of the item at `indices` (`ndim` of them; negative ones count from the end),
/// following suboffsets as PEP 3118 defines them.
///
/// Borrows: `view`, `indices` (`view->ndim` entries; may be NULL when ndim is 0).
/// Returns: in `*out` a pointer into the view's memory, valid while the view is held; NULL on
/// failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_RELEASED` (empty view),
/// `XBUF_ERR_INVALID_ARGUMENT` (inconsistent view), `XBUF_ERR_OUT_OF_BOUNDS` (an index outside
/// its dimension), `XBUF_ERR_UNSUPPORTED` (suboffsets in memory on a device other than the
/// CPU: following them would read that memory; without suboffsets the address is computed).
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable,
/// used by no other thread during the call; `indices` is NULL or points at as many readable
/// `ptrdiff_t` as stated above; `out` is NULL or points at writable storage for one pointer. Each
/// must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_get_pointer(
    view: *const xbuf_bufferinfo,
    indices: *const isize,
    out: *mut *mut c_void,
) -> c_int {
    boundary!({
        let out = nonnull(out, "out")?.as_ptr();
        out.write(std::ptr::null_mut());
        let v = bufferinfo::read_view(nonnull(view, "view")?.as_ptr())?;
        let n = v.shape().len();
        let idx: &[isize] = if n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(nonnull(indices, "indices")?.as_ptr(), n)
        };
        let p = item_address(&v, idx)?;
        write_out(out, "out", p.cast())
    })
}

/// The address of the item at `idx` (one index per dimension) of the view `v`.
///
/// # Safety
/// With suboffsets, `v` must describe readable pointer storage (as its exporter promised).
unsafe fn item_address(v: &bufferinfo::ViewLayout, idx: &[isize]) -> Result<*mut u8> {
    if v.has_suboffsets() {
        v.check_cpu("following suboffsets")?;
    }
    let shape = v.shape();
    let mut tmp = [0isize; XBUF_MAX_NDIM as usize];
    let strides = match v.strides {
        Some(s) => s,
        None => {
            let n = shape.len();
            layout::contiguous_strides(shape, v.itemsize, Order::C, &mut tmp[..n])?;
            &tmp[..n]
        }
    };
    layout::pointer_at(v.buf, shape, strides, v.suboffsets, idx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capi::{xbuf_type, XBUF_TYPE_SIZE_MIN};
    use std::mem::{offset_of, size_of};

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
        use crate::capi::xbuf_range;
        assert_eq!(offset_of!(xbuf_range, stop), 8);
        assert_eq!(offset_of!(xbuf_range, step), 16);
        assert_eq!(size_of::<xbuf_range>(), 24);
    }
}
