//! `bytearray`: mutable, resizable bytes; a resize is refused while the object is exported or
//! locked.

use std::cell::UnsafeCell;
use std::ffi::CStr;

use super::{any_impl, copy_bytes};
use crate::err;
use crate::object::{Exporter, FlatCell, ObjRef, Object};
use crate::status::Result;

/// `repr(C)`, the cell first: the library finds it at the exporter's address.
#[repr(C)]
pub struct ByteArray {
    /// The vector's buffer and length, published by the last change, so that getters (which
    /// run with an export counted, hence never during a change) never borrow the vector.
    cell: FlatCell,
    /// Touched only under the object's exclusive access (resize). The export count is the
    /// lock: exclusive access excludes every export.
    data: UnsafeCell<Vec<u8>>,
}

// SAFETY: see the field's invariant: the object's atomic export/exclusive word serialises
// every mutation against every read.
unsafe impl Sync for ByteArray {}

impl ByteArray {
    fn from_vec(mut v: Vec<u8>) -> ObjRef {
        let (ptr, len) = (v.as_mut_ptr(), v.len());
        ObjRef::new(ByteArray {
            data: UnsafeCell::new(v),
            cell: FlatCell::new(ptr, len, false),
        })
    }

    /// A new object holding a copy of `data`.
    pub fn new_object(data: &[u8]) -> Result<ObjRef> {
        Ok(ByteArray::from_vec(copy_bytes(data, "bytearray")?))
    }

    /// A new object of `len` zero bytes.
    pub fn zeroed_object(len: usize) -> Result<ObjRef> {
        let mut v = Vec::new();
        v.try_reserve_exact(len)
            .map_err(|_| err!(NoMemory, "cannot allocate {len} bytes for a bytearray"))?;
        v.resize(len, 0);
        Ok(ByteArray::from_vec(v))
    }

    /// Resizes `obj` (a bytearray) to `len` bytes; new bytes are zero. Refused with `Busy`
    /// while the object has exports or locks.
    pub fn resize(obj: &Object, len: usize) -> Result<()> {
        let this = obj.downcast::<ByteArray>("bytearray")?;
        if len > isize::MAX as usize {
            return Err(err!(
                Overflow,
                "bytearray length {len} exceeds the largest view size"
            ));
        }
        obj.with_exclusive(|| {
            // SAFETY: exclusive access is held: no export, so no reader of `data`.
            let v = unsafe { &mut *this.data.get() };
            if len > v.len() {
                v.try_reserve_exact(len - v.len())
                    .map_err(|_| err!(NoMemory, "cannot grow a bytearray to {len} bytes"))?;
            }
            v.resize(len, 0);
            this.cell.set(v.as_mut_ptr(), v.len());
            Ok(())
        })
    }
}

impl Exporter for ByteArray {
    fn type_name(&self) -> &CStr {
        c"bytearray"
    }
    fn flat_bytes(&self) -> Option<(*mut u8, usize, bool)> {
        // As in get_buffer: an export is counted, so no resize runs now.
        Some(self.cell.get())
    }
    fn flat_cell(&self) -> Option<&FlatCell> {
        Some(&self.cell)
    }
    /// The default `release_buffer`: nothing to do for a view.
    fn release_ignores_views(&self) -> bool {
        true
    }
    any_impl!();
}
