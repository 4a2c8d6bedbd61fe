//! The Arrow PyCapsule interface both ways on the library's bridge
//! (`xbuf_arrow_export/import`): `View.__arrow_c_array__` and `xbuf.from_arrow`.
//!
//! Only the fields this module touches of the Arrow C Data Interface's structs are spelled out
//! here, by their published layouts (`ArrowSchema`, `ArrowArray`).

use std::ffi::{c_int, c_void, CStr};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::dlpack::capsule;
use crate::error::check;
use crate::sys::*;
use crate::view::{Obj, View};

const ARROW_SCHEMA: &CStr = c"arrow_schema";
const ARROW_ARRAY: &CStr = c"arrow_array";

/// `struct ArrowSchema`: format, name, metadata, flags, n_children, children, dictionary,
/// release, private_data.
#[repr(C)]
struct ArrowSchema {
    fields: [*mut c_void; 7],
    release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    private_data: *mut c_void,
}

/// `struct ArrowArray`: length, null_count, offset, n_buffers, n_children, buffers, children,
/// dictionary, release, private_data.
#[repr(C)]
struct ArrowArray {
    fields: [*mut c_void; 8],
    release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    private_data: *mut c_void,
}

unsafe extern "C" fn schema_capsule_destructor(capsule: *mut ffi::PyObject) {
    let s = ffi::PyCapsule_GetPointer(capsule, ARROW_SCHEMA.as_ptr()).cast::<ArrowSchema>();
    if s.is_null() {
        ffi::PyErr_Clear();
        return;
    }
    if let Some(r) = (*s).release {
        r(s);
    }
    drop(Box::from_raw(s));
}

unsafe extern "C" fn array_capsule_destructor(capsule: *mut ffi::PyObject) {
    let a = ffi::PyCapsule_GetPointer(capsule, ARROW_ARRAY.as_ptr()).cast::<ArrowArray>();
    if a.is_null() {
        ffi::PyErr_Clear();
        return;
    }
    if let Some(r) = (*a).release {
        r(a);
    }
    drop(Box::from_raw(a));
}

/// `View.__arrow_c_array__`: the Arrow PyCapsule interface, zero-copy.
pub fn arrow_c_array<'py>(
    py: Python<'py>,
    view: &View,
    requested_schema: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    // The interface lets a producer answer with its own type when it does not convert to the
    // requested one: the array always has the type its layout maps to.
    let _ = requested_schema;
    // The view's object may outlive a release (slices of the view share it).
    view.live()?;
    let obj = view.xobj()?;
    // SAFETY: zeroed structs are released ones (release is NULL).
    let schema = Box::into_raw(Box::new(unsafe { std::mem::zeroed::<ArrowSchema>() }));
    let array = Box::into_raw(Box::new(unsafe { std::mem::zeroed::<ArrowArray>() }));
    // SAFETY: a live object and two distinct structs of the interface's sizes.
    let rc = unsafe { xbuf_arrow_export(obj, schema.cast(), array.cast()) };
    // The capsules own the structs from here on (released or not).
    let s = capsule(py, schema.cast(), ARROW_SCHEMA, schema_capsule_destructor);
    let a = capsule(py, array.cast(), ARROW_ARRAY, array_capsule_destructor);
    check(rc)?;
    PyTuple::new(py, [s?, a?])
}

/// ``from_arrow(x, ignore_nulls=False)``: a read-only View of an Arrow array's memory,
/// zero-copy: ``x`` has ``__arrow_c_array__`` (pyarrow arrays, Polars series, nanoarrow,
/// DuckDB results...). Primitive types, ``arrow.bool8``, fixed-size binary, nested fixed-size
/// lists and ``arrow.fixed_shape_tensor`` are read; arrays with null slots are refused unless
/// ``ignore_nulls`` (then the values under them are read as they lie in memory).
#[pyfunction]
#[pyo3(signature = (x, ignore_nulls = false))]
pub fn from_arrow<'py>(x: &Bound<'py, PyAny>, ignore_nulls: bool) -> PyResult<Bound<'py, View>> {
    let py = x.py();
    if !x.hasattr("__arrow_c_array__")? {
        return Err(PyTypeError::new_err(format!(
            "'{}' object has no __arrow_c_array__ method (the Arrow PyCapsule interface)",
            x.get_type().name()?
        )));
    }
    let pair = x.call_method0("__arrow_c_array__")?;
    let (s, a): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
    // SAFETY: the GIL is held; GetPointer checks the names.
    let schema = unsafe { ffi::PyCapsule_GetPointer(s.as_ptr(), ARROW_SCHEMA.as_ptr()) };
    if schema.is_null() {
        return Err(PyErr::fetch(py));
    }
    let array = unsafe { ffi::PyCapsule_GetPointer(a.as_ptr(), ARROW_ARRAY.as_ptr()) };
    if array.is_null() {
        return Err(PyErr::fetch(py));
    }
    let flags: c_int = if ignore_nulls {
        XBUF_ARROW_IGNORE_VALIDITY
    } else {
        0
    };
    let mut out = std::ptr::null_mut();
    // SAFETY: the producer's structs; on success the array is moved into the object (its
    // `release` set to NULL, so its capsule frees only the struct); the schema stays the
    // capsule's.
    check(unsafe { xbuf_arrow_import_flags(schema.cast(), array.cast(), flags, &mut out) })?;
    let base = Obj::from_owned(out);
    crate::alloc::new_view(py, View::of_object(base.ptr(), false)?)
}
