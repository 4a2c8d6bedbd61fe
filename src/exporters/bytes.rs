//! `bytes`: an immutable copy of caller data.

use std::ffi::CStr;

use super::{any_impl, copy_bytes};
use crate::object::{Exporter, FlatCell, ObjRef};
use crate::status::Result;

/// `repr(C)`, the cell first: the library finds it at the exporter's address.
#[repr(C)]
pub struct Bytes {
    cell: FlatCell,
    /// Owns the memory `cell` describes (a vector's buffer stays where it is when the vector
    /// moves).
    _data: Vec<u8>,
}

impl Bytes {
    /// A new object holding a copy of `data`.
    pub fn new_object(data: &[u8]) -> Result<ObjRef> {
        let mut data = copy_bytes(data, "bytes object")?;
        data.shrink_to_fit();
        let cell = FlatCell::new(data.as_mut_ptr(), data.len(), true);
        Ok(ObjRef::new(Bytes { _data: data, cell }))
    }
}

impl Exporter for Bytes {
    fn type_name(&self) -> &CStr {
        c"bytes"
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
