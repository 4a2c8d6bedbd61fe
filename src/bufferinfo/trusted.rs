//! Filling a view from a trusted exporter's answer (a built-in array's, a view's: a layout the
//! library made and checked itself, asked without a scratch struct): the request's rules
//! decided in one pass (`request::grant_rules`) and, when the layout and format fit the
//! consumer's inline storage, the view written straight from the answer, without a plan.

use super::*;
use crate::request::Granted;

/// [`fill`] for an exporter with `Exporter::trusted`. The export counted on `obj` is the
/// caller's; on failure this returns it.
///
/// # Safety
/// As [`get_buffer`]; the view's inline storage within `structsize` is zero.
#[inline(never)]
pub(super) unsafe fn fill_trusted(
    obj: &Object,
    view: *mut xbuf_bufferinfo,
    flags: Flags,
) -> Result<()> {
    let obj_ptr = NonNull::from(obj);
    let exporter = obj.exporter();
    // The answer is read where the exporter wrote it, not moved out of its `Result`.
    let answer = exporter.trusted_answer(obj, flags.0);
    let resp: &Response<'_> = match &answer {
        Ok(r) => r,
        Err(_) => {
            Object::drop_export(obj_ptr);
            return answer.map(|_| ());
        }
    };
    // A trusted answer names no releaser from C and fills no scratch view of its own.
    debug_assert!(!resp.nested && !resp.releaser_from_c);
    let internal = resp.internal;

    // Move the export to the releaser the exporter named, if it is another object (one the
    // exporter holds, checked all the same).
    let releaser: &Object = match resp.releaser {
        Some(r) if r != obj_ptr => {
            let rel = match Object::check(r) {
                Ok(rel) => rel,
                Err(e) => {
                    let e = releaser_not_live(obj, e);
                    abandon_answer(obj, &mut xbuf_bufferinfo::empty(), internal, obj_ptr);
                    return Err(e);
                }
            };
            if let Err(e) = rel.add_export() {
                abandon_answer(rel, &mut xbuf_bufferinfo::empty(), internal, obj_ptr);
                return Err(e);
            }
            Object::drop_export(obj_ptr);
            rel
        }
        _ => obj,
    };

    let written = match request::grant_rules(resp, flags, obj.type_name()) {
        Ok(granted) => {
            if write_direct(view, resp, &granted, flags, releaser.as_ptr().cast()) {
                Ok(())
            } else {
                write_granted(view, resp, flags, obj, releaser)
            }
        }
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        abandon_answer(
            releaser,
            &mut xbuf_bufferinfo::empty(),
            internal,
            NonNull::from(releaser),
        );
        return Err(e);
    }
    Ok(())
}

/// The general writing of a trusted answer (a plan from `request::grant`), for what
/// [`write_direct`] leaves: suboffsets, a heap block, a short struct.
#[cold]
#[inline(never)]
unsafe fn write_granted(
    view: *mut xbuf_bufferinfo,
    resp: &Response<'_>,
    flags: Flags,
    obj: &Object,
    releaser: &Object,
) -> Result<()> {
    request::grant(resp, flags, obj.type_name())
        .and_then(|plan| write_view(view, &plan, releaser.as_ptr().cast()))
}

/// Writes the view [`write_view`] would write for `request::grant`'s plan of `r`, straight
/// from the answer, when everything fits the view's inline storage: a struct with that
/// storage, no suboffsets, the layout within `XBUF_INLINE_LAYOUT` words and the format (when
/// given and not `"B"`) within `XBUF_INLINE_FORMAT` bytes. Returns false, having written
/// nothing, otherwise.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` (checked) writable bytes whose
/// inline storage within `structsize` is zero; `r` must be a trusted answer that passed
/// `request::grant_rules` for `flags`, giving `g`.
#[inline(always)]
pub(super) unsafe fn write_direct(
    view: *mut xbuf_bufferinfo,
    r: &Response<'_>,
    g: &Granted<'_>,
    flags: Flags,
    releaser: *mut xbuf_object,
) -> bool {
    if (*view).structsize < XBUF_BUFFERINFO_SIZE_NODEVICE || g.suboffsets.is_some() {
        return false;
    }
    let (Some(shape), Some(strides)) = (r.shape, r.strides) else {
        return false;
    };
    let give_shape = flags.nd();
    let give_strides = flags.strides();
    let n = if give_shape { shape.len() } else { 1 };
    let arrays = usize::from(give_shape) + usize::from(give_strides);
    // The one-dimensional bytes case: `shape` at `len` and `strides` at `itemsize`, as the
    // general writer (and CPython) does.
    let flat = r.itemsize == 1 && n == 1 && strides == [1];
    if !flat && n * arrays > XBUF_INLINE_LAYOUT {
        return false;
    }
    let fmt = request::format_text(r.format);
    let give_format = flags.format();
    let fmt_static = !give_format || fmt == b"B";
    if !fmt_static && fmt.len() >= XBUF_INLINE_FORMAT {
        return false;
    }

    let len_ptr = addr_of_mut!((*view).len);
    let words = addr_of_mut!((*view)._inline_layout) as *mut isize;
    let shape_ptr = if !give_shape {
        ptr::null_mut()
    } else if flat || n == 0 {
        len_ptr
    } else {
        copy_words(shape.as_ptr(), words, n);
        words
    };
    let strides_ptr = if !give_strides {
        ptr::null_mut()
    } else if flat {
        addr_of_mut!((*view).itemsize)
    } else if n == 0 {
        len_ptr
    } else {
        let p = words.add(n);
        copy_words(strides.as_ptr(), p, n);
        p
    };
    let format_ptr: *const c_char = if !give_format {
        ptr::null()
    } else if fmt_static {
        FORMAT_B.as_ptr()
    } else {
        let dst = addr_of_mut!((*view)._inline_format) as *mut c_char;
        if let [c] = fmt {
            *dst = *c as c_char;
        } else {
            ptr::copy_nonoverlapping(fmt.as_ptr() as *const c_char, dst, fmt.len());
        }
        // The terminating NUL is already there: the inline storage is zero.
        dst
    };
    publish(
        view,
        Header {
            buf: r.buf,
            releaser,
            len: r.len,
            itemsize: r.itemsize,
            readonly: r.readonly,
            ndim: n as c_int,
            format: format_ptr,
            shape: shape_ptr,
            strides: strides_ptr,
            suboffsets: ptr::null_mut(),
            internal: r.internal,
            block: 0,
            device: g.device,
        },
    );
    true
}

#[cfg(test)]
pub(super) mod tests;
