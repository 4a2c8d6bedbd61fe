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
    if flags.writable() && bytes.2 {
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

/// Writes the whole current-size struct for a flat exporter's bytes: the view
/// `publish_bytes` writes, with the inline storage zero and the device the CPU.
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
    view.write(xbuf_bufferinfo {
        structsize: XBUF_BUFFERINFO_SIZE,
        buf: buf.cast(),
        releaser,
        len: len as isize,
        itemsize: 1,
        readonly: c_int::from(readonly),
        ndim: 1,
        format,
        shape,
        strides,
        suboffsets: ptr::null_mut(),
        internal: ptr::null_mut(),
        _private: [0, seal(view, releaser, 0)],
        _inline_layout: [0; XBUF_INLINE_LAYOUT],
        _inline_format: [0; XBUF_INLINE_FORMAT],
        device_type: XBUF_DEVICE_CPU,
        device_id: 0,
    });
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
/// held, set to zero.
#[inline(always)]
unsafe fn empty_current(view: *mut xbuf_bufferinfo) {
    ptr::write_bytes(
        (view as *mut u8).add(std::mem::size_of::<usize>()),
        0,
        XBUF_BUFFERINFO_SIZE - std::mem::size_of::<usize>(),
    );
}

#[cfg(test)]
mod tests;
