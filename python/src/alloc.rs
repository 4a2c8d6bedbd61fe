//! Making `xbuf.View` objects without `object.__new__`, as the type's own `tp_alloc` would.
//!
//! `Bound::new` reaches the allocator through `object.__new__`, looks up a slot of the type on
//! every call, and zeroes the whole object before writing it. A View made here is the same
//! object: allocated as the View type's `tp_alloc` (`PyType_GenericAlloc` of a type the
//! collector does not track, see `fasttype.rs`) would, with `PyObject_Malloc` and
//! `PyObject_Init` (the header and a reference to the type), then the Rust value and an empty
//! weak-reference list written where the class keeps them: every byte the zeroing would have
//! written. Deallocation is the type's own (`fasttype::dealloc`). When the layout was not the
//! one this relies on (`fasttype::install` checks it), Views are made by `Bound::new`.

use pyo3::ffi;
use pyo3::prelude::*;

use crate::view::View;

/// ``_quick_views()``: whether Views are made by the quick path, as instances of the View type
/// of `fasttype.rs`. For tests.
#[pyfunction]
pub fn _quick_views() -> bool {
    crate::fasttype::fast().is_some()
}

/// `v` as a new Python object.
pub fn new_view(py: Python<'_>, v: View) -> PyResult<Bound<'_, View>> {
    // SAFETY: `init` writes the whole value.
    unsafe { new_view_with(py, |p| p.write(v)) }
}

/// A new View object whose value `init` writes in place (no copy of the value is moved
/// around on the way).
///
/// # Safety
/// `init` must initialise the whole `View` at the pointer it is given.
#[inline(always)]
pub unsafe fn new_view_with<'py>(
    py: Python<'py>,
    init: impl FnOnce(*mut View),
) -> PyResult<Bound<'py, View>> {
    if crate::fasttype::fast().is_some() {
        // SAFETY: as this function's.
        let obj = unsafe { new_view_raw(init) };
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: a new reference to a View.
        return Ok(unsafe { Bound::from_owned_ptr(py, obj).cast_into_unchecked() });
    }
    let mut v = std::mem::MaybeUninit::<View>::uninit();
    init(v.as_mut_ptr());
    // SAFETY: `init` initialised it.
    Bound::new(py, unsafe { v.assume_init() })
}

/// A new reference to a new View object of the View type of `fasttype.rs` whose value `init`
/// writes in place, or NULL with `MemoryError` set (`init` is then not called).
///
/// # Safety
/// The GIL is held; the type was made (`fasttype::fast()` is `Some`); `init` must initialise
/// the whole `View` at the pointer it is given.
#[inline(always)]
pub unsafe fn new_view_raw(init: impl FnOnce(*mut View)) -> *mut ffi::PyObject {
    let Some(f) = crate::fasttype::fast() else {
        // SAFETY: the GIL is held.
        unsafe {
            ffi::PyErr_SetString(
                ffi::PyExc_SystemError,
                c"xbuf.View: the View type was not made".as_ptr(),
            );
        }
        return std::ptr::null_mut();
    };
    // SAFETY: the GIL is held; `f` describes the View type, which the collector does not
    // track: its objects are `basicsize` bytes from `PyObject_Malloc` (freed by
    // `PyObject_Free`), the header, the value at `offset`, the weak-reference list right after
    // the value (see `fasttype::install`). Both are written before anything else sees the
    // object.
    unsafe {
        let obj = ffi::PyObject_Malloc(f.basicsize).cast::<ffi::PyObject>();
        if obj.is_null() {
            return ffi::PyErr_NoMemory();
        }
        ffi::PyObject_Init(obj, f.tp);
        let value = obj.cast::<u8>().add(f.offset).cast::<View>();
        init(value);
        value
            .add(1)
            .cast::<*mut ffi::PyObject>()
            .write(std::ptr::null_mut());
        obj
    }
}
