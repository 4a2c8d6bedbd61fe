//! Exporter procs: helpers for `getbuffer` procs, filling a view the way `PyBuffer_FillInfo`
//! does, and contiguous strides.

use std::ffi::{c_char, c_int, c_void};

use super::{boundary, nonnull, xbuf_bufferinfo, xbuf_object, XBUF_MAX_NDIM};
use crate::bail;
use crate::bufferinfo;
use crate::layout::{self, Order};
use crate::status::Result;

/// Fills `view` with one dimension of bytes (as `PyBuffer_FillInfo`), for exporters.
///
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
///
/// # Safety
/// `view` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable and
/// writable, used by no other thread during the call; `releaser` is NULL or an object pointer
/// (stored in the view as given); `buf` is NULL only with `len` 0, else points at `len` bytes that
/// stay valid until the view is released. Each must stay valid during the call (and longer where
/// stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_fill_info(
    view: *mut xbuf_bufferinfo,
    releaser: *mut xbuf_object,
    buf: *mut c_void,
    len: isize,
    readonly: c_int,
    flags: c_int,
) -> c_int {
    boundary!({
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

/// Writes the strides of a contiguous array into `strides`.
///
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
///
/// # Safety
/// `shape` is NULL or points at as many readable `ptrdiff_t` as stated above; `strides` is NULL or
/// points at as many writable `ptrdiff_t` as stated above. Each must stay valid during the call
/// (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_fill_contiguous_strides(
    ndim: c_int,
    shape: *const isize,
    itemsize: isize,
    strides: *mut isize,
    order: c_char,
) -> c_int {
    boundary!({
        let (n, order) = strides_request(ndim, itemsize, order)?;
        if n == 0 {
            return Ok(());
        }
        let shape = std::slice::from_raw_parts(nonnull(shape, "shape")?.as_ptr(), n);
        let out = nonnull(strides, "strides")?;
        let computed = strides_of(shape, itemsize, order)?;
        std::ptr::copy_nonoverlapping(computed.as_ptr(), out.as_ptr(), n);
        Ok(())
    })
}

/// The number of dimensions and the order of an `xbuf_fill_contiguous_strides` call, after
/// its `ndim`, `itemsize` and `order` are checked (in that order).
fn strides_request(ndim: c_int, itemsize: isize, order: c_char) -> Result<(usize, Order)> {
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
    Ok((ndim as usize, Order::from_char(order as u8)?))
}

/// The contiguous strides of `shape` (first `shape.len()` entries), or the error of a shape
/// whose size overflows.
fn strides_of(
    shape: &[isize],
    itemsize: isize,
    order: Order,
) -> Result<[isize; XBUF_MAX_NDIM as usize]> {
    layout::item_count(shape)?;
    let mut out = [0isize; XBUF_MAX_NDIM as usize];
    layout::contiguous_strides(shape, itemsize, order, &mut out[..shape.len()])?;
    Ok(out)
}
