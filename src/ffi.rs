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

pub use crate::capi::arrow::*;
pub use crate::capi::copy::*;
pub use crate::capi::dlpack::*;
pub use crate::capi::errors::*;
pub use crate::capi::exporters::*;
pub use crate::capi::format::*;
pub use crate::capi::objects::*;
pub use crate::capi::procs::*;
pub use crate::capi::requests::*;
pub use crate::capi::view::*;
pub use crate::interop::arrow::{ArrowArray, ArrowSchema};
pub use crate::interop::dlpack::{
    DLDataType, DLDevice, DLManagedTensor, DLManagedTensorVersioned, DLPackVersion, DLTensor,
};

/// Rust only, not in the C header: DLPack tensors of a filled view that a binding keeps alive
/// by its own means, each holding a value of the binding's instead of an export.
pub mod lent {
    pub use crate::interop::dlpack::lent::LentTensor;
}
