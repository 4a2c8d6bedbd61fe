//! The `xbuf._xbuf` extension module: `xbuf.View` and the functions of the `xbuf` package,
//! on the same Rust code as the C library.

mod alloc;
mod arrow;
mod dlpack;
mod dlpack_call;
mod dlpack_lend;
mod error;
mod fasttype;
mod gilrc;
mod pyexport;
mod sources;
mod sys;
mod values;
mod view;

use pyo3::prelude::*;

use crate::view::{copy_views, View, ViewIter};

/// ``copy(dst, src)``: copies the items of ``src`` into ``dst`` (both Views or buffer
/// exporters; ``dst`` writable), item by item at the same indices. Shapes must be equal and
/// formats of the same layout; correct when the two share memory. The GIL is released for
/// large copies.
#[pyfunction]
fn copy(py: Python<'_>, dst: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>) -> PyResult<()> {
    let s = View::new_from(py, src, false)?;
    match dst.cast::<View>() {
        Ok(d) => copy_views(py, d.get(), &s),
        Err(_) => copy_views(py, &View::new_from(py, dst, true)?, &s),
    }
}

/// Called at interpreter exit: Python exports still held by the library are leaked from then
/// on rather than released (taking the GIL during shutdown can hang).
#[pyfunction]
fn _shutdown() {
    pyexport::shutting_down();
}

/// ``(released, leaked)``: how many Python exports the library has handed back, and how many
/// it leaked because the interpreter was shutting down.
#[pyfunction]
fn _python_exports() -> (usize, usize) {
    pyexport::counters()
}

/// Takes the reference a capsule from ``View._to_object_capsule()`` holds (the capsule is
/// renamed ``"xbuf.object(taken)"`` and no longer drops it) and drops it on a new native thread
/// (not a Python thread, holding no GIL), waiting with the GIL released. When it is the last
/// reference of a Python-backed object, its Python export is handed back there. For tests.
#[pyfunction]
fn _decref_on_native_thread(py: Python<'_>, capsule: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: the GIL is held.
    let p = unsafe {
        pyo3::ffi::PyCapsule_GetPointer(capsule.as_ptr(), sources::CAPSULE_NAME.as_ptr())
    };
    if p.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a capsule; the new name is static.
    if unsafe { pyo3::ffi::PyCapsule_SetName(capsule.as_ptr(), c"xbuf.object(taken)".as_ptr()) }
        != 0
    {
        return Err(PyErr::fetch(py));
    }
    let addr = p as usize;
    py.detach(move || {
        std::thread::spawn(move || {
            // SAFETY: the reference the capsule held, now ours.
            unsafe { sys::xbuf_decref(addr as *mut sys::xbuf_object) };
        })
        .join()
    })
    .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("the native thread panicked"))
}

/// The compiled part of the ``xbuf`` package: ``View`` and the package's functions, on the
/// same Rust code as the xbuf C library.
#[pymodule]
fn _xbuf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<View>()?;
    dlpack_call::install(&m.py().get_type::<View>())?;
    m.add("View", fasttype::install(m.py())?)?;
    m.add_class::<ViewIter>()?;
    m.add_function(wrap_pyfunction!(copy, m)?)?;
    m.add_function(wrap_pyfunction!(sources::bytearray, m)?)?;
    m.add_function(wrap_pyfunction!(sources::open_file, m)?)?;
    m.add_function(wrap_pyfunction!(dlpack::from_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::from_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(sources::ndarray, m)?)?;
    m.add_function(wrap_pyfunction!(_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(_python_exports, m)?)?;
    m.add_function(wrap_pyfunction!(_decref_on_native_thread, m)?)?;
    m.add_function(wrap_pyfunction!(alloc::_quick_views, m)?)?;
    m.add_function(wrap_pyfunction!(dlpack::_dlpack_general, m)?)?;
    m.add_function(wrap_pyfunction!(
        dlpack::_delete_tensor_on_native_thread,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(dlpack::_dlpack_leaked, m)?)?;
    let atexit = m.py().import("atexit")?;
    atexit.call_method1("register", (m.getattr("_shutdown")?,))?;
    Ok(())
}
