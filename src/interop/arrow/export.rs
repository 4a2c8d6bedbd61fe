//! Export: the Arrow type of an item format, the layout plan, and the schema and array of an
//! export (whose private data holds the export until the last of them is released).

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use crate::bail;
use crate::bufferinfo;
use crate::capi::{xbuf_bufferinfo, XBUF_FULL_RO};
use crate::format::{self, ByteOrder, FieldType, Kind};
use crate::layout::Order;
use crate::object::Object;
use crate::status::{overflow, Result};

use super::metadata::{encode_metadata_into, tensor_metadata_into, write_uint};
use super::{
    ArrowArray, ArrowSchema, BOOL8, EXT_META, EXT_NAME, FLAG_NULLABLE, FORMAT_KEY, TENSOR,
};

/// The Arrow type of one item.
#[derive(Debug, PartialEq, Eq)]
pub enum ItemType {
    /// A primitive Arrow type by its format string.
    Primitive(&'static CStr),
    /// `arrow.bool8` on `c`.
    Bool8,
    /// Fixed-size binary of this many bytes, carrying the PEP 3118 format.
    Binary(usize),
}

/// The Arrow type for items of the PEP 3118 format `fmt` (`None`: `"B"`).
pub fn item_type(fmt: Option<&[u8]>, itemsize: usize) -> Result<ItemType> {
    let Some(fmt) = fmt else {
        return Ok(if itemsize == 1 {
            ItemType::Primitive(c"C")
        } else {
            ItemType::Binary(itemsize)
        });
    };
    // One native code, as most views have: no parse needed (the request already checked
    // that `itemsize` is the code's size).
    if let [code] | [b'@', code] = fmt {
        if let Some(t) = native_code(*code, itemsize) {
            return Ok(t);
        }
    }
    let f = format::parse(fmt)?;
    let scalar = match f.top_field() {
        Some(field) if field.shape.is_empty() && f.itemsize() == itemsize => match &field.ty {
            FieldType::Scalar(s) => Some(s),
            FieldType::Struct(_) => None,
        },
        _ => None,
    };
    let Some(s) = scalar else {
        return Ok(ItemType::Binary(itemsize));
    };
    let native = s.size == 1 || s.order == ByteOrder::NATIVE;
    if native && s.kind == Kind::Bool && s.size == 1 {
        return Ok(ItemType::Bool8);
    }
    Ok(match primitive(s.kind, s.size).filter(|_| native) {
        Some(c) => ItemType::Primitive(c),
        None => ItemType::Binary(itemsize),
    })
}

/// The Arrow type of a lone native struct code whose size is `size`; `None` for the codes that
/// need the full parse.
fn native_code(code: u8, size: usize) -> Option<ItemType> {
    let kind = match code {
        b'b' | b'h' | b'i' | b'l' | b'q' | b'n' => Kind::Int,
        b'B' | b'H' | b'I' | b'L' | b'Q' | b'N' => Kind::UInt,
        b'e' | b'f' | b'd' => Kind::Float,
        b'?' if size == 1 => return Some(ItemType::Bool8),
        _ => return None,
    };
    primitive(kind, size).map(ItemType::Primitive)
}

/// The Arrow format of a native scalar.
fn primitive(kind: Kind, size: usize) -> Option<&'static CStr> {
    Some(match (kind, size) {
        (Kind::Int, 1) => c"c",
        (Kind::Int, 2) => c"s",
        (Kind::Int, 4) => c"i",
        (Kind::Int, 8) => c"l",
        (Kind::UInt, 1) => c"C",
        (Kind::UInt, 2) => c"S",
        (Kind::UInt, 4) => c"I",
        (Kind::UInt, 8) => c"L",
        (Kind::Float, 2) => c"e",
        (Kind::Float, 4) => c"f",
        (Kind::Float, 8) => c"g",
        _ => return None,
    })
}

