//! The exported schemas: static ones, and blocks holding a written format, metadata and a
//! child (kept for reuse once released).

use std::ffi::{c_void, CStr};
use std::sync::atomic::AtomicPtr;

use crate::status::Result;

use super::hold::{guarded, keep_spare, take_spare};
use super::memo::{self, TensorKey};
use super::metadata::{format_metadata_into, tensor_metadata_into, write_uint, FORMAT_BLOB_HEAD};
use super::plan::ItemType;
use super::{ArrowSchema, BOOL8, EXT_NAME, FLAG_NULLABLE, FORMAT_KEY};

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

/// Copies `bytes` into `out` at `at` and returns where they end (for blobs built at compile
/// time).
const fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        out[at + i] = bytes[i];
        i += 1;
    }
    at + bytes.len()
}

/// The metadata blob of `arrow.bool8` (the name and empty extension metadata), as
/// `encode_metadata` writes it on a little- or big-endian machine alike (built at compile time).
pub(super) static BOOL8_METADATA: [u8; 4 + 4 + 20 + 4 + 11 + 4 + 24 + 4] = {
    let mut out = [0u8; 75];
    let parts: [&[u8]; 4] = [
        EXT_NAME.as_bytes(),
        BOOL8.as_bytes(),
        super::EXT_META.as_bytes(),
        b"",
    ];
    let mut at = put(&mut out, 0, &2i32.to_ne_bytes());
    let mut p = 0;
    while p < parts.len() {
        at = put(&mut out, at, &(parts[p].len() as i32).to_ne_bytes());
        at = put(&mut out, at, parts[p]);
        p += 1;
    }
    assert!(at == out.len());
    out
};

/// An exported schema's `private_data`, one block holding everything the schema points at:
/// the format text, the metadata and the child schema (schemas with a static format and
/// static or no metadata have none). Released blocks are kept for reuse (see
/// [`SPARE_SCHEMA`]), metadata buffer included, and the format and metadata with it: the next
/// export of the same tensor or the same fixed-size binary item takes them as they are.
struct SchemaPrivate {
    format: SchemaFormat,
    /// The metadata written for the schema (empty when it has none).
    metadata: Vec<u8>,
    /// What `format` and `metadata` were written for.
    written: Written,
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
    pub(super) fn take() -> Box<SchemaPrivate> {
        let spare = take_spare(&SPARE_SCHEMA);
        if !spare.is_null() {
            // SAFETY: a block made by `Box::into_raw` in `give_back`, taken out of the slot by
            // this thread alone.
            return unsafe { Box::from_raw(spare) };
        }
        Box::new(SchemaPrivate {
            format: SchemaFormat::Static(c""),
            metadata: Vec::new(),
            written: Written::Other,
            children: [std::ptr::null_mut()],
            child: None,
        })
    }

