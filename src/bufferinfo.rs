//! Getting and releasing views: the protocol's core, on consumer-owned `xbuf_bufferinfo`
//! structs of any published size.
//!
//! Every raw access to a consumer's struct goes through the small set of functions here and in
//! the submodules ([`read`], [`write`], [`held`]), which never touch bytes past the caller's
//! `structsize`.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{self, addr_of_mut, NonNull};

use crate::abi::*;
use crate::capi::*;
use crate::layout::{self, Order, StrideBuf, Strided};
use crate::object::{ObjRef, Object, Response};
use crate::request::{self, Flags, Plan};
use crate::status::Result;
use crate::{bail, err};

mod current;
mod held;
mod read;
mod trusted;
mod write;
use current::*;
pub use held::*;
pub use read::*;
use trusted::*;
use write::*;

/// Checks a caller's `structsize` for `xbuf_bufferinfo`.
#[inline]
pub fn check_structsize(size: usize) -> Result<()> {
    crate::abi::check_structsize("xbuf_bufferinfo", size, XBUF_BUFFERINFO_SIZE_MIN)
}

/// The integrity seal of a filled view: binds the view's address, its releaser and its heap
/// block, so that a moved, copied or scribbled-on view is refused instead of freeing garbage.
///
/// Each argument is rotated by its own amount and the three are combined by exclusive or
/// with a constant, so the seal changes whenever any one of them changes: a view copied or
/// moved to another address, or given another releaser or block, never keeps a valid seal.
/// A struct filled with one repeated byte never holds a valid seal at an address below 2^48:
/// the rotations keep such a word a repeated byte, and the constant's top two bytes differ.
#[inline(always)]
fn seal(view: *const xbuf_bufferinfo, releaser: *mut xbuf_object, block: usize) -> usize {
    const KEY: usize = 0x5851_f42d_4c95_7f2d_u64 as usize;
    (view as usize) ^ (releaser as usize).rotate_left(17) ^ block.rotate_left(31) ^ KEY
}

/// Sets every field of the view, within its `structsize`, to zero (keeping `structsize`).
///
/// # Safety
/// `view` must point at `structsize` writable bytes.
unsafe fn make_empty(view: *mut xbuf_bufferinfo, size: usize) {
    let start = std::mem::size_of::<usize>();
    ptr::write_bytes((view as *mut u8).add(start), 0, size - start);
}

/// Empties a filled view: zeroes every field of the published prefix but `structsize`, and the
/// inline storage when the view's layout or format lived there (a newer struct's tail was
/// zeroed when the view was filled), so that an empty view is all zeros.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` (checked) writable bytes.
unsafe fn clear(view: *mut xbuf_bufferinfo) {
    if (*view).structsize >= XBUF_BUFFERINFO_SIZE {
        addr_of_mut!((*view).device_type).write(0);
        addr_of_mut!((*view).device_id).write(0);
    }
    if (*view).structsize >= XBUF_BUFFERINFO_SIZE_NODEVICE {
        let inline = addr_of_mut!((*view)._inline_layout) as usize;
        let end = view as usize + XBUF_BUFFERINFO_SIZE_NODEVICE;
        let inside = |p: usize| (inline..end).contains(&p);
        if inside((*view).shape as usize)
            || inside((*view).strides as usize)
            || inside((*view).suboffsets as usize)
            || inside((*view).format as usize)
        {
            ptr::write_bytes(inline as *mut u8, 0, end - inline);
        }
    }
    // Field by field through raw pointers: an older caller's struct may be shorter than
    // `xbuf_bufferinfo`, so no reference to the whole struct is made.
    addr_of_mut!((*view).buf).write(ptr::null_mut());
    addr_of_mut!((*view).releaser).write(ptr::null_mut());
    addr_of_mut!((*view).len).write(0);
    addr_of_mut!((*view).itemsize).write(0);
    addr_of_mut!((*view).readonly).write(0);
    addr_of_mut!((*view).ndim).write(0);
    addr_of_mut!((*view).format).write(ptr::null());
    addr_of_mut!((*view).shape).write(ptr::null_mut());
    addr_of_mut!((*view).strides).write(ptr::null_mut());
    addr_of_mut!((*view).suboffsets).write(ptr::null_mut());
    addr_of_mut!((*view).internal).write(ptr::null_mut());
    addr_of_mut!((*view)._private).write([0; 2]);
}

