//! Views that move or that the library holds: `xbuf_bufferinfo_move`, and the structs a view
//! object keeps of its base ([`HeldView`], [`HeldInfo`]).

use super::*;

/// `xbuf_bufferinfo_move`: relocates the view in `src` into `dst` and empties `src`.
///
/// A filled view's `shape`, `strides`, `suboffsets` and `format` may point into its own struct
/// (at `len` and `itemsize`, or into the inline storage); those are re-pointed at the same
/// places in `dst`, the inline storage is copied, and the view is sealed for its new address.
/// Layout kept on the heap moves with the view (its block changes owner, nothing is
/// allocated). The releaser's counts do not change. An empty `src` (releaser NULL) makes `dst`
/// empty. On failure neither struct changes.
///
/// # Safety
/// `dst` and `src` must each point at a struct of at least its `structsize` bytes, readable and
/// writable.
pub unsafe fn move_view(dst: *mut xbuf_bufferinfo, src: *mut xbuf_bufferinfo) -> Result<()> {
    let src_size = (*src).structsize;
    check_structsize(src_size)?;
    let releaser = (*src).releaser;
    let filled = !releaser.is_null();
    if filled && !is_filled(src) {
        bail!(
            InvalidArgument,
            "src at {:p} was not filled by xbuf_get_buffer, or was moved, copied or overwritten since",
            src
        );
    }
    if dst == src {
        return Ok(());
    }
    let dst_size = (*dst).structsize;
    check_structsize(dst_size)?;
    let (d, s) = (dst as usize, src as usize);
    if d < s + src_size && s < d + dst_size {
        bail!(
            InvalidArgument,
            "dst ({:p}, {} bytes) and src ({:p}, {} bytes) overlap",
            dst,
            dst_size,
            src,
            src_size
        );
    }
    if is_filled(dst) {
        bail!(
            InvalidArgument,
            "dst at {:p} holds a view; release it before moving another one into it",
            dst
        );
    }
    if !filled {
        make_empty(dst, dst_size);
        make_empty(src, src_size);
        return Ok(());
    }
    check_unknown_tail(
        "xbuf_bufferinfo",
        src.cast(),
        src_size,
        XBUF_BUFFERINFO_SIZE,
    )?;

    // Where each layout pointer goes: into `dst` at the same offset when it points into `src`
    // (the inline storage only exists in a full-size `dst`), elsewhere unchanged.
    let src_end = s + src_size.min(XBUF_BUFFERINFO_SIZE);
    let base = dst as *mut u8;
    let relocate = |p: *const u8| -> Result<*mut u8> {
        let a = p as usize;
        if a < s || a >= src_end {
            return Ok(p.cast_mut());
        }
        let off = a - s;
        if off >= XBUF_BUFFERINFO_SIZE_MIN && dst_size < XBUF_BUFFERINFO_SIZE_NODEVICE {
            bail!(
                StructTooOld,
                "src keeps its layout in its inline storage, which dst (structsize {}) lacks; dst needs structsize {} (sizeof(xbuf_bufferinfo))",
                dst_size,
                XBUF_BUFFERINFO_SIZE
            );
        }
        Ok(base.add(off))
    };
    let v = read_prefix(src);
    if v.device_type != XBUF_DEVICE_CPU && dst_size < XBUF_BUFFERINFO_SIZE {
        bail!(
            StructTooOld,
            "src holds memory on device {} (not the CPU), which dst (structsize {}) cannot describe; dst needs structsize {} (sizeof(xbuf_bufferinfo))",
            v.device_type,
            dst_size,
            XBUF_BUFFERINFO_SIZE
        );
    }
    let shape = relocate(v.shape.cast())?;
    let strides = relocate(v.strides.cast())?;
    let suboffsets = relocate(v.suboffsets.cast())?;
    let format = relocate(v.format.cast())?;

    // The inline storage: copied when both structs have it, else zero in `dst`.
    if dst_size >= XBUF_BUFFERINFO_SIZE_NODEVICE && src_size >= XBUF_BUFFERINFO_SIZE_NODEVICE {
        ptr::copy_nonoverlapping(
            (src as *const u8).add(XBUF_BUFFERINFO_SIZE_MIN),
            base.add(XBUF_BUFFERINFO_SIZE_MIN),
            XBUF_BUFFERINFO_SIZE_NODEVICE - XBUF_BUFFERINFO_SIZE_MIN,
        );
    } else {
        let n = dst_size.min(XBUF_BUFFERINFO_SIZE_NODEVICE) - XBUF_BUFFERINFO_SIZE_MIN;
        ptr::write_bytes(base.add(XBUF_BUFFERINFO_SIZE_MIN), 0, n);
    }
    publish(
        dst,
        Header {
            buf: v.buf.cast(),
            releaser,
            len: v.len,
            itemsize: v.itemsize,
            readonly: v.readonly != 0,
            ndim: v.ndim,
            format: format as *const c_char,
            shape: shape.cast(),
            strides: strides.cast(),
            suboffsets: suboffsets.cast(),
            internal: v.internal,
            block: v._private[0],
            device: (v.device_type, v.device_id),
        },
    );
    make_empty(src, src_size);
    Ok(())
}

