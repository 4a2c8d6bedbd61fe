//! The short path of the commonest round trip: a struct of this version's size
//! (`structsize == sizeof(xbuf_bufferinfo)`), empty, asked with consistent flags, and a view
//! without a heap block released from such a struct. Everything else, and every refusal the
//! short path does not decide itself, takes the general path ([`get_checked`],
//! [`release_checked`]), which makes the same decisions with every case spelt out.
//!
//! Nothing is skipped: the short path applies exactly the checks of the general one in the
//! case it covers (the general path's `structsize` range, filled-view and `XBUF_DEVICE`
//! checks all pass for an empty current-size struct), counts the export atomically before
//! the exporter runs, and on release checks the seal, the releaser's liveness and its view
//! exports before the exporter's `releasebuffer` and the atomic drop.

use super::*;

/// [`get_buffer`] for an empty struct of this version's size and flags that
/// [`Flags::valid`] accepts. On failure the view is left empty.
///
/// # Safety
/// As [`get_buffer`]; `(*view).structsize == XBUF_BUFFERINFO_SIZE`.
#[inline(always)]
pub(super) unsafe fn get_current(
    obj: &Object,
    view: *mut xbuf_bufferinfo,
    flags: Flags,
) -> Result<()> {
    if let Err(e) = obj.add_export() {
        return Err(emptied(view, e));
    }
    // A flat exporter's memory, read from the cell it keeps it in: no call.
    match obj.flat_cell() {
        Some(cell) => put_flat(obj, view, cell.get(), flags),
        None => get_current_asked(obj, view, flags),
    }
}

/// Fills the view with a flat exporter's bytes, or refuses a WRITABLE request for read-only
/// bytes; the export is counted.
#[inline(always)]
unsafe fn put_flat(
    obj: &Object,
    view: *mut xbuf_bufferinfo,
    bytes: (*mut u8, usize, bool),
    flags: Flags,
) -> Result<()> {
    // One test of both bits: a WRITABLE request for read-only bytes.
    if flags.0 & XBUF_WRITABLE & c_int::from(bytes.2) != 0 {
        return Err(refuse_flat(obj, view, flags));
    }
    write_flat(view, obj, bytes, flags);
    Ok(())
}

/// [`get_current`] for exporters without a [`FlatCell`](crate::object::FlatCell): flat bytes
/// asked for, or an answer filled by the general path; the export is counted.
#[inline(never)]
unsafe fn get_current_asked(obj: &Object, view: *mut xbuf_bufferinfo, flags: Flags) -> Result<()> {
    let exporter = obj.exporter();
    // A trusted exporter answers with a layout, never with flat bytes: it is not asked for them.
    let trusted = obj.trusted();
    debug_assert!(!trusted || exporter.flat_bytes().is_none());
    if !trusted {
        if let Some(bytes) = exporter.flat_bytes() {
            return put_flat(obj, view, bytes, flags);
        }
    }
    // The inline storage starts empty, so that every byte of the struct is defined once the
    // view is filled.
    ptr::write_bytes(
        (view as *mut u8).add(XBUF_BUFFERINFO_SIZE_MIN),
        0,
        XBUF_BUFFERINFO_SIZE - XBUF_BUFFERINFO_SIZE_MIN,
    );
    let result = if trusted {
        fill_trusted(obj, view, flags)
    } else {
        fill_general(obj, view, flags)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => Err(emptied(view, e)),
    }
}

/// Empties a current-size view after a failed get and passes the error on.
#[cold]
#[inline(never)]
unsafe fn emptied(view: *mut xbuf_bufferinfo, e: crate::status::Error) -> crate::status::Error {
    make_empty(view, XBUF_BUFFERINFO_SIZE);
    e
}

/// A WRITABLE request to a flat exporter with read-only memory: the export counted for it is
/// returned and the view left empty.
#[cold]
#[inline(never)]
unsafe fn refuse_flat(
    obj: &Object,
    view: *mut xbuf_bufferinfo,
    flags: Flags,
) -> crate::status::Error {
    Object::drop_export(NonNull::from(obj));
    emptied(
        view,
        err!(
            ReadOnly,
            "exporter '{}' has read-only memory but the request 0x{:x} asks for XBUF_WRITABLE",
            obj.type_name().to_string_lossy(),
            flags.0
        ),
    )
}

