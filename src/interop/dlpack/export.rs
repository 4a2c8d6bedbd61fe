//! Export: a managed tensor (versioned or legacy) of one export of an object, in one
//! allocation handed back by its deleter.

use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::bufferinfo::{self, read_device};
use crate::capi::*;
use crate::object::Object;
use crate::request::Flags;
use crate::status::Result;
use crate::{bail, err};

use super::dtype::dtype_of_format;
use super::{
    DLDataType, DLDevice, DLManagedTensor, DLManagedTensorVersioned, DLPackVersion, DLTensor,
    DLPACK_MAJOR, DLPACK_MINOR, FLAG_READ_ONLY, UNMARKED_READONLY,
};

/// Dimensions held inline (shape and strides of up to this many) before the heap is used.
pub(super) const INLINE_DIMS: usize = 8;

/// The two managed-tensor structs, for code shared by both.
pub(crate) trait Managed: Sized {
    /// The struct with the tensor fields `t`, the context, the read-only mark (where the
    /// struct has one) and the deleter `d`.
    fn build(
        t: DLTensor,
        ctx: *mut c_void,
        readonly: bool,
        d: unsafe extern "C" fn(*mut Self),
    ) -> Self;
    /// Writes the tensor fields, the context and the deleter of this module's exports.
    fn init(&mut self, t: DLTensor, ctx: *mut c_void, readonly: bool) {
        *self = Self::build(t, ctx, readonly, delete_export::<Self>);
    }
    /// The calling thread's spare block of this struct's exports (see [`Spare`]).
    fn spare() -> &'static std::thread::LocalKey<Spare>;
}

/// One freed block of a struct's exports kept by a thread for its next export (NULL: none),
/// so that a steady export/delete cycle costs no `malloc`/`free` and no atomic operation.
/// Freed when the thread exits.
pub(crate) struct Spare {
    block: Cell<*mut u8>,
    layout: std::alloc::Layout,
}

impl Spare {
    const fn new(layout: std::alloc::Layout) -> Spare {
        Spare {
            block: Cell::new(ptr::null_mut()),
            layout,
        }
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        let p = self.block.replace(ptr::null_mut());
        if !p.is_null() {
            // SAFETY: an allocation of `layout` whose value was dropped (see `delete_export`).
            unsafe { std::alloc::dealloc(p, self.layout) };
        }
    }
}

thread_local! {
    static SPARE_VERSIONED: Spare =
        const { Spare::new(std::alloc::Layout::new::<Exported<DLManagedTensorVersioned>>()) };
    static SPARE_LEGACY: Spare =
        const { Spare::new(std::alloc::Layout::new::<Exported<DLManagedTensor>>()) };
}

impl Managed for DLManagedTensorVersioned {
    fn build(
        t: DLTensor,
        ctx: *mut c_void,
        readonly: bool,
        d: unsafe extern "C" fn(*mut Self),
    ) -> Self {
        DLManagedTensorVersioned {
            version: DLPackVersion {
                major: DLPACK_MAJOR,
                minor: DLPACK_MINOR,
            },
            manager_ctx: ctx,
            deleter: Some(d),
            flags: if readonly { FLAG_READ_ONLY } else { 0 },
            dl_tensor: t,
        }
    }
    fn spare() -> &'static std::thread::LocalKey<Spare> {
        &SPARE_VERSIONED
    }
}

impl Managed for DLManagedTensor {
    fn build(
        t: DLTensor,
        ctx: *mut c_void,
        _readonly: bool,
        d: unsafe extern "C" fn(*mut Self),
    ) -> Self {
        DLManagedTensor {
            dl_tensor: t,
            manager_ctx: ctx,
            deleter: Some(d),
        }
    }
    fn spare() -> &'static std::thread::LocalKey<Spare> {
        &SPARE_LEGACY
    }
}

