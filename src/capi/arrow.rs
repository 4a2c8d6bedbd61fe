//! The Arrow C Data Interface: arrays of objects' memory, and objects of arrays.

use std::ffi::c_int;

use super::{boundary, nonnull, object, object_out};
use crate::bail;
use crate::capi::xbuf_object;
use crate::interop::arrow::{self as imp, ArrowArray, ArrowSchema};
use crate::status::Result;

/// `xbuf_arrow_import_flags` flag: accept an array with null slots.
///
/// `xbuf_arrow_import_flags` flag: accept an array with null slots; views then read the values
/// that lie under the null slots as they are in memory (Arrow leaves them unspecified), since a
/// PEP 3118 view has no way to mark a slot null. Without it such an array is refused.
pub const XBUF_ARROW_IGNORE_VALIDITY: c_int = 1;

/// Describes one export of `obj` as an Arrow array, zero-copy.
///
/// Describes one export of `obj` as an Arrow array, zero-copy, in the consumer-allocated
/// `schema` and `array`.
///
/// The view is asked for with `XBUF_FULL_RO`, without `XBUF_DEVICE`: the C Data Interface
/// describes CPU memory, so an exporter of memory on another device refuses (`XBUF_ERR_REQUEST`).
/// One dimension of contiguous items of a native
/// primitive format becomes the primitive array (`b h i q` → `c s i l`, `B H I Q` → `C S I L`,
/// `e f d` → `e f g`, with the native sizes of `l L n N`); `?` becomes the canonical extension
/// `arrow.bool8` (storage `c`); a view of no dimensions an array of one item. Any other item
/// format (structs, named fields, sub-arrays, complex, `g`, strings, pointers, non-native byte
/// order) becomes fixed-size binary `w:N` whose field metadata holds the PEP 3118 format under
/// the key `"xbuf:format"`, which `xbuf_arrow_import` reads back. Two or more dimensions become
/// the canonical extension `arrow.fixed_shape_tensor` of length `shape[0]`, each tensor of shape
/// `shape[1:]` (storage `+w:K` with one child `"item"` of all the items); a layout that is
/// C-contiguous after permuting the tensor axes (each tensor in Fortran order, say) is described
/// by the extension's `permutation` (logical axis `i` is physical axis `permutation[i]`). The
/// arrays have no validity bitmap and `null_count` 0; read-only memory is exported as is (Arrow
/// memory is immutable to its consumers).
///
/// Borrows: `obj`. The array holds one export of `obj` (at its releaser), so `obj` may be
/// released while the array lives.
/// Returns: the filled `schema` and `array`, owned by the caller: call `schema->release(schema)`
/// and `array->release(array)` once each (the export is handed back when the array, and any
/// child the consumer moved out of it, are all released). Both follow the specification's move
/// semantics: they hold no pointer into themselves, so they may be moved by copying their bytes
/// and marking the source released. On failure the structs are written released (all zero:
/// `release` is NULL), unless a pointer is NULL or both are the same: then nothing is written.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not an object, or `schema ==
/// array`), `XBUF_ERR_NOT_CONTIGUOUS` (items not contiguous in any order, axis 0 not the
/// outermost axis, or suboffsets: copy the view first), `XBUF_ERR_REQUEST` (memory on another
/// device), the status of `obj`'s exporter for the request, `XBUF_ERR_OVERFLOW`.
/// Thread safety: any thread; the release callbacks may be called from any thread.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `schema` is NULL or points at a `struct
/// ArrowSchema` laid out as the Arrow C Data Interface defines it; `array` is NULL or points at a
/// `struct ArrowArray` laid out as the Arrow C Data Interface defines it. Each must stay valid
/// during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_arrow_export(
    obj: *mut xbuf_object,
    schema: *mut ArrowSchema,
    array: *mut ArrowArray,
) -> c_int {
    boundary!({
        let schema = nonnull(schema, "schema")?.as_ptr();
        let array = nonnull(array, "array")?.as_ptr();
        if std::ptr::eq(schema.cast::<u8>(), array.cast::<u8>()) {
            bail!(InvalidArgument, "'schema' and 'array' are the same address");
        }
        schema.write(ArrowSchema::released());
        array.write(ArrowArray::released());
        imp::export(object(obj, "obj")?, schema, array)
    })
}