/// Writes a current-size struct for a flat exporter's bytes: the view `publish_bytes` writes,
/// with the inline storage zero and the device the CPU. The inline storage is only read unless
/// it holds something: a struct set up as the header asks (or released) has it zero already.
#[inline(always)]
unsafe fn write_flat(
    view: *mut xbuf_bufferinfo,
    obj: &Object,
    (buf, len, readonly): (*mut u8, usize, bool),
    flags: Flags,
) {
    let releaser: *mut xbuf_object = obj.as_ptr().cast();
    let format = if flags.format() {
        FORMAT_B.as_ptr()
    } else {
        ptr::null()
    };
    let shape = if flags.nd() {
        addr_of_mut!((*view).len)
    } else {
        ptr::null_mut()
    };
    let strides = if flags.strides() {
        addr_of_mut!((*view).itemsize)
    } else {
        ptr::null_mut()
    };
    clear_inline(view);
    addr_of_mut!((*view).buf).write(buf.cast());
    addr_of_mut!((*view).releaser).write(releaser);
    addr_of_mut!((*view).len).write(len as isize);
    addr_of_mut!((*view).itemsize).write(1);
    addr_of_mut!((*view).readonly).write(c_int::from(readonly));
    addr_of_mut!((*view).ndim).write(1);
    addr_of_mut!((*view).format).write(format);
    addr_of_mut!((*view).shape).write(shape);
    addr_of_mut!((*view).strides).write(strides);
    addr_of_mut!((*view).suboffsets).write(ptr::null_mut());
    addr_of_mut!((*view).internal).write(ptr::null_mut());
    addr_of_mut!((*view)._private).write([0, seal(view, releaser, 0)]);
    addr_of_mut!((*view).device_type).write(XBUF_DEVICE_CPU);
    addr_of_mut!((*view).device_id).write(0);
}

/// Bytes of a current-size struct's inline storage (`_inline_layout` and `_inline_format`).
const INLINE_BYTES: usize = XBUF_BUFFERINFO_SIZE_NODEVICE - XBUF_BUFFERINFO_SIZE_MIN;

/// Sets a current-size struct's inline storage to zero, writing it only when some byte of it
/// is not (a struct that was not zero to start with): a read costs less than a write, which
/// every atomic operation after it waits for.
#[inline(always)]
unsafe fn clear_inline(view: *mut xbuf_bufferinfo) {
    let inline = (view as *mut u8).add(XBUF_BUFFERINFO_SIZE_MIN);
    let words = ptr::read_unaligned(inline as *const [u64; INLINE_BYTES / 8]);
    if words.iter().fold(0, |a, &w| a | w) != 0 {
        // No call: the common path keeps no registers for one.
        ptr::write_bytes(inline, 0, INLINE_BYTES);
    }
}

/// [`release`] for a current-size view. A view without a heap block, whose seal holds and
/// whose releaser is a live object holding a view's export, is released here; every other
/// view goes to the general path, which decides it.
///
/// # Safety
/// As [`release`]; `(*view).structsize == XBUF_BUFFERINFO_SIZE`.
#[inline(always)]
pub(super) unsafe fn release_current(view: *mut xbuf_bufferinfo) -> Result<()> {
    let releaser = (*view).releaser;
    let Some(rel_ptr) = NonNull::new(releaser) else {
        return Ok(());
    };
    if (*view)._private[0] != 0 || (*view)._private[1] != seal(view, releaser, 0) {
        return release_checked(view);
    }
    let Some(rel) = Object::live(rel_ptr.cast()) else {
        return release_checked(view);
    };
    if !rel.release_ignores_views() {
        return release_current_calling(view, rel);
    }
    // Nothing to call: the check and the drop are one step on the count.
    match Object::drop_held_view_export(rel_ptr.cast()) {
        None => release_checked(view),
        Some(last) => {
            empty_current(view);
            if last {
                Object::free_dropped(rel_ptr.cast());
            }
            Ok(())
        }
    }
}

/// [`release_current`] for a releaser whose `release_buffer` is called with the view.
#[inline(never)]
unsafe fn release_current_calling(view: *mut xbuf_bufferinfo, rel: &Object) -> Result<()> {
    if !rel.holds_view_export() {
        return release_checked(view);
    }
    rel.exporter().release_buffer(rel, view);
    let dropped = Object::drop_view_export(NonNull::from(rel));
    empty_current(view);
    if !dropped {
        // Only a release racing with another release of the same view gets here.
        return Err(already_released(view, rel));
    }
    Ok(())
}

/// Every field of a current-size view but `structsize`, and its inline storage, whatever it
/// held, set to zero. The inline storage is written only for a view with a format or a layout
/// pointer: the library keeps a layout or format there only with `format`, `shape`, `strides`
/// or `suboffsets` pointing into it, and a struct it fills starts with the storage zero, so a
/// view with none of the four has it zero still.
#[inline(always)]
unsafe fn empty_current(view: *mut xbuf_bufferinfo) {
    const WORD: usize = std::mem::size_of::<usize>();
    // Read one by one, as they were written: two wider reads, each spanning two writes that
    // may still be pending, measured slower.
    let pointers = ptr::addr_of!((*view).format).read_volatile() as usize
        | ptr::addr_of!((*view).shape).read_volatile() as usize
        | ptr::addr_of!((*view).strides).read_volatile() as usize
        | ptr::addr_of!((*view).suboffsets).read_volatile() as usize;
    ptr::write_bytes(
        (view as *mut u8).add(WORD),
        0,
        XBUF_BUFFERINFO_SIZE_MIN - WORD,
    );
    addr_of_mut!((*view).device_type).write(0);
    addr_of_mut!((*view).device_id).write(0);
    if pointers != 0 {
        ptr::write_bytes(
            (view as *mut u8).add(XBUF_BUFFERINFO_SIZE_MIN),
            0,
            INLINE_BYTES,
        );
    }
}

#[cfg(test)]
mod tests;