/// How the items of a view are laid out as an Arrow array.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// A flat array of this many items.
    Flat(isize),
    /// `arrow.fixed_shape_tensor`: `length` tensors of the physical (row-major) shape `shape`;
    /// `permutation[i]` is the physical axis of logical axis `i` (`None`: the identity).
    Tensor {
        length: isize,
        shape: Vec<isize>,
        permutation: Option<Vec<usize>>,
    },
}

/// Plans the Arrow layout of a view (`strides` `None`: C-contiguous).
pub fn plan(shape: &[isize], strides: Option<&[isize]>, itemsize: isize) -> Result<Plan> {
    let Some(strides) = strides else {
        return Ok(match shape {
            [] => Plan::Flat(1),
            [n] => Plan::Flat(*n),
            [n, rest @ ..] => Plan::Tensor {
                length: *n,
                shape: rest.to_vec(),
                permutation: None,
            },
        });
    };
    match shape {
        [] => return Ok(Plan::Flat(1)),
        [n] if *n <= 1 || strides[0] == itemsize => return Ok(Plan::Flat(*n)),
        [n] => bail!(
            NotContiguous,
            "the view's {n} items lie {} bytes apart, not {itemsize}: an Arrow array needs \
             contiguous items (copy the view first)",
            strides[0]
        ),
        _ => {}
    }
    let n = shape.len();
    let tensor = 1..n;
    if shape.contains(&0) {
        return Ok(Plan::Tensor {
            length: shape[0],
            shape: shape[1..].to_vec(),
            permutation: None,
        });
    }
    if crate::layout::is_contiguous(shape, Some(strides), false, itemsize, Order::C) {
        return Ok(Plan::Tensor {
            length: shape[0],
            shape: shape[1..].to_vec(),
            permutation: None,
        });
    }
    // The tensor axes of extent > 1 from the outermost (largest stride) in; then those of
    // extent 1 (whose strides never matter) each before the first axis after it in logical
    // order, so that a C-contiguous layout gets the identity.
    let mut order: Vec<usize> = tensor.clone().filter(|&d| shape[d] > 1).collect();
    order.sort_by_key(|&d| std::cmp::Reverse(strides[d]));
    for d in tensor.clone().filter(|&d| shape[d] == 1) {
        let at = order.iter().position(|&e| e > d).unwrap_or(order.len());
        order.insert(at, d);
    }
    // Arrow needs axis 0 outermost, so that each tensor is one contiguous run.
    let mut step = itemsize;
    let mut runs = true;
    for &d in order.iter().rev() {
        if shape[d] > 1 && strides[d] != step {
            runs = false;
            break;
        }
        step = step.saturating_mul(shape[d]);
    }
    if !runs || (shape[0] > 1 && strides[0] != step) {
        if !layout_contiguous_any(shape, strides, itemsize) {
            bail!(
                NotContiguous,
                "shape {shape:?} with strides {strides:?} is not contiguous in any order of \
                 the axes (copy the view first)"
            );
        }
        bail!(
            NotContiguous,
            "shape {shape:?} with strides {strides:?}: axis 0 is not the outermost axis, but \
             an Arrow tensor array stores each of its {} tensors as one contiguous run (copy \
             the view to C order, or transpose it, first)",
            shape[0]
        );
    }
    let physical: Vec<isize> = order.iter().map(|&d| shape[d]).collect();
    let mut permutation = vec![0usize; n - 1];
    for (j, &d) in order.iter().enumerate() {
        permutation[d - 1] = j;
    }
    let identity = permutation.iter().enumerate().all(|(i, &p)| i == p);
    Ok(Plan::Tensor {
        length: shape[0],
        shape: physical,
        permutation: (!identity).then_some(permutation),
    })
}

fn layout_contiguous_any(shape: &[isize], strides: &[isize], itemsize: isize) -> bool {
    let mut dims: Vec<usize> = (0..shape.len()).filter(|&d| shape[d] > 1).collect();
    dims.sort_by_key(|&d| std::cmp::Reverse(strides[d]));
    let mut step = itemsize;
    for &d in dims.iter().rev() {
        if strides[d] != step {
            return false;
        }
        match step.checked_mul(shape[d]) {
            Some(s) => step = s,
            None => return false,
        }
    }
    true
}

