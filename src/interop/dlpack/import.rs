//! Import: an object whose views read a managed tensor, running its deleter when the object's
//! last reference and last export are gone.

use std::ffi::{c_int, c_void, CStr};

use crate::bufferinfo::read_device;
use crate::capi::*;
use crate::exporters::any_impl;
use crate::layout::{self, Order};
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::Result;
use crate::{bail, err};

use super::dtype::{check_import_device, format_of_dtype};
use super::export::{delete_export, Exported, Managed, INLINE_DIMS};
use super::{
    DLDevice, DLManagedTensor, DLManagedTensorVersioned, DLTensor, DLPACK_MAJOR, FLAG_READ_ONLY,
};

/// The deleter of an imported tensor, with the pointer it is called with.
enum Deleter {
    Versioned(
        unsafe extern "C" fn(*mut DLManagedTensorVersioned),
        *mut DLManagedTensorVersioned,
    ),
    Legacy(
        unsafe extern "C" fn(*mut DLManagedTensor),
        *mut DLManagedTensor,
    ),
    None,
}

/// The exporter behind an object made from a tensor.
pub(crate) struct Imported {
    deleter: Deleter,
    buf: *mut u8,
    len: isize,
    itemsize: isize,
    readonly: bool,
    format: &'static CStr,
    ndim: usize,
    /// Shape, then byte strides.
    inline: [isize; 2 * INLINE_DIMS],
    heap: Vec<isize>,
    device: (i32, i32),
}

// SAFETY: the tensor's memory and deleter are handed to the object; the fields are immutable;
// the deleter runs once, from whichever thread drops the object (documented in the header).
unsafe impl Send for Imported {}
unsafe impl Sync for Imported {}

impl Imported {
    fn dims(&self) -> &[isize] {
        if self.ndim <= INLINE_DIMS {
            &self.inline[..2 * self.ndim]
        } else {
            &self.heap
        }
    }
}

impl Exporter for Imported {
    fn type_name(&self) -> &CStr {
        c"dlpack"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        let (shape, strides) = self.dims().split_at(self.ndim);
        Ok(Response {
            buf: self.buf,
            len: self.len,
            itemsize: self.itemsize,
            readonly: self.readonly,
            format: Some(self.format),
            ndim: self.ndim,
            shape: Some(shape),
            strides: Some(strides),
            device: self.device,
            ..Response::default()
        })
    }
    any_impl!();
}

impl Drop for Imported {
    fn drop(&mut self) {
        // SAFETY: the producer's contract: its deleter frees the tensor; called exactly once,
        // here, after the object's last reference and export.
        unsafe {
            match self.deleter {
                Deleter::Versioned(d, t) => d(t),
                Deleter::Legacy(d, t) => d(t),
                Deleter::None => {}
            }
        }
    }
}

/// Shape then byte strides of an imported tensor: inline up to `INLINE_DIMS` dimensions, else
/// on the heap.
struct DimsBuf {
    inline: [isize; 2 * INLINE_DIMS],
    heap: Vec<isize>,
}

impl DimsBuf {
    /// Room for `n` dimensions (a heap allocation only beyond `INLINE_DIMS`).
    fn new(n: usize) -> Result<DimsBuf> {
        let mut heap = Vec::new();
        if n > INLINE_DIMS {
            heap.try_reserve_exact(2 * n)
                .map_err(|_| err!(NoMemory, "cannot allocate the layout of {n} dimensions"))?;
            heap.resize(2 * n, 0);
        }
        Ok(DimsBuf {
            inline: [0; 2 * INLINE_DIMS],
            heap,
        })
    }

    fn get_mut(&mut self, n: usize) -> &mut [isize] {
        if n <= INLINE_DIMS {
            &mut self.inline[..2 * n]
        } else {
            &mut self.heap
        }
    }
}