/// A tensor and the storage of its shape and strides: the head of every block this module
/// exports, so that the tensor's address is the block's.
#[repr(C)]
pub(crate) struct Body<T> {
    tensor: T,
    /// Shape and strides of up to `INLINE_DIMS` dimensions (written before they are used).
    inline: [std::mem::MaybeUninit<i64>; 2 * INLINE_DIMS],
    /// Shape and strides of more than `INLINE_DIMS` dimensions: a boxed slice of `heap_len`
    /// entries, or NULL.
    heap: *mut i64,
    heap_len: usize,
}

impl<T> Body<T> {
    /// Writes a zeroed tensor and no heap dimensions at `p` (the inline storage is left
    /// unwritten).
    ///
    /// # Safety
    /// `p` is valid for writes and aligned; an all-zero `T` is valid (NULL pointers, no
    /// deleter, zero numbers), as it is for both tensor structs.
    pub(super) unsafe fn init_at(p: *mut Body<T>) {
        ptr::addr_of_mut!((*p).tensor).write_bytes(0, 1);
        Self::init_dims_at(p);
    }

    /// Writes no heap dimensions at `p`; the tensor and the inline storage are left
    /// unwritten (the tensor is written, whole, before the body is used or dropped).
    ///
    /// # Safety
    /// `p` is valid for writes and aligned.
    pub(super) unsafe fn init_dims_at(p: *mut Body<T>) {
        ptr::addr_of_mut!((*p).heap).write(ptr::null_mut());
        ptr::addr_of_mut!((*p).heap_len).write(0);
    }
}

impl<T> Drop for Body<T> {
    fn drop(&mut self) {
        if !self.heap.is_null() {
            // SAFETY: made from a boxed slice of `heap_len` entries in `write_tensor`.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(self.heap, self.heap_len)) });
        }
    }
}

/// One allocation holding an exported tensor (with its shape and strides) and the view it
/// describes (the export of the object). The body comes first, so the tensor's address is the
/// block's.
#[repr(C)]
pub(crate) struct Exported<T> {
    body: Body<T>,
    /// Filled by the library; never moves (the block is boxed before it is filled). Dropping
    /// the block releases it (a no-op while it is empty).
    pub(super) view: xbuf_bufferinfo,
    /// The export a tensor made straight from a view object's layout holds on the object that
    /// owns the memory (`view` stays empty then), or NULL.
    pub(super) bare: *mut Object,
}

impl<T: Managed> Exported<T> {
    /// A block on the heap: a zeroed tensor, an empty full-size view, no heap dimensions.
    /// Written in place (the block is a few hundred bytes; nothing is built on the stack).
    fn new_boxed() -> Result<Box<Exported<T>>> {
        let layout = std::alloc::Layout::new::<Exported<T>>();
        // A thread being torn down has no spare.
        let mut raw = T::spare()
            .try_with(|s| s.block.replace(ptr::null_mut()))
            .unwrap_or(ptr::null_mut())
            .cast::<Exported<T>>();
        if raw.is_null() {
            // SAFETY: the layout is not zero-sized.
            raw = unsafe { std::alloc::alloc(layout) }.cast::<Exported<T>>();
        }
        if raw.is_null() {
            bail!(
                NoMemory,
                "cannot allocate {} bytes for a DLPack tensor",
                layout.size()
            );
        }
        // SAFETY: every field but the `MaybeUninit` array is written before the box is made.
        unsafe {
            Body::init_at(ptr::addr_of_mut!((*raw).body));
            ptr::addr_of_mut!((*raw).view).write(xbuf_bufferinfo::empty());
            ptr::addr_of_mut!((*raw).bare).write(ptr::null_mut());
            Ok(Box::from_raw(raw))
        }
    }
}

impl<T> Drop for Exported<T> {
    fn drop(&mut self) {
        // SAFETY: empty, or filled by `get_buffer` at this address.
        let _ = unsafe { bufferinfo::release(&mut self.view) };
        if let Some(owner) = ptr::NonNull::new(self.bare) {
            // SAFETY: the export counted by `View::add_owner_export`, returned only here.
            unsafe { Object::drop_export(owner) };
        }
    }
}