/// The export an exported array holds, returned when dropped: a filled view, or (for an array
/// made straight from a view object's layout) one export counted on the object that owns the
/// memory, the view left empty.
struct Shared {
    view: UnsafeCell<xbuf_bufferinfo>,
    /// The owner holding that bare export, or NULL.
    bare: *mut Object,
}

// SAFETY: the view is written only by `get_buffer`/`move_view` before the value is shared and
// by `Drop` after the last owner is gone; in between it is only read.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    fn empty() -> Shared {
        Shared {
            view: UnsafeCell::new(xbuf_bufferinfo::empty()),
            bare: std::ptr::null_mut(),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: filled by get_buffer (or empty, which release ignores); nobody else holds it.
        let _ = unsafe { bufferinfo::release(self.view.get()) };
        if let Some(owner) = std::ptr::NonNull::new(self.bare) {
            // SAFETY: the export counted by `View::add_owner_export`, returned only here.
            unsafe { Object::drop_export(owner) };
        }
    }
}

/// How an exported array holds the export: a flat array alone, in its own `private_data` (one
/// allocation per export); a tensor array and its child together, so that either may be
/// released first.
enum Hold {
    Own(Shared),
    Shared(#[allow(dead_code)] Arc<Shared>),
}

/// An exported array's `private_data`.
struct ArrayPrivate {
    hold: Hold,
    buffers: [*const c_void; 2],
    children: [*mut ArrowArray; 1],
    /// A tensor array's child, in the same block (a consumer moving it out leaves a released
    /// struct here, which the parent's release skips).
    child: Option<ArrowArray>,
}

/// Takes a spare block out of the first full slot of `slots` (NULL when all are empty). A slot
/// is only ever swapped out whole, so the block is this thread's alone.
#[inline]
fn take_spare<T>(slots: &[AtomicPtr<T>]) -> *mut T {
    for slot in slots {
        let spare = slot.swap(std::ptr::null_mut(), Ordering::Acquire);
        if !spare.is_null() {
            return spare;
        }
    }
    std::ptr::null_mut()
}

/// Puts the block `raw` in the first empty slot of `slots`; `false` (the caller keeps it)
/// when all are full.
#[inline]
fn keep_spare<T>(slots: &[AtomicPtr<T>], raw: *mut T) -> bool {
    slots.iter().any(|slot| {
        slot.compare_exchange(
            std::ptr::null_mut(),
            raw,
            Ordering::Release,
            Ordering::Relaxed,
        )
        .is_ok()
    })
}

/// Freed `ArrayPrivate` allocations kept for the next exports (NULL: none), so that a steady
/// export/release cycle costs no `malloc`/`free`: two, for the two blocks of a tensor array
/// (the array and its child). A slot is only ever swapped out whole or filled when empty, so
/// no thread can see an allocation another thread is using.
static SPARE_PRIVATE: [AtomicPtr<ArrayPrivate>; 2] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];

impl ArrayPrivate {
    /// `self` on the heap, in a spare allocation when there is one.
    fn boxed(self) -> Box<ArrayPrivate> {
        let p = ArrayPrivate::block();
        // SAFETY: an allocation for an `ArrayPrivate` holding no value.
        unsafe {
            p.write(self);
            Box::from_raw(p)
        }
    }

    /// An allocation for an `ArrayPrivate`, holding no value: a spare one when there is one.
    fn block() -> *mut ArrayPrivate {
        let spare = take_spare(&SPARE_PRIVATE);
        if !spare.is_null() {
            // A block made by `Box` for an `ArrayPrivate` whose value was dropped (see
            // `unbox`), taken out of the slot by this thread alone.
            return spare;
        }
        Box::into_raw(Box::<std::mem::MaybeUninit<ArrayPrivate>>::new_uninit()).cast()
    }

