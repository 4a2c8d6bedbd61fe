//! The built-in exporters.

pub mod bytearray;
pub mod bytes;
pub mod mmap;
pub mod ndarray;
pub mod slice;
pub mod wrap;

use crate::err;
use crate::status::Result;

/// Copies `data` into a new vector, reporting allocation failure as `NoMemory`.
pub(crate) fn copy_bytes(data: &[u8], what: &str) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(data.len()).map_err(|_| {
        err!(
            NoMemory,
            "cannot allocate {} bytes for a {what}",
            data.len()
        )
    })?;
    v.extend_from_slice(data);
    Ok(v)
}

/// Implements `as_any` for an exporter.
macro_rules! any_impl {
    () => {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
}
pub(crate) use any_impl;