/// The deleter of every tensor this module exports: hands the export back, frees the block.
pub(super) unsafe extern "C" fn delete_export<T: Managed>(t: *mut T) {
    if t.is_null() {
        return;
    }
    // Nothing here may unwind into C; the release cannot panic, this is a safety net.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let raw = t.cast::<Exported<T>>();
        // SAFETY: `t` is the first field of a block made by `export` and not yet deleted: its
        // value is dropped once, then its allocation (made with the block's layout) is kept
        // as the spare or freed.
        ptr::drop_in_place(raw);
        let kept = T::spare()
            .try_with(|s| {
                if s.block.get().is_null() {
                    s.block.set(raw.cast());
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false);
        if !kept {
            std::alloc::dealloc(raw.cast(), std::alloc::Layout::new::<Exported<T>>());
        }
    }));
}

/// `xbuf_dlpack_export` (`T = DLManagedTensorVersioned`) and `xbuf_dlpack_export_unversioned`
/// (`T = DLManagedTensor`): a tensor of `obj`'s memory holding one export of it.
pub(crate) fn export<T: Managed>(obj: &Object, flags: c_int, legacy: bool) -> Result<*mut T> {
    let own = if legacy { UNMARKED_READONLY } else { 0 };
    // A tensor carries its device: XBUF_DEVICE is implied (and allowed).
    let request = Flags::new(flags & !own)?.0;
    if let Some(t) = export_view::<T>(obj, request, flags, legacy)? {
        return Ok(t);
    }
    export_general(obj, request, flags, legacy)
}

/// [`export`] through `get_buffer`: the tensor holds the filled view.
pub(super) fn export_general<T: Managed>(
    obj: &Object,
    request: c_int,
    flags: c_int,
    legacy: bool,
) -> Result<*mut T> {
    let mut block = Exported::<T>::new_boxed()?;
    // SAFETY: a full-size struct that stays where it is (boxed) until the block is dropped.
    unsafe { bufferinfo::get_buffer(obj, &mut block.view, request | XBUF_FULL_RO | XBUF_DEVICE)? };
    // From here the block is handled through its raw pointer: the layout read below may lie in
    // the view's own storage inside the block.
    let raw = Box::into_raw(block);
    // SAFETY: filled by the library, valid until the view is released (`finish` does not
    // touch it); on failure dropping the block releases the view.
    unsafe {
        match parts_of_view(ptr::addr_of!((*raw).view)) {
            Ok(parts) => finish(raw, &parts, flags, legacy),
            Err(e) => {
                drop(Box::from_raw(raw));
                Err(e)
            }
        }
    }
}

/// The parts of a view filled by the library (with its format, shape and strides), for a
/// tensor; refused when the view has suboffsets.
///
/// # Safety
/// `v` is a view the library filled with `XBUF_FULL_RO` (or more), valid for `'a`.
pub(super) unsafe fn parts_of_view<'a>(v: *const xbuf_bufferinfo) -> Result<Parts<'a>> {
    if !(*v).suboffsets.is_null() {
        return Err(indirect());
    }
    let n = (*v).ndim as usize;
    let dims = |p: *mut isize| -> &'a [isize] {
        if n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(p as *const isize, n)
        }
    };
    Ok(Parts {
        data: (*v).buf,
        itemsize: (*v).itemsize,
        format: CStr::from_ptr((*v).format),
        shape: dims((*v).shape),
        strides: dims((*v).strides),
        readonly: (*v).readonly != 0,
        device: read_device(v),
    })
}