    /// Drops the value `p` holds and keeps its allocation as a spare if a slot is empty.
    fn unbox(p: Box<ArrayPrivate>) {
        let raw = Box::into_raw(p);
        // SAFETY: from `Box::into_raw` just above; the value is dropped once.
        unsafe { std::ptr::drop_in_place(raw) };
        if keep_spare(&SPARE_PRIVATE, raw) {
            return;
        }
        // SAFETY: the allocation of a `Box<ArrayPrivate>`, its value already dropped.
        drop(unsafe { Box::from_raw(raw.cast::<std::mem::MaybeUninit<ArrayPrivate>>()) });
    }
}

/// A schema's format string: a static one, or one written for the schema (`w:N`, `+w:N`).
pub(super) enum SchemaFormat {
    Static(&'static CStr),
    /// NUL-terminated within the array (a prefix of at most 3 bytes, at most 20 digits).
    Sized([u8; 24]),
}

impl SchemaFormat {
    /// `prefix` followed by the digits of `n`, e.g. `w:16`.
    pub(super) fn sized(prefix: &[u8], n: usize) -> SchemaFormat {
        let mut out = [0u8; 24];
        out[..prefix.len()].copy_from_slice(prefix);
        let digits = write_uint(&mut out[prefix.len()..23], n);
        debug_assert!(digits > 0);
        SchemaFormat::Sized(out)
    }
}

/// The metadata blob of `arrow.bool8` (the name and empty extension metadata), as
/// `encode_metadata` writes it on a little- or big-endian machine alike (built at compile time).
pub(super) static BOOL8_METADATA: [u8; 4 + 4 + 20 + 4 + 11 + 4 + 24 + 4] = {
    let mut out = [0u8; 75];
    let mut at = 0;
    let parts: [&[u8]; 4] = [
        EXT_NAME.as_bytes(),
        BOOL8.as_bytes(),
        super::EXT_META.as_bytes(),
        b"",
    ];
    let count = 2i32.to_ne_bytes();
    let mut i = 0;
    while i < 4 {
        out[at + i] = count[i];
        i += 1;
    }
    at += 4;
    let mut p = 0;
    while p < parts.len() {
        let len = (parts[p].len() as i32).to_ne_bytes();
        let mut i = 0;
        while i < 4 {
            out[at + i] = len[i];
            i += 1;
        }
        at += 4;
        let mut i = 0;
        while i < parts[p].len() {
            out[at + i] = parts[p][i];
            i += 1;
        }
        at += parts[p].len();
        p += 1;
    }
    assert!(at == out.len());
    out
};

/// The metadata of a schema to make.
enum Meta<'a> {
    None,
    /// A blob that lives as long as the library.
    Static(&'static [u8]),
    /// The PEP 3118 format of a fixed-size binary field under [`FORMAT_KEY`].
    Format(&'a [u8]),
    /// `arrow.fixed_shape_tensor` of a physical shape and a permutation.
    Tensor(&'a [isize], Option<&'a [usize]>),
}

/// An exported schema's `private_data`, one block holding everything the schema points at:
/// the format text, the metadata and the child schema (schemas with a static format and
/// static or no metadata have none). Released blocks are kept for reuse (see
/// [`SPARE_SCHEMA`]), metadata buffer included.
struct SchemaPrivate {
    format: SchemaFormat,
    /// The metadata written for the schema (empty when it has static or no metadata).
    metadata: Vec<u8>,
    children: [*mut ArrowSchema; 1],
    child: Option<ArrowSchema>,
}

/// Released `SchemaPrivate` blocks kept for the next exports (NULL: none), values alive
/// (their metadata buffers keep their capacity), so that a steady export/release cycle costs
/// no `malloc`/`free`: two, for a tensor schema and its child. A slot is only ever swapped
/// out whole or filled when empty.
static SPARE_SCHEMA: [AtomicPtr<SchemaPrivate>; 2] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];

/// A metadata buffer larger than this is freed with its block rather than kept.
const SPARE_METADATA_MAX: usize = 4096;

impl SchemaPrivate {
    /// A block for a new schema: a spare one when there is one.
    fn take() -> Box<SchemaPrivate> {
        let spare = take_spare(&SPARE_SCHEMA);
        if !spare.is_null() {
            // SAFETY: a block made by `Box::into_raw` in `give_back`, taken out of the slot by
            // this thread alone.
            return unsafe { Box::from_raw(spare) };
        }
        Box::new(SchemaPrivate {
            format: SchemaFormat::Static(c""),
            metadata: Vec::new(),
            children: [std::ptr::null_mut()],
            child: None,
        })
    }

