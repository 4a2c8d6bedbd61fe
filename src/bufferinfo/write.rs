//! Writing a checked plan into a consumer's view: its layout and format inline or in a heap
//! block, the published prefix written last and sealed.

use super::*;

pub(super) static FORMAT_B: [c_char; 2] = [b'B' as c_char, 0];

/// Writes a checked plan into the consumer's view. On failure nothing was written.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` writable bytes (checked beforehand),
/// which must stay where it is until released.
pub(super) unsafe fn write_view(
    view: *mut xbuf_bufferinfo,
    plan: &Plan<'_>,
    releaser: *mut xbuf_object,
) -> Result<()> {
    let size = (*view).structsize;
    let inline = size >= XBUF_BUFFERINFO_SIZE_NODEVICE;
    let n = plan.ndim_out();
    let flat = plan.is_flat_bytes();
    let arrays = usize::from(plan.give_shape)
        + usize::from(plan.give_strides)
        + usize::from(plan.give_suboffsets());
    let layout_words = if flat { 0 } else { n * arrays };
    let layout_inline = inline && layout_words <= XBUF_INLINE_LAYOUT;
    let fmt = plan.format;
    let fmt_static = !plan.give_format || fmt == b"B";
    let fmt_inline = !fmt_static && inline && fmt.len() < XBUF_INLINE_FORMAT;
    let heap_words = if layout_inline { 0 } else { layout_words }
        + if fmt_static || fmt_inline {
            0
        } else {
            fmt.len() / 8 + 1
        };
    let table_words = plan.table.map_or(0, <[_]>::len);

    let block = if heap_words + table_words > 0 {
        Some(Block::alloc(table_words, heap_words)?)
    } else {
        None
    };
    // `buf` at the same entry of the view's own copy of the exporter's table.
    let buf = match (plan.table, &block) {
        (Some(t), Some(b)) => {
            ptr::copy_nonoverlapping(t.as_ptr(), b.table() as *mut *mut u8, t.len());
            let at = plan.buf as usize - t.as_ptr() as usize;
            (b.table() as *mut u8).add(at)
        }
        _ => plan.buf,
    };
    let mut words: *mut isize = match &block {
        Some(b) if !layout_inline => b.data(),
        _ => addr_of_mut!((*view)._inline_layout) as *mut isize,
    };
    let mut next = |count: usize| -> *mut isize {
        let p = words;
        words = words.add(count);
        p
    };

    // Shape and strides: the flat-bytes case points at `len` and `itemsize` as CPython does.
    let len_ptr = addr_of_mut!((*view).len);
    let shape_ptr = if !plan.give_shape {
        ptr::null_mut()
    } else if flat || n == 0 {
        len_ptr
    } else {
        let p = next(n);
        copy_words(plan.shape().as_ptr(), p, n);
        p
    };
    let strides_ptr = if !plan.give_strides {
        ptr::null_mut()
    } else if flat {
        addr_of_mut!((*view).itemsize)
    } else if n == 0 {
        len_ptr
    } else {
        let p = next(n);
        match plan.strides {
            Some(s) => copy_words(s.as_ptr(), p, n),
            None => {
                let out = std::slice::from_raw_parts_mut(p, n);
                if let Err(e) =
                    layout::contiguous_strides(plan.shape(), plan.itemsize, Order::C, out)
                {
                    if let Some(b) = block {
                        Block::free(b.ptr as usize);
                    }
                    return Err(e);
                }
            }
        }
        p
    };
    let subs_ptr = match plan.suboffsets {
        Some(s) => {
            let p = next(n);
            copy_words(s.as_ptr(), p, n);
            p
        }
        None => ptr::null_mut(),
    };
    let format_ptr: *const c_char = if !plan.give_format {
        ptr::null()
    } else if fmt_static {
        FORMAT_B.as_ptr()
    } else {
        let dst: *mut c_char = if fmt_inline {
            addr_of_mut!((*view)._inline_format) as *mut c_char
        } else {
            let b = block.as_ref().expect("format block allocated");
            b.data().add(if layout_inline { 0 } else { layout_words }) as *mut c_char
        };
        if let [c] = fmt {
            // A single code, as most views have: no call.
            *dst = *c as c_char;
        } else {
            ptr::copy_nonoverlapping(fmt.as_ptr() as *const c_char, dst, fmt.len());
        }
        *dst.add(fmt.len()) = 0;
        dst
    };

    let block_addr = block.map_or(0, |b| b.ptr as usize);
    publish(
        view,
        Header {
            buf,
            releaser,
            len: plan.len,
            itemsize: plan.itemsize,
            readonly: plan.readonly,
            ndim: n as c_int,
            format: format_ptr,
            shape: shape_ptr,
            strides: strides_ptr,
            suboffsets: subs_ptr,
            internal: plan.internal,
            block: block_addr,
            device: plan.device,
        },
    );
    Ok(())
}