/// The object of a checked tensor: the exporter is built once, in the object's slot, with the
/// deleter that runs when the object goes.
fn make_object(
    deleter: Deleter,
    (buf, len, itemsize): (*mut u8, isize, isize),
    readonly: bool,
    format: &'static CStr,
    n: usize,
    dims: DimsBuf,
    device: DLDevice,
) -> ObjRef {
    ObjRef::new(Imported {
        deleter,
        buf,
        len,
        itemsize,
        readonly,
        format,
        ndim: n,
        inline: dims.inline,
        heap: dims.heap,
        device: (device.device_type, device.device_id),
    })
}

/// Reads and checks a tensor, and makes its object, whose exporter runs `deleter` when the
/// object goes (nothing runs it on failure).
///
/// # Safety
/// `t` must be a valid `DLTensor` whose non-NULL `shape` and `strides` hold `ndim` entries.
unsafe fn read_tensor(t: &DLTensor, readonly: bool, deleter: Deleter) -> Result<ObjRef> {
    if !(0..=XBUF_MAX_NDIM).contains(&t.ndim) {
        bail!(
            InvalidArgument,
            "the tensor's ndim is {} (0 to {XBUF_MAX_NDIM} allowed)",
            t.ndim
        );
    }
    let n = t.ndim as usize;
    let (format, itemsize) = format_of_dtype(t.dtype)?;
    check_import_device(t.device)?;
    if n > 0 && t.shape.is_null() {
        bail!(InvalidArgument, "the tensor's shape is NULL with ndim {n}");
    }
    let mut dims = DimsBuf::new(n)?;
    let (shape, strides) = dims.get_mut(n).split_at_mut(n);
    for (k, e) in shape.iter_mut().enumerate() {
        let v = *t.shape.add(k);
        *e = isize::try_from(v)
            .ok()
            .filter(|&v| v >= 0)
            .ok_or_else(|| err!(InvalidArgument, "the tensor's shape[{k}] is {v}"))?;
    }
    if t.strides.is_null() {
        layout::contiguous_strides(shape, itemsize, Order::C, strides)?;
    } else {
        for (k, s) in strides.iter_mut().enumerate() {
            let v = *t.strides.add(k);
            *s = isize::try_from(v)
                .ok()
                .and_then(|v| v.checked_mul(itemsize))
                .ok_or_else(|| {
                    crate::status::overflow(format!("the tensor's strides[{k}] ({v} items)"))
                })?;
        }
    }
    let len = layout::byte_len(shape, itemsize)?;
    let offset = isize::try_from(t.byte_offset)
        .map_err(|_| crate::status::overflow(format!("byte_offset {}", t.byte_offset)))?;
    if t.data.is_null() && len != 0 {
        bail!(
            InvalidArgument,
            "the tensor's data is NULL but it has {len} bytes"
        );
    }
    let buf = (t.data as usize)
        .checked_add(offset as usize)
        .ok_or_else(|| crate::status::overflow("data + byte_offset"))?;
    let (lo, hi) = layout::extent(shape, strides, itemsize)?;
    if len != 0 {
        layout::check_address_range(buf, lo, hi).map_err(|_| {
            crate::status::overflow(format!(
                "the tensor's items at bytes {lo}..{hi} from address {buf:#x} (data + byte_offset)"
            ))
        })?;
    }
    // The address is data + byte_offset, kept with the tensor's provenance.
    let buf = t.data.cast::<u8>().wrapping_add(offset as usize);
    Ok(make_object(
        deleter,
        (buf, len, itemsize),
        readonly,
        format,
        n,
        dims,
        t.device,
    ))
}

/// Whether a managed tensor was made by this module's `export` (recognised by its deleter and
/// its context, the tensor's own address): its block then holds the view it describes.
fn is_own<T: Managed>(
    m: *mut T,
    ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut T)>,
) -> bool {
    let ours: unsafe extern "C" fn(*mut T) = delete_export::<T>;
    deleter.is_some_and(|d| d as usize == ours as usize) && ctx == m.cast::<c_void>()
}

