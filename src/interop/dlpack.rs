//! DLPack 1.x both ways: a tensor of any object's memory (holding one export of it, handed
//! back by the tensor's deleter), and an object whose views read a tensor (running the
//! tensor's deleter when the object's last reference and last export are gone).
//!
//! The structs are declared from the DLPack specification with integer fields for every code,
//! so that a code this library does not know is a value to refuse, never undefined behaviour.
//! The legacy `DLManagedTensor` is handled by the same code as `DLManagedTensorVersioned`.

use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use crate::bufferinfo::{self, read_device};
use crate::capi::*;
use crate::exporters::any_impl;
use crate::layout::{self, Order};
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::request::Flags;
use crate::status::Result;
use crate::{bail, err};

/// The DLPack major version this library reads and writes.
pub(crate) const DLPACK_MAJOR: u32 = 1;
/// The DLPack minor version whose structs and codes this library implements.
pub(crate) const DLPACK_MINOR: u32 = 1;

/// `DLManagedTensorVersioned.flags`: the memory must not be written.
pub(crate) const FLAG_READ_ONLY: u64 = 1 << 0;

/// `DLDataTypeCode` values (`DLDataType.code`).
pub(crate) mod code {
    pub(crate) const INT: u8 = 0;
    pub(crate) const UINT: u8 = 1;
    pub(crate) const FLOAT: u8 = 2;
    pub(crate) const OPAQUE_HANDLE: u8 = 3;
    pub(crate) const BFLOAT: u8 = 4;
    pub(crate) const COMPLEX: u8 = 5;
    pub(crate) const BOOL: u8 = 6;
}

/// `DLDeviceType` values this module names.
pub(crate) mod device {
    pub(crate) const CPU: i32 = 1;
    pub(crate) const OPENCL: i32 = 4;
    pub(crate) const VULKAN: i32 = 7;
    pub(crate) const METAL: i32 = 8;
    pub(crate) const EXT_DEV: i32 = 12;
    pub(crate) const WEBGPU: i32 = 15;
    /// The highest device code of DLPack 1.1 (`kDLMAIA`).
    pub(crate) const LAST_KNOWN: i32 = 17;
}

/// `DLDevice`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DLDevice {
    /// `DLDeviceType` code (`kDLCPU` = 1, `kDLCUDA` = 2, ...).
    pub device_type: i32,
    /// The device's ordinal (0 for the CPU).
    pub device_id: i32,
}

/// `DLDataType`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DLDataType {
    /// `DLDataTypeCode` (0 int, 1 uint, 2 float, 5 complex, 6 bool, ...).
    pub code: u8,
    /// Bits per lane.
    pub bits: u8,
    /// Lanes per item (1 for scalars; xbuf refuses other counts).
    pub lanes: u16,
}

/// `DLTensor`.
#[repr(C)]
#[derive(Debug)]
pub struct DLTensor {
    /// The memory (on `device`), before `byte_offset` is added.
    pub data: *mut c_void,
    /// Where the memory lives.
    pub device: DLDevice,
    /// Number of dimensions.
    pub ndim: i32,
    /// The item type.
    pub dtype: DLDataType,
    /// `ndim` extents.
    pub shape: *mut i64,
    /// `ndim` strides in items, or NULL for C order.
    pub strides: *mut i64,
    /// Bytes from `data` to the first item.
    pub byte_offset: u64,
}

/// `DLPackVersion`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DLPackVersion {
    /// Major version (1 for DLPack 1.x).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

/// `DLManagedTensorVersioned`.
#[repr(C)]
#[derive(Debug)]
pub struct DLManagedTensorVersioned {
    /// The DLPack version the producer implements.
    pub version: DLPackVersion,
    /// The producer's context, for its deleter.
    pub manager_ctx: *mut c_void,
    /// Called once by the consumer when done (may be NULL).
    pub deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    /// `DLPACK_FLAG_BITMASK_*` bits (read-only, is-copied, ...).
    pub flags: u64,
    /// The tensor.
    pub dl_tensor: DLTensor,
}

