//! The C boundary. Every exported function is a thin wrapper: it checks its pointer
//! arguments, converts them, and runs its body inside [`guard`], which turns errors into
//! status codes plus the thread's last message and never lets a panic cross into C. The logic
//! lives in the safe modules.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::abi::xbuf_object;
use crate::bail;
use crate::object::Object;
use crate::status::{self, Error, Result, Status, XBUF_OK};

pub mod core;
pub mod exporters;
pub mod format;
pub mod view;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cold]
#[inline(never)]
fn fail(func: &str, e: Error) {
    status::set_last_error(e.code(), &format!("{func}: {}", e.message));
}

/// Runs the body of the exported function `func`: `Ok` becomes `XBUF_OK`, an error its
/// status (with `func: message` recorded for the thread), a panic `XBUF_ERR_PANIC`.
#[inline(always)]
pub(crate) fn guard(func: &str, body: impl FnOnce() -> Result<()>) -> c_int {
    guard_or(func, |e| e.code(), || body().map(|()| XBUF_OK))
}

/// Like [`guard`] for functions that return a value: on failure the error is recorded and
/// `on_error(&error)` is returned.
#[inline(always)]
pub(crate) fn guard_or<T>(
    func: &str,
    on_error: impl FnOnce(&Error) -> T,
    body: impl FnOnce() -> Result<T>,
) -> T {
    let e = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(p) => Error::new(
            Status::Panic,
            format!("internal error (please report): {}", panic_message(&*p)),
        ),
    };
    let r = on_error(&e);
    fail(func, e);
    r
}

/// `p`, or `NullArgument` naming the parameter.
pub(crate) fn nonnull<T>(p: *const T, name: &str) -> Result<NonNull<T>> {
    match NonNull::new(p as *mut T) {
        Some(p) => Ok(p),
        None => bail!(NullArgument, "argument '{name}' is NULL"),
    }
}

/// A live object argument.
///
/// # Safety
/// `p` must be NULL or point at memory the caller believes is an object it holds a reference
/// (or export) to.
pub(crate) unsafe fn object<'a>(p: *const xbuf_object, name: &str) -> Result<&'a Object> {
    Object::check(nonnull(p, name)?.cast())
}

/// Writes `value` through an out-pointer after NULL-checking it.
///
/// # Safety
/// `p` must be NULL or point at writable memory for a `T`.
pub(crate) unsafe fn write_out<T>(p: *mut T, name: &str, value: T) -> Result<()> {
    nonnull(p, name)?.as_ptr().write(value);
    Ok(())
}

/// An object out-parameter: NULL-checked and set to NULL, so that it reads NULL on failure.
///
/// # Safety
/// `p` must be NULL or point at writable memory for a pointer.
pub(crate) unsafe fn object_out<'a>(
    p: *mut *mut xbuf_object,
    name: &str,
) -> Result<&'a mut *mut xbuf_object> {
    let p = nonnull(p, name)?.as_ptr();
    p.write(std::ptr::null_mut());
    Ok(&mut *p)
}

/// A byte-range argument: `len` bytes at `p`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// A non-NULL `p` must point at `len` readable bytes.
pub(crate) unsafe fn bytes_arg<'a>(
    p: *const std::ffi::c_void,
    len: usize,
    name: &str,
) -> Result<&'a [u8]> {
    if p.is_null() {
        if len != 0 {
            bail!(
                NullArgument,
                "argument '{name}' is NULL but its length is {len}"
            );
        }
        return Ok(&[]);
    }
    if len > isize::MAX as usize {
        bail!(
            Overflow,
            "length {len} of '{name}' exceeds the largest object size"
        );
    }
    Ok(std::slice::from_raw_parts(p.cast(), len))
}

/// An output of `needed` bytes into a caller buffer `(dst, cap)`, with the size query
/// convention of the C API: `*needed_out` (if not NULL) receives `needed` in every case;
/// `dst == NULL` with `cap == 0` is a pure size query (`Ok(None)`); otherwise `cap` must be at
/// least `needed`, else `BufferTooSmall` naming the size.
///
/// # Safety
/// A non-NULL `dst` must point at `cap` writable bytes; a non-NULL `needed_out` at a `size_t`.
pub(crate) unsafe fn sized_out<'a>(
    dst: *mut std::ffi::c_void,
    cap: usize,
    needed_out: *mut usize,
    needed: usize,
    what: &str,
) -> Result<Option<&'a mut [u8]>> {
    if !needed_out.is_null() {
        needed_out.write(needed);
    }
    if dst.is_null() {
        if cap != 0 {
            bail!(NullArgument, "argument 'dst' is NULL but cap is {cap}");
        }
        return Ok(None);
    }
    if cap < needed {
        bail!(
            BufferTooSmall,
            "{what} needs {needed} bytes but the buffer holds {cap}"
        );
    }
    Ok(Some(std::slice::from_raw_parts_mut(dst.cast(), needed)))
}

/// A C array argument of `n` elements (`n` from a C `int`); NULL is allowed only when `n == 0`.
///
/// # Safety
/// A non-NULL `p` must point at `n` readable elements.
pub(crate) unsafe fn array_arg<'a, T>(p: *const T, n: c_int, name: &str) -> Result<&'a [T]> {
    if n < 0 {
        bail!(InvalidArgument, "the length of '{name}' is {n}");
    }
    if n == 0 {
        return Ok(&[]);
    }
    Ok(std::slice::from_raw_parts(
        nonnull(p, name)?.as_ptr(),
        n as usize,
    ))
}