/// A copy of the published prefix of a caller's struct (read field by field: an older struct
/// may be shorter than `xbuf_bufferinfo`); the inline storage of the copy is zero.
///
/// # Safety
/// `view` must point at a struct of at least `XBUF_BUFFERINFO_SIZE_MIN` readable bytes.
unsafe fn read_prefix(view: *const xbuf_bufferinfo) -> xbuf_bufferinfo {
    let (device_type, device_id) = read_device(view);
    xbuf_bufferinfo {
        structsize: (*view).structsize,
        buf: (*view).buf,
        releaser: (*view).releaser,
        len: (*view).len,
        itemsize: (*view).itemsize,
        readonly: (*view).readonly,
        ndim: (*view).ndim,
        format: (*view).format,
        shape: (*view).shape,
        strides: (*view).strides,
        suboffsets: (*view).suboffsets,
        internal: (*view).internal,
        _private: (*view)._private,
        device_type,
        device_id,
        ..xbuf_bufferinfo::empty()
    }
}

/// A caller's view's device as `(device_type, device_id)`: the fields when its struct has
/// them, else (and for `device_type` 0) the CPU.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` readable bytes.
pub(crate) unsafe fn read_device(view: *const xbuf_bufferinfo) -> (i32, i32) {
    if (*view).structsize >= XBUF_BUFFERINFO_SIZE {
        match ((*view).device_type, (*view).device_id) {
            (0, _) => (XBUF_DEVICE_CPU, 0),
            d => d,
        }
    } else {
        (XBUF_DEVICE_CPU, 0)
    }
}

/// A heap block holding a view's layout and format:
/// `[words, table words, table.., shape.., strides.., subs.., fmt..]`. The table is the copy of
/// an exporter's own row-pointer table (`Response::table`) that the view's `buf` points into.
struct Block {
    ptr: *mut isize,
}

/// Words before a block's data.
const BLOCK_HEADER: usize = 2;

impl Block {
    fn alloc(table: usize, words: usize) -> Result<Block> {
        let total = BLOCK_HEADER + table + words;
        let mut v: Vec<isize> = Vec::new();
        v.try_reserve_exact(total).map_err(|_| {
            err!(
                NoMemory,
                "cannot allocate {} bytes for a view's layout",
                total * std::mem::size_of::<isize>()
            )
        })?;
        v.resize(total, 0);
        v[0] = total as isize;
        v[1] = table as isize;
        let ptr = Box::into_raw(v.into_boxed_slice()) as *mut isize;
        Ok(Block { ptr })
    }
    /// The table's first word.
    fn table(&self) -> *mut isize {
        // SAFETY: the block has its header.
        unsafe { self.ptr.add(BLOCK_HEADER) }
    }
    /// The first word after the table.
    fn data(&self) -> *mut isize {
        // SAFETY: the block holds the table.
        unsafe { self.table().add(*self.ptr.add(1) as usize) }
    }
    /// Frees a block stored in a view's `_private[0]`.
    ///
    /// # Safety
    /// `p` must be 0 or a pointer made by [`Block::alloc`] and not yet freed.
    unsafe fn free(p: usize) {
        if p == 0 {
            return;
        }
        let ptr = p as *mut isize;
        let total = *ptr as usize;
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(ptr, total)));
    }
}

/// The copy of an exporter's row-pointer table that a view filled by [`get_buffer`] keeps in
/// its layout storage (`buf` points into it), if it has one. Valid until the view is released.
///
/// # Safety
/// `view` must hold a view filled by [`get_buffer`] and not yet released.
pub(crate) unsafe fn owned_table<'a>(view: *const xbuf_bufferinfo) -> Option<&'a [*mut u8]> {
    let block = (*view)._private[0] as *const isize;
    if block.is_null() || *block.add(1) == 0 {
        return None;
    }
    let n = *block.add(1) as usize;
    Some(std::slice::from_raw_parts(
        block.add(BLOCK_HEADER) as *const *mut u8,
        n,
    ))
}