/// `DLManagedTensor` (the legacy struct, without version and flags).
#[repr(C)]
#[derive(Debug)]
pub struct DLManagedTensor {
    /// The tensor.
    pub dl_tensor: DLTensor,
    /// The producer's context, for its deleter.
    pub manager_ctx: *mut c_void,
    /// Called once by the consumer when done (may be NULL).
    pub deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

use XBUF_DLPACK_UNMARKED_READONLY as UNMARKED_READONLY;

// ---------------------------------------------------------------------------------------------
// Formats and data types
// ---------------------------------------------------------------------------------------------

/// The DLPack data type of one item of format `fmt` (`itemsize` bytes, already checked against
/// the format by the library): a single integer, float, complex or bool scalar in native byte
/// order. Anything else is refused with a message saying why.
pub(crate) fn dtype_of_format(fmt: &[u8], itemsize: isize) -> Result<DLDataType> {
    let (order, rest) = match fmt.first() {
        Some(&c @ (b'@' | b'=' | b'<' | b'>' | b'!')) => (c, &fmt[1..]),
        _ => (b'@', fmt),
    };
    let native_little = cfg!(target_endian = "little");
    let native = match order {
        b'<' => native_little,
        b'>' | b'!' => !native_little,
        _ => true,
    };
    let kind = match rest {
        [b'b' | b'h' | b'i' | b'l' | b'q' | b'n'] => Some(code::INT),
        [b'B' | b'H' | b'I' | b'L' | b'Q' | b'N'] => Some(code::UINT),
        [b'e' | b'f' | b'd'] => Some(code::FLOAT),
        [b'Z', b'f' | b'd'] => Some(code::COMPLEX),
        [b'?'] => Some(code::BOOL),
        _ => None,
    };
    let text = || String::from_utf8_lossy(fmt).into_owned();
    match kind {
        Some(_) if !native => bail!(
            Format,
            "format '{}' is in non-native byte order; DLPack tensors hold native-order items",
            text()
        ),
        Some(code) => {
            let bits = itemsize
                .checked_mul(8)
                .and_then(|b| u8::try_from(b).ok())
                .ok_or_else(|| err!(Format, "format '{}' has {itemsize}-byte items", text()))?;
            Ok(DLDataType {
                code,
                bits,
                lanes: 1,
            })
        }
        None => Err(format_refusal(fmt)),
    }
}

/// Why a format has no DLPack data type.
#[cold]
fn format_refusal(fmt: &[u8]) -> crate::status::Error {
    let text = String::from_utf8_lossy(fmt);
    let body = match fmt.first() {
        Some(b'@' | b'=' | b'<' | b'>' | b'!') => &fmt[1..],
        _ => fmt,
    };
    let why = if body.contains(&b'T') && body.contains(&b'{') {
        "a struct (T{...}) has no DLPack data type"
    } else if body.contains(&b':') {
        "named fields have no DLPack data type"
    } else if body.contains(&b'(') {
        "a sub-array ((n)x) has no DLPack data type; cast the view to add its dimensions"
    } else if body == b"g" || body == b"Zg" {
        "long double ('g') has no DLPack data type"
    } else if body == b"Ze" {
        "complex half ('Ze') has no DLPack data type"
    } else if body.first().is_some_and(u8::is_ascii_digit) {
        "a repeat count makes several values per item; DLPack items are one scalar"
    } else {
        "only the integer codes b B h H i I l L q Q n N, the floats e f d, the complex Zf Zd and the bool ? have DLPack data types"
    };
    err!(
        Format,
        "format '{text}' cannot be exported to DLPack: {why}"
    )
}

/// The PEP 3118 format (native, fixed size) of a DLPack data type, and its item size.
pub(crate) fn format_of_dtype(t: DLDataType) -> Result<(&'static CStr, isize)> {
    if t.lanes != 1 {
        bail!(
            Unsupported,
            "DLPack data type (code {}, bits {}) has {} lanes; vector types have no PEP 3118 format",
            t.code,
            t.bits,
            t.lanes
        );
    }
    if t.bits == 0 || t.bits % 8 != 0 {
        bail!(
            Unsupported,
            "DLPack data type (code {}) has {} bits; sub-byte types are not supported",
            t.code,
            t.bits
        );
    }
    let f: Option<&'static CStr> = match (t.code, t.bits) {
        (code::INT, 8) => Some(c"b"),
        (code::INT, 16) => Some(c"h"),
        (code::INT, 32) => Some(c"i"),
        (code::INT, 64) => Some(c"q"),
        (code::UINT, 8) => Some(c"B"),
        (code::UINT, 16) => Some(c"H"),
        (code::UINT, 32) => Some(c"I"),
        (code::UINT, 64) => Some(c"Q"),
        (code::FLOAT, 16) => Some(c"e"),
        (code::FLOAT, 32) => Some(c"f"),
        (code::FLOAT, 64) => Some(c"d"),
        (code::COMPLEX, 64) => Some(c"Zf"),
        (code::COMPLEX, 128) => Some(c"Zd"),
        (code::BOOL, 8) => Some(c"?"),
        _ => None,
    };
    match f {
        Some(f) => Ok((f, isize::from(t.bits / 8))),
        None => {
            let name = match t.code {
                code::INT => "int",
                code::UINT => "uint",
                code::FLOAT => "float",
                code::OPAQUE_HANDLE => "opaque handle",
                code::BFLOAT => "bfloat",
                code::COMPLEX => "complex",
                code::BOOL => "bool",
                _ => "unknown",
            };
            bail!(
                Unsupported,
                "DLPack data type {name} (code {}) of {} bits has no PEP 3118 format",
                t.code,
                t.bits
            )
        }
    }
}

