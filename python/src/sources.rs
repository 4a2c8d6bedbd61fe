//! Views of memory the library owns (`xbuf.bytearray`, `xbuf.open`) and the PyCapsule that
//! carries an `xbuf_object *` between C extensions and Python.

use std::ffi::{c_void, CString};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use crate::alloc::new_view;
use crate::error::check;
use crate::sys::*;
use crate::view::{Obj, View};

/// The name of the capsules that carry an `xbuf_object *`.
pub const CAPSULE_NAME: &std::ffi::CStr = c"xbuf.object";

/// A new, writable, zero-filled (from an int) or copied (from a bytes-like object) byte array
/// owned by the library, as a one-dimensional View of format ``'B'``. Its size is fixed while
/// views of it live.
#[pyfunction]
#[pyo3(name = "bytearray", signature = (n_or_bytes = None))]
pub fn bytearray<'py>(
    py: Python<'py>,
    n_or_bytes: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, View>> {
    let mut out = std::ptr::null_mut();
    match n_or_bytes {
        None => check(unsafe { xbuf_bytearray_new(std::ptr::null(), 0, &mut out) })?,
        Some(v) if v.is_instance_of::<pyo3::types::PyInt>() => {
            let n: isize = v.extract()?;
            if n < 0 {
                return Err(PyValueError::new_err("negative count"));
            }
            // SAFETY: NULL data asks for `n` zero bytes.
            check(unsafe { xbuf_bytearray_new(std::ptr::null(), n as usize, &mut out) })?
        }
        Some(v) => {
            if v.is_instance_of::<pyo3::types::PyString>() {
                return Err(PyTypeError::new_err(
                    "cannot make bytes from a string without an encoding",
                ));
            }
            let src = View::new_from(py, v, false)?;
            let data = src.tobytes_impl(py, 'C')?;
            // SAFETY: `data` has `len` bytes, copied by the library.
            check(unsafe { xbuf_bytearray_new(data.as_ptr().cast(), data.len(), &mut out) })?
        }
    }
    let base = Obj::from_owned(out);
    new_view(py, View::of_object(base.ptr(), true)?)
}

/// Maps the file at ``path`` and returns a one-dimensional View of its bytes (format ``'B'``):
/// mode ``'r'`` read-only, ``'r+'`` writable and shared with the file, ``'c'`` copy-on-write
/// (writable, changes stay private). The mapping stays until the last view of it is released.
#[pyfunction]
#[pyo3(name = "open", signature = (path, mode = "r"))]
pub fn open_file<'py>(path: &Bound<'py, PyAny>, mode: &str) -> PyResult<Bound<'py, View>> {
    let (m, writable) = match mode {
        "r" => (XBUF_MMAP_READ, false),
        "r+" => (XBUF_MMAP_WRITE, true),
        "c" => (XBUF_MMAP_COPY, true),
        _ => {
            return Err(PyValueError::new_err(format!(
                "mode must be 'r', 'r+' or 'c', not {mode:?}"
            )))
        }
    };
    let os = path.py().import("os")?;
    let p: Vec<u8> = os.call_method1("fsencode", (path,))?.extract()?;
    let p = CString::new(p).map_err(|_| PyValueError::new_err("embedded null byte in path"))?;
    let mut out = std::ptr::null_mut();
    // SAFETY: `p` is NUL-terminated; `out` is written.
    let rc = unsafe { xbuf_mmap_open(p.as_ptr(), m, &mut out) };
    if rc == XBUF_ERR_IO {
        // The message ends with the OS error, "(os error N)": its errno picks the OSError
        // subclass, as open() raises them.
        let msg = crate::error::last_message();
        let errno = msg
            .rsplit_once("(os error ")
            .and_then(|(_, t)| t.trim_end_matches(')').parse::<i32>().ok());
        return Err(match errno {
            Some(e) => pyo3::exceptions::PyOSError::new_err((e, msg)),
            None => pyo3::exceptions::PyOSError::new_err(msg),
        });
    }
    check(rc)?;
    let base = Obj::from_owned(out);
    new_view(path.py(), View::of_object(base.ptr(), writable)?)
}

