//! `wrap`: caller memory with a destructor callback (like a DLPack deleter), called exactly
//! once when the last reference and the last view are gone.

use std::ffi::{c_void, CStr};

use super::any_impl;
use crate::bail;
use crate::capi::xbuf_wrap_destructor;
use crate::object::{Exporter, FlatCell, ObjRef};
use crate::status::Result;

/// `repr(C)`, the cell first: the library finds it at the exporter's address.
#[repr(C)]
pub struct Wrap {
    /// `data`, `len` and `readonly` as views read them.
    cell: FlatCell,
    data: *mut u8,
    len: usize,
    readonly: bool,
    destructor: xbuf_wrap_destructor,
    ctx: *mut c_void,
}

// SAFETY: the caller of `xbuf_wrap_new` hands the memory over to the object; the destructor is
// called once, from whichever thread drops the last reference (documented in the header).
unsafe impl Send for Wrap {}
unsafe impl Sync for Wrap {}

impl Wrap {
    pub fn new_object(
        data: *mut u8,
        len: usize,
        readonly: bool,
        destructor: xbuf_wrap_destructor,
        ctx: *mut c_void,
    ) -> Result<ObjRef> {
        if data.is_null() && len != 0 {
            bail!(InvalidArgument, "data is NULL but len is {len}");
        }
        if len > isize::MAX as usize {
            bail!(Overflow, "len {len} exceeds the largest view size");
        }
        Ok(ObjRef::new(Wrap {
            data,
            len,
            readonly,
            destructor,
            ctx,
            cell: FlatCell::new(data, len, readonly),
        }))
    }
}

impl Exporter for Wrap {
    fn type_name(&self) -> &CStr {
        c"wrap"
    }
    fn flat_bytes(&self) -> Option<(*mut u8, usize, bool)> {
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

impl Drop for Wrap {
    fn drop(&mut self) {
        if let Some(d) = self.destructor {
            // SAFETY: the destructor's contract; this runs exactly once.
            unsafe { d(self.data.cast(), self.len, self.ctx) };
        }
    }
}
