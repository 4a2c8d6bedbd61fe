//! DLPack both ways on the library's bridge (`xbuf_dlpack_export/import`): `View.__dlpack__`,
//! `View.__dlpack_device__` and `xbuf.from_dlpack`, per the array API standard.
//!
//! Only the fields this module touches of DLPack's structs are spelled out here, by their
//! published layouts (DLPack 1.x `DLManagedTensorVersioned`, the legacy `DLManagedTensor`).

use std::ffi::{c_void, CStr};

use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use crate::error::check;
use crate::sys::*;
use crate::view::{Obj, View};

const DLTENSOR_VERSIONED: &CStr = c"dltensor_versioned";
const USED_DLTENSOR_VERSIONED: &CStr = c"used_dltensor_versioned";
const DLTENSOR: &CStr = c"dltensor";
const USED_DLTENSOR: &CStr = c"used_dltensor";

/// `DLPACK_FLAG_BITMASK_READ_ONLY`.
const DLPACK_READ_ONLY: u64 = 1;
/// `kDLCPU`.
const DL_CPU: i32 = 1;

type Deleter = Option<unsafe extern "C" fn(*mut c_void)>;

/// The head of `DLManagedTensorVersioned` (DLPack 1.x): version, manager_ctx, deleter, flags,
/// then the `DLTensor`.
#[repr(C)]
struct VersionedHead {
    major: u32,
    minor: u32,
    manager_ctx: *mut c_void,
    deleter: Deleter,
    flags: u64,
}

/// `DLManagedTensor` (before DLPack 1.0): a 48-byte `DLTensor`, manager_ctx, deleter.
#[repr(C)]
struct Legacy {
    dl_tensor: [u64; 6],
    manager_ctx: *mut c_void,
    deleter: Deleter,
}

/// Deletes a tensor a capsule still owns (its name unchanged: no consumer took it).
unsafe extern "C" fn versioned_capsule_destructor(capsule: *mut ffi::PyObject) {
    if ffi::PyCapsule_IsValid(capsule, DLTENSOR_VERSIONED.as_ptr()) == 1 {
        let t =
            ffi::PyCapsule_GetPointer(capsule, DLTENSOR_VERSIONED.as_ptr()).cast::<VersionedHead>();
        if !t.is_null() {
            if let Some(d) = (*t).deleter {
                d(t.cast());
            }
        }
    }
}

unsafe extern "C" fn legacy_capsule_destructor(capsule: *mut ffi::PyObject) {
    if ffi::PyCapsule_IsValid(capsule, DLTENSOR.as_ptr()) == 1 {
        let t = ffi::PyCapsule_GetPointer(capsule, DLTENSOR.as_ptr()).cast::<Legacy>();
        if !t.is_null() {
            if let Some(d) = (*t).deleter {
                d(t.cast());
            }
        }
    }
}

pub(crate) fn capsule(
    py: Python<'_>,
    p: *mut c_void,
    name: &'static CStr,
    destructor: unsafe extern "C" fn(*mut ffi::PyObject),
) -> PyResult<Py<PyAny>> {
    // SAFETY: the name is static; the destructor frees `p` when the capsule owns it.
    let cap = unsafe { ffi::PyCapsule_New(p, name.as_ptr(), Some(destructor)) };
    if cap.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference.
    Ok(unsafe { Bound::from_owned_ptr(py, cap) }.unbind())
}

