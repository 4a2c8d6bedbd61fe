//! Exported functions of the protocol core: errors, versions, objects, views, locks and the
//! layout helpers.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::NonNull;

use super::{guard, guard_or, nonnull, object, object_out, write_out};
use crate::abi::*;
use crate::bail;
use crate::bufferinfo;
use crate::foreign::Foreign;
use crate::layout::{self, Order};
use crate::object::{ObjRef, Object};
use crate::status;
use crate::strided;

/// The library's version as `XBUF_VERSION_MAJOR * 10000 + XBUF_VERSION_MINOR * 100 +
/// XBUF_VERSION_PATCH`; compare with `XBUF_VERSION` from the header to detect a mismatch
/// between the header compiled against and the library loaded.
///
/// Never fails. Thread-safe.
#[no_mangle]
pub extern "C" fn xbuf_version() -> u32 {
    crate::VERSION_NUMBER
}

/// The library's version as text, for example `"0.1.0"`. Static storage: never free it.
///
/// Never fails. Thread-safe.
#[no_mangle]
pub extern "C" fn xbuf_version_string() -> *const c_char {
    crate::VERSION_STRING.as_ptr()
}

/// The name of a status code: `"XBUF_OK"`, an `"XBUF_ERR_..."` constant's name, or
/// `"XBUF_ERR_UNKNOWN"` for a value that names no status. Static storage: never free it.
///
/// Never fails. Thread-safe.
#[no_mangle]
pub extern "C" fn xbuf_status_str(status: c_int) -> *const c_char {
    status::status_name(status).as_ptr().cast()
}

/// The message of the calling thread's last failure, naming the function, what was asked and
/// what was found (empty string if nothing failed yet). Successful calls leave it unchanged.
///
/// Returns: a borrowed string owned by the library, valid until the next failing call,
/// `xbuf_clear_error` or `xbuf_set_error` on the same thread; copy it to keep it. Never NULL.
/// Thread safety: per thread; each thread sees only its own failures.
#[no_mangle]
pub extern "C" fn xbuf_last_error_message() -> *const c_char {
    status::last_error_ptr()
}

/// The status of the calling thread's last failure (`XBUF_OK` if nothing failed yet or after
/// `xbuf_clear_error`).
///
/// Never fails. Thread safety: per thread.
#[no_mangle]
pub extern "C" fn xbuf_last_error_status() -> c_int {
    status::last_error_status()
}

/// Forgets the calling thread's last failure (status `XBUF_OK`, empty message).
///
/// Never fails. Thread safety: per thread.
#[no_mangle]
pub extern "C" fn xbuf_clear_error() {
    status::clear_last_error()
}

/// Records a failure for the calling thread, for exporters: a `getbuffer` or `lockbuffer`
/// proc writes `return xbuf_set_error(XBUF_ERR_READONLY, "why");` and the consumer's
/// `xbuf_last_error_message()` then shows that message.
///
/// Borrows: `message` (copied; NULL records an empty message).
/// Returns: `status`, unchanged, so that it can be returned directly. A `status` that is not an
/// `XBUF_ERR_*` code is recorded as given; the library reports such a code from an exporter as
/// `XBUF_ERR_BAD_EXPORTER`.
/// Thread safety: per thread.
#[no_mangle]
pub unsafe extern "C" fn xbuf_set_error(status: c_int, message: *const c_char) -> c_int {
    let text = if message.is_null() {
        Default::default()
    } else {
        CStr::from_ptr(message).to_string_lossy()
    };
    status::set_last_error(status, &text);
    status
}

/// Caps the number of threads one large copy or comparison may use (`xbuf_copy`,
/// `xbuf_to_contiguous`, `xbuf_from_contiguous`, `xbuf_view_tobytes`, `xbuf_view_equal` and
/// the other calls that copy or compare items), as the thread settings of BLAS libraries do.
/// A copy of at least 8 MiB splits its destination into disjoint pieces of at least 4 MiB,
/// one per thread, up to the cap; a comparison splits likewise. The calling thread takes one
/// piece, the others run on threads started for the call and joined before it returns (no
/// thread outlives a call; there is no pool; a piece whose thread the system refuses runs on
/// the calling thread). A destination that overlaps itself, and anything
/// smaller, is done on the calling thread alone. The results are the same for every cap.
///
/// `n >= 1` sets the cap to `n` (it may exceed the number of cores; 1 keeps every copy on the
/// calling thread). `n == 0` removes the cap set here, restoring the default: the value of the
/// environment variable `XBUF_NUM_THREADS` when it holds a whole number from 1 to `INT_MAX`
/// (spaces around it allowed), else the number of threads the process can run at once (its
/// CPUs after affinity masks and cgroup quotas). The variable is read once per process, the
/// first time the default is needed; an unset, empty, zero, signed, non-numeric or too large
/// value is ignored. A cap set here always wins over the variable.
///
/// Returns: `XBUF_OK`.
/// Errors: `XBUF_ERR_INVALID_ARGUMENT` (`n` negative; the cap is then unchanged).
/// Thread safety: any thread; the cap is process-wide and atomic. A copy already running keeps
/// the thread count it started with.
#[no_mangle]
pub extern "C" fn xbuf_set_max_threads(n: c_int) -> c_int {
    guard("xbuf_set_max_threads", || {
        strided::set_max_threads(i64::from(n))
    })
}

