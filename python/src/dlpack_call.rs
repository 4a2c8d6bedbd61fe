//! The call of `View.__dlpack__` the way consumers make it, without PyO3's argument parsing.
//!
//! Consumers call `x.__dlpack__(max_version=..., dl_device=None, copy=None)` (NumPy passes all
//! three keywords on every `np.from_dlpack`). At module initialisation the method PyO3 made
//! (`View.__dlpack__`, in view.rs) is kept and a method descriptor of [`dlpack_fastcall`]
//! takes its place in the type. That function reads the common calls itself: no positional
//! argument, `stream` and `dl_device` `None`, `max_version` `None` or a tuple of two ints,
//! `copy` `None` or a bool; the names of the keywords are matched once per tuple of names
//! (the tuple a call site passes is the same object call after call) and remembered with it,
//! and so is the value of the last `max_version` tuple.
//! Every other call is handed to the method PyO3 made, with the same arguments, so that
//! errors and unusual values are handled in one place.

use std::ffi::{c_char, CString};
use std::ptr;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::Borrowed;

use crate::view::View;

/// The keyword parameters, in the order of the signature.
const NAMES: [&str; 4] = ["stream", "max_version", "dl_device", "copy"];
const STREAM: u8 = 0;
const MAX_VERSION: u8 = 1;
const DL_DEVICE: u8 = 2;
const COPY: u8 = 3;
/// A keyword name that is none of the parameters (left to the general method to refuse).
const OTHER: u8 = u8::MAX;

/// State touched only with the GIL held: the package is built for the limited API (abi3),
/// which no free-threaded CPython implements.
struct State {
    /// The method PyO3 made, which answers every call the fast reading does not.
    general: *mut ffi::PyObject,
    /// The class PyO3 made for `View` (its only subclass is the View type of `fasttype`),
    /// kept for the life of the process.
    view_type: *mut ffi::PyObject,
    /// The last tuple of keyword names seen (a strong reference, so that its address is not
    /// reused by another tuple while it is remembered) and which parameter each name is.
    kwnames: *mut ffi::PyObject,
    slots: [u8; 4],
    /// How many names `kwnames` has (at most 4).
    nkw: usize,
    /// The last `max_version` tuple read (a strong reference, as `kwnames`) and its value:
    /// consumers pass the same tuple object call after call.
    version: *mut ffi::PyObject,
    version_value: (u32, u32),
}

struct GilState(std::cell::UnsafeCell<State>);
// SAFETY: see `State`: every access holds the GIL.
unsafe impl Sync for GilState {}

static STATE: GilState = GilState(std::cell::UnsafeCell::new(State {
    general: ptr::null_mut(),
    view_type: ptr::null_mut(),
    kwnames: ptr::null_mut(),
    slots: [OTHER; 4],
    nkw: 0,
    version: ptr::null_mut(),
    version_value: (0, 0),
}));

/// Puts the fast `__dlpack__` into the `View` type, keeping the method PyO3 made.
pub fn install(ty: &Bound<'_, PyType>) -> PyResult<()> {
    let py = ty.py();
    let general = ty.getattr("__dict__")?.get_item("__dlpack__")?;
    // The docstring with its text signature, as the method PyO3 made has it.
    let sig: String = general.getattr("__text_signature__")?.extract()?;
    let doc: String = general.getattr("__doc__")?.extract()?;
    let doc = CString::new(format!("__dlpack__{sig}\n--\n\n{doc}"))
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    // The definition lives as long as the process (a descriptor points at it).
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"__dlpack__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: dlpack_fastcall,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: doc.into_raw() as *const c_char,
    }));
    // SAFETY: the GIL is held; `ty` is a type object; `def` is never freed.
    let descr = unsafe { ffi::PyDescr_NewMethod(ty.as_ptr().cast(), def) };
    if descr.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference.
    let descr = unsafe { Bound::from_owned_ptr(py, descr) };
    ty.setattr("__dlpack__", descr)?;
    // SAFETY: the GIL is held; the references are kept for the life of the process.
    unsafe {
        let state = &mut *STATE.0.get();
        state.general = general.unbind().into_ptr();
        state.view_type = ty.clone().unbind().into_ptr().cast();
    }
    Ok(())
}

/// Which parameter each keyword name of `kwnames` (a tuple of str) is.
///
/// # Safety
/// The GIL is held; `kwnames` is a tuple of at most 4 items.
unsafe fn match_names(kwnames: *mut ffi::PyObject, n: usize) -> [u8; 4] {
    let mut slots = [OTHER; 4];
    for (k, slot) in slots.iter_mut().enumerate().take(n) {
        let name = ffi::PyTuple_GetItem(kwnames, k as ffi::Py_ssize_t);
        if name.is_null() {
            ffi::PyErr_Clear();
            continue;
        }
        let mut len: ffi::Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(name, &mut len);
        if p.is_null() {
            ffi::PyErr_Clear();
            continue;
        }
        let name = std::slice::from_raw_parts(p.cast::<u8>(), len as usize);
        if let Some(i) = NAMES.iter().position(|want| want.as_bytes() == name) {
            *slot = i as u8;
        }
    }
    slots
}

/// `(max_version, copy)` of a call the fast reading takes.
type Common = (Option<(u32, u32)>, Option<bool>);

