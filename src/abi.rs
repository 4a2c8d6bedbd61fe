//! The rules of the C structs that are not part of the header: which request bits exist and
//! how a caller's `structsize` is checked (the structs and constants themselves are in
//! `crate::capi`).

use std::ffi::c_int;

use crate::capi::{XBUF_DEVICE, XBUF_STRUCTSIZE_MAX};

/// Every bit a request may carry.
/// cbindgen:ignore
pub(crate) const FLAG_BITS: c_int =
    0x01 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | XBUF_DEVICE;

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
