//! Objects and their types: the opaque `xbuf_object`, the exporter's vtable `xbuf_type` with
//! its proc typedefs, references, export locks and exclusive access.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::mem::size_of;
use std::ptr::NonNull;

use super::{boundary, nonnull, object, object_out, xbuf_bufferinfo};
use crate::foreign::Foreign;
use crate::object::{ObjRef, Object};

/// An object: opaque, library-allocated and atomically reference-counted.
///
/// An exporter or consumer object: opaque, library-allocated and atomically reference-counted.
/// Made by `xbuf_object_new` or a built-in constructor; kept alive with `xbuf_incref` and
/// `xbuf_decref`.
pub struct xbuf_object {
    _opaque: [u8; 0],
}

/// An exporter's proc that fills a view for a request.
///
/// Fills `view` for the request `flags` (see `xbuf_get_buffer`) or fails with a status (after
/// `xbuf_set_error` for a message). `obj` is the object asked; `view` is a zeroed, full-size
/// struct owned by the library for the duration of the call; the proc must not change its
/// `structsize` (`xbuf_fill_info`, `xbuf_get_buffer` and the functions that read a view
/// refuse a grown one with `XBUF_ERR_INVALID_ARGUMENT` instead of going past the struct, and
/// the answer is refused with `XBUF_ERR_BAD_EXPORTER`). A proc may also answer with
/// `return xbuf_get_buffer(other, view, flags);`, as CPython exporters often do: the
/// consumer's view then takes over that view's export, and it is released to `other`'s
/// releaser. A `releaser` the proc names must be an object it keeps alive until it returns
/// (as an exporter holds the hidden object it delegates to); one freed before the call is
/// recognised and refused, as described below.
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

/// An exporter's proc called when a view or a lock is handed back.
///
/// Called on the releaser when a view is released (with that view, whose `internal` is what
/// the exporter put there) and with `view == NULL` when a lock taken with `xbuf_lock` is
/// returned. A releaser also receives the views of the objects that delegate to it (a slice of
/// it, an `xbuf_view` of it, an exporter that fills `releaser` with it), which it never filled
/// itself: their `internal` is what the filling exporter set (NULL for the library's own), so
/// an exporter that counts its views should count them in `releasebuffer` by `internal`.
pub type xbuf_releasebufferproc =
    Option<unsafe extern "C" fn(obj: *mut xbuf_object, view: *mut xbuf_bufferinfo)>;

/// An exporter's proc called when a lock is taken.
///
/// Extra work when a lock is taken on `obj` with `xbuf_lock` (for example forwarding the lock
/// to the object that really owns the memory). Returns a status; on failure the lock is not
/// taken.
pub type xbuf_lockbufferproc = Option<unsafe extern "C" fn(obj: *mut xbuf_object) -> c_int>;

/// Frees the exporter's state when its object's last reference and last export are gone.
pub type xbuf_deallocproc = Option<unsafe extern "C" fn(state: *mut c_void)>;

/// An exporter's vtable.
///
/// Set `structsize = sizeof(xbuf_type)`; slots past the caller's `structsize` count as NULL.
/// `xbuf_object_new` copies the struct and the `name` string, so it may live on the stack.
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

/// Size of the first published `xbuf_type`. Smaller is rejected.
/// cbindgen:ignore
pub const XBUF_TYPE_SIZE_MIN: usize = size_of::<xbuf_type>();

/// Creates an object for an exporter written in C: `ty` is its vtable, `state` its data.
///
/// Borrows: `ty` (copied, with its `name`; it may live on the stack).
/// Takes: `state`, handed to the type's procs through `xbuf_object_state` and to its
/// `dealloc` exactly once, after the last reference and the last export are gone. On failure
/// the library does not call `dealloc`: the caller keeps `state`.
/// Returns: in `*out` an owned reference; release it with `xbuf_decref`. `*out` is NULL on
/// failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT` (ty or out), `XBUF_ERR_STRUCT_TOO_OLD` (structsize below
/// the first published size), `XBUF_ERR_STRUCT_TOO_NEW` (larger than this library knows with
/// a non-zero unknown tail), `XBUF_ERR_INVALID_ARGUMENT` (implausible structsize).
/// Thread safety: any thread. The procs may be called from any thread that uses the object, so
/// they must be thread-safe if the object is shared.
///
/// # Safety
/// `ty` is NULL or points at an `xbuf_type` with `structsize` readable bytes, whose `name` is NULL
/// or a NUL-terminated string and whose procs keep the contracts of their typedefs; `state` is
/// never read by the library, only handed on; `out` is NULL or points at writable storage for one
/// pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_object_new(
    ty: *const xbuf_type,
    state: *mut c_void,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let ty = nonnull(ty, "ty")?;
            let exporter = Foreign::new(ty.as_ptr(), state)?;
            Ok(ObjRef::new(exporter))
        })
    })
}

/// Adds a reference to `obj`.
///
/// Borrows: `obj`. Afterwards the caller owns one more reference, to drop with `xbuf_decref`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a live object),
/// `XBUF_ERR_OVERFLOW` (more than 2^36 references).
/// Thread safety: any thread (atomic).
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_incref(obj: *mut xbuf_object) -> c_int {
    boundary!({ object(obj, "obj")?.incref() })
}