/// Copies `n` words from `src` to `dst` (not overlapping); one or two, as most views have,
/// without a call.
#[inline(always)]
unsafe fn copy_words(src: *const isize, dst: *mut isize, n: usize) {
    match n {
        1 => *dst = *src,
        2 => {
            *dst = *src;
            *dst.add(1) = *src.add(1);
        }
        _ => ptr::copy_nonoverlapping(src, dst, n),
    }
}

/// `xbuf_get_buffer`: asks `obj`'s exporter to fill `view` for `flags`.
///
/// The export is counted on `obj` before the exporter runs (so a concurrent exclusive change
/// cannot move the memory under it) and moved to the releaser afterwards. A failure leaves
/// the view empty and owes no release.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` writable bytes; `obj` must be live.
#[inline(always)]
pub unsafe fn get_buffer(obj: &Object, view: *mut xbuf_bufferinfo, flags: c_int) -> Result<()> {
    // The common case, decided at once: an empty struct of this version's size and
    // consistent flags (see `current`); first the simple requests, which ask for no format,
    // shape or strides, written with those known to be absent.
    if (*view).structsize == XBUF_BUFFERINFO_SIZE && (*view).releaser.is_null() {
        if flags & !(XBUF_WRITABLE | XBUF_DEVICE) == 0 {
            return get_current(obj, view, Flags(flags));
        }
        if let Some(flags) = Flags::valid(flags) {
            return get_current(obj, view, flags);
        }
    }
    get_checked(obj, view, flags)
}

/// [`get_buffer`] with every case spelt out.
///
/// # Safety
/// As [`get_buffer`].
#[inline(never)]
pub(crate) unsafe fn get_checked(
    obj: &Object,
    view: *mut xbuf_bufferinfo,
    flags: c_int,
) -> Result<()> {
    let size = (*view).structsize;
    check_structsize(size)?;
    if size > XBUF_BUFFERINFO_SIZE {
        check_not_scratch(view, size)?;
    }
    if is_filled(view) {
        // Refused before anything is written: the view and its export stay as they were.
        bail!(
            InvalidArgument,
            "the view at {:p} still holds a view (of the object at {:p}); release it first",
            view,
            (*view).releaser
        );
    }
    if flags & XBUF_DEVICE != 0 && size < XBUF_BUFFERINFO_SIZE {
        make_empty(view, size);
        return Err(device_struct_too_old(size));
    }
    let result = fill(obj, view, flags);
    if result.is_err() {
        make_empty(view, size);
    }
    result
}

/// The error for a request with `XBUF_DEVICE` into a struct without the device fields.
#[cold]
fn device_struct_too_old(size: usize) -> crate::status::Error {
    err!(
        StructTooOld,
        "the request asks for XBUF_DEVICE but the view's structsize {size} ends before device_type; it needs structsize {XBUF_BUFFERINFO_SIZE} (sizeof(xbuf_bufferinfo))"
    )
}

/// The work of [`get_buffer`]; on failure the caller empties the view.
unsafe fn fill(obj: &Object, view: *mut xbuf_bufferinfo, flags: c_int) -> Result<()> {
    let flags = Flags::new(flags)?;
    // The inline storage starts empty (whatever part of it the struct has), so that every
    // byte within `structsize` is defined once the view is filled.
    let size = (*view).structsize;
    let inline = (view as *mut u8).add(XBUF_BUFFERINFO_SIZE_MIN);
    if size >= XBUF_BUFFERINFO_SIZE {
        // A constant size: a few stores, no call.
        ptr::write_bytes(inline, 0, XBUF_BUFFERINFO_SIZE - XBUF_BUFFERINFO_SIZE_MIN);
    } else {
        ptr::write_bytes(inline, 0, size - XBUF_BUFFERINFO_SIZE_MIN);
    }
    obj.add_export()?;
    let obj_ptr = NonNull::from(obj);
    let exporter = obj.exporter();
    if let Some(bytes) = exporter.flat_bytes() {
        let written = publish_bytes(view, obj, bytes, flags);
        if written.is_err() {
            Object::drop_export(obj_ptr);
        }
        return written;
    }
    if exporter.trusted() {
        return fill_trusted(obj, view, flags);
    }
    fill_general(obj, view, flags)
}

