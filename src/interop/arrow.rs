//! The Arrow C Data Interface, both ways.
//!
//! **Export** ([`export`]): one export of an object becomes an `ArrowSchema` + `ArrowArray`
//! pair that describes the same memory without copying it:
//!
//! * one dimension (or none: one item), contiguous, a native primitive item → the primitive
//!   array (`c C s S i I l L e f g`); `?` → the canonical extension `arrow.bool8` on `c`;
//! * any other item format (structs, named fields, sub-arrays, complex, `g`, strings,
//!   non-native byte order...) → fixed-size binary `w:N`, with the PEP 3118 format in the
//!   field metadata under [`FORMAT_KEY`], so that an import restores it;
//! * two or more dimensions → `arrow.fixed_shape_tensor` of length `shape[0]` whose tensors
//!   have the shape `shape[1:]`: its storage is the fixed-size list `+w:K`
//!   (`K = product(shape[1:])`) over one child holding every item. A layout that is
//!   C-contiguous after a permutation of the tensor axes (each tensor in Fortran order, for
//!   example) is described by the extension's `permutation`; the first axis must be the
//!   outermost one, because Arrow stores each tensor as one contiguous run.
//!
//! Anything else (strides with gaps, overlaps, negative steps, suboffsets, axis 0 not the
//! outermost) is refused with `XBUF_ERR_NOT_CONTIGUOUS`: the caller copies first.
//!
//! The array's `private_data` holds the export (the view, in one allocation with the buffer
//! list); a tensor array shares it with its child, so that a consumer may move the child out
//! and release it on its own (as the specification allows), and the export is handed back
//! when the last of them is released. Neither struct points into itself, so both may be moved
//! by copying their bytes.
//!
//! **Import** ([`import`]): an array and its (borrowed) schema become a read-only object whose
//! views read the array's memory; the array is moved into the object, and its `release` runs
//! once the object's last reference and last export are gone.
//!
//! Facts from the Arrow specification used here: the format strings of the primitive, fixed-size
//! binary and fixed-size list types; the metadata encoding (an `int32` pair count, then for each
//! pair an `int32` key length, the key bytes, an `int32` value length and the value bytes, all
//! in native byte order); the extension keys `ARROW:extension:name` and
//! `ARROW:extension:metadata`; and the canonical extensions `arrow.bool8` (storage `int8`, 0 is
//! false) and `arrow.fixed_shape_tensor` (JSON metadata with `shape`, the physical tensor shape
//! in row-major order, and an optional `permutation`: logical axis `i` is physical axis
//! `permutation[i]`).

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use crate::bufferinfo;
use crate::capi::{xbuf_bufferinfo, XBUF_FULL_RO, XBUF_MAX_NDIM};
use crate::exporters::any_impl;
use crate::format::{self, ByteOrder, FieldType, Kind};
use crate::layout::Order;
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::{overflow, Result};
use crate::{bail, err};

/// The field-metadata key under which an export of an item format that Arrow has no type for
/// stores the PEP 3118 format (on a fixed-size binary field).
/// cbindgen:ignore
pub const FORMAT_KEY: &str = "xbuf:format";
const EXT_NAME: &str = "ARROW:extension:name";
const EXT_META: &str = "ARROW:extension:metadata";
const BOOL8: &str = "arrow.bool8";
const TENSOR: &str = "arrow.fixed_shape_tensor";

/// `ARROW_FLAG_NULLABLE` of the specification: set on every exported field, as Arrow's own
/// fields are by default (the arrays have no nulls all the same).
const FLAG_NULLABLE: i64 = 2;

/// Import flag: accept arrays with nulls, reading the values under null slots as they lie in
/// memory (the validity bitmap is ignored).
/// cbindgen:ignore
pub const IGNORE_VALIDITY: c_int = crate::capi::arrow::XBUF_ARROW_IGNORE_VALIDITY;
const IMPORT_FLAGS: c_int = IGNORE_VALIDITY;

/// `struct ArrowSchema` of the Arrow C Data Interface: a type description. The C header only
/// declares it; C users take the definition from their Arrow implementation.
#[repr(C)]
#[derive(Debug)]
pub struct ArrowSchema {
    /// The type's format string (`"i"`, `"w:16"`, `"+w:4"`, ...), NUL-terminated.
    pub format: *const c_char,
    /// The field's name, or NULL.
    pub name: *const c_char,
    /// The field's metadata (count and length-prefixed key/value pairs), or NULL.
    pub metadata: *const c_char,
    /// `ARROW_FLAG_*` bits (2: nullable).
    pub flags: i64,
    /// Number of children.
    pub n_children: i64,
    /// `n_children` child schemas.
    pub children: *mut *mut ArrowSchema,
    /// The dictionary's value type for dictionary-encoded arrays, else NULL.
    pub dictionary: *mut ArrowSchema,
    /// Releases the schema (and its children); NULL once released.
    pub release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    /// The producer's data.
    pub private_data: *mut c_void,
}