/// Refuses devices whose `data` is not an address (an opaque handle) or whose code this
/// library does not know.
pub(crate) fn check_import_device(d: DLDevice) -> Result<()> {
    match d.device_type {
        device::OPENCL | device::VULKAN | device::METAL | device::WEBGPU => bail!(
            Unsupported,
            "DLPack device type {} keeps an opaque handle in data, not an address",
            d.device_type
        ),
        device::EXT_DEV => bail!(
            Unsupported,
            "DLPack device type {} (kDLExtDev) has no defined memory semantics",
            d.device_type
        ),
        t if !(device::CPU..=device::LAST_KNOWN).contains(&t) || t == 5 || t == 6 => bail!(
            Unsupported,
            "DLPack device type {t} is not a device type this library knows"
        ),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// Dimensions held inline (shape and strides of up to this many) before the heap is used.
const INLINE_DIMS: usize = 8;

/// The two managed-tensor structs, for code shared by both.
pub(crate) trait Managed: Sized {
    /// Writes the tensor fields, the context and the deleter.
    fn init(&mut self, t: DLTensor, ctx: *mut c_void, readonly: bool);
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
    fn init(&mut self, t: DLTensor, ctx: *mut c_void, readonly: bool) {
        self.version = DLPackVersion {
            major: DLPACK_MAJOR,
            minor: DLPACK_MINOR,
        };
        self.manager_ctx = ctx;
        self.deleter = Some(delete_export::<DLManagedTensorVersioned>);
        self.flags = if readonly { FLAG_READ_ONLY } else { 0 };
        self.dl_tensor = t;
    }
    fn spare() -> &'static std::thread::LocalKey<Spare> {
        &SPARE_VERSIONED
    }
}

impl Managed for DLManagedTensor {
    fn init(&mut self, t: DLTensor, ctx: *mut c_void, _readonly: bool) {
        self.dl_tensor = t;
        self.manager_ctx = ctx;
        self.deleter = Some(delete_export::<DLManagedTensor>);
    }
    fn spare() -> &'static std::thread::LocalKey<Spare> {
        &SPARE_LEGACY
    }
}

/// One allocation holding an exported tensor, the view it describes (the export of the
/// object) and its shape and strides. `tensor` comes first, so the tensor's address is the
/// block's.
#[repr(C)]
pub(crate) struct Exported<T> {
    tensor: T,
    /// Filled by the library; never moves (the block is boxed before it is filled). Dropping
    /// the block releases it (a no-op while it is empty).
    view: xbuf_bufferinfo,
    /// Shape and strides of up to `INLINE_DIMS` dimensions (written before they are used).
    inline: [std::mem::MaybeUninit<i64>; 2 * INLINE_DIMS],
    /// Shape and strides of more than `INLINE_DIMS` dimensions: a boxed slice of `heap_len`
    /// entries, or NULL.
    heap: *mut i64,
    heap_len: usize,
    /// The export a tensor made straight from a view object's layout holds on the object that
    /// owns the memory (`view` stays empty then), or NULL.
    bare: *mut Object,
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
        // SAFETY: every field but the `MaybeUninit` array is written before the box is made;
        // an all-zero tensor struct is valid (NULL pointers, no deleter, zero numbers).
        unsafe {
            ptr::addr_of_mut!((*raw).tensor).write_bytes(0, 1);
            ptr::addr_of_mut!((*raw).view).write(xbuf_bufferinfo::empty());
            ptr::addr_of_mut!((*raw).heap).write(ptr::null_mut());
            ptr::addr_of_mut!((*raw).heap_len).write(0);
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
        if !self.heap.is_null() {
            // SAFETY: made from a boxed slice of `heap_len` entries in `export`.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(self.heap, self.heap_len)) });
        }
    }
}

