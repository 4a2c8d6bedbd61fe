//! `bytes`: an immutable copy of caller data.

use std::ffi::CStr;

use super::{any_impl, copy_bytes};
use crate::object::{Exporter, ObjRef};
use crate::status::Result;

pub struct Bytes {
    data: Box<[u8]>,
}

impl Bytes {
    /// A new object holding a copy of `data`.
    pub fn new_object(data: &[u8]) -> Result<ObjRef> {
        let data = copy_bytes(data, "bytes object")?.into_boxed_slice();
        Ok(ObjRef::new(Bytes { data }))
    }
}

impl Exporter for Bytes {
    fn type_name(&self) -> &CStr {
        c"bytes"
    }
    fn flat_bytes(&self) -> Option<(*mut u8, usize, bool)> {
        Some((self.data.as_ptr() as *mut u8, self.data.len(), true))
    }
    /// The default `release_buffer`: nothing to do for a view.
    fn release_ignores_views(&self) -> bool {
        true
    }
    any_impl!();
}
