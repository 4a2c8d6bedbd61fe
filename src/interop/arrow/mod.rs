//! The Arrow C Data Interface, both ways.
//!
//! **Export** ([`export()`]): one export of an object becomes an `ArrowSchema` + `ArrowArray`
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
//! **Import** ([`import()`]): an array and its (borrowed) schema become a read-only object whose
//! views read the array's memory; the array is moved into the object, and its `release` runs
//! once the object's last reference and last export are gone. Each thread remembers the last
//! few schemas it described, keyed by the exact bytes describing them read (`import_memo`), so
//! that a stream of arrays of a few types compares each schema in place instead of describing
//! it again. The export likewise remembers the last few tensor layouts it planned and their
//! metadata (`memo`), and a released schema's block keeps what it was written for.
//!
//! Facts from the Arrow specification used here: the format strings of the primitive, fixed-size
//! binary and fixed-size list types; the metadata encoding (an `int32` pair count, then for each
//! pair an `int32` key length, the key bytes, an `int32` value length and the value bytes, all
//! in native byte order); the extension keys `ARROW:extension:name` and
//! `ARROW:extension:metadata`; and the canonical extensions `arrow.bool8` (storage `int8`, 0 is
//! false) and `arrow.fixed_shape_tensor` (JSON metadata with `shape`, the physical tensor shape
//! in row-major order, and an optional `permutation`: logical axis `i` is physical axis
//! `permutation[i]`).

use std::ffi::{c_char, c_int, c_void};

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

mod export;
mod hold;
mod import;
mod import_memo;
mod memo;
mod metadata;
mod plan;
mod schema;
mod small;

pub(crate) use export::export;
pub(crate) use import::import;

#[cfg(test)]
mod export_memo_tests;
#[cfg(test)]
mod import_memo_tests;
#[cfg(test)]
mod memo_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trusted_tests;
#[cfg(test)]
mod view_tests;
#[cfg(test)]
mod writer_tests;
