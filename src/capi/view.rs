//! Views: `xbuf_view` objects (the memoryview of C), made from any object and sliced, indexed,
//! permuted, cast, compared, hashed and rendered.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::{
    array_arg, boundary, nonnull, object, object_out, output, write_measured_text, write_out,
    write_text_with, xbuf_object,
};
use crate::bail;
use crate::layout::Order;
use crate::view::{self, SliceSpec};

/// The value that stands for an omitted `start`, `stop` or `step` in a slice (C:
/// `XBUF_SLICE_OMIT`, `PTRDIFF_MIN`).
/// cbindgen:ignore
pub const XBUF_SLICE_OMIT: isize = isize::MIN;

/// One dimension's range for `xbuf_view_slice`, with Python's semantics.
///
/// One dimension's range for `xbuf_view_slice`, with Python's semantics: negative `start` and
/// `stop` count from the end, out-of-range bounds are clamped, `step` may be negative but not
/// zero. `XBUF_SLICE_OMIT` in any field means "omitted" (`a[::]`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct xbuf_range {
    /// First index.
    pub start: isize,
    /// Index to stop before.
    pub stop: isize,
    /// Step between indices.
    pub step: isize,
}

/// Makes a view object (memoryview's counterpart) of `obj`.
///
/// Makes a view (an `xbuf_object` of type `"view"`) of `obj` from a request `flags`
/// (`XBUF_FULL_RO` gives every layout; `XBUF_FULL` also demands writable memory). The view holds
/// one export of `obj` until `xbuf_view_release` or until its last reference goes. The view is
/// itself an exporter: views taken of it (and views derived from it by slicing, indexing,
/// casting or permuting) name `obj`'s releaser as theirs, so they stay valid after the view is
/// gone, and that releaser's `releasebuffer` is called for each of them.
///
/// With `XBUF_DEVICE` in `flags` the view may describe memory on another device (see
/// `XBUF_DEVICE`); slicing, indexing, permuting, transposing and casting keep its device, and
/// the operations that read or write items refuse it with `XBUF_ERR_UNSUPPORTED`.
///
/// Borrows: `obj`. Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on
/// failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, or any status of
/// `xbuf_get_buffer(obj, ..., flags)`.
/// Thread safety: any thread; a view may be shared between threads.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `out` is NULL or points at writable
/// storage for one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_new(
    obj: *mut xbuf_object,
    flags: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({ object_out(out, || { view::new(object(obj, "obj")?, flags) }) })
}

/// Hands the view's export back to its base now.
///
/// Hands the view's export back to its base now, as memoryview's `release()` does. Refused
/// while the view's own exports live (locks on it, operations running on other threads). A view
/// being derived from it on another thread (slice, index, permute, cast) does not refuse it:
/// that call either completes first, its new view holding an export of its own, or fails with
/// `XBUF_ERR_RELEASED`. After it, every operation on the view fails with `XBUF_ERR_RELEASED`;
/// releasing again is a no-op.
/// Views taken earlier with `xbuf_get_buffer(view, ...)` and views derived from it stay valid:
/// each holds its own export of the memory's owner. The caller still owns its reference.
///
/// Borrows: `view`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view),
/// `XBUF_ERR_BUSY` (the message names the export count).
/// Thread safety: any thread; atomic with respect to concurrent operations on the view.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_release(view: *mut xbuf_object) -> c_int {
    boundary!({ view::release(object(view, "view")?) })
}