/// `struct ArrowArray` of the Arrow C Data Interface: the data of one array. The C header only
/// declares it; C users take the definition from their Arrow implementation.
#[repr(C)]
#[derive(Debug)]
pub struct ArrowArray {
    /// Number of slots.
    pub length: i64,
    /// Number of null slots, or -1 when not computed.
    pub null_count: i64,
    /// Slots to skip at the start of every buffer.
    pub offset: i64,
    /// Number of buffers (for the primitive types: validity bitmap and data).
    pub n_buffers: i64,
    /// Number of children.
    pub n_children: i64,
    /// `n_buffers` buffer addresses (a validity bitmap may be NULL when there are no nulls).
    pub buffers: *mut *const c_void,
    /// `n_children` child arrays.
    pub children: *mut *mut ArrowArray,
    /// The dictionary of a dictionary-encoded array, else NULL.
    pub dictionary: *mut ArrowArray,
    /// Releases the array (and its children); NULL once released.
    pub release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    /// The producer's data.
    pub private_data: *mut c_void,
}

impl ArrowSchema {
    /// A released (all-zero) schema.
    pub fn released() -> ArrowSchema {
        ArrowSchema {
            format: std::ptr::null(),
            name: std::ptr::null(),
            metadata: std::ptr::null(),
            flags: 0,
            n_children: 0,
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }
}

impl ArrowArray {
    /// A released (all-zero) array.
    pub fn released() -> ArrowArray {
        ArrowArray {
            length: 0,
            null_count: 0,
            offset: 0,
            n_buffers: 0,
            n_children: 0,
            buffers: std::ptr::null_mut(),
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metadata and the tensor extension's JSON
// ---------------------------------------------------------------------------------------------

/// Encodes key/value pairs as the specification's metadata blob.
pub fn encode_metadata(pairs: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let len32 = |n: usize| -> Result<[u8; 4]> {
        i32::try_from(n)
            .map(i32::to_ne_bytes)
            .map_err(|_| overflow("a metadata length"))
    };
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len32(pairs.len())?);
    for (k, v) in pairs {
        out.extend_from_slice(&len32(k.len())?);
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len32(v.len())?);
        out.extend_from_slice(v);
    }
    Ok(out)
}

/// Decodes a metadata blob into borrowed key/value pairs.
///
/// # Safety
/// `p` must be NULL or point at a well-formed blob (its lengths are trusted, as the
/// specification has no total size).
pub unsafe fn decode_metadata<'a>(p: *const c_char) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    let mut out = Vec::new();
    if p.is_null() {
        return Ok(out);
    }
    let mut at = p.cast::<u8>();
    let read_len = |at: &mut *const u8| -> Result<usize> {
        let n = i32::from_ne_bytes(at.cast::<[u8; 4]>().read_unaligned());
        *at = at.add(4);
        usize::try_from(n).map_err(|_| {
            err!(
                InvalidArgument,
                "the schema's metadata has a negative length {n}"
            )
        })
    };
    let pairs = read_len(&mut at)?;
    for _ in 0..pairs {
        let kn = read_len(&mut at)?;
        let k = std::slice::from_raw_parts(at, kn);
        at = at.add(kn);
        let vn = read_len(&mut at)?;
        let v = std::slice::from_raw_parts(at, vn);
        at = at.add(vn);
        out.push((k, v));
    }
    Ok(out)
}

/// The `shape` and `permutation` of an `arrow.fixed_shape_tensor`'s JSON metadata.
#[derive(Debug, PartialEq, Eq)]
pub struct TensorMeta {
    pub shape: Vec<usize>,
    pub permutation: Option<Vec<usize>>,
}

/// A minimal JSON reader: enough to find two integer arrays in an object and skip the rest
/// (strings with escapes, nested values), with a depth bound.
struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Json<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn fail<T>(&self, what: &str) -> Result<T> {
        bail!(
            InvalidArgument,
            "the arrow.fixed_shape_tensor metadata is not valid: {what} at byte {} of '{}'",
            self.i,
            String::from_utf8_lossy(self.s)
        )
    }
    fn eat(&mut self, c: u8) -> Result<()> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            self.fail(&format!("expected '{}'", c as char))
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn string(&mut self) -> Result<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(&self.s[start..self.i - 1]);
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
        self.fail("unterminated string")
    }
    fn uint(&mut self) -> Result<usize> {
        self.ws();
        let start = self.i;
        let mut n: usize = 0;
        while let Some(d) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .ok_or_else(|| overflow("a tensor extent"))?;
            self.i += 1;
        }
        if self.i == start {
            return self.fail("expected a non-negative integer");
        }
        Ok(n)
    }
    fn uint_array(&mut self) -> Result<Vec<usize>> {
        self.eat(b'[')?;
        let mut v = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(v);
        }
        loop {
            if v.len() >= XBUF_MAX_NDIM as usize {
                return self.fail("more than 64 dimensions");
            }
            v.push(self.uint()?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(v);
                }
                _ => return self.fail("expected ',' or ']'"),
            }
        }
    }
    fn skip_value(&mut self, depth: usize) -> Result<()> {
        if depth > 32 {
            return self.fail("nested too deeply");
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.i += 1;
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.string()?;
                        self.eat(b':')?;
                    }
                    self.skip_value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return self.fail("expected ',' or a closing bracket"),
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_alphanumeric() => {
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
                {
                    self.i += 1;
                }
                Ok(())
            }
            _ => self.fail("expected a value"),
        }
    }
}

