//! Everything this package uses from the xbuf library, in one place: the C ABI by its C
//! names (`xbuf::ffi`, the same functions and types `include/xbuf.h` declares) and the value
//! rule that renders items (`xbuf::Format::walk`). Nothing else in the package names a path
//! inside the `xbuf` crate.

pub use xbuf::ffi::{
    xbuf_arrow_export, xbuf_arrow_import_flags, xbuf_bufferinfo, xbuf_bytearray_new, xbuf_copy,
    xbuf_decref, xbuf_dlpack_export, xbuf_dlpack_export_unversioned, xbuf_dlpack_import,
    xbuf_dlpack_import_unversioned, xbuf_exports, xbuf_get_buffer, xbuf_incref, xbuf_is_contiguous,
    xbuf_last_error_message, xbuf_mmap_open, xbuf_ndarray_new, xbuf_object, xbuf_object_new,
    xbuf_object_state, xbuf_range, xbuf_refcount, xbuf_release, xbuf_type, xbuf_view_cast,
    xbuf_view_equal, xbuf_view_hash, xbuf_view_hex, xbuf_view_index, xbuf_view_item_pointer,
    xbuf_view_new, xbuf_view_permute, xbuf_view_release, xbuf_view_slice, xbuf_view_tobytes,
    xbuf_view_tolist, xbuf_view_transpose, XBUF_ARROW_IGNORE_VALIDITY, XBUF_ERR_BAD_EXPORTER,
    XBUF_ERR_BUFFER_TOO_SMALL, XBUF_ERR_BUSY, XBUF_ERR_FORMAT, XBUF_ERR_INVALID_ARGUMENT,
    XBUF_ERR_IO, XBUF_ERR_NOT_CONTIGUOUS, XBUF_ERR_NO_MEMORY, XBUF_ERR_OUT_OF_BOUNDS,
    XBUF_ERR_OVERFLOW, XBUF_ERR_PANIC, XBUF_ERR_READONLY, XBUF_ERR_REQUEST, XBUF_ERR_UNSUPPORTED,
    XBUF_FULL, XBUF_FULL_RO, XBUF_MMAP_COPY, XBUF_MMAP_READ, XBUF_MMAP_WRITE, XBUF_NDARRAY_PIL,
    XBUF_NDARRAY_READONLY, XBUF_OK,
};

/// The library's Rust-only DLPack entries for a filled view kept alive by the package.
pub use xbuf::ffi::lent;

/// The value rule (see "Values" in the library's documentation): a parsed format, the walk
/// that reports an item's values and how they nest, and the values it reports.
pub mod values {
    pub use xbuf::{Error, Format, Result, Scalar as Value, Visit};
}