    /// Keeps a released block as a spare if a slot is empty (else frees it). A tensor
    /// schema's format and metadata stay in it.
    pub(super) fn give_back(mut p: Box<SchemaPrivate>) {
        if p.metadata.capacity() > SPARE_METADATA_MAX {
            return;
        }
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

/// The release callback of an exported schema: releases its child (unless the consumer moved
/// it out, which left it released here), then gives its block back. A NULL or already
/// released schema is left alone.
pub(super) unsafe extern "C" fn release_schema(s: *mut ArrowSchema) {
    if s.is_null() || (*s).release.is_none() {
        return;
    }
    (*s).release = None;
    let p = (*s).private_data.cast::<SchemaPrivate>();
    if p.is_null() {
        return;
    }
    guarded(|| {
        // SAFETY: made by `Box::into_raw` when exported, released once (the callback is NULL
        // now).
        let mut p = Box::from_raw(p);
        if let Some(c) = p.child.as_mut() {
            if let Some(r) = c.release {
                r(c);
            }
        }
        SchemaPrivate::give_back(p);
    });
}

/// What a schema block's format and metadata were written for.
#[derive(PartialEq, Eq)]
enum Written {
    /// Nothing to take again.
    Other,
    /// The `arrow.fixed_shape_tensor` of this key.
    Tensor(TensorKey),
    /// Fixed-size binary `w:N` of this size, the PEP 3118 format in the metadata.
    Binary(usize),
}

/// A schema whose format and metadata are in a block, with `name` and `child` (released by
/// the schema's release; on failure it is released here): a spare block already written for
/// the same schema (`same` says whether it is) is taken as it is; else `format` and
/// `metadata` write it, for what `written` says.
#[inline(always)]
fn block_schema(
    same: impl FnOnce(&SchemaPrivate) -> bool,
    written: impl FnOnce() -> Written,
    format: impl FnOnce() -> SchemaFormat,
    metadata: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    name: Option<&'static CStr>,
    child: Option<ArrowSchema>,
) -> Result<ArrowSchema> {
    let mut p = SchemaPrivate::take();
    let mut done = Ok(());
    if !same(&p) {
        p.written = Written::Other;
        p.metadata.clear();
        p.format = format();
        done = metadata(&mut p.metadata);
        if done.is_ok() {
            p.written = written();
        }
    }
    publish(p, done, name, child)
}

/// The `arrow.fixed_shape_tensor` schema of `k` items per tensor (`+w:k`) described by `key`,
/// over the item schema `child` (released by the schema's release; on failure it is released
/// here).
pub(super) fn tensor_schema(key: &TensorKey, k: usize, child: ArrowSchema) -> Result<ArrowSchema> {
    block_schema(
        |p| matches!(&p.written, Written::Tensor(k) if k == key),
        || Written::Tensor(*key),
        || SchemaFormat::sized(b"+w:", k),
        |out| {
            let (shape, permutation) = (key.shape(), key.permutation());
            memo::tensor_metadata_into(out, key, |out| {
                tensor_metadata_into(out, shape, permutation.as_deref())
            })
        },
        None,
        Some(child),
    )
}

/// [`tensor_schema`] of a tensor with more axes than a key holds (written each time).
pub(super) fn wide_tensor_schema(
    shape: &[isize],
    permutation: Option<&[usize]>,
    k: usize,
    child: ArrowSchema,
) -> Result<ArrowSchema> {
    block_schema(
        |_| false,
        || Written::Other,
        || SchemaFormat::sized(b"+w:", k),
        |out| tensor_metadata_into(out, shape, permutation),
        None,
        Some(child),
    )
}

/// The fixed-size binary schema `w:n` whose metadata holds the PEP 3118 format `text` (not
/// inlined: the primitive item schemas stay short).
#[inline(never)]
fn binary_schema(n: usize, text: &[u8], name: Option<&'static CStr>) -> Result<ArrowSchema> {
    block_schema(
        |p| {
            p.written == Written::Binary(n)
                && p.metadata.len() == FORMAT_BLOB_HEAD + text.len()
                && p.metadata[FORMAT_BLOB_HEAD..] == *text
        },
        || Written::Binary(n),
        || SchemaFormat::sized(b"w:", n),
        |out| format_metadata_into(out, text),
        name,
        None,
    )
}

/// The schema of the block `p` whose format and metadata are `written` (or failed), with
/// `name` and `child` (released here on failure, with the block given back).
#[inline(always)]
fn publish(
    mut p: Box<SchemaPrivate>,
    written: Result<()>,
    name: Option<&'static CStr>,
    child: Option<ArrowSchema>,
) -> Result<ArrowSchema> {
    p.child = child;
    if let Err(e) = written {
        if let Some(c) = p.child.as_mut() {
            // SAFETY: a schema made by this module, released once.
            unsafe { release_schema(c) };
        }
        SchemaPrivate::give_back(p);
        return Err(e);
    }
    let mut s = ArrowSchema::released();
    s.name = name.map_or(std::ptr::null(), CStr::as_ptr);
    s.flags = FLAG_NULLABLE;
    s.release = Some(release_schema);
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
pub(super) fn item_schema(
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
        ItemType::Binary(n) => binary_schema(*n, fmt.unwrap_or(b"B"), name),
    }
}