    /// Keeps a released block as a spare if a slot is empty (else frees it).
    fn give_back(mut p: Box<SchemaPrivate>) {
        if p.metadata.capacity() > SPARE_METADATA_MAX {
            return;
        }
        p.metadata.clear();
        p.child = None;
        p.children = [std::ptr::null_mut()];
        let raw = Box::into_raw(p);
        if keep_spare(&SPARE_SCHEMA, raw) {
            return;
        }
        // SAFETY: from `Box::into_raw` just above, in no slot.
        drop(unsafe { Box::from_raw(raw) });
    }
}

/// What the two release callbacks need of an Arrow struct: its callback slot and its
/// producer's block.
trait Releasable: Sized {
    fn release_slot(&mut self) -> &mut Option<unsafe extern "C" fn(*mut Self)>;
    fn private_data(&self) -> *mut c_void;
}

impl Releasable for ArrowArray {
    fn release_slot(&mut self) -> &mut Option<unsafe extern "C" fn(*mut Self)> {
        &mut self.release
    }
    fn private_data(&self) -> *mut c_void {
        self.private_data
    }
}

impl Releasable for ArrowSchema {
    fn release_slot(&mut self) -> &mut Option<unsafe extern "C" fn(*mut Self)> {
        &mut self.release
    }
    fn private_data(&self) -> *mut c_void {
        self.private_data
    }
}

/// The body of both release callbacks: releases `s` once (its callback set to NULL first), the
/// child its block holds before the block (unless the consumer moved the child out, which
/// released it there), then hands the block to `dispose`. A NULL or already released struct
/// is left alone.
///
/// # Safety
/// `s` is NULL or a struct this module exported, whose `private_data` is a `Box<P>`'s, and
/// `child` finds the child struct `P` holds.
unsafe fn release_once<S: Releasable, P>(
    s: *mut S,
    child: impl FnOnce(&mut P) -> Option<&mut S>,
    dispose: impl FnOnce(Box<P>),
) {
    if s.is_null() || (*s).release_slot().is_none() {
        return;
    }
    let private = (*s).private_data().cast::<P>();
    *(*s).release_slot() = None;
    if !private.is_null() {
        // A panic cannot cross this C callback: a failure to release is already swallowed by
        // `Shared::drop`, so catching here only guards against a broken invariant.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: made by Box::into_raw when exported, released once (the callback is
            // NULL now).
            let mut p = Box::from_raw(private);
            if let Some(c) = child(&mut p) {
                if let Some(r) = *c.release_slot() {
                    r(c);
                }
            }
            dispose(p);
        }));
    }
}

unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    release_once(
        a,
        |p: &mut ArrayPrivate| p.child.as_mut(),
        ArrayPrivate::unbox,
    );
}

unsafe extern "C" fn release_schema(s: *mut ArrowSchema) {
    release_once(
        s,
        |p: &mut SchemaPrivate| p.child.as_mut(),
        SchemaPrivate::give_back,
    );
}