/// The object of a tensor this library exported through `get_buffer`, its layout taken from the
/// view the tensor's block holds, which the library checked when it filled it: only while the tensor still says
/// what the export wrote (data, offset 0, shape, strides, item size, device), so that nothing
/// is checked twice. `Err(deleter)` (nothing made) for a tensor that says something else,
/// which is then read and checked as every producer's is.
///
/// # Safety
/// `m` must be a managed tensor made by `export::<T>` and not yet deleted; `t` its tensor.
unsafe fn read_own<T>(
    m: *mut T,
    t: &DLTensor,
    readonly: bool,
    deleter: Deleter,
) -> Result<std::result::Result<ObjRef, Deleter>> {
    // SAFETY: the tensor is the first field of its block, whose view is filled until the
    // deleter runs.
    let block = &*m.cast::<Exported<T>>();
    if !block.bare.is_null() {
        // Made from a view object's layout: no filled view to read.
        return Ok(Err(deleter));
    }
    let v = &block.view;
    if t.ndim != v.ndim || t.data != v.buf || t.byte_offset != 0 {
        return Ok(Err(deleter));
    }
    let n = v.ndim as usize;
    let (format, itemsize) = format_of_dtype(t.dtype)?;
    check_import_device(t.device)?;
    if itemsize != v.itemsize
        || (t.device.device_type, t.device.device_id) != read_device(v)
        || (n > 0 && (t.shape.is_null() || t.strides.is_null()))
    {
        return Ok(Err(deleter));
    }
    // SAFETY: the view has `n` shape and stride entries; the tensor's arrays have `n` too.
    let (shape, strides) = (
        std::slice::from_raw_parts(v.shape as *const isize, n),
        std::slice::from_raw_parts(v.strides as *const isize, n),
    );
    for k in 0..n {
        // Export wrote the exact quotient strides[k] / itemsize.
        if *t.shape.add(k) != shape[k] as i64 || *t.strides.add(k) != (strides[k] / itemsize) as i64
        {
            return Ok(Err(deleter));
        }
    }
    let mut dims = DimsBuf::new(n)?;
    let d = dims.get_mut(n);
    d[..n].copy_from_slice(shape);
    d[n..].copy_from_slice(strides);
    Ok(Ok(make_object(
        deleter,
        (v.buf.cast::<u8>(), v.len, itemsize),
        readonly,
        format,
        n,
        dims,
        t.device,
    )))
}

/// `xbuf_dlpack_import`: an object whose views read the tensor. On failure the tensor is
/// untouched.
///
/// # Safety
/// `t` must point at a valid `DLManagedTensorVersioned` the caller owns.
pub(crate) unsafe fn import(t: *mut DLManagedTensorVersioned) -> Result<ObjRef> {
    let m = &*t;
    if m.version.major != DLPACK_MAJOR {
        bail!(
            Unsupported,
            "the tensor has DLPack version {}.{}; this library reads major version {DLPACK_MAJOR}",
            m.version.major,
            m.version.minor
        );
    }
    let readonly = m.flags & FLAG_READ_ONLY != 0;
    let mut deleter = match m.deleter {
        Some(d) => Deleter::Versioned(d, t),
        None => Deleter::None,
    };
    if is_own(t, m.manager_ctx, m.deleter) {
        match read_own(t, &m.dl_tensor, readonly, deleter)? {
            Ok(obj) => return Ok(obj),
            Err(d) => deleter = d,
        }
    }
    read_tensor(&m.dl_tensor, readonly, deleter)
}

/// `xbuf_dlpack_import_unversioned`: as [`import`]; the object is read-only (the legacy struct
/// cannot say whether the memory may be written).
///
/// # Safety
/// `t` must point at a valid `DLManagedTensor` the caller owns.
pub(crate) unsafe fn import_unversioned(t: *mut DLManagedTensor) -> Result<ObjRef> {
    let m = &*t;
    let mut deleter = match m.deleter {
        Some(d) => Deleter::Legacy(d, t),
        None => Deleter::None,
    };
    if is_own(t, m.manager_ctx, m.deleter) {
        match read_own(t, &m.dl_tensor, true, deleter)? {
            Ok(obj) => return Ok(obj),
            Err(d) => deleter = d,
        }
    }
    read_tensor(&m.dl_tensor, true, deleter)
}