/// A new view of a rectangular part of `view`.
///
/// A new view of a rectangular part of `view`: `slices[k]` applies to dimension `k` for
/// `k < nslices`; later dimensions are kept whole. Works in every dimension and with
/// suboffsets.
///
/// A slice without items (some extent 0) addresses no memory: its `buf` stays where the
/// sliced view's was (memoryview moves it to where the first item would be).
///
/// With suboffsets, slicing a dimension that lies behind an indirect dimension `k` moves
/// `suboffsets[k]` (the step from each row pointer to its row's first item). When the
/// exporter's row pointers are not the lowest address of their rows (say, each points at its
/// row's first item and the row runs backwards), that suboffset would have to become negative,
/// which PEP 3118 reads as "no indirection" (memoryview reads the wrong items there). The
/// result then gets a row-pointer table of its own, and is an ordinary PIL layout again: its
/// `buf` is that table, holding one pointer per index `(i0, ..., ik)` of the result's
/// dimensions 0 to `k` (in C order, each the lowest address its row reaches, read from the
/// view's pointers when the slice is made); dimensions 0 to `k - 1` step over the table with
/// suboffset -1, dimension `k` steps over it by `sizeof(void *)` with a suboffset >= 0, and
/// later dimensions are as usual.
/// Every view taken of the result (`xbuf_get_buffer`, or views derived from it) gets its own
/// copy of the table in its layout storage, so it stays valid after the result is gone, as any
/// view of a view does; the copy is freed by `xbuf_release`. The table is a snapshot: the
/// exporter must not change its row pointers while it is exported (no exporter may move
/// exported memory).
///
/// Borrows: `view`, `slices` (`nslices` entries; NULL when `nslices` is 0).
/// Returns: in `*out` an owned reference to the new view; NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view, more slices than
/// dimensions, a zero step), `XBUF_ERR_OVERFLOW` (a start or stride beyond the address space),
/// `XBUF_ERR_NO_MEMORY` (a row-pointer table), `XBUF_ERR_RELEASED`.
/// Thread safety: any thread; the result is immutable and may be shared between threads.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `slices` is NULL or points at as many
/// readable `xbuf_range`s as stated above; `out` is NULL or points at writable storage for one
/// pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_slice(
    view: *mut xbuf_object,
    slices: *const xbuf_range,
    nslices: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            // `SliceSpec` has `xbuf_range`'s layout (checked where it is defined).
            let specs: &[SliceSpec] = array_arg(slices.cast(), nslices, "slices")?;
            view::slice(object(view, "view")?, specs)
        })
    })
}

/// A new view of the item or sub-array at `indices`.
///
/// A new view of the item or sub-array at `indices` (for the first `n` dimensions; negative
/// indices count from the end): its `ndim` is `view`'s minus `n`, so indexing every dimension
/// gives a zero-dimensional view of one item.
///
/// Borrows: `view`, `indices` (`n` entries; NULL when `n` is 0).
/// Returns: in `*out` an owned reference to the new view; NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view, more indices than
/// dimensions), `XBUF_ERR_OUT_OF_BOUNDS`, `XBUF_ERR_RELEASED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `indices` is NULL or points at as many
/// readable `ptrdiff_t` as stated above; `out` is NULL or points at writable storage for one
/// pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_index(
    view: *mut xbuf_object,
    indices: *const isize,
    n: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let idx = array_arg(indices, n, "indices")?;
            view::index(object(view, "view")?, idx)
        })
    })
}

/// The address of the item at `indices` in a view object.
///
/// The address of the item at `indices` (one per dimension; negative ones count from the end),
/// following suboffsets.
///
/// Borrows: `view`, `indices` (`ndim` entries; NULL for a zero-dimensional view).
/// Returns: in `*out` a pointer into the view's memory, valid while the view is neither
/// released nor freed; NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view, wrong count),
/// `XBUF_ERR_OUT_OF_BOUNDS`, `XBUF_ERR_RELEASED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `indices` is NULL or points at as many
/// readable `ptrdiff_t` as stated above; `out` is NULL or points at writable storage for one
/// pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_item_pointer(
    view: *mut xbuf_object,
    indices: *const isize,
    n: c_int,
    out: *mut *mut c_void,
) -> c_int {
    boundary!({
        let out = nonnull(out, "out")?.as_ptr();
        out.write(std::ptr::null_mut());
        let idx = array_arg(indices, n, "indices")?;
        let p = view::item_pointer(object(view, "view")?, idx)?;
        write_out(out, "out", p.cast())
    })
}

/// A new view with the dimensions reversed (the transpose of a matrix).
///
/// Borrows: `view`. Returns: in `*out` an owned reference to the new view; NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view),
/// `XBUF_ERR_UNSUPPORTED` (suboffsets: their pointer tables fix the dimension order),
/// `XBUF_ERR_RELEASED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `out` is NULL or points at writable
/// storage for one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_transpose(
    view: *mut xbuf_object,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({ object_out(out, || { view::permute(object(view, "view")?, None) }) })
}

/// A new view with the dimensions reordered.
///
/// A new view with the dimensions reordered: dimension `k` of the result is dimension
/// `axes[k]` of `view`.
///
/// Borrows: `view`, `axes` (`n` entries, a permutation of `0 .. ndim`; NULL when `n` is 0).
/// Returns: in `*out` an owned reference to the new view; NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view, not a
/// permutation), `XBUF_ERR_UNSUPPORTED` (suboffsets), `XBUF_ERR_RELEASED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `axes` is NULL or points at as many
/// readable `int` as stated above; `out` is NULL or points at writable storage for one pointer.
/// Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_permute(
    view: *mut xbuf_object,
    axes: *const c_int,
    n: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let mut perm = Vec::new();
            for &a in array_arg(axes, n, "axes")? {
                if a < 0 {
                    bail!(InvalidArgument, "axis {a} is negative");
                }
                perm.push(a as usize);
            }
            view::permute(object(view, "view")?, Some(&perm))
        })
    })
}

