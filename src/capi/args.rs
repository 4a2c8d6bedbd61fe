//! Reading the arguments of exported functions (NULL checks, objects, byte ranges, arrays) and
//! writing their results (out-parameters, new objects, caller buffers with the size-query
//! convention).

use std::ffi::c_int;
use std::ptr::NonNull;

use super::xbuf_object;
use crate::bail;
use crate::object::{ObjRef, Object};
use crate::status::Result;

/// `p`, or `NullArgument` naming the parameter.
#[inline(always)]
pub(crate) fn nonnull<T>(p: *const T, name: &str) -> Result<NonNull<T>> {
    match NonNull::new(p as *mut T) {
        Some(p) => Ok(p),
        None => Err(null_argument(name)),
    }
}

/// The error of a NULL argument `name`.
#[cold]
#[inline(never)]
fn null_argument(name: &str) -> crate::status::Error {
    crate::err!(NullArgument, "argument '{name}' is NULL")
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

/// Hands a new object to C through the out-parameter `out`, as every constructor does: a NULL
/// `out` is `XBUF_ERR_NULL_ARGUMENT` (nothing else runs); otherwise `*out` is set to NULL, so
/// that it reads NULL on failure, then `make` runs and on success `*out` receives the owned
/// reference it made.
///
/// # Safety
/// `out` must be NULL or point at writable memory for a pointer.
#[inline(always)]
pub(crate) unsafe fn object_out(
    out: *mut *mut xbuf_object,
    make: impl FnOnce() -> Result<ObjRef>,
) -> Result<()> {
    let out = nonnull(out, "out")?.as_ptr();
    out.write(std::ptr::null_mut());
    out.write(make()?.into_raw().cast());
    Ok(())
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
    let p = raw_bytes_arg(p, len, name)?;
    Ok(if p.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(p, len)
    })
}

/// [`bytes_arg`] as a raw pointer, for memory the library reads or writes while it may also
/// reach it through a view (no Rust slice may then cover it).
pub(crate) fn raw_bytes_arg(
    p: *const std::ffi::c_void,
    len: usize,
    name: &str,
) -> Result<*const u8> {
    if p.is_null() && len != 0 {
        bail!(
            NullArgument,
            "argument '{name}' is NULL but its length is {len}"
        );
    }
    if len > isize::MAX as usize {
        bail!(
            Overflow,
            "length {len} of '{name}' exceeds the largest object size"
        );
    }
    Ok(p.cast())
}

/// A NULL output buffer is a pure size query: its `cap` must be 0 and `needed` not NULL.
fn check_size_query(name: &str, cap: usize, needed: *mut usize) -> Result<()> {
    if cap != 0 {
        bail!(NullArgument, "argument '{name}' is NULL but cap is {cap}");
    }
    if needed.is_null() {
        bail!(
            NullArgument,
            "arguments '{name}' and 'needed' are both NULL"
        );
    }
    Ok(())
}

/// An output of `n` bytes into a caller buffer `(dst, cap)` (`dst` named `name` in messages),
/// with the size query convention
/// of the C API: `*needed` (if not NULL) receives `n` in every case; `dst == NULL` with
/// `cap == 0` is a pure size query (`Ok(None)`; `needed` must then not be NULL); otherwise
/// `cap` must be at least `n`, else `BufferTooSmall` naming the size. Returns the destination
/// as a raw pointer (never a Rust slice: the caller's buffer may overlap memory the library
/// reads).
///
/// # Safety
/// A non-NULL `dst` must point at `cap` writable bytes; a non-NULL `needed` at a `size_t`.
pub(crate) unsafe fn output(
    (dst, name): (*mut std::ffi::c_void, &str),
    cap: usize,
    needed: *mut usize,
    n: usize,
    what: &str,
) -> Result<Option<*mut u8>> {
    if !needed.is_null() {
        needed.write(n);
    }
    if dst.is_null() {
        check_size_query(name, cap, needed)?;
        return Ok(None);
    }
    if cap < n {
        bail!(
            BufferTooSmall,
            "{what} needs {n} bytes but the buffer holds {cap}"
        );
    }
    Ok(Some(dst.cast()))
}

/// Writes a text of `len` bytes (filled in by `fill` at the given address) and a NUL, with
/// the convention of [`output`]; a buffer that is too small (but not empty) is left holding an
/// empty string.
///
/// # Safety
/// As [`output`]; `fill` must write at most `len` bytes.
pub(crate) unsafe fn write_text_with(
    len: usize,
    (dst, name): (*mut std::ffi::c_char, &str),
    cap: usize,
    needed: *mut usize,
    what: &str,
    fill: impl FnOnce(*mut u8) -> Result<()>,
) -> Result<()> {
    let total = len
        .checked_add(1)
        .ok_or_else(|| crate::status::overflow(format!("the size of {what}")))?;
    match output((dst.cast(), name), cap, needed, total, what) {
        Ok(Some(out)) => {
            fill(out)?;
            out.add(len).write(0);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            if !dst.is_null() && cap > 0 {
                dst.write(0);
            }
            Err(e)
        }
    }
}

/// Writes a text that is measured while it is rendered, with the conventions of [`output`]
/// (`*needed`, if not NULL, receives the size with the NUL whenever the text could be
/// measured; a buffer that is too small, or a failure, leaves an empty string).
/// `render(at, room)` writes at most `room` bytes of the text at `at` (`room` is 0 and `at`
/// may be NULL for a pure size query) and returns the text's whole length.
///
/// # Safety
/// As [`output`].
pub(crate) unsafe fn write_measured_text(
    (dst, name): (*mut std::ffi::c_char, &str),
    cap: usize,
    needed: *mut usize,
    what: &str,
    render: impl FnOnce(*mut u8, usize) -> Result<usize>,
) -> Result<()> {
    if dst.is_null() {
        check_size_query(name, cap, needed)?;
    }
    let blank = || {
        if !dst.is_null() && cap > 0 {
            dst.write(0);
        }
    };
    let total = render(dst.cast(), cap.saturating_sub(1)).and_then(|n| {
        n.checked_add(1)
            .ok_or_else(|| crate::status::overflow(format!("the size of {what}")))
    });
    let total = match total {
        Ok(t) => t,
        Err(e) => {
            blank();
            return Err(e);
        }
    };
    if !needed.is_null() {
        needed.write(total);
    }
    if dst.is_null() {
        return Ok(());
    }
    if cap < total {
        blank();
        bail!(
            BufferTooSmall,
            "{what} needs {total} bytes but the buffer holds {cap}"
        );
    }
    dst.add(total - 1).write(0);
    Ok(())
}

/// [`write_text_with`] for a text already made.
///
/// # Safety
/// As [`output`].
pub(crate) unsafe fn write_text(
    text: &[u8],
    dst: (*mut std::ffi::c_char, &str),
    cap: usize,
    needed: *mut usize,
    what: &str,
) -> Result<()> {
    write_text_with(text.len(), dst, cap, needed, what, |out| {
        std::ptr::copy_nonoverlapping(text.as_ptr(), out, text.len());
        Ok(())
    })
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