/// Reads an `arrow.fixed_shape_tensor`'s metadata; checks the permutation.
pub fn parse_tensor_meta(s: &[u8]) -> Result<TensorMeta> {
    let mut j = Json { s, i: 0 };
    let mut shape = None;
    let mut permutation = None;
    j.eat(b'{')?;
    if j.peek() == Some(b'}') {
        j.i += 1;
    } else {
        loop {
            let key = j.string()?;
            j.eat(b':')?;
            match key {
                b"shape" => shape = Some(j.uint_array()?),
                b"permutation" if j.peek() == Some(b'n') => j.skip_value(0)?,
                b"permutation" => permutation = Some(j.uint_array()?),
                _ => j.skip_value(0)?,
            }
            match j.peek() {
                Some(b',') => j.i += 1,
                Some(b'}') => {
                    j.i += 1;
                    break;
                }
                _ => return j.fail("expected ',' or '}'"),
            }
        }
    }
    if j.peek().is_some() {
        return j.fail("trailing text");
    }
    let Some(shape) = shape else {
        return j.fail("no \"shape\"");
    };
    if let Some(p) = &permutation {
        let mut seen = vec![false; shape.len()];
        if p.len() != shape.len()
            || !p
                .iter()
                .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true))
        {
            bail!(
                InvalidArgument,
                "the arrow.fixed_shape_tensor permutation {p:?} is not a permutation of the {} axes of shape {shape:?}",
                shape.len()
            );
        }
    }
    Ok(TensorMeta { shape, permutation })
}

/// The tensor extension's JSON for a physical shape and a permutation (omitted when `None`).
pub fn tensor_meta_json(shape: &[isize], permutation: Option<&[usize]>) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(16 + 24 * shape.len());
    let list = |s: &mut String, key: &str, v: &mut dyn Iterator<Item = usize>| {
        let _ = write!(s, "\"{key}\":[");
        for (i, x) in v.enumerate() {
            let _ = write!(s, "{}{x}", if i > 0 { "," } else { "" });
        }
        s.push(']');
    };
    s.push('{');
    list(&mut s, "shape", &mut shape.iter().map(|&x| x as usize));
    if let Some(p) = permutation {
        s.push(',');
        list(&mut s, "permutation", &mut p.iter().copied());
    }
    s.push('}');
    s
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

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
    child: Option<Box<ArrowArray>>,
}

/// One freed `ArrayPrivate` allocation kept for the next export (NULL: none), so that a
/// steady export/release cycle costs no `malloc`/`free`. Only ever swapped out whole or
/// filled when empty, so no thread can see a slot another thread is using.
static SPARE_PRIVATE: AtomicPtr<ArrayPrivate> = AtomicPtr::new(std::ptr::null_mut());

impl ArrayPrivate {
    /// `self` on the heap, in the spare allocation when there is one.
    fn boxed(self) -> Box<ArrayPrivate> {
        let spare = SPARE_PRIVATE.swap(std::ptr::null_mut(), Ordering::Acquire);
        if spare.is_null() {
            return Box::new(self);
        }
        // SAFETY: the spare is an allocation made by `Box::new` for an `ArrayPrivate` whose
        // value was dropped (see `unbox`), taken out of the slot by this thread alone.
        unsafe {
            spare.write(self);
            Box::from_raw(spare)
        }
    }