/// The values of a call the fast reading takes; `None` for every other call.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` positional values followed by one value per name of
/// `kwnames` (NULL or a tuple).
unsafe fn read_call(
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> Option<Common> {
    if nargs != 0 {
        return None;
    }
    if kwnames.is_null() {
        return Some((None, None));
    }
    let state = &mut *STATE.0.get();
    if state.kwnames != kwnames {
        let n = ffi::PyTuple_Size(kwnames);
        if !(0..=4).contains(&n) {
            ffi::PyErr_Clear();
            return None;
        }
        let slots = match_names(kwnames, n as usize);
        ffi::Py_IncRef(kwnames);
        let old = std::mem::replace(&mut state.kwnames, kwnames);
        state.slots = slots;
        state.nkw = n as usize;
        if !old.is_null() {
            ffi::Py_DecRef(old);
        }
    }
    let n = state.nkw;
    let mut seen = 0u8;
    let mut max_version = None;
    let mut copy = None;
    let none = ffi::Py_None();
    for k in 0..n {
        let slot = state.slots[k];
        if slot == OTHER || seen & (1 << slot) != 0 {
            return None;
        }
        seen |= 1 << slot;
        let value = *args.add(k);
        if value == none {
            continue;
        }
        match slot {
            MAX_VERSION if value == state.version => max_version = Some(state.version_value),
            MAX_VERSION => {
                let v = read_version(value)?;
                // A tuple is immutable: the same object has the same value while it is kept.
                ffi::Py_IncRef(value);
                let old = std::mem::replace(&mut state.version, value);
                state.version_value = v;
                if !old.is_null() {
                    ffi::Py_DecRef(old);
                }
                max_version = Some(v);
            }
            COPY if value == ffi::Py_True() => copy = Some(true),
            COPY if value == ffi::Py_False() => copy = Some(false),
            // A stream, a device, or a copy that is not a bool: the general method decides.
            STREAM | DL_DEVICE | COPY => return None,
            _ => return None,
        }
    }
    Some((max_version, copy))
}

/// `(major, minor)` of a tuple of two ints that fit in `u32`.
///
/// # Safety
/// The GIL is held; `v` is a live object.
unsafe fn read_version(v: *mut ffi::PyObject) -> Option<(u32, u32)> {
    if ffi::PyTuple_Check(v) == 0 || ffi::PyTuple_Size(v) != 2 {
        return None;
    }
    let part = |k| {
        let x = ffi::PyTuple_GetItem(v, k);
        if x.is_null() || ffi::PyLong_Check(x) == 0 {
            return None;
        }
        let n = ffi::PyLong_AsLong(x);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        u32::try_from(n).ok()
    };
    Some((part(0)?, part(1)?))
}

/// `View.__dlpack__` (`METH_FASTCALL | METH_KEYWORDS`).
unsafe extern "C" fn dlpack_fastcall(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // Nothing may unwind into the interpreter.
    let result = std::panic::catch_unwind(|| {
        // SAFETY: the interpreter calls methods with the GIL held.
        let py = Python::assume_attached();
        let fast = read_call(args, nargs, kwnames);
        // The method descriptor is called with `self` of its class or of the View type made
        // from it (neither has further subclasses); checked all the same, by address.
        let tp = ffi::Py_TYPE(slf);
        let is_view = crate::fasttype::fast().is_some_and(|f| f.tp == tp)
            || tp.cast::<ffi::PyObject>() == (*STATE.0.get()).view_type;
        let slf = Borrowed::from_ptr(py, slf);
        match fast {
            Some((max_version, copy)) if is_view => {
                let view = slf.cast_unchecked::<View>();
                if max_version.is_some_and(|(major, _)| major >= 1) && copy != Some(true) {
                    let cap = crate::dlpack::versioned_capsule(&view);
                    if !cap.is_null() {
                        return cap;
                    }
                }
                match crate::dlpack::dlpack(&view, None, max_version, None, copy) {
                    Ok(cap) => cap.into_ptr(),
                    Err(e) => {
                        e.restore(py);
                        ptr::null_mut()
                    }
                }
            }
            _ => match call_general(py, &slf.to_owned(), args, nargs, kwnames) {
                Ok(r) => r.into_ptr(),
                Err(e) => {
                    e.restore(py);
                    ptr::null_mut()
                }
            },
        }
    });
    result.unwrap_or_else(|_| {
        // SAFETY: as above.
        let py = Python::assume_attached();
        pyo3::panic::PanicException::new_err("__dlpack__ panicked").restore(py);
        ptr::null_mut()
    })
}

/// The method PyO3 made, called with `self` and the same arguments.
///
/// # Safety
/// As [`dlpack_fastcall`]'s arguments.
unsafe fn call_general(
    py: Python<'_>,
    slf: &Bound<'_, PyAny>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Py<PyAny>> {
    let positional = std::slice::from_raw_parts(args, nargs as usize);
    let mut all = vec![slf.clone()];
    all.extend(positional.iter().map(|&a| Bound::from_borrowed_ptr(py, a)));
    let tuple = PyTuple::new(py, all)?;
    let kwargs = if kwnames.is_null() {
        None
    } else {
        let names = Bound::from_borrowed_ptr(py, kwnames).cast_into::<PyTuple>()?;
        let d = PyDict::new(py);
        for (k, name) in names.iter().enumerate() {
            d.set_item(
                name,
                Bound::from_borrowed_ptr(py, *args.add(nargs as usize + k)),
            )?;
        }
        Some(d)
    };
    let general = Bound::from_borrowed_ptr(py, (*STATE.0.get()).general);
    Ok(general.call(tuple, kwargs.as_ref())?.unbind())
}