/// A schema with `format`, optional metadata and at most one child (released by the
/// schema's release; on failure it is released here).
fn make_schema(
    format: SchemaFormat,
    name: Option<&'static CStr>,
    metadata: Meta<'_>,
    child: Option<ArrowSchema>,
) -> Result<ArrowSchema> {
    let mut s = ArrowSchema::released();
    s.name = name.map_or(std::ptr::null(), CStr::as_ptr);
    s.flags = FLAG_NULLABLE;
    s.release = Some(release_schema);
    if let (SchemaFormat::Static(f), Meta::None | Meta::Static(_), None) =
        (&format, &metadata, &child)
    {
        s.format = f.as_ptr();
        if let Meta::Static(m) = metadata {
            s.metadata = m.as_ptr().cast();
        }
        return Ok(s);
    }
    let mut p = SchemaPrivate::take();
    p.format = format;
    p.child = child;
    let written = match metadata {
        Meta::None => Ok(()),
        Meta::Static(m) => {
            s.metadata = m.as_ptr().cast();
            Ok(())
        }
        Meta::Format(text) => encode_metadata_into(&mut p.metadata, &[(FORMAT_KEY, text)]),
        Meta::Tensor(shape, permutation) => {
            tensor_metadata_into(&mut p.metadata, shape, permutation)
        }
    };
    if let Err(e) = written {
        if let Some(c) = p.child.as_mut() {
            // SAFETY: a schema made by this module, released once.
            unsafe { release_schema(c) };
        }
        SchemaPrivate::give_back(p);
        return Err(e);
    }
    if !p.metadata.is_empty() {
        s.metadata = p.metadata.as_ptr().cast();
    }
    let p = Box::into_raw(p);
    // SAFETY: just made; the pointers go into the heap block, which never moves until the
    // schema's release frees it.
    unsafe {
        s.format = match &(*p).format {
            SchemaFormat::Static(f) => f.as_ptr(),
            SchemaFormat::Sized(b) => b.as_ptr().cast(),
        };
        if let Some(c) = (*p).child.as_mut() {
            (*p).children[0] = c;
            s.n_children = 1;
            s.children = (*p).children.as_mut_ptr();
        }
    }
    s.private_data = p.cast();
    Ok(s)
}

/// The schema of one item: primitive, bool8 or fixed-size binary.
fn item_schema(
    ty: &ItemType,
    fmt: Option<&[u8]>,
    name: Option<&'static CStr>,
) -> Result<ArrowSchema> {
    // The static schemas, which need no block, made here without the general path.
    let fixed = |format: &'static CStr, metadata: *const std::ffi::c_char| {
        let mut s = ArrowSchema::released();
        s.format = format.as_ptr();
        s.name = name.map_or(std::ptr::null(), CStr::as_ptr);
        s.metadata = metadata;
        s.flags = FLAG_NULLABLE;
        s.release = Some(release_schema);
        Ok(s)
    };
    match ty {
        ItemType::Primitive(code) => fixed(code, std::ptr::null()),
        ItemType::Bool8 => fixed(c"c", BOOL8_METADATA.as_ptr().cast()),
        ItemType::Binary(n) => make_schema(
            SchemaFormat::sized(b"w:", *n),
            name,
            Meta::Format(fmt.unwrap_or(b"B")),
            None,
        ),
    }
}

/// A non-NULL address for the data buffer of an array without items.
static EMPTY: u64 = 0;

/// Fills `schema` and `array` with one export of `obj` (see the module docs).
///
/// # Safety
/// `schema` and `array` must point at writable structs; on failure they are left released
/// (all zero).
pub unsafe fn export(obj: &Object, schema: *mut ArrowSchema, array: *mut ArrowArray) -> Result<()> {
    let (s, a) = build(obj)?;
    schema.write(s);
    array.write(a);
    Ok(())
}

