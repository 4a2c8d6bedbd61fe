//! `slice`: the seed discussion's ByteBufferSlice. A window of `length` bytes at `offset` into
//! a base object. It locks its base (and the base's releaser, when that is another object) for
//! its whole lifetime, hands out views whose releaser is the base's releaser, and may be
//! destroyed while those views live.

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

use super::any_impl;
use crate::abi::{xbuf_bufferinfo, XBUF_SIMPLE};
use crate::bail;
use crate::bufferinfo;
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::Result;

pub struct Slice {
    base: ObjRef,
    /// The base's releaser, when it is not the base itself.
    releaser: Option<ObjRef>,
    buf: *mut u8,
    len: usize,
    readonly: bool,
}

// SAFETY: the window's memory is pinned by the locks this object holds; the fields are
// immutable after construction.
unsafe impl Send for Slice {}
unsafe impl Sync for Slice {}

impl Slice {
    /// A slice of `base`'s bytes `offset .. offset + length`. The base must export contiguous
    /// bytes (an `XBUF_SIMPLE` request).
    pub fn new_object(base: &Object, offset: usize, length: usize) -> Result<ObjRef> {
        let mut view = Box::new(xbuf_bufferinfo::empty());
        // SAFETY: `view` is a full-size struct that stays in place until released.
        unsafe { bufferinfo::get_buffer(base, &mut *view, XBUF_SIMPLE) }.map_err(|e| {
            e.context(format!(
                "cannot slice '{}'",
                base.type_name().to_string_lossy()
            ))
        })?;
        let result = Slice::from_view(base, &view, offset, length);
        // The slice's own locks pin the memory from here on.
        // SAFETY: filled above and not moved.
        unsafe { bufferinfo::release(&mut *view) }?;
        result
    }

    fn from_view(
        base: &Object,
        view: &xbuf_bufferinfo,
        offset: usize,
        length: usize,
    ) -> Result<ObjRef> {
        let end = offset.checked_add(length);
        if end.is_none_or(|e| e > view.len as usize) {
            bail!(
                OutOfBounds,
                "slice {offset}..{} is outside the {} bytes of '{}'",
                offset as u128 + length as u128,
                view.len,
                base.type_name().to_string_lossy()
            );
        }
        let base_ref = base.new_ref()?;
        let rel_ptr =
            NonNull::new(view.releaser.cast::<Object>()).expect("filled view has a releaser");
        let rel_ref = if rel_ptr.as_ptr() == base.as_ptr() {
            None
        } else {
            // SAFETY: the view holds a reference to its releaser.
            Some(unsafe { rel_ptr.as_ref() }.new_ref()?)
        };
        base.lock()?;
        let releaser = match rel_ref {
            None => None,
            Some(rel) => {
                if let Err(e) = rel.lock() {
                    // SAFETY: we took this lock above.
                    let _ = unsafe { Object::unlock(NonNull::from(base)) };
                    return Err(e);
                }
                Some(rel)
            }
        };
        Ok(ObjRef::new(Box::new(Slice {
            base: base_ref,
            releaser,
            // SAFETY: offset <= len, checked above.
            buf: unsafe { view.buf.cast::<u8>().add(offset) },
            len: length,
            readonly: view.readonly != 0,
        })))
    }

    fn memory_owner(&self) -> &Object {
        self.releaser.as_deref().unwrap_or(&self.base)
    }
}

impl Exporter for Slice {
    fn type_name(&self) -> &CStr {
        c"slice"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        Ok(Response {
            releaser: Some(NonNull::from(self.memory_owner())),
            ..Response::bytes(self.buf, self.len, self.readonly)
        })
    }
    /// A lock on the slice is forwarded to the object that owns the memory.
    fn lock_buffer(&self, _: &Object) -> Result<()> {
        self.memory_owner().lock()
    }
    fn release_buffer(&self, _: &Object, view: *mut xbuf_bufferinfo) {
        if view.is_null() {
            // SAFETY: paired with the lock taken in lock_buffer.
            let _ = unsafe { Object::unlock(NonNull::from(self.memory_owner())) };
        }
    }
    any_impl!();
}

impl Drop for Slice {
    fn drop(&mut self) {
        // SAFETY: the locks were taken in from_view; the ObjRefs keep the objects alive.
        unsafe {
            if let Some(r) = &self.releaser {
                let _ = Object::unlock(NonNull::from(&**r));
            }
            let _ = Object::unlock(NonNull::from(&*self.base));
        }
    }
}