/// A new view of the same memory read as items of `format` in `shape`.
///
/// A new view of the same memory read as items of `format` in `shape`, laid out C-contiguously.
/// With `shape` NULL the result has one dimension of as many items as fit (`ndim` is then
/// ignored). Rules: `view` must be C-contiguous (so without suboffsets); the byte size is
/// preserved; any format may become any other (memoryview allows only casts to or from byte
/// formats, and only 1-D ↔ N-D).
///
/// A view without items (an extent 0, say shape `(0, 5)`) is C-contiguous unless it has
/// suboffsets, so it casts like any other: to every shape whose byte size is 0 (`(0,)` when
/// `shape` is NULL, `(5, 0)`, `(0, 0, 3)`, ...), in any format. The result has no items either,
/// and its `buf` is the source's. memoryview refuses every cast with a zero in the source's or
/// the result's shape.
///
/// Borrows: `view`, `format` (copied), `shape` (`ndim` entries).
/// Returns: in `*out` an owned reference to the new view; NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_FORMAT`, `XBUF_ERR_NOT_CONTIGUOUS`,
/// `XBUF_ERR_INVALID_ARGUMENT` (not a view, ndim out of range, the byte size not preserved),
/// `XBUF_ERR_OVERFLOW`, `XBUF_ERR_RELEASED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `format` is NULL or a NUL-terminated
/// string; `shape` is NULL or points at as many readable `ptrdiff_t` as stated above; `out` is NULL
/// or points at writable storage for one pointer. Each must stay valid during the call (and longer
/// where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_cast(
    view: *mut xbuf_object,
    format: *const c_char,
    ndim: c_int,
    shape: *const isize,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let fmt = CStr::from_ptr(nonnull(format, "format")?.as_ptr());
            let shape = if shape.is_null() {
                None
            } else {
                Some(array_arg(shape, ndim, "shape")?)
            };
            view::cast(object(view, "view")?, fmt.to_bytes(), shape)
        })
    })
}

/// Copies the view's items into `dst` contiguously in `order`.
///
/// Copies the view's items into `dst` contiguously in `order`: `'C'` (row-major), `'F'`
/// (column-major) or `'A'` (Fortran if the view is Fortran- but not C-contiguous, else C), as
/// memoryview's `tobytes(order)`.
///
/// Borrows: `view`, `dst` (`cap` bytes, written). Size query: with `dst` NULL and `cap` 0 only
/// `*needed` is set (it must then not be NULL).
/// `dst` may overlap the view's memory.
/// Returns: in `*needed` (if not NULL) the view's byte length, on success and on
/// `XBUF_ERR_BUFFER_TOO_SMALL`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view, bad order),
/// `XBUF_ERR_BUFFER_TOO_SMALL`, `XBUF_ERR_RELEASED`, `XBUF_ERR_NO_MEMORY`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `dst` is NULL or points at as many
/// writable bytes as stated above; `needed` is NULL or points at a writable `size_t`. Each must
/// stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_tobytes(
    view: *mut xbuf_object,
    order: c_char,
    dst: *mut c_void,
    cap: usize,
    needed: *mut usize,
) -> c_int {
    boundary!({
        let order = Order::from_char(order as u8)?;
        let obj = object(view, "view")?;
        view::with(obj, |v| {
            let len = v.layout().byte_len();
            if let Some(out) = output((dst, "dst"), cap, needed, len, "tobytes")? {
                view::tobytes(v, order, out, len)?;
            }
            Ok(())
        })
    })
}

/// Writes the hexadecimal text of the view's bytes into `dst`.
///
/// Writes the lowercase hexadecimal text of the view's C-order bytes into `dst`,
/// NUL-terminated (as memoryview's `hex()`).
///
/// Borrows: `view`, `dst` (`cap` bytes, written). Size query: with `dst` NULL and `cap` 0 only
/// `*needed` is set (it must then not be NULL).
/// Returns: in `*needed` (if not NULL) the size needed including the NUL: `2 * len + 1`;
/// a buffer that is too small is left holding an empty string.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view),
/// `XBUF_ERR_BUFFER_TOO_SMALL`, `XBUF_ERR_RELEASED`, `XBUF_ERR_NO_MEMORY`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `dst` is NULL or points at `cap`
/// writable bytes; `needed` is NULL or points at a writable `size_t`. Each must stay valid during
/// the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_hex(
    view: *mut xbuf_object,
    dst: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> c_int {
    boundary!({
        let obj = object(view, "view")?;
        view::with(obj, |v| {
            let digits = v
                .layout()
                .byte_len()
                .checked_mul(2)
                .ok_or_else(|| crate::status::overflow("the size of the hex text"))?;
            v.check_cpu("hex")?;
            write_text_with(digits, (dst, "dst"), cap, needed, "hex", |out| {
                view::hex(v, out);
                Ok(())
            })
        })
    })
}

