//! `GilRc`: shared ownership whose count only changes with the GIL held.

use std::ops::Deref;
use std::rc::Rc;

use pyo3::Python;

/// A reference-counted value whose count is not atomic: it is cloned only with a `Python`
/// token, and dropped only by code holding the GIL (the deallocation of the View holding it,
/// or a Python method). The package is built for the limited API (abi3), which no
/// free-threaded CPython implements, so the GIL serialises every change of the count (as it
/// does every access to a `GilCell`); the value itself is `Send + Sync`, as it is read from
/// any thread.
pub struct GilRc<T>(Rc<T>);

// SAFETY: see the type's documentation: the count changes only with the GIL held, and the
// value is `Send + Sync`.
unsafe impl<T: Send + Sync> Send for GilRc<T> {}
unsafe impl<T: Send + Sync> Sync for GilRc<T> {}

impl<T> GilRc<T> {
    pub fn new(v: T) -> GilRc<T> {
        GilRc(Rc::new(v))
    }

    /// Another owner.
    pub fn clone_ref(&self, _py: Python<'_>) -> GilRc<T> {
        GilRc(Rc::clone(&self.0))
    }

    /// How many owners there are.
    pub fn count(&self) -> usize {
        Rc::strong_count(&self.0)
    }
}

impl<T> Deref for GilRc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