    /// Drops the value `p` holds and keeps its allocation as the spare if there is none.
    fn unbox(p: Box<ArrayPrivate>) {
        let raw = Box::into_raw(p);
        // SAFETY: from `Box::into_raw` just above; the value is dropped once.
        unsafe { std::ptr::drop_in_place(raw) };
        if SPARE_PRIVATE
            .compare_exchange(
                std::ptr::null_mut(),
                raw,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: the allocation of a `Box<ArrayPrivate>`, its value already dropped.
            drop(unsafe { Box::from_raw(raw.cast::<std::mem::MaybeUninit<ArrayPrivate>>()) });
        }
    }
}

/// An exported schema's `private_data` (schemas of primitive types without metadata have none).
struct SchemaPrivate {
    _format: Cow<'static, CStr>,
    _metadata: Option<Vec<u8>>,
    children: [*mut ArrowSchema; 1],
    child: Option<Box<ArrowSchema>>,
}

unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    if a.is_null() || (*a).release.is_none() {
        return;
    }
    let private = (*a).private_data.cast::<ArrayPrivate>();
    (*a).release = None;
    if !private.is_null() {
        // A panic cannot cross this C callback: a failure to release is already swallowed by
        // `Shared::drop`, so catching here only guards against a broken invariant.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: made by Box::into_raw in `export`, released once (release is now NULL).
            let mut p = Box::from_raw(private);
            if let Some(child) = p.child.as_deref_mut() {
                if let Some(r) = child.release {
                    r(child);
                }
            }
            ArrayPrivate::unbox(p);
        }));
    }
}

unsafe extern "C" fn release_schema(s: *mut ArrowSchema) {
    if s.is_null() || (*s).release.is_none() {
        return;
    }
    let private = (*s).private_data.cast::<SchemaPrivate>();
    (*s).release = None;
    if !private.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: made by Box::into_raw in `schema_for`, released once.
            let mut p = Box::from_raw(private);
            if let Some(child) = p.child.as_deref_mut() {
                if let Some(r) = child.release {
                    r(child);
                }
            }
        }));
    }
}

/// A schema with `format`, optional metadata and at most one child.
fn make_schema(
    format: Cow<'static, CStr>,
    name: Option<&'static CStr>,
    metadata: Option<Vec<u8>>,
    child: Option<Box<ArrowSchema>>,
) -> ArrowSchema {
    let mut s = ArrowSchema::released();
    s.format = format.as_ptr();
    s.name = name.map_or(std::ptr::null(), CStr::as_ptr);
    s.flags = FLAG_NULLABLE;
    s.release = Some(release_schema);
    if let (Cow::Borrowed(_), None, None) = (&format, &metadata, &child) {
        return s;
    }
    s.metadata = metadata
        .as_ref()
        .map_or(std::ptr::null(), |m| m.as_ptr().cast());
    let mut p = Box::new(SchemaPrivate {
        _format: format,
        _metadata: metadata,
        children: [std::ptr::null_mut()],
        child,
    });
    if let Some(c) = p.child.as_deref_mut() {
        p.children[0] = c;
        s.n_children = 1;
        s.children = p.children.as_mut_ptr();
    }
    s.private_data = Box::into_raw(p).cast();
    s
}

