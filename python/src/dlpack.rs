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

/// Whether the capsule being destroyed still has the name `name` (no consumer renamed it).
/// Consumers rename what they take (`"used_..."`): a byte or two tell them apart.
///
/// # Safety
/// `capsule` is a capsule (as a capsule destructor receives it).
unsafe fn still_named(capsule: *mut ffi::PyObject, name: &CStr) -> bool {
    let mut p = ffi::PyCapsule_GetName(capsule).cast::<u8>();
    if p.is_null() {
        return false;
    }
    // Both are NUL-terminated: compared up to the first difference or the end of both.
    for &want in name.to_bytes_with_nul() {
        if *p != want {
            return false;
        }
        p = p.add(1);
    }
    true
}

/// Deletes a tensor a capsule still owns (its name unchanged: no consumer took it).
unsafe extern "C" fn versioned_capsule_destructor(capsule: *mut ffi::PyObject) {
    if still_named(capsule, DLTENSOR_VERSIONED) {
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
    if still_named(capsule, DLTENSOR) {
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
///
/// The tensor is made from the export the view shares between its Python consumers, and
/// holds the view (see `dlpack_lend`); when that export cannot be taken or the tensor not be
/// made of it, the tensor is made through the library's `xbuf_dlpack_export` of the view's
/// object, which answers every refusal.
pub fn dlpack(
    slf: &Bound<'_, View>,
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
    let versioned = max_version.is_some_and(|(major, _)| major >= 1);
    tensor_capsule(slf, versioned, true)
}

/// The capsule of a tensor of the view (versioned or legacy), made from its shared export
/// when `lend` and that can be done, else by the library's general export.
fn tensor_capsule(slf: &Bound<'_, View>, versioned: bool, lend: bool) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let view = slf.get();
    let meta = view.meta()?;
    let readonly = view.lent_readonly() || meta.readonly;
    if !versioned && readonly {
        return Err(PyBufferError::new_err(
            "the view is read-only and the legacy DLPack struct cannot mark it so: ask with max_version=(1, 0) or later",
        ));
    }
    let lent = if lend {
        crate::dlpack_lend::lend(slf, meta, versioned)
    } else {
        None
    };
    let t = match lent {
        Some(t) => t,
        None => general(view, versioned)?,
    };
    if versioned {
        let head = t.cast::<VersionedHead>();
        if readonly {
            // SAFETY: a tensor just made, not yet handed on.
            unsafe { (*head).flags |= DLPACK_READ_ONLY };
        }
        own(
            py,
            t,
            DLTENSOR_VERSIONED,
            versioned_capsule_destructor,
            |t| {
                // SAFETY: a versioned tensor still ours.
                unsafe { (*t.cast::<VersionedHead>()).deleter }
            },
        )
    } else {
        own(py, t, DLTENSOR, legacy_capsule_destructor, |t| {
            // SAFETY: a legacy tensor still ours.
            unsafe { (*t.cast::<Legacy>()).deleter }
        })
    }
}

/// `View.__dlpack__(max_version=(1, ...))` as consumers call it, once an earlier call worked
/// out the View's tensor: a new reference to the capsule, or NULL, with no exception set,
/// when the call is to be answered by [`dlpack`] (no tensor worked out yet, a released
/// View, a refusal, a failure).
///
/// # Safety
/// The GIL is held.
pub unsafe fn versioned_capsule(slf: &Bound<'_, View>) -> *mut ffi::PyObject {
    let view = slf.get();
    let Ok(meta) = view.meta() else {
        return std::ptr::null_mut();
    };
    let Some(Some(lent)) = meta.dlpack.get() else {
        return std::ptr::null_mut();
    };
    let Some(t) = crate::dlpack_lend::lend_with(slf, lent, true) else {
        return std::ptr::null_mut();
    };
    let head = t.cast::<VersionedHead>();
    if view.lent_readonly() || meta.readonly {
        (*head).flags |= DLPACK_READ_ONLY;
    }
    let cap = ffi::PyCapsule_New(
        t,
        DLTENSOR_VERSIONED.as_ptr(),
        Some(versioned_capsule_destructor),
    );
    if cap.is_null() {
        ffi::PyErr_Clear();
        if let Some(d) = (*head).deleter {
            d(t);
        }
    }
    cap
}

/// A tensor of the view through the library's `xbuf_dlpack_export(_unversioned)` of its
/// object: it holds an export of the memory.
fn general(view: &View, versioned: bool) -> PyResult<*mut c_void> {
    let obj = view.xobj()?;
    if versioned {
        let mut t = std::ptr::null_mut();
        // SAFETY: a live object; `t` is written.
        check(unsafe { xbuf_dlpack_export(obj, 0, &mut t) })?;
        Ok(t.cast())
    } else {
        let mut t = std::ptr::null_mut();
        // SAFETY: a live object; `t` is written.
        check(unsafe { xbuf_dlpack_export_unversioned(obj, 0, &mut t) })?;
        Ok(t.cast())
    }
}

/// The capsule named `name` owning the tensor `t`; on failure the tensor is deleted (its
/// deleter read by `deleter`).
fn own(
    py: Python<'_>,
    t: *mut c_void,
    name: &'static CStr,
    destructor: unsafe extern "C" fn(*mut ffi::PyObject),
    deleter: impl FnOnce(*mut c_void) -> Deleter,
) -> PyResult<Py<PyAny>> {
    let cap = capsule(py, t, name, destructor);
    if cap.is_err() {
        if let Some(d) = deleter(t) {
            // SAFETY: still ours: no capsule took it.
            unsafe { d(t) };
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

/// ``_dlpack_general(v, versioned)``: the capsule ``v.__dlpack__`` gives, made by the
/// library's general export of the view's object (holding an export of the memory) rather
/// than from the view's shared export. For tests comparing the two.
#[pyfunction]
pub fn _dlpack_general(v: &Bound<'_, View>, versioned: bool) -> PyResult<Py<PyAny>> {
    tensor_capsule(v, versioned, false)
}

/// ``_delete_tensor_on_native_thread(capsule)``: takes the tensor of an unconsumed DLPack
/// capsule (renamed as consumed) and runs its deleter on a new native thread (not a Python
/// thread, holding no GIL), waiting with the GIL released. For tests.
#[pyfunction]
pub fn _delete_tensor_on_native_thread(py: Python<'_>, capsule: &Bound<'_, PyAny>) -> PyResult<()> {
    let p = capsule.as_ptr();
    // SAFETY: the GIL is held; names are static; a pointer is read only under its name.
    let (t, deleter) = unsafe {
        if ffi::PyCapsule_IsValid(p, DLTENSOR_VERSIONED.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(p, DLTENSOR_VERSIONED.as_ptr());
            ffi::PyCapsule_SetName(p, USED_DLTENSOR_VERSIONED.as_ptr());
            (t, (*t.cast::<VersionedHead>()).deleter)
        } else if ffi::PyCapsule_IsValid(p, DLTENSOR.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(p, DLTENSOR.as_ptr());
            ffi::PyCapsule_SetName(p, USED_DLTENSOR.as_ptr());
            (t, (*t.cast::<Legacy>()).deleter)
        } else {
            return Err(PyTypeError::new_err("not an unconsumed DLPack capsule"));
        }
    };
    let Some(deleter) = deleter else {
        return Ok(());
    };
    let addr = t as usize;
    py.detach(move || {
        // SAFETY: the tensor is ours now (the capsule no longer deletes it); deleted once.
        std::thread::spawn(move || unsafe { deleter(addr as *mut c_void) }).join()
    })
    .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("the native thread panicked"))
}

/// ``_dlpack_leaked()``: how many tensors made by ``View.__dlpack__`` were deleted while the
/// interpreter was shutting down, their hold on the View leaked rather than handed back.
#[pyfunction]
pub fn _dlpack_leaked() -> usize {
    crate::dlpack_lend::leaked()
}
