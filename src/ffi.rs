//! The C ABI for Rust code: every function, type and constant of `include/xbuf.h` under its C
//! name, for what the safe API does not cover. Everything here follows the header's rules
//! (ownership, structsize, threads); most functions are `unsafe` to call.
//!
//! ```
//! use xbuf::ffi;
//! let mut obj = std::ptr::null_mut();
//! let status = unsafe { ffi::xbuf_bytes_new(b"abc".as_ptr().cast(), 3, &mut obj) };
//! assert_eq!(status, ffi::XBUF_OK);
//! assert_eq!(unsafe { ffi::xbuf_refcount(obj) }, 1);
//! unsafe { ffi::xbuf_decref(obj) };
//! ```

#![allow(missing_docs)]

pub use crate::abi::{
    xbuf_bufferinfo, xbuf_deallocproc, xbuf_getbufferproc, xbuf_lockbufferproc, xbuf_object,
    xbuf_releasebufferproc, xbuf_type, XBUF_ANY_CONTIGUOUS, XBUF_BUFFERINFO_SIZE,
    XBUF_BUFFERINFO_SIZE_MIN, XBUF_BUFFERINFO_SIZE_NODEVICE, XBUF_CONTIG, XBUF_CONTIG_RO,
    XBUF_C_CONTIGUOUS, XBUF_DEVICE, XBUF_DEVICE_CPU, XBUF_FORMAT, XBUF_FULL, XBUF_FULL_RO,
    XBUF_F_CONTIGUOUS, XBUF_INDIRECT, XBUF_INLINE_FORMAT, XBUF_INLINE_LAYOUT, XBUF_MAX_NDIM,
    XBUF_ND, XBUF_RECORDS, XBUF_RECORDS_RO, XBUF_SIMPLE, XBUF_STRIDED, XBUF_STRIDED_RO,
    XBUF_STRIDES, XBUF_STRUCTSIZE_MAX, XBUF_TYPE_SIZE_MIN, XBUF_WRITABLE,
};
pub use crate::capi::arrow::{
    xbuf_arrow_export, xbuf_arrow_import, xbuf_arrow_import_flags, XBUF_ARROW_IGNORE_VALIDITY,
};
pub use crate::capi::core::{
    xbuf_bufferinfo_move, xbuf_clear_error, xbuf_decref, xbuf_exclusive_begin, xbuf_exclusive_end,
    xbuf_exports, xbuf_fill_contiguous_strides, xbuf_fill_info, xbuf_get_buffer,
    xbuf_get_max_threads, xbuf_get_pointer, xbuf_incref, xbuf_is_contiguous,
    xbuf_last_error_message, xbuf_last_error_status, xbuf_lock, xbuf_object_new, xbuf_object_state,
    xbuf_object_type_name, xbuf_refcount, xbuf_release, xbuf_set_error, xbuf_set_max_threads,
    xbuf_status_str, xbuf_unlock, xbuf_version, xbuf_version_string,
};
pub use crate::capi::dlpack::{
    xbuf_dlpack_export, xbuf_dlpack_export_unversioned, xbuf_dlpack_import,
    xbuf_dlpack_import_unversioned,
};
pub use crate::capi::exporters::{
    xbuf_bytearray_new, xbuf_bytearray_resize, xbuf_bytes_new, xbuf_mmap_close, xbuf_mmap_flush,
    xbuf_mmap_open, xbuf_mmap_resize, xbuf_ndarray_new, xbuf_ndarray_zeros, xbuf_slice_new,
    xbuf_wrap_new,
};
pub use crate::capi::format::{
    xbuf_format, xbuf_format_alignment, xbuf_format_byteorder, xbuf_format_canonical,
    xbuf_format_decode, xbuf_format_equivalent, xbuf_format_field, xbuf_format_field_count,
    xbuf_format_field_info, xbuf_format_free, xbuf_format_items_equal, xbuf_format_itemsize,
    xbuf_format_leaf, xbuf_format_leaf_count, xbuf_format_leaf_info, xbuf_format_parse,
    xbuf_format_to_json, xbuf_size_from_format, xbuf_value, XBUF_VALUE_BITS, XBUF_VALUE_BOOL,
    XBUF_VALUE_BYTES, XBUF_VALUE_CHAR, XBUF_VALUE_COMPLEX, XBUF_VALUE_FLOAT, XBUF_VALUE_INT,
    XBUF_VALUE_POINTER, XBUF_VALUE_TEXT, XBUF_VALUE_UINT,
};
pub use crate::capi::view::{
    xbuf_copy, xbuf_from_contiguous, xbuf_range, xbuf_to_contiguous, xbuf_view_cast,
    xbuf_view_equal, xbuf_view_hash, xbuf_view_hex, xbuf_view_index, xbuf_view_item_pointer,
    xbuf_view_new, xbuf_view_permute, xbuf_view_release, xbuf_view_slice, xbuf_view_tobytes,
    xbuf_view_tolist, xbuf_view_transpose,
};
pub use crate::exporters::mmap::{XBUF_MMAP_COPY, XBUF_MMAP_READ, XBUF_MMAP_WRITE};
pub use crate::exporters::ndarray::{XBUF_NDARRAY_PIL, XBUF_NDARRAY_READONLY};
pub use crate::exporters::wrap::xbuf_wrap_destructor;
pub use crate::interop::arrow::{ArrowArray, ArrowSchema};
pub use crate::interop::dlpack::{
    DLDataType, DLDevice, DLManagedTensor, DLManagedTensorVersioned, DLPackVersion, DLTensor,
    XBUF_DLPACK_UNMARKED_READONLY,
};
pub use crate::status::{
    XBUF_ERR_BAD_EXPORTER, XBUF_ERR_BUFFER_TOO_SMALL, XBUF_ERR_BUSY, XBUF_ERR_FORMAT,
    XBUF_ERR_INVALID_ARGUMENT, XBUF_ERR_IO, XBUF_ERR_NOT_CONTIGUOUS, XBUF_ERR_NO_MEMORY,
    XBUF_ERR_NULL_ARGUMENT, XBUF_ERR_OUT_OF_BOUNDS, XBUF_ERR_OVERFLOW, XBUF_ERR_PANIC,
    XBUF_ERR_READONLY, XBUF_ERR_RELEASED, XBUF_ERR_REQUEST, XBUF_ERR_STRUCT_TOO_NEW,
    XBUF_ERR_STRUCT_TOO_OLD, XBUF_ERR_UNSUPPORTED, XBUF_OK,
};
pub use crate::view::XBUF_SLICE_OMIT;
