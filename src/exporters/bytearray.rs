//! `bytearray`: mutable, resizable bytes; a resize is refused while the object is exported or
//! locked.

use std::cell::UnsafeCell;
use std::ffi::{c_int, CStr};

use super::{any_impl, copy_bytes};
use crate::abi::xbuf_bufferinfo;
use crate::err;
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::Result;

pub struct ByteArray {
    /// Mutated only under the object's exclusive access; read only while the object has an
    /// export counted (which excludes exclusive access). The export count is the lock.
    data: UnsafeCell<Vec<u8>>,
}

// SAFETY: see the field's invariant: the object's atomic export/exclusive word serialises
// every mutation against every read.
unsafe impl Sync for ByteArray {}

impl ByteArray {
    /// A new object holding a copy of `data`.
    pub fn new_object(data: &[u8]) -> Result<ObjRef> {
        let data = UnsafeCell::new(copy_bytes(data, "bytearray")?);
        Ok(ObjRef::new(Box::new(ByteArray { data })))
    }

    /// A new object of `len` zero bytes.
    pub fn zeroed_object(len: usize) -> Result<ObjRef> {
        let mut v = Vec::new();
        v.try_reserve_exact(len)
            .map_err(|_| err!(NoMemory, "cannot allocate {len} bytes for a bytearray"))?;
        v.resize(len, 0);
        Ok(ObjRef::new(Box::new(ByteArray {
            data: UnsafeCell::new(v),
        })))
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
            Ok(())
        })
    }
}

impl Exporter for ByteArray {
    fn type_name(&self) -> &CStr {
        c"bytearray"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        // SAFETY: the library counted an export before calling us, so no resize runs now;
        // concurrent getters only read the vector (its pointer and length).
        let v = unsafe { &*self.data.get() };
        Ok(Response::bytes(v.as_ptr() as *mut u8, v.len(), false))
    }
    any_impl!();
}