/// What a tensor is made of, read from a filled view or a view object's layout.
pub(super) struct Parts<'a> {
    pub(super) data: *mut c_void,
    pub(super) itemsize: isize,
    pub(super) format: &'a CStr,
    pub(super) shape: &'a [isize],
    pub(super) strides: &'a [isize],
    pub(super) readonly: bool,
    pub(super) device: (i32, i32),
}

#[cold]
fn indirect() -> crate::status::Error {
    err!(
        Unsupported,
        "the object's memory is indirect (PIL-style suboffsets); DLPack tensors are strided memory only"
    )
}

/// The tensor of a view object (`xbuf_view`), made straight from the layout the view holds:
/// one export counted on the object that owns the memory, no view filled. The tensor is the
/// one the general path makes (the same fields, checks and errors); `None` where that path
/// must answer (another exporter, a request beyond `XBUF_WRITABLE`, writable memory demanded
/// of a read-only view, an owner whose exporter wants its views handed back, a released view).
fn export_view<T: Managed>(
    obj: &Object,
    request: c_int,
    flags: c_int,
    legacy: bool,
) -> Result<Option<*mut T>> {
    if obj
        .exporter()
        .as_any()
        .downcast_ref::<crate::view::View>()
        .is_none()
        || request & !(XBUF_FULL_RO | XBUF_DEVICE | XBUF_WRITABLE) != 0
    {
        return Ok(None);
    }
    let pinned = crate::view::with(obj, |view| {
        let l = view.layout();
        let Ok(format) = view.format() else {
            return Ok(None);
        };
        if request & XBUF_WRITABLE != 0 && view.readonly() {
            return Ok(None);
        }
        if l.suboffsets.is_some() {
            return Err(indirect());
        }
        let mut block = Exported::<T>::new_boxed()?;
        let Some(owner) = view.add_owner_export()? else {
            return Ok(None);
        };
        // Dropping the block from here on returns the export.
        block.bare = owner.as_ptr();
        let parts = Parts {
            data: l.buf.cast(),
            itemsize: l.itemsize,
            format,
            shape: &l.shape,
            strides: &l.strides,
            readonly: view.readonly(),
            device: view.device(),
        };
        // SAFETY: a block of our own, handed over; the parts are the view's, not the block's.
        unsafe { finish(Box::into_raw(block), &parts, flags, legacy) }.map(Some)
    });
    match pinned {
        // A released view: the general path says so.
        Err(e) if e.status == crate::status::Status::Released => Ok(None),
        r => r,
    }
}

/// Checks `p` for DLPack and writes the tensor into the block `raw`, which holds the export
/// and is freed (the export returned) on failure.
///
/// # Safety
/// `raw` is a block from [`Exported::new_boxed`] (turned into a raw pointer), owned by the
/// caller and handed over; `p` stays valid while the block lives, and the tensor fields and
/// dimension storage of the block are not part of it.
unsafe fn finish<T: Managed>(
    raw: *mut Exported<T>,
    p: &Parts<'_>,
    flags: c_int,
    legacy: bool,
) -> Result<*mut T> {
    let written = write_tensor(ptr::addr_of_mut!((*raw).body), p, flags, legacy);
    if written.is_err() {
        drop(Box::from_raw(raw));
    }
    written
}

/// The DLPack data type of `p`'s items, after every check of `p` a tensor needs (the same for
/// every way of making one): a format with a DLPack type, strides in whole items, and for the
/// legacy struct, memory it can describe (read-only only with `XBUF_DLPACK_UNMARKED_READONLY`).
// Inlined into the hot export: a call of its own costs the C round trip a few instructions.
#[inline(always)]
pub(super) fn checked_dtype(p: &Parts<'_>, flags: c_int, legacy: bool) -> Result<DLDataType> {
    let dtype = dtype_of_format(p.format.to_bytes(), p.itemsize)?;
    let itemsize = p.itemsize;
    if let Some((d, s)) = p
        .strides
        .iter()
        .enumerate()
        .find(|(_, s)| *s % itemsize != 0)
    {
        bail!(
            Unsupported,
            "stride {s} of dimension {d} is not a multiple of the item size {itemsize}; DLPack strides count items"
        );
    }
    if legacy && p.readonly && flags & UNMARKED_READONLY == 0 {
        return Err(legacy_readonly());
    }
    Ok(dtype)
}