/// The schema of one item: primitive, bool8 or fixed-size binary.
fn item_schema(
    ty: &ItemType,
    fmt: Option<&[u8]>,
    name: Option<&'static CStr>,
) -> Result<ArrowSchema> {
    Ok(match ty {
        ItemType::Primitive(code) => make_schema(Cow::Borrowed(code), name, None, None),
        ItemType::Bool8 => make_schema(
            Cow::Borrowed(c"c"),
            name,
            Some(encode_metadata(&[
                (EXT_NAME, BOOL8.as_bytes()),
                (EXT_META, b""),
            ])?),
            None,
        ),
        ItemType::Binary(n) => {
            let text = fmt.unwrap_or(b"B");
            let format = CString::new(format!("w:{n}")).expect("no NUL");
            make_schema(
                Cow::Owned(format),
                name,
                Some(encode_metadata(&[(FORMAT_KEY, text)])?),
                None,
            )
        }
    })
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

/// A new top-level `ArrayPrivate` holding an empty view.
fn new_top() -> Box<ArrayPrivate> {
    ArrayPrivate {
        hold: Hold::Own(Shared::empty()),
        buffers: [std::ptr::null(); 2],
        children: [std::ptr::null_mut()],
        child: None,
    }
    .boxed()
}

fn build(obj: &Object) -> Result<(ArrowSchema, ArrowArray)> {
    if let Some(made) = build_from_view(obj)? {
        return Ok(made);
    }
    build_general(obj)
}

/// [`build`] through `get_buffer`: the array holds the filled view.
fn build_general(obj: &Object) -> Result<(ArrowSchema, ArrowArray)> {
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
fn build_from_view(obj: &Object) -> Result<Option<(ArrowSchema, ArrowArray)>> {
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
            if let Some(c) = (*p).child.as_deref_mut() {
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
            let json = tensor_meta_json(&shape, permutation.as_deref());
            let meta =
                encode_metadata(&[(EXT_NAME, TENSOR.as_bytes()), (EXT_META, json.as_bytes())])?;
            // The child's schema copies the format, which may live in the view's struct,
            // before the view moves.
            let mut child_schema = Box::new(item_schema(&ty, fmt, Some(c"item"))?);
            let mut shared = Arc::new(Shared::empty());
            // SAFETY: both full-size structs; the new place never moves.
            if let Err(e) = unsafe { bufferinfo::move_view(shared.view.get(), view) } {
                // SAFETY: made above, released once.
                unsafe { release_schema(&mut *child_schema) };
                return Err(e);
            }
            // A bare export moves with the view (the Arc is not shared yet).
            // SAFETY: `bare` points into `top`, which is alive and not otherwise borrowed.
            Arc::get_mut(&mut shared).expect("not shared yet").bare =
                unsafe { std::mem::replace(&mut *bare, std::ptr::null_mut()) };
            let format = CString::new(format!("+w:{k}")).expect("no NUL");
            let schema = make_schema(Cow::Owned(format), None, Some(meta), Some(child_schema));
            let child = ArrayPrivate {
                hold: Hold::Shared(shared.clone()),
                buffers: [std::ptr::null(), data],
                children: [std::ptr::null_mut()],
                child: None,
            }
            .boxed();
            top.hold = Hold::Shared(shared);
            top.child = Some(Box::new(array(child, child_len, 2)));
            Ok((schema, array(top, length, 1)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// What a schema describes, in xbuf's terms.
#[derive(Debug)]
struct Desc {
    /// The item format.
    format: Cow<'static, CStr>,
    itemsize: isize,
    /// One entry per fixed-size list level, outermost first.
    levels: Vec<Level>,
}

#[derive(Debug)]
struct Level {
    /// Items per list (the product of `physical`).
    size: isize,
    /// The tensor's physical (row-major) shape: `[size]` for a plain fixed-size list.
    physical: Vec<isize>,
    /// Logical axis `i` is physical axis `permutation[i]`; `None`: the identity.
    permutation: Option<Vec<usize>>,
}

fn type_name(format: &[u8]) -> String {
    String::from_utf8_lossy(format).into_owned()
}

/// Reads the type a schema describes.
///
/// # Safety
/// `schema` must point at a valid schema (its strings NUL-terminated, its children valid).
unsafe fn describe(schema: *const ArrowSchema, dims: usize) -> Result<Desc> {
    let s = &*schema;
    if s.release.is_none() {
        bail!(Released, "the ArrowSchema is released");
    }
    if s.format.is_null() {
        bail!(InvalidArgument, "the ArrowSchema's format is NULL");
    }
    let f = CStr::from_ptr(s.format).to_bytes();
    if !s.dictionary.is_null() {
        bail!(
            Unsupported,
            "dictionary-encoded arrays (indices '{}') have no PEP 3118 layout; decode the \
             dictionary first",
            type_name(f)
        );
    }
    let meta = decode_metadata(s.metadata)?;
    let get = |key: &str| {
        meta.iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| *v)
    };
    let ext = get(EXT_NAME);
    let prim = |code: &'static CStr, size: isize| Desc {
        format: Cow::Borrowed(code),
        itemsize: size,
        levels: Vec::new(),
    };
    let desc = match f {
        b"c" if ext == Some(BOOL8.as_bytes()) => prim(c"?", 1),
        b"c" => prim(c"b", 1),
        b"C" => prim(c"B", 1),
        b"s" => prim(c"h", 2),
        b"S" => prim(c"H", 2),
        b"i" => prim(c"i", 4),
        b"I" => prim(c"I", 4),
        b"l" => prim(c"q", 8),
        b"L" => prim(c"Q", 8),
        b"e" => prim(c"e", 2),
        b"f" => prim(c"f", 4),
        b"g" => prim(c"d", 8),
        _ if f.starts_with(b"w:") => {
            let n = parse_size(&f[2..], f)?;
            if n == 0 {
                bail!(Unsupported, "fixed-size binary of 0 bytes ('w:0') has no PEP 3118 item");
            }
            let format = match get(FORMAT_KEY) {
                Some(text) => {
                    let size = format::itemsize(text)?;
                    if size != n {
                        bail!(
                            Format,
                            "the '{FORMAT_KEY}' metadata '{}' has item size {size}, but the \
                             field is 'w:{n}'",
                            type_name(text)
                        );
                    }
                    CString::new(text).map_err(|_| err!(Format, "the format contains a NUL byte"))?
                }
                None => CString::new(format!("{n}s")).expect("no NUL"),
            };
            Desc {
                format: Cow::Owned(format),
                itemsize: n as isize,
                levels: Vec::new(),
            }
        }
        _ if f.starts_with(b"+w:") => {
            let n = parse_size(&f[3..], f)? as isize;
            if s.n_children != 1 {
                bail!(
                    InvalidArgument,
                    "the fixed-size list schema '{}' has {} children (1 expected)",
                    type_name(f),
                    s.n_children
                );
            }
            if s.children.is_null() || (*s.children).is_null() {
                bail!(
                    InvalidArgument,
                    "the fixed-size list schema '{}' has a NULL child schema",
                    type_name(f)
                );
            }
            let (physical, permutation) = if ext == Some(TENSOR.as_bytes()) {
                let m = parse_tensor_meta(get(EXT_META).unwrap_or(b""))?;
                let physical: Vec<isize> = m
                    .shape
                    .iter()
                    .map(|&x| isize::try_from(x).map_err(|_| overflow("a tensor extent")))
                    .collect::<Result<_>>()?;
                let count = crate::layout::item_count(&physical)?;
                if count != n {
                    bail!(
                        InvalidArgument,
                        "the arrow.fixed_shape_tensor shape {physical:?} has {count} items, \
                         but its storage is '{}'",
                        type_name(f)
                    );
                }
                (physical, m.permutation)
            } else {
                (vec![n], None)
            };
            let dims = dims + physical.len();
            if dims + 1 > XBUF_MAX_NDIM as usize {
                bail!(
                    Unsupported,
                    "the nested fixed-size lists have more than {} dimensions",
                    XBUF_MAX_NDIM
                );
            }
            let mut inner = describe(*s.children, dims)?;
            inner.levels.insert(
                0,
                Level {
                    size: n,
                    physical,
                    permutation,
                },
            );
            inner
        }
        b"b" => bail!(
            Unsupported,
            "Arrow booleans ('b') are bit-packed; a PEP 3118 item is at least one byte (cast \
             to int8 or arrow.bool8 first)"
        ),
        b"u" | b"U" | b"z" | b"Z" | b"vu" | b"vz" | b"+l" | b"+L" | b"+vl" | b"+vL" => bail!(
            Unsupported,
            "the Arrow type '{}' has variable-length items; a PEP 3118 view needs a fixed item size",
            type_name(f)
        ),
        _ => bail!(
            Unsupported,
            "the Arrow type '{}' has no PEP 3118 format (supported: c C s S i I l L e f g, \
             w:N, +w:N, arrow.bool8, arrow.fixed_shape_tensor)",
            type_name(f)
        ),
    };
    Ok(desc)
}

fn parse_size(digits: &[u8], whole: &[u8]) -> Result<usize> {
    std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|d| d.parse::<usize>().ok())
        .filter(|&n| n <= i32::MAX as usize)
        .ok_or_else(|| {
            err!(
                InvalidArgument,
                "the Arrow format '{}' has no valid size",
                type_name(whole)
            )
        })
}

/// An object whose views read an imported Arrow array.
pub struct ArrowImport {
    array: ArrowArray,
    buf: *mut u8,
    len: isize,
    itemsize: isize,
    format: Cow<'static, CStr>,
    /// The shape, then the strides.
    dims: Dims,
}

/// Shape and strides: inline up to four dimensions (no allocation), else on the heap.
enum Dims {
    Inline(usize, [isize; 8]),
    Heap(Vec<isize>),
}

impl Dims {
    fn new(shape: &[isize], strides: &[isize]) -> Dims {
        let n = shape.len();
        if n <= 4 {
            let mut a = [0isize; 8];
            a[..n].copy_from_slice(shape);
            a[n..2 * n].copy_from_slice(strides);
            Dims::Inline(n, a)
        } else {
            Dims::Heap([shape, strides].concat())
        }
    }
    fn all(&self) -> &[isize] {
        match self {
            Dims::Inline(n, a) => &a[..2 * n],
            Dims::Heap(v) => v,
        }
    }
    fn shape(&self) -> &[isize] {
        let a = self.all();
        &a[..a.len() / 2]
    }
    fn strides(&self) -> &[isize] {
        let a = self.all();
        &a[a.len() / 2..]
    }
}

// SAFETY: the array's memory is immutable while the object lives (Arrow arrays are); its
// release callback may be called from any thread (the specification requires it of
// producers whose arrays cross threads, and the caller of `xbuf_arrow_import` accepts that).
unsafe impl Send for ArrowImport {}
unsafe impl Sync for ArrowImport {}

impl Exporter for ArrowImport {
    fn type_name(&self) -> &CStr {
        c"arrow"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        Ok(Response {
            buf: self.buf,
            len: self.len,
            itemsize: self.itemsize,
            readonly: true,
            format: Some(&self.format),
            ndim: self.dims.shape().len(),
            shape: Some(self.dims.shape()),
            strides: Some(self.dims.strides()),
            ..Response::default()
        })
    }
    any_impl!();
}

impl Drop for ArrowImport {
    fn drop(&mut self) {
        if let Some(r) = self.array.release {
            // SAFETY: the array was moved in by `import`; this is its one release.
            unsafe { r(&mut self.array) };
        }
    }
}

/// Counts the zero bits of `bitmap` (least significant bit first, as Arrow numbers them) in
/// `[start, start + count)`: the head and tail bit by bit, whole bytes in between.
///
/// # Safety
/// The bitmap must cover those bits.
pub(crate) unsafe fn count_nulls(bitmap: *const u8, start: usize, count: usize) -> usize {
    let end = start + count;
    let bit = |i: usize| *bitmap.add(i / 8) >> (i % 8) & 1;
    let mut nulls = 0;
    let mut i = start;
    while i < end && i % 8 != 0 {
        nulls += usize::from(bit(i) == 0);
        i += 1;
    }
    while i + 8 <= end {
        nulls += (*bitmap.add(i / 8)).count_zeros() as usize;
        i += 8;
    }
    while i < end {
        nulls += usize::from(bit(i) == 0);
        i += 1;
    }
    nulls
}

/// Checks one array level against what its schema level expects and returns its physical
/// start (in its own slots) after applying its `offset`.
///
/// # Safety
/// `a` must point at a valid array.
unsafe fn check_level(
    a: &ArrowArray,
    what: &str,
    n_buffers: i64,
    n_children: i64,
    start: usize,
    count: usize,
    flags: c_int,
) -> Result<usize> {
    if a.release.is_none() {
        bail!(Released, "the {what} is released");
    }
    if a.length < 0 || a.offset < 0 {
        bail!(
            InvalidArgument,
            "the {what} has length {} and offset {}",
            a.length,
            a.offset
        );
    }
    if a.n_buffers != n_buffers || a.n_children != n_children {
        bail!(
            InvalidArgument,
            "the {what} has {} buffers and {} children ({n_buffers} and {n_children} expected \
             for its type)",
            a.n_buffers,
            a.n_children
        );
    }
    if a.buffers.is_null() || (n_children > 0 && a.children.is_null()) {
        bail!(InvalidArgument, "the {what} has NULL buffers or children");
    }
    if !a.dictionary.is_null() {
        bail!(
            InvalidArgument,
            "the {what} has a dictionary its schema does not describe"
        );
    }
    let length = a.length as usize;
    if start.checked_add(count).is_none_or(|end| end > length) {
        bail!(
            InvalidArgument,
            "the {what} has {length} slots, fewer than the {} its parent uses",
            start as u128 + count as u128
        );
    }
    let phys = start
        .checked_add(a.offset as usize)
        .ok_or_else(|| overflow("the array offset"))?;
    let validity = *a.buffers;
    let nulls = match a.null_count {
        0 => 0,
        n if n < -1 => bail!(InvalidArgument, "the {what} has null_count {n}"),
        -1 if validity.is_null() => 0,
        n if validity.is_null() => bail!(
            InvalidArgument,
            "the {what} has null_count {n} but no validity bitmap"
        ),
        n if n > 0 && start == 0 && count == length => n as usize,
        _ => count_nulls(validity.cast(), phys, count),
    };
    if nulls > 0 && flags & IGNORE_VALIDITY == 0 {
        bail!(
            InvalidArgument,
            "the {what} has {nulls} null slot(s): a PEP 3118 view cannot mark them (pass \
             XBUF_ARROW_IGNORE_VALIDITY to read the values under them as they lie)"
        );
    }
    Ok(phys)
}

/// Shape and strides of nested fixed-size lists: the length, then each level's logical axes,
/// built inside out.
fn tensor_dims(desc: &Desc, count: usize, itemsize: isize) -> Result<Dims> {
    let ndim = 1 + desc.levels.iter().map(|l| l.physical.len()).sum::<usize>();
    let mut shape = vec![0isize; ndim];
    let mut strides = vec![0isize; ndim];
    let mut inner = itemsize;
    let mut end = ndim;
    for level in desc.levels.iter().rev() {
        let n = level.physical.len();
        let mut phys = vec![0isize; n];
        crate::layout::contiguous_strides(&level.physical, inner, Order::C, &mut phys)?;
        for i in 0..n {
            let p = level.permutation.as_ref().map_or(i, |perm| perm[i]);
            shape[end - n + i] = level.physical[p];
            strides[end - n + i] = phys[p];
        }
        end -= n;
        inner = inner
            .checked_mul(level.size)
            .ok_or_else(|| overflow("the tensor byte size"))?;
    }
    shape[0] = count as isize;
    strides[0] = inner;
    Ok(Dims::new(&shape, &strides))
}

/// Makes an object of an Arrow array (see the module docs). On success the array is moved in
/// (`(*array).release` is set to NULL); on failure nothing is changed.
///
/// # Safety
/// `schema` and `array` must point at valid, matching structs of the C Data Interface.
pub unsafe fn import(
    schema: *const ArrowSchema,
    array: *mut ArrowArray,
    flags: c_int,
) -> Result<ObjRef> {
    if flags & !IMPORT_FLAGS != 0 {
        bail!(
            InvalidArgument,
            "import flags 0x{flags:x} contain unknown bits 0x{:x}",
            flags & !IMPORT_FLAGS
        );
    }
    let desc = describe(schema, 0)?;
    let top = &*array;
    // Walk the levels: `start`/`count` are slots of the current level.
    let count = usize::try_from(top.length)
        .map_err(|_| err!(InvalidArgument, "the ArrowArray has length {}", top.length))?;
    let mut a = top;
    let mut start = 0usize;
    let mut items = count;
    for (depth, level) in desc.levels.iter().enumerate() {
        // Named without an allocation on the common path (the top array).
        let what: Cow<'static, str> = if depth == 0 {
            Cow::Borrowed("ArrowArray")
        } else {
            Cow::Owned(format!("child array at depth {depth}"))
        };
        let phys = check_level(a, &what, 1, 1, start, items, flags)?;
        let size = level.size as usize;
        start = phys
            .checked_mul(size)
            .ok_or_else(|| overflow("the child slot"))?;
        items = items
            .checked_mul(size)
            .ok_or_else(|| overflow("the item count"))?;
        let child = *a.children;
        if child.is_null() {
            bail!(InvalidArgument, "the {what} has a NULL child");
        }
        a = &*child;
    }
    let what: Cow<'static, str> = if desc.levels.is_empty() {
        Cow::Borrowed("ArrowArray")
    } else {
        Cow::Owned(format!("child array at depth {}", desc.levels.len()))
    };
    let phys = check_level(a, &what, 2, 0, start, items, flags)?;
    let data = *a.buffers.add(1);
    let itemsize = desc.itemsize;
    let byte_off = phys
        .checked_mul(itemsize as usize)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| overflow("the data offset"))?;
    let len = items
        .checked_mul(itemsize as usize)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| overflow("the array's byte size"))? as isize;
    if data.is_null() && items > 0 {
        bail!(
            InvalidArgument,
            "the {what}'s data buffer is NULL but it has {items} items"
        );
    }
    let buf = if data.is_null() {
        std::ptr::null_mut()
    } else {
        data.cast::<u8>().cast_mut().wrapping_add(byte_off)
    };
    let dims = if desc.levels.is_empty() {
        let mut a = [0isize; 8];
        a[0] = count as isize;
        a[1] = itemsize;
        Dims::Inline(1, a)
    } else {
        tensor_dims(&desc, count, itemsize)?
    };
    let moved = std::ptr::read(array);
    let obj = ObjRef::new(ArrowImport {
        array: moved,
        buf,
        len,
        itemsize,
        format: desc.format,
        dims,
    });
    (*array).release = None;
    Ok(obj)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;
