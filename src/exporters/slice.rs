//! `slice`: the seed discussion's ByteBufferSlice. A window of `length` bytes at `offset` into
//! a base object. For its whole lifetime it locks its base and holds a view of it (which pins
//! the memory at the base's releaser); it hands out views whose releaser is that releaser, and
//! may be destroyed while those views live.

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

use super::any_impl;
use crate::bail;
use crate::bufferinfo::HeldView;
use crate::capi::{xbuf_bufferinfo, XBUF_SIMPLE};
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::Result;

pub struct Slice {
    base: ObjRef,
    /// The view of the base the window lies in, held for the slice's whole life: it pins the
    /// memory (also for exporters that hand out memory per view and free it on release), and
    /// its releaser is the object that owns the memory.
    view: HeldView,
    buf: *mut u8,
    len: usize,
    readonly: bool,
}

// SAFETY: the window's memory is pinned by the view and the lock this object holds; the
// fields are immutable after construction.
unsafe impl Send for Slice {}
unsafe impl Sync for Slice {}

impl Slice {
    /// A slice of `base`'s bytes `offset .. offset + length`. The base must export contiguous
    /// bytes (an `XBUF_SIMPLE` request).
    pub fn new_object(base: &Object, offset: usize, length: usize) -> Result<ObjRef> {
        let view = HeldView::get(base, XBUF_SIMPLE).map_err(|e| {
            e.context(format!(
                "cannot slice '{}'",
                base.type_name().to_string_lossy()
            ))
        })?;
        // SAFETY: filled by the library; read before the slice is shared.
        let (buf, len, readonly) = unsafe {
            let v = &*view.ptr();
            (v.buf.cast::<u8>(), v.len as usize, v.readonly != 0)
        };
        let end = offset.checked_add(length);
        if end.is_none_or(|e| e > len) {
            bail!(
                OutOfBounds,
                "slice {offset}..{} is outside the {len} bytes of '{}'",
                offset as u128 + length as u128,
                base.type_name().to_string_lossy()
            );
        }
        let base_ref = base.new_ref()?;
        // The lock of the seed discussion's ByteBufferSlice: the base refuses changes while
        // the slice lives.
        base.lock()?;
        Ok(ObjRef::new(Slice {
            base: base_ref,
            view,
            // SAFETY: offset <= len, checked above.
            buf: unsafe { buf.add(offset) },
            len: length,
            readonly,
        }))
    }

    /// The object that owns the memory: the releaser of the held view.
    fn memory_owner(&self) -> &Object {
        // SAFETY: the held view is filled for the slice's whole life and holds a reference to
        // its releaser.
        unsafe { &*(*self.view.ptr()).releaser.cast::<Object>() }
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
        // SAFETY: the lock taken in new_object; the ObjRef keeps the base alive. The held view
        // is returned when it is dropped, after this.
        let _ = unsafe { Object::unlock(NonNull::from(&*self.base)) };
    }
}