/// Compares two views by value, as memoryview's `==` does.
///
/// Compares two views by value, as memoryview's `==` does, for every format: `*equal` is 1
/// when they have the same shape (`ndim` and every extent) and every pair of items at the same
/// indices is equal by value (`1 == 1.0` across formats, NaN never equal, not even in the same
/// view, `-0.0 == 0.0`, structs field by field), else 0. memoryview compares only formats the
/// struct module knows; xbuf compares them all.
///
/// Borrows: `a`, `b` (may be the same view). Returns: the answer in `*equal`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view),
/// `XBUF_ERR_FORMAT` (a view without a format), `XBUF_ERR_RELEASED`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread.
///
/// # Safety
/// `a` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is no
/// object is refused by its address, never read through; `b` is NULL or an object pointer the
/// caller holds a reference (or lock) on; a pointer that is no object is refused by its address,
/// never read through; `equal` is NULL or points at a writable `int`. Each must stay valid during
/// the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_equal(
    a: *mut xbuf_object,
    b: *mut xbuf_object,
    equal: *mut c_int,
) -> c_int {
    boundary!({
        let out = nonnull(equal, "equal")?;
        let eq = view::equal(object(a, "a")?, object(b, "b")?)?;
        write_out(out.as_ptr(), "equal", c_int::from(eq))
    })
}

/// Writes the view's items as JSON text, as `json.dumps(m.tolist())` would.
///
/// Writes the view's items as JSON text, NUL-terminated, as `json.dumps(m.tolist())` writes
/// a memoryview's: nested lists, one level per dimension (a zero-dimensional view is its
/// item), each item's values by the rule `xbuf_format_to_json` states (`struct.unpack`'s
/// values where the struct module parses the format, one value unwrapped; NumPy's reading
/// elsewhere) and written as it writes them.
///
/// Borrows: `view`, `dst` (`cap` bytes, written). Size query: with `dst` NULL and `cap` 0 only
/// `*needed` is set (it must then not be NULL). The text is measured while it is rendered, one
/// item at a time, and never stored whole: a size query or a buffer that is too small costs
/// time in proportion to the items but no memory for the text. A view without items (an
/// extent 0, as in shape `{2^40, 0}`) is measured from its shape alone, at once.
/// Returns: in `*needed` (if not NULL) the size including the NUL, whenever the text could be
/// measured (also when the buffer is too small); a buffer that is too small, or a failure,
/// leaves an empty string in `dst` (if `cap` > 0).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view),
/// `XBUF_ERR_FORMAT` (no format), `XBUF_ERR_UNSUPPORTED` (an item renders to unboundedly many
/// values), `XBUF_ERR_BUFFER_TOO_SMALL`, `XBUF_ERR_RELEASED`, `XBUF_ERR_OVERFLOW` (the size
/// does not fit `size_t`), `XBUF_ERR_NO_MEMORY` (the text could never be held: at least 3
/// bytes per item cannot be allocated, reported at once without measuring, unless `cap`
/// already holds that much; `*needed` is then not set).
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `dst` is NULL or points at `cap`
/// writable bytes; `needed` is NULL or points at a writable `size_t`. Each must stay valid during
/// the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_tolist(
    view: *mut xbuf_object,
    dst: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> c_int {
    boundary!({
        let obj = object(view, "view")?;
        write_measured_text((dst, "dst"), cap, needed, "tolist", |at, room| {
            view::tolist_into(obj, at, room)
        })
    })
}

/// A hash of a read-only view's bytes (64-bit FNV-1a).
///
/// A hash of a read-only view: the 64-bit FNV-1a hash (offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3) of its C-order bytes, for any format. The same in every process and on every
/// platform; views with equal C-order bytes hash equal.
///
/// Borrows: `view`. Returns: the hash in `*out`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a view),
/// `XBUF_ERR_UNSUPPORTED` (a writable view), `XBUF_ERR_RELEASED`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread.
///
/// # Safety
/// `view` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `out` is NULL or points at a writable
/// `uint64_t`. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_view_hash(view: *mut xbuf_object, out: *mut u64) -> c_int {
    boundary!({
        let out = nonnull(out, "out")?;
        let h = view::hash(object(view, "view")?)?;
        write_out(out.as_ptr(), "out", h)
    })
}