/// The deleter of every tensor this module exports: hands the export back, frees the block.
unsafe extern "C" fn delete_export<T: Managed>(t: *mut T) {
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
fn export_general<T: Managed>(
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
    // SAFETY: filled by the library: `format` is NUL-terminated, `shape`/`strides` hold
    // `ndim` entries, all valid until the view is released (`finish` does not touch it).
    unsafe {
        let v = ptr::addr_of!((*raw).view);
        if !(*v).suboffsets.is_null() {
            // Dropping the block releases the view.
            drop(Box::from_raw(raw));
            return Err(indirect());
        }
        let n = (*v).ndim as usize;
        let parts = Parts {
            data: (*v).buf,
            itemsize: (*v).itemsize,
            format: CStr::from_ptr((*v).format),
            shape: std::slice::from_raw_parts((*v).shape as *const isize, n),
            strides: std::slice::from_raw_parts((*v).strides as *const isize, n),
            readonly: (*v).readonly != 0,
            device: read_device(v),
        };
        finish(raw, &parts, flags, legacy)
    }
}

/// What a tensor is made of, read from a filled view or a view object's layout.
struct Parts<'a> {
    data: *mut c_void,
    itemsize: isize,
    format: &'a CStr,
    shape: &'a [isize],
    strides: &'a [isize],
    readonly: bool,
    device: (i32, i32),
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
    let written = write_tensor(raw, p, flags, legacy);
    if written.is_err() {
        drop(Box::from_raw(raw));
    }
    written
}