unsafe extern "C" fn capsule_destructor(capsule: *mut ffi::PyObject) {
    let p = ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr());
    if p.is_null() {
        ffi::PyErr_Clear();
        return;
    }
    xbuf_decref(p.cast());
}

/// A capsule holding one new reference to `obj`.
pub fn object_capsule(py: Python<'_>, obj: *mut xbuf_object) -> PyResult<Py<PyAny>> {
    // SAFETY: the caller holds `obj`.
    check(unsafe { xbuf_incref(obj) })?;
    // SAFETY: the name is static; the destructor drops the reference taken above.
    let cap = unsafe {
        ffi::PyCapsule_New(
            obj.cast::<c_void>(),
            CAPSULE_NAME.as_ptr(),
            Some(capsule_destructor),
        )
    };
    if cap.is_null() {
        unsafe { xbuf_decref(obj) };
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference.
    Ok(unsafe { Bound::from_owned_ptr(py, cap) }.unbind())
}

/// A View of the object a capsule carries (borrowed: the View takes its own export).
pub fn view_from_capsule(capsule: &Bound<'_, PyAny>, writable: bool) -> PyResult<View> {
    // SAFETY: the GIL is held.
    let p = unsafe { ffi::PyCapsule_GetPointer(capsule.as_ptr(), CAPSULE_NAME.as_ptr()) };
    if p.is_null() {
        let py = capsule.py();
        let e = PyErr::take(py);
        return Err(PyTypeError::new_err(format!(
            "expected a PyCapsule named \"xbuf.object\"{}",
            e.map(|e| format!(" ({})", e.value(py))).unwrap_or_default()
        )));
    }
    // The library refuses a pointer that is not one of its live objects.
    View::of_object(p.cast(), writable)
}

/// ``_ndarray(data, format, shape, strides=None, offset=0, readonly=False, pil=False)``: a View
/// of the library's ``ndarray`` exporter (a copy of ``data`` read as ``format`` items in
/// ``shape`` with ``strides``, the first item at byte ``offset``; ``pil`` makes the first
/// dimension a table of row pointers described by suboffsets). The layouts no Python exporter
/// in the standard library makes, for tests.
#[pyfunction]
#[pyo3(name = "_ndarray", signature = (data, format, shape, strides = None, offset = 0, readonly = false, pil = false))]
#[allow(clippy::too_many_arguments)]
pub fn ndarray<'py>(
    py: Python<'py>,
    data: &Bound<'_, PyAny>,
    format: &str,
    shape: Vec<isize>,
    strides: Option<Vec<isize>>,
    offset: isize,
    readonly: bool,
    pil: bool,
) -> PyResult<Bound<'py, View>> {
    let bytes = View::new_from(py, data, false)?.tobytes_impl(py, 'C')?;
    let f = CString::new(format).map_err(|_| PyValueError::new_err("format contains NUL"))?;
    if let Some(s) = &strides {
        if s.len() != shape.len() {
            return Err(PyValueError::new_err("strides and shape differ in length"));
        }
    }
    let flags =
        if readonly { XBUF_NDARRAY_READONLY } else { 0 } | if pil { XBUF_NDARRAY_PIL } else { 0 };
    let mut out = std::ptr::null_mut();
    // SAFETY: every array has `shape.len()` entries; `out` is written.
    check(unsafe {
        xbuf_ndarray_new(
            bytes.as_ptr().cast(),
            bytes.len(),
            f.as_ptr(),
            shape.len() as std::ffi::c_int,
            shape.as_ptr(),
            strides.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            offset,
            flags,
            &mut out,
        )
    })?;
    let base = Obj::from_owned(out);
    new_view(py, View::of_object(base.ptr(), !readonly)?)
}