/// `xbuf_arrow_import_flags(schema, array, 0, out)`: refuses arrays with null slots.
///
/// Borrows: `schema`. Takes: `array` on success only.
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: as `xbuf_arrow_import_flags`.
/// Thread safety: as `xbuf_arrow_import_flags`.
///
/// # Safety
/// `schema` is NULL or points at a `struct ArrowSchema` laid out as the Arrow C Data Interface
/// defines it; `array` is NULL or points at a `struct ArrowArray` laid out as the Arrow C Data
/// Interface defines it; `out` is NULL or points at writable storage for one pointer. Each must
/// stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_arrow_import(
    schema: *mut ArrowSchema,
    array: *mut ArrowArray,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({ import(schema, array, 0, out) })
}

/// Makes a read-only object whose views read an Arrow array's memory, zero-copy.
///
/// Types: the primitives `c C s S i I l L e f g` (formats `b B h H i I q Q e f d`);
/// `arrow.bool8` (`?`); fixed-size binary `w:N` (format `Ns`, or the `"xbuf:format"` field
/// metadata that `xbuf_arrow_export` writes, whose item size must be `N`); fixed-size lists
/// `+w:N`, nested to any depth up to 64 dimensions, each adding an axis of extent `N`; and
/// `arrow.fixed_shape_tensor`, whose tensor axes follow its `shape` and `permutation` (the
/// strides are permuted, nothing is copied). Views have `shape[0] = array->length`; every
/// `offset` is honoured. An extension the library does not know is read as its storage type.
/// Refused: arrays with null slots (`null_count` > 0, or -1 with a validity bitmap that has a
/// zero bit in the slots used) unless `flags` has `XBUF_ARROW_IGNORE_VALIDITY`; bit-packed
/// booleans (`b`), variable-length types (strings, binary, lists, views), dictionary-encoded
/// arrays, and every other type, each with a message naming it.
///
/// Borrows: `schema` (read during the call only; the caller still releases it). Takes: `array`
/// on success: it is moved into the object (`array->release` is set to NULL, the struct itself
/// may be reused), and its release callback runs exactly once, when the object's last
/// reference and last export are gone, on the thread that drops them. On failure nothing is
/// taken: `array` is unchanged and still the caller's to release.
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (unknown flags, `schema ==
/// array`, an array that does not match its schema, null slots, a malformed tensor extension), `XBUF_ERR_RELEASED`
/// (a released schema or array), `XBUF_ERR_UNSUPPORTED` (a type without a PEP 3118 layout),
/// `XBUF_ERR_FORMAT` (bad `"xbuf:format"` metadata), `XBUF_ERR_OVERFLOW`.
/// Thread safety: any thread; the array's release callback must be callable from any thread.
///
/// # Safety
/// `schema` is NULL or points at a `struct ArrowSchema` laid out as the Arrow C Data Interface
/// defines it; `array` is NULL or points at a `struct ArrowArray` laid out as the Arrow C Data
/// Interface defines it; `out` is NULL or points at writable storage for one pointer. Each must
/// stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_arrow_import_flags(
    schema: *mut ArrowSchema,
    array: *mut ArrowArray,
    flags: c_int,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({ import(schema, array, flags, out) })
}

/// The arguments of `xbuf_arrow_import_flags`, read and handed to the importer.
///
/// # Safety
/// As `xbuf_arrow_import_flags`.
#[inline(always)]
unsafe fn import(
    schema: *mut ArrowSchema,
    array: *mut ArrowArray,
    flags: c_int,
    out: *mut *mut xbuf_object,
) -> Result<()> {
    object_out(out, || {
        let schema = nonnull(schema, "schema")?.as_ptr();
        let array = nonnull(array, "array")?.as_ptr();
        if std::ptr::eq(schema.cast::<u8>(), array.cast::<u8>()) {
            bail!(InvalidArgument, "'schema' and 'array' are the same address");
        }
        imp::import(schema, array, flags)
    })
}
