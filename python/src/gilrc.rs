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

/// An owned reference to a Python object kept in values that are only dropped with the GIL
/// held (as `GilRc`'s): dropped with `Py_DecRef` at once, whether or not PyO3 knows the thread
/// holds the GIL (a deallocation the View type runs itself does not tell PyO3, whose `Py`
/// would defer the decrement to its next call then).
pub struct GilPy(std::ptr::NonNull<pyo3::ffi::PyObject>);

// SAFETY: the reference count changes only with the GIL held (see the type's documentation).
unsafe impl Send for GilPy {}
unsafe impl Sync for GilPy {}

impl GilPy {
    pub fn new(obj: pyo3::Py<pyo3::PyAny>) -> GilPy {
        GilPy(std::ptr::NonNull::new(obj.into_ptr()).expect("a Python object"))
    }

    /// A new reference to the object.
    pub fn clone_ref(&self, py: Python<'_>) -> pyo3::Py<pyo3::PyAny> {
        // SAFETY: a live object, the GIL held (`py`).
        unsafe { pyo3::Bound::from_borrowed_ptr(py, self.0.as_ptr()) }.unbind()
    }
}

impl Drop for GilPy {
    fn drop(&mut self) {
        // SAFETY: the reference is ours; the GIL is held (see the type's documentation).
        unsafe { pyo3::ffi::Py_DecRef(self.0.as_ptr()) };
    }
}