/// A new top-level `ArrayPrivate` holding an empty view, written field by field into its
/// block (the struct is large: built elsewhere and moved, it would be copied).
fn new_top() -> Box<ArrayPrivate> {
    let p = ArrayPrivate::block();
    // SAFETY: `p` is an allocation for an `ArrayPrivate` holding no value; every field is
    // written before it becomes a box.
    unsafe {
        std::ptr::addr_of_mut!((*p).hold).write(Hold::Own(Shared::empty()));
        std::ptr::addr_of_mut!((*p).buffers).write([std::ptr::null(); 2]);
        std::ptr::addr_of_mut!((*p).children).write([std::ptr::null_mut()]);
        std::ptr::addr_of_mut!((*p).child).write(None);
        Box::from_raw(p)
    }
}

pub(super) fn build(obj: &Object) -> Result<(ArrowSchema, ArrowArray)> {
    if let Some(made) = build_from_view(obj)? {
        return Ok(made);
    }
    build_general(obj)
}

/// [`build`] through `get_buffer`: the array holds the filled view.
pub(super) fn build_general(obj: &Object) -> Result<(ArrowSchema, ArrowArray)> {
    let mut top = new_top();
    let view = match &mut top.hold {
        Hold::Own(s) => s.view.get(),
        Hold::Shared(_) => unreachable!(),
    };
    // SAFETY: a full-size struct in its final place (the box never moves its contents) until
    // the array is released or the view is moved out below; dropping `top` releases it.
    unsafe { bufferinfo::get_buffer(obj, view, XBUF_FULL_RO) }?;
    // SAFETY: filled above by the library for `XBUF_FULL_RO`, so checked: `ndim` in range,
    // `shape` and `strides` present with `ndim` entries, `suboffsets` NULL or `ndim` entries,
    // `format` present and NUL-terminated, all valid while the view stays where it is.
    let parts = unsafe {
        let v = &*view;
        let n = v.ndim as usize;
        let arr = |p: *mut isize| std::slice::from_raw_parts(p.cast_const(), n);
        let indirect = !v.suboffsets.is_null() && arr(v.suboffsets).iter().any(|&x| x >= 0);
        let fmt = (!v.format.is_null()).then(|| CStr::from_ptr(v.format).to_bytes());
        Parts {
            buf: v.buf,
            itemsize: v.itemsize,
            shape: arr(v.shape),
            strides: arr(v.strides),
            indirect,
            fmt,
        }
    };
    finish(obj, top, &parts)
}

/// The arrays of a view object (`xbuf_view`), made straight from the layout the view holds:
/// one export counted on the object that owns the memory, no view filled. The structs are
/// those the general path makes (the same fields, checks and errors); `None` where that path
/// must answer (another exporter, a view without a format, memory on another device than the
/// CPU, an owner whose exporter wants its views handed back, a released view).
pub(super) fn build_from_view(obj: &Object) -> Result<Option<(ArrowSchema, ArrowArray)>> {
    if obj
        .exporter()
        .as_any()
        .downcast_ref::<crate::view::View>()
        .is_none()
    {
        return Ok(None);
    }
    let made = crate::view::with(obj, |view| {
        let Ok(format) = view.format() else {
            return Ok(None);
        };
        if view.device() != (crate::capi::XBUF_DEVICE_CPU, 0) {
            return Ok(None);
        }
        let Some(owner) = view.add_owner_export()? else {
            return Ok(None);
        };
        let mut top = new_top();
        if let Hold::Own(s) = &mut top.hold {
            // Dropping `top` from here on returns the export.
            s.bare = owner.as_ptr();
        }
        let l = view.layout();
        let parts = Parts {
            buf: l.buf.cast(),
            itemsize: l.itemsize,
            shape: &l.shape,
            strides: &l.strides,
            // A layout keeps suboffsets only when some dimension is indirect.
            indirect: l.suboffsets.is_some(),
            fmt: Some(format.to_bytes()),
        };
        finish(obj, top, &parts).map(Some)
    });
    match made {
        // A released view: the general path says so.
        Err(e) if e.status == crate::status::Status::Released => Ok(None),
        r => r,
    }
}

