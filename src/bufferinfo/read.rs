//! Reading a consumer's filled view for the helper functions (copies, comparisons): its layout
//! borrowed in place ([`ViewLayout`]), checked once, and the refusal of memory on devices
//! other than the CPU.

use super::*;

/// A consumer view's layout, read for the helper functions. Missing shape means one dimension
/// of `len / itemsize` items; missing strides mean C-contiguous.
pub struct ViewLayout<'a> {
    pub buf: *mut u8,
    pub len: isize,
    pub itemsize: isize,
    pub readonly: bool,
    shape: Option<&'a [isize]>,
    one: isize,
    pub strides: Option<&'a [isize]>,
    pub suboffsets: Option<&'a [isize]>,
    /// `(device_type, device_id)`; the CPU's is `(XBUF_DEVICE_CPU, 0)`.
    pub device: (i32, i32),
}

impl<'a> ViewLayout<'a> {
    /// Refuses a view of memory on a device other than the CPU, for an operation (`what`)
    /// that reads or writes its items.
    pub fn check_cpu(&self, what: &str) -> Result<()> {
        check_cpu(self.device, what)
    }
    pub fn shape(&self) -> &[isize] {
        self.shape.unwrap_or(std::slice::from_ref(&self.one))
    }
    pub fn has_suboffsets(&self) -> bool {
        self.suboffsets.is_some_and(|s| s.iter().any(|&x| x >= 0))
    }

    /// The layout as the kernels take it, borrowing the view's arrays; a missing shape or
    /// missing strides are made in `room`.
    #[inline]
    pub fn strided<'s>(&self, room: &'s mut StrideBuf) -> Result<Strided<'s>>
    where
        'a: 's,
    {
        let (shape, strides) = room.complete(self.shape, self.one, self.strides, self.itemsize)?;
        Ok(Strided {
            buf: self.buf,
            itemsize: self.itemsize,
            shape,
            strides,
            suboffsets: self.suboffsets.filter(|s| s.iter().any(|&x| x >= 0)),
        })
    }
}

/// Reads a view filled by `xbuf_get_buffer` or by hand (a consumer may describe memory it
/// owns). Refuses empty views and impossible field values; trusts the array pointers.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` readable bytes whose non-NULL
/// `shape`, `strides` and `suboffsets` point at `ndim` entries each.
#[inline(always)]
pub unsafe fn read_view<'a>(view: *const xbuf_bufferinfo) -> Result<ViewLayout<'a>> {
    let size = (*view).structsize;
    check_structsize(size)?;
    if size > XBUF_BUFFERINFO_SIZE {
        check_not_scratch(view, size)?;
        check_unknown_tail("xbuf_bufferinfo", view.cast(), size, XBUF_BUFFERINFO_SIZE)?;
    }
    // The fields one by one: a struct of an older, shorter size has no device fields.
    let buf = (*view).buf.cast::<u8>();
    let itemsize = (*view).itemsize;
    let len = (*view).len;
    let ndim = (*view).ndim;
    if itemsize == 0 && (*view).releaser.is_null() && buf.is_null() {
        bail!(Released, "the view is empty (released, or never filled)");
    }
    if itemsize < 1 {
        bail!(InvalidArgument, "the view's itemsize is {}", itemsize);
    }
    if len < 0 {
        bail!(InvalidArgument, "the view's len is {}", len);
    }
    if !(0..=XBUF_MAX_NDIM).contains(&ndim) {
        bail!(
            InvalidArgument,
            "the view's ndim is {} (0 to {} allowed)",
            ndim,
            XBUF_MAX_NDIM
        );
    }
    let n = ndim as usize;
    let arr = |p: *mut isize| {
        if p.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(p as *const isize, n))
        }
    };
    let shape = arr((*view).shape);
    if shape.is_none() && len % itemsize != 0 {
        bail!(
            InvalidArgument,
            "the view has no shape and len {} is not a multiple of itemsize {}",
            len,
            itemsize
        );
    }
    let strides = shape.and_then(|_| arr((*view).strides));
    let suboffsets = strides.and_then(|_| arr((*view).suboffsets));
    let out = ViewLayout {
        buf,
        len,
        itemsize,
        readonly: (*view).readonly != 0,
        shape,
        // Read only without a shape (a division is slow).
        one: if shape.is_none() { len / itemsize } else { 0 },
        strides,
        suboffsets,
        device: read_device(view),
    };
    // Without a shape the length is the layout's by definition.
    if let Some(shape) = shape {
        if !len_matches(shape, itemsize, len) {
            len_mismatch(shape, itemsize, len)?;
        }
    }
    Ok(out)
}

/// Whether `len == product(shape) * itemsize` with every extent non-negative and no step
/// overflowing (a quick test: a `false` may still be a valid layout, see [`len_mismatch`]).
#[inline(always)]
pub(super) fn len_matches(shape: &[isize], itemsize: isize, len: isize) -> bool {
    let mut n = itemsize;
    for &s in shape {
        if s < 0 {
            return false;
        }
        match n.checked_mul(s) {
            Some(v) => n = v,
            None => return false,
        }
    }
    n == len
}

/// The precise verdict on a view whose length [`len_matches`] did not confirm: its error, or
/// `Ok` (a zero extent after a product that overflows only with the item size).
#[cold]
#[inline(never)]
pub(super) fn len_mismatch(shape: &[isize], itemsize: isize, len: isize) -> Result<()> {
    let expect = layout::byte_len(shape, itemsize)?;
    if expect != len {
        bail!(
            InvalidArgument,
            "the view's len {} disagrees with shape {:?} and itemsize {} ({})",
            len,
            shape,
            itemsize,
            expect
        );
    }
    Ok(())
}

/// Refuses memory on a device other than the CPU for an operation (`what`) that reads or
/// writes items.
pub(crate) fn check_cpu(device: (i32, i32), what: &str) -> Result<()> {
    if device.0 == XBUF_DEVICE_CPU || device.0 == 0 {
        return Ok(());
    }
    Err(device_refused(device, what))
}

#[cold]
#[inline(never)]
fn device_refused(device: (i32, i32), what: &str) -> crate::status::Error {
    err!(
        Unsupported,
        "{what} reads or writes items, but the memory is on device {} (id {}), not the CPU",
        device.0,
        device.1
    )
}