/// The error of an exporter that named as releaser something that is not a live object.
fn releaser_not_live(obj: &Object, e: crate::status::Error) -> crate::status::Error {
    err!(
        BadExporter,
        "exporter '{}' named a releaser that is not a live object: {}",
        obj.type_name().to_string_lossy(),
        e.message
    )
}

/// A call that fails after the exporter answered: the scratch view (with the answer's
/// `internal`) goes back to `to`'s exporter, so that whatever it set up for the view is undone,
/// and the export counted on `counted` for the call is returned.
///
/// # Safety
/// `counted` holds an export counted for this call; `to` is the object whose exporter answered
/// (or took the export over).
unsafe fn abandon_answer(
    to: &Object,
    scratch: &mut xbuf_bufferinfo,
    internal: *mut c_void,
    counted: NonNull<Object>,
) {
    scratch.internal = internal;
    to.exporter().abandon(to, scratch);
    Object::drop_export(counted);
}

/// [`fill`] for every exporter that neither answers with `flat_bytes` nor is trusted: the exporter's
/// response is checked against the request and copied into the view. The export counted on
/// `obj` is the caller's; on failure this returns it.
#[inline(never)]
unsafe fn fill_general(obj: &Object, view: *mut xbuf_bufferinfo, flags: Flags) -> Result<()> {
    let obj_ptr = NonNull::from(obj);
    let exporter = obj.exporter();
    let mut scratch = xbuf_bufferinfo::empty();
    let resp: Response<'_> = match exporter.get_buffer(obj, flags.0, &mut scratch) {
        Ok(r) => r,
        Err(e) => {
            Object::drop_export(obj_ptr);
            return Err(e);
        }
    };
    let internal = resp.internal;
    let nested = resp.nested;

    // A releaser named by a C exporter, held (once found among the live objects) until the
    // view's own export on it is counted.
    let named: ObjRef;
    // Move the export to the releaser the exporter named, if it is another object.
    let releaser: &Object = match resp.releaser {
        Some(r) if nested => {
            // The scratch view's export on its releaser becomes the consumer's; the one
            // counted on `obj` for the call is returned.
            Object::drop_export(obj_ptr);
            r.as_ref()
        }
        Some(r) if r != obj_ptr => {
            let found = if resp.releaser_from_c {
                match ObjRef::acquire_live(r) {
                    Some(held) => {
                        named = held;
                        Ok(&*named)
                    }
                    None => Err(err!(
                        InvalidArgument,
                        "pointer {:p} is not a live xbuf object",
                        r
                    )),
                }
            } else {
                Object::check(r)
            };
            let rel = match found {
                Ok(rel) => rel,
                Err(e) => {
                    // Nothing to hand the view to but the exporter itself, so that whatever
                    // it set up for the view is undone.
                    let e = releaser_not_live(obj, e);
                    abandon_answer(obj, &mut scratch, internal, obj_ptr);
                    return Err(e);
                }
            };
            if let Err(e) = rel.add_export() {
                // The answer borrows the scratch view, used next.
                #[allow(clippy::drop_non_drop)]
                drop(resp);
                abandon_answer(rel, &mut scratch, internal, obj_ptr);
                return Err(e);
            }
            Object::drop_export(obj_ptr);
            rel
        }
        _ => obj,
    };

    // Trusted exporters take `fill_trusted`: every answer here is checked in full.
    let planned = request::plan(&resp, flags, obj.type_name());
    let written = planned.and_then(|plan| write_view(view, &plan, releaser.as_ptr().cast()));
    // The answer borrows the scratch view, used next.
    #[allow(clippy::drop_non_drop)]
    drop(resp);
    match written {
        // The consumer's view holds the scratch view's export now; only its storage goes.
        Ok(()) if nested => Block::free(scratch._private[0]),
        Ok(()) => {}
        Err(e) if nested => {
            let _ = release(&mut scratch);
            return Err(e);
        }
        Err(e) => {
            abandon_answer(releaser, &mut scratch, internal, NonNull::from(releaser));
            return Err(e);
        }
    }
    Ok(())
}