/// The legacy struct cannot describe read-only memory unless the caller accepts it unmarked.
#[cold]
pub(super) fn legacy_readonly() -> crate::status::Error {
    err!(
        ReadOnly,
        "the memory is read-only and the legacy DLManagedTensor cannot mark it so; pass XBUF_DLPACK_UNMARKED_READONLY to export it anyway, or use xbuf_dlpack_export"
    )
}

/// The tensor fields of `p` (of data type `dtype`), with shape and strides in `dims`.
pub(super) fn tensor_of(p: &Parts<'_>, dtype: DLDataType, dims: *mut i64) -> DLTensor {
    let n = p.shape.len();
    let (device_type, device_id) = p.device;
    DLTensor {
        data: p.data,
        device: DLDevice {
            device_type,
            device_id,
        },
        ndim: n as i32,
        dtype,
        shape: if n == 0 { ptr::null_mut() } else { dims },
        // Within the 2n entries (when n > 0).
        strides: if n == 0 {
            ptr::null_mut()
        } else {
            dims.wrapping_add(n)
        },
        byte_offset: 0,
    }
}

/// Writes the shape, then the strides in items, of `p` into `dims` (2n entries).
///
/// # Safety
/// `dims` is valid for writing `2 * p.shape.len()` entries.
pub(super) unsafe fn write_dims(p: &Parts<'_>, dims: *mut i64) {
    let n = p.shape.len();
    for (k, (&e, &s)) in p.shape.iter().zip(p.strides).enumerate() {
        dims.add(k).write(e as i64);
        dims.add(n + k).write((s / p.itemsize) as i64);
    }
}

/// Storage for `2n` dimension entries in the body `raw`: its inline array, or a heap slice
/// the body owns from then on.
///
/// # Safety
/// `raw` is the body of a live block, initialised by [`Body::init_at`], without heap entries.
pub(super) unsafe fn dims_in<T>(raw: *mut Body<T>, n: usize) -> Result<*mut i64> {
    if n <= INLINE_DIMS {
        return Ok(ptr::addr_of_mut!((*raw).inline).cast::<i64>());
    }
    let mut v: Vec<i64> = Vec::new();
    v.try_reserve_exact(2 * n).map_err(|_| {
        err!(
            NoMemory,
            "cannot allocate the shape and strides of {n} dimensions"
        )
    })?;
    v.resize(2 * n, 0);
    let heap = Box::into_raw(v.into_boxed_slice()).cast::<i64>();
    ptr::addr_of_mut!((*raw).heap_len).write(2 * n);
    ptr::addr_of_mut!((*raw).heap).write(heap);
    Ok(heap)
}

/// Checks `p` for DLPack and writes the tensor into `raw`, the body of a block of this module
/// (the tensor's context is the block, whose address is the body's); the caller frees the
/// block on failure (the body's heap dimensions go with it).
///
/// # Safety
/// `raw` is the body of a live block, initialised by [`Body::init_at`]; `p` does not point
/// into the body.
pub(super) unsafe fn write_tensor<T: Managed>(
    raw: *mut Body<T>,
    p: &Parts<'_>,
    flags: c_int,
    legacy: bool,
) -> Result<*mut T> {
    let dtype = checked_dtype(p, flags, legacy)?;
    let dims = dims_in(raw, p.shape.len())?;
    write_dims(p, dims);
    let t = tensor_of(p, dtype, dims);
    // The tensor is the block's first field.
    (*ptr::addr_of_mut!((*raw).tensor)).init(t, raw.cast(), p.readonly);
    Ok(ptr::addr_of_mut!((*raw).tensor))
}