/// [`finish`]'s work; the caller frees the block on failure.
unsafe fn write_tensor<T: Managed>(
    raw: *mut Exported<T>,
    p: &Parts<'_>,
    flags: c_int,
    legacy: bool,
) -> Result<*mut T> {
    let dtype = dtype_of_format(p.format.to_bytes(), p.itemsize)?;
    let n = p.shape.len();
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
    let readonly = p.readonly;
    if legacy && readonly && flags & UNMARKED_READONLY == 0 {
        bail!(
            ReadOnly,
            "the memory is read-only and the legacy DLManagedTensor cannot mark it so; pass XBUF_DLPACK_UNMARKED_READONLY to export it anyway, or use xbuf_dlpack_export"
        );
    }
    let (device_type, device_id) = p.device;
    let dims: *mut i64 = if n <= INLINE_DIMS {
        ptr::addr_of_mut!((*raw).inline).cast::<i64>()
    } else {
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
        heap
    };
    // `dims` holds 2n entries, owned by the block.
    for (k, (&e, &s)) in p.shape.iter().zip(p.strides).enumerate() {
        dims.add(k).write(e as i64);
        dims.add(n + k).write((s / itemsize) as i64);
    }
    let t = DLTensor {
        data: p.data,
        device: DLDevice {
            device_type,
            device_id,
        },
        ndim: n as i32,
        dtype,
        shape: if n == 0 { ptr::null_mut() } else { dims },
        // Within the 2n entries.
        strides: if n == 0 { ptr::null_mut() } else { dims.add(n) },
        byte_offset: 0,
    };
    // The tensor is the block's first field.
    (*ptr::addr_of_mut!((*raw).tensor)).init(t, raw.cast(), readonly);
    Ok(ptr::addr_of_mut!((*raw).tensor))
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
#[path = "dlpack_view_tests.rs"]
mod view_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporters::ndarray::NdArray;
    use crate::status::Status;
    use std::mem::{offset_of, size_of};

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn struct_layouts_are_the_specs() {
        assert_eq!(size_of::<DLDevice>(), 8);
        assert_eq!(size_of::<DLDataType>(), 4);
        assert_eq!(offset_of!(DLTensor, device), 8);
        assert_eq!(offset_of!(DLTensor, ndim), 16);
        assert_eq!(offset_of!(DLTensor, dtype), 20);
        assert_eq!(offset_of!(DLTensor, shape), 24);
        assert_eq!(offset_of!(DLTensor, strides), 32);
        assert_eq!(offset_of!(DLTensor, byte_offset), 40);
        assert_eq!(size_of::<DLTensor>(), 48);
        assert_eq!(offset_of!(DLManagedTensorVersioned, manager_ctx), 8);
        assert_eq!(offset_of!(DLManagedTensorVersioned, deleter), 16);
        assert_eq!(offset_of!(DLManagedTensorVersioned, flags), 24);
        assert_eq!(offset_of!(DLManagedTensorVersioned, dl_tensor), 32);
        assert_eq!(size_of::<DLManagedTensorVersioned>(), 80);
        assert_eq!(offset_of!(DLManagedTensor, manager_ctx), 48);
        assert_eq!(offset_of!(DLManagedTensor, deleter), 56);
        assert_eq!(size_of::<DLManagedTensor>(), 64);
    }

    #[test]
    fn formats_map_to_dtypes_and_back() {
        let cases: &[(&[u8], isize, u8, u8)] = &[
            (b"b", 1, code::INT, 8),
            (b"<h", 2, code::INT, 16),
            (b"=i", 4, code::INT, 32),
            (b"l", 8, code::INT, 64),
            (b"q", 8, code::INT, 64),
            (b"n", 8, code::INT, 64),
            (b"B", 1, code::UINT, 8),
            (b"@Q", 8, code::UINT, 64),
            (b"N", 8, code::UINT, 64),
            (b"e", 2, code::FLOAT, 16),
            (b"f", 4, code::FLOAT, 32),
            (b"d", 8, code::FLOAT, 64),
            (b"Zf", 8, code::COMPLEX, 64),
            (b"Zd", 16, code::COMPLEX, 128),
            (b"?", 1, code::BOOL, 8),
        ];
        for &(fmt, size, c, bits) in cases {
            let t = dtype_of_format(fmt, size).unwrap();
            assert_eq!(
                t,
                DLDataType {
                    code: c,
                    bits,
                    lanes: 1
                },
                "{fmt:?}"
            );
            let (back, s) = format_of_dtype(t).unwrap();
            assert_eq!(s, size);
            assert_eq!(
                crate::format::itemsize(back.to_bytes()).unwrap() as isize,
                size
            );
        }
    }

    #[test]
    fn formats_without_a_dtype_are_refused_saying_why() {
        // '!' is big-endian: not native on little-endian machines.
        let (other, network) = if cfg!(target_endian = "little") {
            (">i", "!d")
        } else {
            ("<i", "<d")
        };
        for (fmt, why) in [
            (other.to_string(), "non-native byte order"),
            (network.into(), "non-native byte order"),
            ("T{i:a:}".into(), "struct"),
            ("i:x:".into(), "named fields"),
            ("(2)i".into(), "sub-array"),
            ("g".into(), "long double"),
            ("2i".into(), "repeat count"),
            ("ii".into(), "only the integer codes"),
            ("s".into(), "only the integer codes"),
            ("c".into(), "only the integer codes"),
            ("P".into(), "only the integer codes"),
        ] {
            let e = dtype_of_format(fmt.as_bytes(), 4).unwrap_err();
            assert_eq!(e.status, Status::Format, "{fmt}");
            assert!(e.message.contains(why), "{fmt}: {}", e.message);
        }
    }

    #[test]
    fn dtypes_without_a_format_are_refused() {
        let t = |code, bits, lanes| DLDataType { code, bits, lanes };
        for (d, why) in [
            (t(code::FLOAT, 32, 4), "lanes"),
            (t(code::INT, 4, 1), "sub-byte"),
            (t(code::UINT, 0, 1), "sub-byte"),
            (t(code::BFLOAT, 16, 1), "bfloat"),
            (t(code::OPAQUE_HANDLE, 64, 1), "opaque handle"),
            (t(code::FLOAT, 128, 1), "float"),
            (t(code::BOOL, 16, 1), "bool"),
            (t(9, 8, 1), "unknown"),
        ] {
            let e = format_of_dtype(d).unwrap_err();
            assert_eq!(e.status, Status::Unsupported);
            assert!(e.message.contains(why), "{d:?}: {}", e.message);
        }
    }

    #[test]
    fn devices_with_opaque_handles_or_unknown_codes_are_refused() {
        for ok in [1, 2, 3, 9, 10, 11, 13, 14, 16, 17] {
            check_import_device(DLDevice {
                device_type: ok,
                device_id: 0,
            })
            .unwrap();
        }
        for bad in [0, -1, 4, 5, 6, 7, 8, 12, 15, 18, 1000] {
            let e = check_import_device(DLDevice {
                device_type: bad,
                device_id: 0,
            })
            .unwrap_err();
            assert_eq!(e.status, Status::Unsupported, "{bad}");
        }
    }

    #[test]
    fn export_then_import_reads_the_same_memory_and_hands_everything_back() {
        let obj = NdArray::zeros(b"<i", &[3, 4], Order::F, 0).unwrap();
        let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
        assert_eq!(obj.exports(), 1);
        unsafe {
            let m = &*t;
            assert_eq!((m.version.major, m.version.minor), (1, 1));
            assert_eq!(m.flags, 0);
            let d = &m.dl_tensor;
            assert_eq!(d.ndim, 2);
            assert_eq!(std::slice::from_raw_parts(d.shape, 2), &[3, 4]);
            assert_eq!(std::slice::from_raw_parts(d.strides, 2), &[1, 3]);
            assert_eq!(
                d.dtype,
                DLDataType {
                    code: code::INT,
                    bits: 32,
                    lanes: 1
                }
            );
            let back = import(t).unwrap();
            let mut v = xbuf_bufferinfo::empty();
            bufferinfo::get_buffer(&back, &mut v, XBUF_FULL_RO).unwrap();
            assert_eq!(v.buf, d.data);
            assert_eq!(std::slice::from_raw_parts(v.strides, 2), &[4, 12]);
            bufferinfo::release(&mut v).unwrap();
            drop(back);
        }
        assert_eq!(obj.exports(), 0);
    }

    /// A tensor this library exported is imported from the view its block holds while it
    /// still says what the export wrote; a tensor changed since is read and checked as any
    /// producer's (so a bad change is refused and a good one is honoured).
    #[test]
    fn own_tensors_are_imported_from_their_view_unless_changed() {
        fn layout(obj: &Object) -> (usize, Vec<isize>, Vec<isize>, isize, c_int) {
            let mut v = xbuf_bufferinfo::empty();
            unsafe {
                bufferinfo::get_buffer(obj, &mut v, XBUF_FULL_RO).unwrap();
                let n = v.ndim as usize;
                let out = (
                    v.buf as usize,
                    std::slice::from_raw_parts(v.shape, n).to_vec(),
                    std::slice::from_raw_parts(v.strides, n).to_vec(),
                    v.len,
                    v.readonly,
                );
                bufferinfo::release(&mut v).unwrap();
                out
            }
        }
        let obj = NdArray::zeros(b"d", &[3, 4], Order::F, 0).unwrap();
        let (buf, ..) = layout(&obj);
        // Unchanged, versioned and legacy, and with more dimensions than are kept inline.
        let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
        let back = unsafe { import(t) }.unwrap();
        assert_eq!(layout(&back), (buf, vec![3, 4], vec![8, 24], 96, 0));
        drop(back);
        let t: *mut DLManagedTensor = export(&obj, 0, true).unwrap();
        let back = unsafe { import_unversioned(t) }.unwrap();
        assert_eq!(layout(&back), (buf, vec![3, 4], vec![8, 24], 96, 1));
        drop(back);
        let many = NdArray::zeros(b"B", &[2; 10], Order::C, 0).unwrap();
        let t: *mut DLManagedTensorVersioned = export(&many, 0, false).unwrap();
        let back = unsafe { import(t) }.unwrap();
        let strides: Vec<isize> = (0..10).map(|k| 1 << (9 - k)).collect();
        assert_eq!(layout(&back).1, vec![2; 10]);
        assert_eq!(layout(&back).2, strides);
        drop(back);
        assert_eq!(many.exports(), 0);
        unsafe {
            // A changed extent and stride are honoured (checked as any tensor's).
            let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
            *(*t).dl_tensor.shape.add(1) = 2;
            *(*t).dl_tensor.strides.add(1) = 6;
            let back = import(t).unwrap();
            assert_eq!(layout(&back), (buf, vec![3, 2], vec![8, 48], 48, 0));
            drop(back);
            // An offset moves the data.
            let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
            (*t).dl_tensor.byte_offset = 8;
            *(*t).dl_tensor.shape = 2;
            let back = import(t).unwrap();
            assert_eq!(layout(&back).0, buf + 8);
            drop(back);
            // A negative extent is refused, the tensor left to its owner.
            let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
            *(*t).dl_tensor.shape = -1;
            let e = import(t).unwrap_err();
            assert_eq!(e.status, Status::InvalidArgument);
            assert!(e.message.contains("shape[0] is -1"), "{}", e.message);
            // A changed data type is read as the new one; an unknown one refused.
            (*t).dl_tensor.dtype.bits = 12;
            let e = import(t).unwrap_err();
            assert_eq!(e.status, Status::Unsupported);
            *(*t).dl_tensor.shape = 3;
            (*t).dl_tensor.dtype = DLDataType {
                code: code::INT,
                bits: 64,
                lanes: 1,
            };
            let back = import(t).unwrap();
            let mut v = xbuf_bufferinfo::empty();
            bufferinfo::get_buffer(&back, &mut v, XBUF_FULL_RO).unwrap();
            assert_eq!(CStr::from_ptr(v.format).to_bytes(), b"q");
            bufferinfo::release(&mut v).unwrap();
            drop(back);
        }
        assert_eq!(obj.exports(), 0);
    }

    #[test]
    fn imported_device_memory_reaches_only_device_requests_and_views_keep_it() {
        // An address nobody reads: the test would crash (or a sanitizer report) if anything did.
        let data = 0x1000 as *mut c_void;
        let mut shape = [3i64, 4];
        let mut t = DLManagedTensorVersioned {
            version: DLPackVersion { major: 1, minor: 1 },
            manager_ctx: ptr::null_mut(),
            deleter: None,
            flags: FLAG_READ_ONLY,
            dl_tensor: DLTensor {
                data,
                device: DLDevice {
                    device_type: 2,
                    device_id: 5,
                },
                ndim: 2,
                dtype: DLDataType {
                    code: code::FLOAT,
                    bits: 32,
                    lanes: 1,
                },
                shape: shape.as_mut_ptr(),
                strides: ptr::null_mut(),
                byte_offset: 16,
            },
        };
        let obj = unsafe { import(&mut t) }.unwrap();
        let mut v = xbuf_bufferinfo::empty();
        let e = unsafe { bufferinfo::get_buffer(&obj, &mut v, XBUF_FULL_RO) }.unwrap_err();
        assert_eq!(e.status, Status::Request);
        assert!(e.message.contains("lacks XBUF_DEVICE"), "{}", e.message);
        unsafe { bufferinfo::get_buffer(&obj, &mut v, XBUF_FULL_RO | XBUF_DEVICE) }.unwrap();
        assert_eq!((v.device_type, v.device_id), (2, 5));
        assert_eq!(v.buf as usize, 0x1010);
        unsafe { bufferinfo::release(&mut v) }.unwrap();

        let view = crate::view::new(&obj, XBUF_FULL_RO | XBUF_DEVICE).unwrap();
        let spec = crate::view::SliceSpec {
            start: 1,
            stop: 3,
            step: 1,
        };
        let sliced = crate::view::slice(&view, &[spec]).unwrap();
        crate::view::with(&sliced, |s| {
            assert_eq!(s.device(), (2, 5));
            Ok(())
        })
        .unwrap();
        let e = crate::view::tolist(&sliced).unwrap_err();
        assert_eq!(e.status, Status::Unsupported);
        let e = crate::view::hash(&sliced).unwrap_err();
        assert_eq!(e.status, Status::Unsupported);
        assert!(e.message.contains("not the CPU"), "{}", e.message);
        // And out again, device and all.
        let back: *mut DLManagedTensorVersioned = export(&sliced, 0, false).unwrap();
        unsafe {
            assert_eq!((*back).dl_tensor.device.device_type, 2);
            assert_eq!((*back).dl_tensor.device.device_id, 5);
            assert_eq!((*back).dl_tensor.data as usize, 0x1010 + 16);
            ((*back).deleter.unwrap())(back);
        }
    }
}
