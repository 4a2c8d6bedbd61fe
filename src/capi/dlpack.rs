//! DLPack: tensors of objects' memory, and objects of tensors.

use std::ffi::c_int;

use super::{boundary, nonnull, object, object_out};
use crate::capi::xbuf_object;
use crate::interop::dlpack::{self, DLManagedTensor, DLManagedTensorVersioned};

/// `xbuf_dlpack_export_unversioned` flag: export read-only memory anyway.
///
/// `xbuf_dlpack_export_unversioned` flag: export read-only memory although the legacy
/// `DLManagedTensor` cannot mark it read-only (the consumer promises not to write it). A bit
/// no request flag uses.
pub const XBUF_DLPACK_UNMARKED_READONLY: c_int = 0x20000;

/// Makes a DLPack 1.1 tensor of `obj`'s memory, zero-copy: any exporter, any `xbuf_view`.
///
/// The tensor holds one export of `obj` (of its releaser), so `obj` may be released while the
/// tensor lives; the tensor's `deleter` hands that export back and frees the tensor, exactly
/// once, from any thread. `flags` are request flags: `XBUF_WRITABLE` demands writable memory
/// (else `XBUF_ERR_READONLY`); without it read-only memory gives a tensor with
/// `DLPACK_FLAG_BITMASK_READ_ONLY` set. Other request flags (e.g. `XBUF_C_CONTIGUOUS`) demand
/// what they demand of `xbuf_get_buffer`; `XBUF_DEVICE` is implied (the tensor carries the
/// memory's device). The tensor has `byte_offset` 0, strides counted in items, and its shape
/// and strides allocated with it. Item formats (native byte order): `b h i l q n` signed,
/// `B H I L Q N` unsigned integers, `e f d` floats, `Zf Zd` complex, `?` bool.
///
/// Borrows: `obj`.
/// Returns: in `*out` a tensor owned by the caller, who hands it on to a consumer or calls its
/// `deleter` (exactly once); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (unknown flag bits),
/// `XBUF_ERR_FORMAT` (structs, named fields, sub-arrays, `g`, non-native byte order and other
/// formats without a DLPack type, the message says why), `XBUF_ERR_UNSUPPORTED` (suboffsets,
/// strides that are not a multiple of the item size), `XBUF_ERR_NO_MEMORY`, or any status of
/// `xbuf_get_buffer`. On failure no export is held.
/// Thread safety: any thread; the tensor may be deleted on any thread.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `out` is NULL or points at writable
/// storage for one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_dlpack_export(
    obj: *mut xbuf_object,
    flags: c_int,
    out: *mut *mut DLManagedTensorVersioned,
) -> c_int {
    boundary!({
        let out = nonnull(out, "out")?.as_ptr();
        out.write(std::ptr::null_mut());
        let obj = object(obj, "obj")?;
        out.write(dlpack::export::<DLManagedTensorVersioned>(
            obj, flags, false,
        )?);
        Ok(())
    })
}

/// Makes an object whose views read the DLPack tensor `t`, zero-copy.
///
/// Makes an object whose views read the DLPack tensor `t` (any minor version of major version
/// 1), zero-copy.
///
/// The object owns `t` on success: `t`'s `deleter` (if not NULL) runs exactly once, when the
/// object's last reference and last export are gone, on the thread that drops them. Views have
/// the tensor's shape, its strides (NULL strides mean C order) in bytes, `data + byte_offset`
/// as `buf`, a native format (`b h i q`, `B H I Q`, `e f d`, `Zf Zd`, `?`) and the tensor's
/// device; `DLPACK_FLAG_BITMASK_READ_ONLY` makes the object read-only. Memory on a device
/// other than the CPU is given only to requests with `XBUF_DEVICE`.
///
/// Borrows: `t` on failure: the tensor is then untouched and still the caller's (a DLPack
/// consumer that gives up calls its deleter itself).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`); NULL on failure.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_UNSUPPORTED` (a major version other than 1,
/// lanes > 1, sub-byte types, data types without a PEP 3118 format such as bfloat16, devices
/// whose `data` is an opaque handle (OpenCL, Vulkan, Metal, WebGPU) or unknown devices),
/// `XBUF_ERR_INVALID_ARGUMENT` (ndim outside 0..64, NULL shape, negative extents, NULL data
/// with items), `XBUF_ERR_OVERFLOW` (sizes, strides or offsets out of range),
/// `XBUF_ERR_NO_MEMORY`.
/// Thread safety: any thread; the object may be shared between threads.
///
/// # Safety
/// `t` is NULL or points at a `DLManagedTensorVersioned` laid out as the DLPack specification
/// defines it, whose `deleter` may be called from any thread; `out` is NULL or points at writable
/// storage for one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_dlpack_import(
    t: *mut DLManagedTensorVersioned,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let t = nonnull(t, "t")?.as_ptr();
            dlpack::import(t)
        })
    })
}

/// Exports a view of `obj` as a legacy (unversioned) DLPack tensor.
///
/// `xbuf_dlpack_export` for the legacy `DLManagedTensor` (DLPack before 1.0), which has no
/// version and no read-only flag: read-only memory is refused (`XBUF_ERR_READONLY`) unless
/// `flags` has `XBUF_DLPACK_UNMARKED_READONLY`, by which the caller accepts that consumers see
/// no mark.
///
/// Borrows: `obj`.
/// Returns: in `*out` a tensor owned by the caller, who hands it on or calls its `deleter`
/// (exactly once); NULL on failure.
/// Errors: those of `xbuf_dlpack_export`, and `XBUF_ERR_READONLY` as above.
/// Thread safety: any thread; the tensor may be deleted on any thread.
///
/// # Safety
/// `obj` is NULL or an object pointer the caller holds a reference (or lock) on; a pointer that is
/// no object is refused by its address, never read through; `out` is NULL or points at writable
/// storage for one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_dlpack_export_unversioned(
    obj: *mut xbuf_object,
    flags: c_int,
    out: *mut *mut DLManagedTensor,
) -> c_int {
    boundary!({
        let out = nonnull(out, "out")?.as_ptr();
        out.write(std::ptr::null_mut());
        let obj = object(obj, "obj")?;
        out.write(dlpack::export::<DLManagedTensor>(obj, flags, true)?);
        Ok(())
    })
}

/// Makes a read-only object whose views read the legacy DLPack tensor `t`.
///
/// `xbuf_dlpack_import` for the legacy `DLManagedTensor`. The object is always read-only, as
/// NumPy makes it: the legacy struct cannot say whether the memory may be written.
///
/// Borrows: `t` on failure (untouched, still the caller's).
/// Returns: in `*out` an owned reference (release with `xbuf_decref`), which owns `t` and runs
/// its `deleter` once after its last reference and export; NULL on failure.
/// Errors: those of `xbuf_dlpack_import` but the version check.
/// Thread safety: any thread; the object may be shared between threads.
///
/// # Safety
/// `t` is NULL or points at a `DLManagedTensor` laid out as the DLPack specification defines it,
/// whose `deleter` may be called from any thread; `out` is NULL or points at writable storage for
/// one pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_dlpack_import_unversioned(
    t: *mut DLManagedTensor,
    out: *mut *mut xbuf_object,
) -> c_int {
    boundary!({
        object_out(out, || {
            let t = nonnull(t, "t")?.as_ptr();
            dlpack::import_unversioned(t)
        })
    })
}