/// A view the library holds for itself (a view object's or a slice's export of its base): a
/// full-size struct on the heap that never moves, released when dropped (also when a panic
/// unwinds through its owner).
pub struct HeldView(NonNull<xbuf_bufferinfo>);

// SAFETY: the struct is owned; its fields are read by any thread that holds the owner, and it
// is written only by `release_in_place`, whose callers exclude every reader.
unsafe impl Send for HeldView {}
unsafe impl Sync for HeldView {}

impl HeldView {
    /// Asks `obj` for a view for `flags`.
    pub fn get(obj: &Object, flags: c_int) -> Result<HeldView> {
        let p = NonNull::from(Box::leak(Box::new(xbuf_bufferinfo::empty())));
        // SAFETY: a full-size struct that stays where it is until it is released and freed.
        match unsafe { get_buffer(obj, p.as_ptr(), flags) } {
            Ok(()) => Ok(HeldView(p)),
            Err(e) => {
                // SAFETY: made by Box::leak above, never shared.
                drop(unsafe { Box::from_raw(p.as_ptr()) });
                Err(e)
            }
        }
    }

    /// The view (empty after [`HeldView::release_in_place`]).
    pub fn ptr(&self) -> *mut xbuf_bufferinfo {
        self.0.as_ptr()
    }

    /// Releases the view now; the struct stays, empty, until the `HeldView` is dropped.
    ///
    /// # Safety
    /// Nobody may read the view meanwhile.
    pub unsafe fn release_in_place(&self) -> Result<()> {
        release(self.0.as_ptr())
    }
}

impl Drop for HeldView {
    fn drop(&mut self) {
        // SAFETY: filled by get_buffer (or already emptied, which release ignores); made by
        // Box::leak in `get`.
        unsafe {
            let _ = release(self.0.as_ptr());
            drop(Box::from_raw(self.0.as_ptr()));
        }
    }
}

/// A view the library holds inside one of its own objects (a derived view's export): a
/// full-size struct that is filled in place, once the object holding it is at its final
/// address, and released when dropped.
pub struct HeldInfo(std::cell::UnsafeCell<xbuf_bufferinfo>);

// SAFETY: as for `HeldView`.
unsafe impl Send for HeldInfo {}
unsafe impl Sync for HeldInfo {}

impl HeldInfo {
    /// An empty view (nothing to release).
    pub fn empty() -> HeldInfo {
        HeldInfo(std::cell::UnsafeCell::new(xbuf_bufferinfo::empty()))
    }

    /// The struct.
    pub fn ptr(&self) -> *mut xbuf_bufferinfo {
        self.0.get()
    }

    /// Fills the (empty) struct with a layout the library made itself, handing it to
    /// `releaser`, which must already count the export this view takes over. The request
    /// rules are not applied again: the struct describes the whole layout. On failure nothing
    /// was written and the export is still the caller's.
    ///
    /// # Safety
    /// The struct must stay where it is until it is released (the `HeldInfo` is not moved).
    pub unsafe fn fill_derived(&self, releaser: &Object, plan: &Plan<'_>) -> Result<()> {
        write_view(self.ptr(), plan, releaser.as_ptr().cast())
    }

    /// Releases the view now; the struct stays, empty.
    ///
    /// # Safety
    /// Nobody may read the view meanwhile.
    pub unsafe fn release_in_place(&self) -> Result<()> {
        release(self.ptr())
    }
}

impl Drop for HeldInfo {
    fn drop(&mut self) {
        // SAFETY: filled in place by `fill_derived` or `get_buffer`, or empty (a no-op).
        let _ = unsafe { release(self.ptr()) };
    }
}