thread_local! {
    /// The innermost of the views the library lent to C exporters' `getbuffer` calls running
    /// on this thread (each frame links to the one it interrupted).
    static SCRATCH: std::cell::Cell<*const ScratchFrame> = const { std::cell::Cell::new(ptr::null()) };
}

/// A view the library lends to a C exporter's `getbuffer` call, registered for the call's
/// duration so that the functions an exporter calls on it can tell it from a consumer's view.
pub(crate) struct ScratchFrame {
    view: *const xbuf_bufferinfo,
    outer: *const ScratchFrame,
}

impl ScratchFrame {
    /// Runs `call` with `view` registered as a library-owned view of full size.
    pub(crate) fn lend<T>(view: *const xbuf_bufferinfo, call: impl FnOnce() -> T) -> T {
        type Top = std::cell::Cell<*const ScratchFrame>;
        /// Puts the interrupted frame back, also if `call` unwinds.
        struct Pop<'a>(&'a Top, *const ScratchFrame);
        impl Drop for Pop<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        // One access to the thread-local (a call into the dynamic loader in a shared library).
        SCRATCH.with(|top| {
            let mut frame = ScratchFrame {
                view,
                outer: ptr::null(),
            };
            frame.outer = top.replace(&frame);
            let _pop = Pop(top, frame.outer);
            call()
        })
    }
}

/// Refuses to treat a view the library lent to an exporter as larger than it is: an exporter
/// that grew its `structsize` would make the library read or write past its own storage.
///
/// # Safety
/// Only reads the thread's chain of frames, which live on the stack of running calls.
#[cold]
#[inline(never)]
unsafe fn check_not_scratch(view: *const xbuf_bufferinfo, size: usize) -> Result<()> {
    let mut f = SCRATCH.try_with(|s| s.get()).unwrap_or(ptr::null());
    while let Some(frame) = f.as_ref() {
        if frame.view == view {
            bail!(
                InvalidArgument,
                "the view at {view:p} is the library's, of {XBUF_BUFFERINFO_SIZE} bytes, but its structsize says {size}: an exporter must not change it"
            );
        }
        f = frame.outer;
    }
    Ok(())
}

/// Whether a struct holds a view filled by [`get_buffer`] (not yet released).
///
/// # Safety
/// `v` must point at a readable, full-size struct.
pub(crate) unsafe fn is_filled(v: *const xbuf_bufferinfo) -> bool {
    let releaser = (*v).releaser;
    !releaser.is_null() && (*v)._private[1] == seal(v, releaser, (*v)._private[0])
}

/// `xbuf_release`: hands the view back to its releaser and empties it. An empty view is a
/// no-op.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` writable bytes.
#[inline(always)]
pub unsafe fn release(view: *mut xbuf_bufferinfo) -> Result<()> {
    if (*view).structsize == XBUF_BUFFERINFO_SIZE {
        return release_current(view);
    }
    release_checked(view)
}