/// `View.__dlpack__`: a DLPack capsule of the view's memory, zero-copy.
pub fn dlpack(
    py: Python<'_>,
    view: &View,
    stream: Option<&Bound<'_, PyAny>>,
    max_version: Option<(u32, u32)>,
    dl_device: Option<(i32, i32)>,
    copy: Option<bool>,
) -> PyResult<Py<PyAny>> {
    if let Some(s) = stream {
        if !s.is_none() {
            return Err(PyValueError::new_err(
                "stream must be None for memory on the CPU",
            ));
        }
    }
    if let Some((ty, id)) = dl_device {
        if (ty, id) != (DL_CPU, 0) {
            return Err(PyBufferError::new_err(format!(
                "the view's memory is on the CPU (1, 0); device ({ty}, {id}) was requested and xbuf does not copy between devices"
            )));
        }
    }
    if copy == Some(true) {
        return Err(PyBufferError::new_err(
            "copy=True was requested; xbuf exports views without copying (copy the view first)",
        ));
    }
    let obj = view.xobj()?;
    let readonly = view.is_readonly()?;
    let versioned = max_version.is_some_and(|(major, _)| major >= 1);
    if versioned {
        let mut t = std::ptr::null_mut();
        // SAFETY: a live object; `t` is written.
        check(unsafe { xbuf_dlpack_export(obj, 0, &mut t) })?;
        let head = t.cast::<VersionedHead>();
        if readonly {
            // SAFETY: a tensor the library just made, not yet handed on.
            unsafe { (*head).flags |= DLPACK_READ_ONLY };
        }
        let cap = capsule(
            py,
            head.cast(),
            DLTENSOR_VERSIONED,
            versioned_capsule_destructor,
        );
        if cap.is_err() {
            // SAFETY: still ours.
            unsafe {
                if let Some(d) = (*head).deleter {
                    d(head.cast());
                }
            }
        }
        return cap;
    }
    if readonly {
        return Err(PyBufferError::new_err(
            "the view is read-only and the legacy DLPack struct cannot mark it so: ask with max_version=(1, 0) or later",
        ));
    }
    let mut t = std::ptr::null_mut();
    // SAFETY: a live object; `t` is written.
    check(unsafe { xbuf_dlpack_export_unversioned(obj, 0, &mut t) })?;
    let legacy = t.cast::<Legacy>();
    let cap = capsule(py, legacy.cast(), DLTENSOR, legacy_capsule_destructor);
    if cap.is_err() {
        // SAFETY: still ours.
        unsafe {
            if let Some(d) = (*legacy).deleter {
                d(legacy.cast());
            }
        }
    }
    cap
}

/// ``from_dlpack(x, writable=False)``: a View of the memory of ``x``, any object with
/// ``__dlpack__`` (NumPy, PyTorch, JAX, CuPy on the CPU, another View), zero-copy. A
/// versioned tensor (DLPack 1.x) is asked for first. The tensor is kept, and its deleter run,
/// until the last view of it is released. ``writable=True`` demands writable memory.
#[pyfunction]
#[pyo3(signature = (x, writable = false))]
pub fn from_dlpack<'py>(
    py: Python<'py>,
    x: &Bound<'_, PyAny>,
    writable: bool,
) -> PyResult<Bound<'py, View>> {
    if !x.hasattr("__dlpack__")? {
        return Err(PyTypeError::new_err(format!(
            "'{}' object has no __dlpack__ method",
            x.get_type().name()?
        )));
    }
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("max_version", (1, 1))?;
    let cap = match x.call_method("__dlpack__", (), Some(&kwargs)) {
        Ok(c) => c,
        // A producer older than DLPack 1.0 knows no max_version.
        Err(e) if e.is_instance_of::<PyTypeError>(py) => x.call_method0("__dlpack__")?,
        Err(e) => return Err(e),
    };
    let p = cap.as_ptr();
    let mut out = std::ptr::null_mut();
    // SAFETY: the GIL is held; names are static; the pointer is read only when the capsule
    // has that name.
    unsafe {
        if ffi::PyCapsule_IsValid(p, DLTENSOR_VERSIONED.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(p, DLTENSOR_VERSIONED.as_ptr());
            check(xbuf_dlpack_import(t.cast(), &mut out))?;
            ffi::PyCapsule_SetName(p, USED_DLTENSOR_VERSIONED.as_ptr());
        } else if ffi::PyCapsule_IsValid(p, DLTENSOR.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(p, DLTENSOR.as_ptr());
            check(xbuf_dlpack_import_unversioned(t.cast(), &mut out))?;
            ffi::PyCapsule_SetName(p, USED_DLTENSOR.as_ptr());
        } else {
            return Err(PyTypeError::new_err(
                "__dlpack__ did not return a PyCapsule named \"dltensor_versioned\" or \"dltensor\" (was it consumed already?)",
            ));
        }
    }
    let base = Obj::from_owned(out);
    crate::alloc::new_view(py, View::of_object(base.ptr(), writable)?)
}
