//! DLPack 1.x both ways: a tensor of any object's memory (holding one export of it, handed
//! back by the tensor's deleter), and an object whose views read a tensor (running the
//! tensor's deleter when the object's last reference and last export are gone).
//!
//! The structs are declared from the DLPack specification with integer fields for every code,
//! so that a code this library does not know is a value to refuse, never undefined behaviour.
//! The legacy `DLManagedTensor` is handled by the same code as `DLManagedTensorVersioned`.

use std::ffi::c_void;

use crate::capi::*;

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

mod dtype;
mod export;
mod import;
pub(crate) mod lent;

pub(crate) use export::export;
pub(crate) use import::{import, import_unversioned};

#[cfg(test)]
mod lent_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;