/// [`release`] with every case spelt out.
///
/// # Safety
/// As [`release`].
#[inline(never)]
pub(crate) unsafe fn release_checked(view: *mut xbuf_bufferinfo) -> Result<()> {
    let size = (*view).structsize;
    check_structsize(size)?;
    let releaser = (*view).releaser;
    let Some(rel_ptr) = NonNull::new(releaser) else {
        return Ok(());
    };
    let block = (*view)._private[0];
    if (*view)._private[1] != seal(view, releaser, block) {
        bail!(
            InvalidArgument,
            "the view at {:p} was not filled by xbuf_get_buffer, or was moved, copied or overwritten since",
            view
        );
    }
    let rel = Object::check(rel_ptr.cast())?;
    // A view's export is one that is not a lock: a releaser holding none has no view left to
    // release, so this one was (an image of a view) released already.
    if !rel.holds_view_export() {
        return Err(already_released(view, rel));
    }
    rel.exporter().release_buffer(rel, view);
    Block::free(block);
    clear(view);
    if !Object::drop_view_export(rel_ptr.cast()) {
        // Only a release racing with another release of the same view gets here: the count
        // is left as it is rather than wrapped.
        return Err(already_released(view, rel));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn already_released(view: *const xbuf_bufferinfo, rel: &Object) -> crate::status::Error {
    err!(
        InvalidArgument,
        "the view at {:p} was already released: its releaser '{}' holds no view's export (the struct's bytes were written back after its release)",
        view,
        rel.type_name().to_string_lossy()
    )
}

/// `xbuf_fill_info`: fills an exporter's view with one dimension of `len` bytes at `buf`.
///
/// # Safety
/// `view` must point at a struct of at least `structsize` writable bytes.
pub unsafe fn fill_info(
    view: *mut xbuf_bufferinfo,
    releaser: *mut xbuf_object,
    buf: *mut u8,
    len: isize,
    readonly: bool,
    flags: c_int,
) -> Result<()> {
    let size = (*view).structsize;
    check_structsize(size)?;
    if size > XBUF_BUFFERINFO_SIZE {
        check_not_scratch(view, size)?;
    }
    let flags = Flags::new(flags)?;
    if len < 0 {
        bail!(InvalidArgument, "len is {len}; it must not be negative");
    }
    if buf.is_null() && len != 0 {
        bail!(InvalidArgument, "buf is NULL but len is {len}");
    }
    if flags.writable() && readonly {
        bail!(
            ReadOnly,
            "the memory is read-only but the request 0x{:x} asks for XBUF_WRITABLE",
            flags.0
        );
    }
    make_empty(view, size);
    addr_of_mut!((*view).buf).write(buf.cast());
    addr_of_mut!((*view).releaser).write(releaser);
    addr_of_mut!((*view).len).write(len);
    addr_of_mut!((*view).itemsize).write(1);
    addr_of_mut!((*view).readonly).write(c_int::from(readonly));
    addr_of_mut!((*view).ndim).write(1);
    if size >= XBUF_BUFFERINFO_SIZE {
        addr_of_mut!((*view).device_type).write(XBUF_DEVICE_CPU);
    }
    if flags.format() {
        addr_of_mut!((*view).format).write(FORMAT_B.as_ptr());
    }
    if flags.nd() {
        addr_of_mut!((*view).shape).write(addr_of_mut!((*view).len));
    }
    if flags.strides() {
        addr_of_mut!((*view).strides).write(addr_of_mut!((*view).itemsize));
    }
    Ok(())
}

/// The response a C exporter wrote into the library's scratch struct.
///
/// # Safety
/// The exporter's non-NULL `shape`, `strides` and `suboffsets` must point at `ndim` entries
/// (when `ndim` is in range) and `format` at a NUL-terminated string, valid while the scratch
/// struct is borrowed.
pub unsafe fn response_from_scratch(s: &xbuf_bufferinfo) -> Result<Response<'_>> {
    if !(0..=XBUF_MAX_NDIM).contains(&s.ndim) {
        bail!(
            BadExporter,
            "the exporter returned ndim {} (0 to {} allowed)",
            s.ndim,
            XBUF_MAX_NDIM
        );
    }
    let n = s.ndim as usize;
    let arr = |p: *mut isize| {
        if p.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(p as *const isize, n))
        }
    };
    let nested = is_filled(s);
    Ok(Response {
        buf: s.buf.cast(),
        len: s.len,
        itemsize: s.itemsize,
        readonly: s.readonly != 0,
        format: if s.format.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(s.format))
        },
        ndim: n,
        shape: arr(s.shape),
        strides: arr(s.strides),
        suboffsets: arr(s.suboffsets),
        // A view filled by the library may point into its own copy of a row-pointer table,
        // which goes with the scratch struct: the consumer's view gets a copy of it.
        table: if nested { owned_table(s) } else { None },
        internal: s.internal,
        releaser: NonNull::new(s.releaser.cast()),
        nested,
        releaser_from_c: true,
        device: (s.device_type, s.device_id),
    })
}

#[cfg(test)]
mod seal_tests;
#[cfg(test)]
mod tests;