/// Drops a reference to `obj`, freeing it after the last reference and export.
///
/// Drops a reference to `obj`. When the last reference and the last export are gone the object
/// is freed (a C exporter's `dealloc` runs, on the calling thread).
///
/// Takes: one reference the caller owns. NULL is accepted and ignored, like `free(NULL)`.
/// Errors: `XBUF_ERR_INVALID_ARGUMENT` (not a live object, or no reference left while exports
/// keep it alive: a double decref).
/// Thread safety: any thread (atomic).
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_decref(obj: *mut xbuf_object) -> c_int {
    boundary!({
        let Some(p) = NonNull::new(obj) else {
            return Ok(());
        };
        Object::check(p.cast())?;
        Object::decref(p.cast())
    })
}

/// The `state` pointer given to `xbuf_object_new` (NULL for built-in objects).
///
/// Borrows: `obj`. Returns: the state, still owned by the object; NULL (with the error
/// recorded) when `obj` is NULL or not a live object.
/// Thread safety: any thread.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_object_state(obj: *mut xbuf_object) -> *mut c_void {
    boundary!({ Ok(object(obj, "obj")?.exporter().state()) })
}

/// The object's type name (`"bytearray"`, a C type's `name`, ...).
///
/// Borrows: `obj`. Returns: a string owned by the object, valid while the caller holds its
/// reference; NULL (with the error recorded) when `obj` is NULL or not a live object.
/// Thread safety: any thread.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_object_type_name(obj: *mut xbuf_object) -> *const c_char {
    boundary!({ Ok(object(obj, "obj")?.type_name().as_ptr()) })
}

/// The object's export count: live views whose releaser it is, plus locks.
///
/// Borrows: `obj`. Returns: the count, or -1 (with the error recorded) when `obj` is NULL or
/// not a live object.
/// Thread safety: any thread; the value may change as soon as it is read.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_exports(obj: *mut xbuf_object) -> isize {
    boundary!({ Ok(object(obj, "obj")?.exports() as isize) })
}

/// The object's reference count (each live view and lock also holds one reference).
///
/// Borrows: `obj`. Returns: the count, or -1 (with the error recorded) when `obj` is NULL or
/// not a live object.
/// Thread safety: any thread; the value may change as soon as it is read.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_refcount(obj: *mut xbuf_object) -> isize {
    boundary!({ Ok(object(obj, "obj")?.refcount() as isize) })
}

/// Takes an export lock on `obj` without a view.
///
/// Takes an export lock on `obj` without a view: counts one export (and holds one reference),
/// then runs the type's `lockbuffer` (a slice forwards the lock to the object that owns its
/// memory). While locked, the object refuses exclusive changes (resize, close).
///
/// Borrows: `obj`. Afterwards the caller owns one lock, to return with `xbuf_unlock`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_BUSY` (exclusive
/// change in progress), `XBUF_ERR_OVERFLOW`, or the `lockbuffer` proc's status (the lock is
/// then not taken).
/// Thread safety: any thread (atomic).
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_lock(obj: *mut xbuf_object) -> c_int {
    boundary!({ object(obj, "obj")?.lock() })
}

/// Returns a lock taken with `xbuf_lock`.
///
/// Returns a lock taken with `xbuf_lock`: calls the type's `releasebuffer(obj, NULL)`, then
/// drops the export and the reference the lock held (which may free the object).
///
/// Takes: one lock the caller owns.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a live object, or the
/// object holds no lock: an error, never an underflow).
/// Thread safety: any thread (atomic).
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_unlock(obj: *mut xbuf_object) -> c_int {
    boundary!({
        let o = object(obj, "obj")?;
        Object::unlock(NonNull::from(o))
    })
}

/// Takes exclusive access to `obj`, for an exporter that must change its memory.
///
/// For exporters that must change their memory (resize, remap, free): takes exclusive access
/// to `obj`. Succeeds only while its export count is zero; until `xbuf_exclusive_end`, every
/// new `xbuf_get_buffer` and `xbuf_lock` on it fails with `XBUF_ERR_BUSY`. The check and the
/// blocking are one atomic step, so a change racing a get on another thread can never hand out
/// a dangling pointer.
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_BUSY` (the message
/// names the export count, or says another change holds it).
/// Thread safety: any thread (atomic); not re-entrant. The access belongs to the calling
/// thread: only it can end it.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_exclusive_begin(obj: *mut xbuf_object) -> c_int {
    boundary!({ object(obj, "obj")?.begin_exclusive() })
}

/// Ends exclusive access taken with `xbuf_exclusive_begin`.
///
/// Ends exclusive access taken with `xbuf_exclusive_begin` on the calling thread. Exclusive
/// access held by another thread (another caller's, or a built-in resize running there) is
/// not ended: the call fails and the access stays held.
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a live object, not
/// held exclusively, or held by another thread).
/// Thread safety: any thread (atomic); only the thread that began the access ends it.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_exclusive_end(obj: *mut xbuf_object) -> c_int {
    boundary!({ object(obj, "obj")?.end_exclusive() })
}