/// The cap on the threads of one large copy or comparison now in force (see
/// `xbuf_set_max_threads`): the last `n >= 1` given to `xbuf_set_max_threads`, else
/// `XBUF_NUM_THREADS` when valid, else the number of threads the process can run at once.
///
/// Returns: the cap, at least 1 (`INT_MAX` if larger). Never fails.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn xbuf_get_max_threads() -> c_int {
    guard_or(
        "xbuf_get_max_threads",
        |_| 1,
        || Ok(c_int::try_from(strided::max_threads()).unwrap_or(c_int::MAX)),
    )
}

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
#[no_mangle]
pub unsafe extern "C" fn xbuf_object_new(
    ty: *const xbuf_type,
    state: *mut c_void,
    out: *mut *mut xbuf_object,
) -> c_int {
    guard("xbuf_object_new", || {
        let out = object_out(out, "out")?;
        let ty = nonnull(ty, "ty")?;
        let exporter = Foreign::new(ty.as_ptr(), state)?;
        *out = ObjRef::new(Box::new(exporter)).into_raw().cast();
        Ok(())
    })
}

/// Adds a reference to `obj`.
///
/// Borrows: `obj`. Afterwards the caller owns one more reference, to drop with `xbuf_decref`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a live object),
/// `XBUF_ERR_OVERFLOW` (more than 2^36 references).
/// Thread safety: any thread (atomic).
#[no_mangle]
pub unsafe extern "C" fn xbuf_incref(obj: *mut xbuf_object) -> c_int {
    guard("xbuf_incref", || object(obj, "obj")?.incref())
}

