//! Errors and versions: the status codes every fallible function returns, the calling
//! thread's last failure, and the library's version.

use std::ffi::{c_char, c_int, CStr};

use crate::status;

/// Success.
pub const XBUF_OK: c_int = 0;

/// An argument has a value outside what the function accepts.
///
/// An argument has a value outside what the function accepts (bad flags, bad order character,
/// an object of the wrong kind, a corrupted or moved view).
pub const XBUF_ERR_INVALID_ARGUMENT: c_int = 1;

/// A pointer argument that must not be NULL was NULL.
pub const XBUF_ERR_NULL_ARGUMENT: c_int = 2;

/// The exporter cannot meet the request (for example suboffsets without `XBUF_INDIRECT`).
pub const XBUF_ERR_REQUEST: c_int = 3;

/// Write access was asked of read-only memory.
pub const XBUF_ERR_READONLY: c_int = 4;

/// The request or operation needs a contiguous layout and the memory is not laid out so.
pub const XBUF_ERR_NOT_CONTIGUOUS: c_int = 5;

/// A format string is malformed, unsupported or disagrees with the item size.
pub const XBUF_ERR_FORMAT: c_int = 6;

/// The object has live exports (views or locks) or is held exclusively by a change.
pub const XBUF_ERR_BUSY: c_int = 7;

/// An index, offset or length lies outside the memory or shape it refers to.
pub const XBUF_ERR_OUT_OF_BOUNDS: c_int = 8;

/// A size, count or offset computation overflowed.
pub const XBUF_ERR_OVERFLOW: c_int = 9;

/// Memory could not be allocated.
pub const XBUF_ERR_NO_MEMORY: c_int = 10;

/// A struct's `structsize` is larger than this library knows and its unknown tail is not zero.
pub const XBUF_ERR_STRUCT_TOO_NEW: c_int = 11;

/// A struct's `structsize` is smaller than the first published size of that struct.
pub const XBUF_ERR_STRUCT_TOO_OLD: c_int = 12;

/// The object or view was already released or closed.
pub const XBUF_ERR_RELEASED: c_int = 13;

/// An operating-system I/O call failed (the message names the path and the OS error).
pub const XBUF_ERR_IO: c_int = 14;

/// The object does not support the operation.
pub const XBUF_ERR_UNSUPPORTED: c_int = 15;

/// A bug inside the library was caught before it could cross into the caller.
pub const XBUF_ERR_PANIC: c_int = 16;

/// A caller-supplied output buffer is too small; the message says how large it must be.
pub const XBUF_ERR_BUFFER_TOO_SMALL: c_int = 17;

/// A user-written exporter returned an answer that breaks the protocol.
///
/// A user-written exporter returned an answer that breaks the protocol (bad `ndim`, `len`
/// disagreeing with `shape` and `itemsize`, strides that overflow the address space, ...).
pub const XBUF_ERR_BAD_EXPORTER: c_int = 18;

/// The library's version number, to compare with `XBUF_VERSION`.
///
/// The library's version as `XBUF_VERSION_MAJOR * 10000 + XBUF_VERSION_MINOR * 100 +
/// XBUF_VERSION_PATCH`; compare with `XBUF_VERSION` from the header to detect a mismatch
/// between the header compiled against and the library loaded.
///
/// Never fails. Thread-safe.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_version() -> u32 {
    crate::VERSION_NUMBER
}

/// The library's version as text, for example `"0.1.0"`. Static storage: never free it.
///
/// Never fails. Thread-safe.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_version_string() -> *const c_char {
    crate::VERSION_STRING.as_ptr()
}

/// The name of a status code.
///
/// The name of a status code: `"XBUF_OK"`, an `"XBUF_ERR_..."` constant's name, or
/// `"XBUF_ERR_UNKNOWN"` for a value that names no status. Static storage: never free it.
///
/// Never fails. Thread-safe.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_status_str(status: c_int) -> *const c_char {
    status::status_name(status).as_ptr().cast()
}

/// The message of the calling thread's last failure.
///
/// The message of the calling thread's last failure, naming the function, what was asked and
/// what was found (empty string if nothing failed yet). Successful calls leave it unchanged.
///
/// Returns: a borrowed string owned by the library, valid until the next failing call,
/// `xbuf_clear_error` or `xbuf_set_error` on the same thread; copy it to keep it. Never NULL.
/// Thread safety: per thread; each thread sees only its own failures.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_last_error_message() -> *const c_char {
    status::last_error_ptr()
}

/// The status of the calling thread's last failure.
///
/// The status of the calling thread's last failure (`XBUF_OK` if nothing failed yet or after
/// `xbuf_clear_error`).
///
/// Never fails. Thread safety: per thread.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_last_error_status() -> c_int {
    status::last_error_status()
}

/// Forgets the calling thread's last failure (status `XBUF_OK`, empty message).
///
/// Never fails. Thread safety: per thread.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_clear_error() {
    status::clear_last_error()
}

/// Records a failure for the calling thread (for exporters' procs).
///
/// Records a failure for the calling thread, for exporters: a `getbuffer` or `lockbuffer`
/// proc writes `return xbuf_set_error(XBUF_ERR_READONLY, "why");` and the consumer's
/// `xbuf_last_error_message()` then shows that message.
///
/// Borrows: `message` (copied; NULL records an empty message).
/// Returns: `status`, unchanged, so that it can be returned directly. A `status` that is not an
/// `XBUF_ERR_*` code is recorded as given; the library reports such a code from an exporter as
/// `XBUF_ERR_BAD_EXPORTER`.
/// Thread safety: per thread.
///
/// # Safety
/// `message` is NULL or a NUL-terminated string. Each must stay valid during the call (and longer
/// where stated above).
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