/// Every field of a filled view's published prefix.
pub(super) struct Header {
    pub(super) buf: *mut u8,
    pub(super) releaser: *mut xbuf_object,
    pub(super) len: isize,
    pub(super) itemsize: isize,
    pub(super) readonly: bool,
    pub(super) ndim: c_int,
    pub(super) format: *const c_char,
    pub(super) shape: *mut isize,
    pub(super) strides: *mut isize,
    pub(super) suboffsets: *mut isize,
    pub(super) internal: *mut c_void,
    pub(super) block: usize,
    /// Written only into a struct that has the device fields.
    pub(super) device: (i32, i32),
}

/// Writes a filled view: every field of the published prefix, the seal, and zeros over the
/// unknown tail of a newer, larger struct.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` (checked) writable bytes.
pub(super) unsafe fn publish(view: *mut xbuf_bufferinfo, h: Header) {
    let size = (*view).structsize;
    addr_of_mut!((*view).buf).write(h.buf.cast());
    addr_of_mut!((*view).releaser).write(h.releaser);
    addr_of_mut!((*view).len).write(h.len);
    addr_of_mut!((*view).itemsize).write(h.itemsize);
    addr_of_mut!((*view).readonly).write(c_int::from(h.readonly));
    addr_of_mut!((*view).ndim).write(h.ndim);
    addr_of_mut!((*view).format).write(h.format);
    addr_of_mut!((*view).shape).write(h.shape);
    addr_of_mut!((*view).strides).write(h.strides);
    addr_of_mut!((*view).suboffsets).write(h.suboffsets);
    addr_of_mut!((*view).internal).write(h.internal);
    addr_of_mut!((*view)._private).write([h.block, seal(view, h.releaser, h.block)]);
    if size >= XBUF_BUFFERINFO_SIZE {
        addr_of_mut!((*view).device_type).write(h.device.0);
        addr_of_mut!((*view).device_id).write(h.device.1);
    }
    if size > XBUF_BUFFERINFO_SIZE {
        ptr::write_bytes(
            (view as *mut u8).add(XBUF_BUFFERINFO_SIZE),
            0,
            size - XBUF_BUFFERINFO_SIZE,
        );
    }
}

/// The fast path for exporters whose memory is one dimension of bytes owned by themselves
/// (the answer `Exporter::flat_bytes` gives): the same view the general path would write,
/// without building a response and a plan.
pub(super) unsafe fn publish_bytes(
    view: *mut xbuf_bufferinfo,
    obj: &Object,
    (buf, len, readonly): (*mut u8, usize, bool),
    flags: Flags,
) -> Result<()> {
    if flags.writable() && readonly {
        bail!(
            ReadOnly,
            "exporter '{}' has read-only memory but the request 0x{:x} asks for XBUF_WRITABLE",
            obj.type_name().to_string_lossy(),
            flags.0
        );
    }
    let len_ptr = addr_of_mut!((*view).len);
    publish(
        view,
        Header {
            buf,
            releaser: obj.as_ptr().cast(),
            len: len as isize,
            itemsize: 1,
            readonly,
            ndim: 1,
            format: if flags.format() {
                FORMAT_B.as_ptr()
            } else {
                ptr::null()
            },
            shape: if flags.nd() { len_ptr } else { ptr::null_mut() },
            strides: if flags.strides() {
                addr_of_mut!((*view).itemsize)
            } else {
                ptr::null_mut()
            },
            suboffsets: ptr::null_mut(),
            internal: ptr::null_mut(),
            block: 0,
            device: (XBUF_DEVICE_CPU, 0),
        },
    );
    Ok(())
}