/// Drops a reference to `obj`. When the last reference and the last export are gone the object
/// is freed (a C exporter's `dealloc` runs, on the calling thread).
///
/// Takes: one reference the caller owns. NULL is accepted and ignored, like `free(NULL)`.
/// Errors: `XBUF_ERR_INVALID_ARGUMENT` (not a live object, or no reference left while exports
/// keep it alive: a double decref).
/// Thread safety: any thread (atomic).
#[no_mangle]
pub unsafe extern "C" fn xbuf_decref(obj: *mut xbuf_object) -> c_int {
    guard("xbuf_decref", || {
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
#[no_mangle]
pub unsafe extern "C" fn xbuf_object_state(obj: *mut xbuf_object) -> *mut c_void {
    guard_or(
        "xbuf_object_state",
        |_| std::ptr::null_mut(),
        || Ok(object(obj, "obj")?.exporter().state()),
    )
}

/// The object's type name (`"bytearray"`, a C type's `name`, ...).
///
/// Borrows: `obj`. Returns: a string owned by the object, valid while the caller holds its
/// reference; NULL (with the error recorded) when `obj` is NULL or not a live object.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn xbuf_object_type_name(obj: *mut xbuf_object) -> *const c_char {
    guard_or(
        "xbuf_object_type_name",
        |_| std::ptr::null(),
        || Ok(object(obj, "obj")?.type_name().as_ptr()),
    )
}

/// The object's export count: live views whose releaser it is, plus locks.
///
/// Borrows: `obj`. Returns: the count, or -1 (with the error recorded) when `obj` is NULL or
/// not a live object.
/// Thread safety: any thread; the value may change as soon as it is read.
#[no_mangle]
pub unsafe extern "C" fn xbuf_exports(obj: *mut xbuf_object) -> isize {
    guard_or(
        "xbuf_exports",
        |_| -1,
        || Ok(object(obj, "obj")?.exports() as isize),
    )
}

/// The object's reference count (each live view and lock also holds one reference).
///
/// Borrows: `obj`. Returns: the count, or -1 (with the error recorded) when `obj` is NULL or
/// not a live object.
/// Thread safety: any thread; the value may change as soon as it is read.
#[no_mangle]
pub unsafe extern "C" fn xbuf_refcount(obj: *mut xbuf_object) -> isize {
    guard_or(
        "xbuf_refcount",
        |_| -1,
        || Ok(object(obj, "obj")?.refcount() as isize),
    )
}

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
#[no_mangle]
pub unsafe extern "C" fn xbuf_get_buffer(
    obj: *mut xbuf_object,
    view: *mut xbuf_bufferinfo,
    flags: c_int,
) -> c_int {
    guard("xbuf_get_buffer", || {
        let view = nonnull(view, "view")?;
        let obj = object(obj, "obj")?;
        bufferinfo::get_buffer(obj, view.as_ptr(), flags)
    })
}

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
#[no_mangle]
pub unsafe extern "C" fn xbuf_release(view: *mut xbuf_bufferinfo) -> c_int {
    guard("xbuf_release", || {
        bufferinfo::release(nonnull(view, "view")?.as_ptr())
    })
}

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
#[no_mangle]
pub unsafe extern "C" fn xbuf_bufferinfo_move(
    dst: *mut xbuf_bufferinfo,
    src: *mut xbuf_bufferinfo,
) -> c_int {
    guard("xbuf_bufferinfo_move", || {
        let dst = nonnull(dst, "dst")?;
        let src = nonnull(src, "src")?;
        bufferinfo::move_view(dst.as_ptr(), src.as_ptr())
    })
}

/// Takes an export lock on `obj` without a view: counts one export (and holds one reference),
/// then runs the type's `lockbuffer` (a slice forwards the lock to the object that owns its
/// memory). While locked, the object refuses exclusive changes (resize, close).
///
/// Borrows: `obj`. Afterwards the caller owns one lock, to return with `xbuf_unlock`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_BUSY` (exclusive
/// change in progress), `XBUF_ERR_OVERFLOW`, or the `lockbuffer` proc's status (the lock is
/// then not taken).
/// Thread safety: any thread (atomic).
#[no_mangle]
pub unsafe extern "C" fn xbuf_lock(obj: *mut xbuf_object) -> c_int {
    guard("xbuf_lock", || object(obj, "obj")?.lock())
}

/// Returns a lock taken with `xbuf_lock`: calls the type's `releasebuffer(obj, NULL)`, then
/// drops the export and the reference the lock held (which may free the object).
///
/// Takes: one lock the caller owns.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a live object, or the
/// object holds no lock: an error, never an underflow).
/// Thread safety: any thread (atomic).
#[no_mangle]
pub unsafe extern "C" fn xbuf_unlock(obj: *mut xbuf_object) -> c_int {
    guard("xbuf_unlock", || {
        let o = object(obj, "obj")?;
        Object::unlock(NonNull::from(o))
    })
}

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
#[no_mangle]
pub unsafe extern "C" fn xbuf_exclusive_begin(obj: *mut xbuf_object) -> c_int {
    guard("xbuf_exclusive_begin", || {
        object(obj, "obj")?.begin_exclusive()
    })
}

/// Ends exclusive access taken with `xbuf_exclusive_begin` on the calling thread. Exclusive
/// access held by another thread (another caller's, or a built-in resize running there) is
/// not ended: the call fails and the access stays held.
///
/// Borrows: `obj`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a live object, not
/// held exclusively, or held by another thread).
/// Thread safety: any thread (atomic); only the thread that began the access ends it.
#[no_mangle]
pub unsafe extern "C" fn xbuf_exclusive_end(obj: *mut xbuf_object) -> c_int {
    guard("xbuf_exclusive_end", || object(obj, "obj")?.end_exclusive())
}

/// For exporters (the equivalent of `PyBuffer_FillInfo`): fills `view` with one dimension of
/// `len` unsigned bytes at `buf`, honouring `flags` (format `"B"` if `XBUF_FORMAT`, shape
/// pointing at `len` if `XBUF_ND`, strides pointing at `itemsize` if `XBUF_STRIDES`). It starts
/// from an empty view, so set `internal` (or anything else) after it.
///
/// Borrows: `view` (the struct a `getbuffer` proc received), `buf` (must stay valid until the
/// view is released), `releaser` (stored as is; NULL means the object asked).
/// Errors: `XBUF_ERR_NULL_ARGUMENT` (view), `XBUF_ERR_STRUCT_TOO_OLD`,
/// `XBUF_ERR_INVALID_ARGUMENT` (negative len, NULL buf with len > 0, bad flags, a
/// `structsize` larger than the struct the library lent to the calling `getbuffer`: nothing
/// is written then),
/// `XBUF_ERR_READONLY` (`readonly` with `XBUF_WRITABLE`; the view is then left unchanged).
/// Thread safety: any thread; the view belongs to the caller.
#[no_mangle]
pub unsafe extern "C" fn xbuf_fill_info(
    view: *mut xbuf_bufferinfo,
    releaser: *mut xbuf_object,
    buf: *mut c_void,
    len: isize,
    readonly: c_int,
    flags: c_int,
) -> c_int {
    guard("xbuf_fill_info", || {
        let view = nonnull(view, "view")?;
        bufferinfo::fill_info(
            view.as_ptr(),
            releaser,
            buf.cast(),
            len,
            readonly != 0,
            flags,
        )
    })
}

/// Whether the memory `view` describes is contiguous in `order`: `'C'` (row-major), `'F'`
/// (column-major) or `'A'` (either), by CPython's rules (suboffsets never are; no items always
/// is; extent-1 dimensions may have any stride). A view without `strides` is C-contiguous.
///
/// Borrows: `view` (filled by `xbuf_get_buffer`, or by hand).
/// Returns: 1 or 0. A predicate: on bad input (NULL or empty view, bad order) it answers 0 and
/// records the reason for `xbuf_last_error_message`.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn xbuf_is_contiguous(view: *const xbuf_bufferinfo, order: c_char) -> c_int {
    guard_or(
        "xbuf_is_contiguous",
        |_| 0,
        || {
            let order = Order::from_char(order as u8)?;
            let v = bufferinfo::read_view(nonnull(view, "view")?.as_ptr())?;
            Ok(c_int::from(layout::is_contiguous(
                v.shape(),
                v.strides,
                v.has_suboffsets(),
                v.itemsize,
                order,
            )))
        },
    )
}

/// Writes into `strides` the strides of a contiguous array of `shape` and `itemsize` in
/// `order` (`'C'`, or `'F'`; `'A'` means `'C'`). The strides of a shape without items (an
/// extent 0) are never used; there a stride that would overflow is written as `PTRDIFF_MAX`
/// (`(0, PTRDIFF_MAX, 1)` with 8-byte items gives `PTRDIFF_MAX, 8, 8`).
///
/// Borrows: `shape` (`ndim` entries, read), `strides` (`ndim` entries, written). Both may be
/// NULL when `ndim` is 0.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (ndim outside 0..64, negative
/// extent, itemsize < 1, bad order), `XBUF_ERR_OVERFLOW` (a shape with items whose size
/// overflows). On failure `strides` is unchanged.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn xbuf_fill_contiguous_strides(
    ndim: c_int,
    shape: *const isize,
    itemsize: isize,
    strides: *mut isize,
    order: c_char,
) -> c_int {
    guard("xbuf_fill_contiguous_strides", || {
        if !(0..=XBUF_MAX_NDIM).contains(&ndim) {
            bail!(
                InvalidArgument,
                "ndim is {ndim} (0 to {XBUF_MAX_NDIM} allowed)"
            );
        }
        if itemsize < 1 {
            bail!(
                InvalidArgument,
                "itemsize is {itemsize}; it must be at least 1"
            );
        }
        let order = Order::from_char(order as u8)?;
        let n = ndim as usize;
        if n == 0 {
            return Ok(());
        }
        let shape = std::slice::from_raw_parts(nonnull(shape, "shape")?.as_ptr(), n);
        let out = nonnull(strides, "strides")?;
        layout::item_count(shape)?;
        let mut tmp = [0isize; XBUF_MAX_NDIM as usize];
        layout::contiguous_strides(shape, itemsize, order, &mut tmp[..n])?;
        std::ptr::copy_nonoverlapping(tmp.as_ptr(), out.as_ptr(), n);
        Ok(())
    })
}

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
#[no_mangle]
pub unsafe extern "C" fn xbuf_get_pointer(
    view: *const xbuf_bufferinfo,
    indices: *const isize,
    out: *mut *mut c_void,
) -> c_int {
    guard("xbuf_get_pointer", || {
        let out = nonnull(out, "out")?.as_ptr();
        out.write(std::ptr::null_mut());
        let v = bufferinfo::read_view(nonnull(view, "view")?.as_ptr())?;
        if v.has_suboffsets() {
            v.check_cpu("following suboffsets")?;
        }
        let shape = v.shape();
        let n = shape.len();
        let idx: &[isize] = if n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(nonnull(indices, "indices")?.as_ptr(), n)
        };
        let mut tmp = [0isize; XBUF_MAX_NDIM as usize];
        let strides = match v.strides {
            Some(s) => s,
            None => {
                layout::contiguous_strides(shape, v.itemsize, Order::C, &mut tmp[..n])?;
                &tmp[..n]
            }
        };
        let p = layout::pointer_at(v.buf, shape, strides, v.suboffsets, idx)?;
        write_out(out, "out", p.cast())
    })
}