/// What an array is made of, read from a filled view or a view object's layout.
struct Parts<'a> {
    buf: *mut c_void,
    itemsize: isize,
    shape: &'a [isize],
    strides: &'a [isize],
    indirect: bool,
    fmt: Option<&'a [u8]>,
}

/// Checks `p` for Arrow and makes the structs; `top` holds the export (its view filled, or a
/// bare export), which goes with the structs, or is returned on failure.
fn finish(
    obj: &Object,
    mut top: Box<ArrayPrivate>,
    p: &Parts<'_>,
) -> Result<(ArrowSchema, ArrowArray)> {
    let (buf, itemsize, shape, strides, indirect, fmt) =
        (p.buf, p.itemsize, p.shape, p.strides, p.indirect, p.fmt);
    let (view, bare) = match &mut top.hold {
        Hold::Own(s) => (s.view.get(), &mut s.bare as *mut *mut Object),
        Hold::Shared(_) => unreachable!(),
    };
    if indirect {
        bail!(
            NotContiguous,
            "the '{}' view has suboffsets (an indirect layout): an Arrow array needs \
             contiguous memory (copy the view first)",
            obj.type_name().to_string_lossy()
        );
    }
    let ty = item_type(fmt, itemsize as usize)?;
    let plan = plan(shape, Some(strides), itemsize)?;
    let data: *const c_void = if buf.is_null() {
        std::ptr::addr_of!(EMPTY).cast()
    } else {
        buf.cast_const().cast()
    };
    let array = |p: Box<ArrayPrivate>, length: isize, n_buffers: i64| -> ArrowArray {
        let mut a = ArrowArray::released();
        a.length = length as i64;
        a.n_buffers = n_buffers;
        a.release = Some(release_array);
        let p = Box::into_raw(p);
        // SAFETY: just made; the pointers go to the heap block, which never moves.
        unsafe {
            a.buffers = (*p).buffers.as_mut_ptr();
            if let Some(c) = (*p).child.as_mut() {
                (*p).children[0] = c;
                a.n_children = 1;
                a.children = (*p).children.as_mut_ptr();
            }
        }
        a.private_data = p.cast();
        a
    };
    match plan {
        Plan::Flat(length) => {
            let schema = item_schema(&ty, fmt, None)?;
            top.buffers[1] = data;
            Ok((schema, array(top, length, 2)))
        }
        Plan::Tensor {
            length,
            shape,
            permutation,
        } => {
            let k = crate::layout::item_count(&shape)?;
            let child_len = k
                .checked_mul(length)
                .ok_or_else(|| overflow("the item count"))?;
            // The child's schema copies the format, which may live in the view's struct,
            // before the view moves.
            let mut child_schema = item_schema(&ty, fmt, Some(c"item"))?;
            let mut shared = Arc::new(Shared::empty());
            // SAFETY: both full-size structs; the new place never moves.
            if let Err(e) = unsafe { bufferinfo::move_view(shared.view.get(), view) } {
                // SAFETY: made above, released once.
                unsafe { release_schema(&mut child_schema) };
                return Err(e);
            }
            // A bare export moves with the view (the Arc is not shared yet).
            // SAFETY: `bare` points into `top`, which is alive and not otherwise borrowed.
            Arc::get_mut(&mut shared).expect("not shared yet").bare =
                unsafe { std::mem::replace(&mut *bare, std::ptr::null_mut()) };
            let schema = make_schema(
                SchemaFormat::sized(b"+w:", k as usize),
                None,
                Meta::Tensor(&shape, permutation.as_deref()),
                Some(child_schema),
            )?;
            let child = ArrayPrivate {
                hold: Hold::Shared(shared.clone()),
                buffers: [std::ptr::null(), data],
                children: [std::ptr::null_mut()],
                child: None,
            }
            .boxed();
            top.hold = Hold::Shared(shared);
            top.child = Some(array(child, child_len, 2));
            Ok((schema, array(top, length, 1)))
        }
    }
}
