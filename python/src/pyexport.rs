//! Python buffer exporters as xbuf objects: one `Py_buffer` taken from the Python object with
//! every layout (`PyBUF_FULL_RO`, or `PyBUF_FULL` for writable views) is held by an xbuf
//! object made with `xbuf_object_new`, whose `getbuffer` answers with that layout (the library
//! fits it to each request and checks it) and whose `dealloc` hands the `Py_buffer` back.
//!
//! The library frees the object when its last reference and last export are gone, on
//! whichever thread drops them, which need not hold the GIL nor be a Python thread: `dealloc`
//! takes the GIL with `PyGILState_Ensure`. Once the interpreter is shutting down (after the
//! `atexit` hook the module registers, or when it is no longer initialised) the `Py_buffer`
//! is leaked instead, as NumPy does: taking the GIL then can hang or end the thread.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;

use crate::error::check;
use crate::sys::*;

/// Set by the module's `atexit` hook: from then on `Py_buffer`s are leaked, not released.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// How many `Py_buffer`s were handed back, and how many were leaked at shutdown (for tests).
static RELEASED: AtomicUsize = AtomicUsize::new(0);
static LEAKED: AtomicUsize = AtomicUsize::new(0);

/// Called by `atexit`: Python exports still held by xbuf objects are leaked from now on.
pub fn shutting_down() {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
}

/// Whether the `atexit` hook ran: Python objects the library still holds are leaked from now on.
pub fn is_shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}

/// (Python exports handed back, Python exports leaked at shutdown) since the module loaded.
pub fn counters() -> (usize, usize) {
    (
        RELEASED.load(Ordering::SeqCst),
        LEAKED.load(Ordering::SeqCst),
    )
}

/// The state of an xbuf object backed by a Python exporter.
struct Held {
    view: ffi::Py_buffer,
    /// Lent read-only although the Python object's memory may be writable.
    readonly: bool,
}

unsafe extern "C" fn getbuffer(
    obj: *mut xbuf_object,
    view: *mut xbuf_bufferinfo,
    _flags: c_int,
) -> c_int {
    // The whole layout; the library fits it to the request (and refuses what it cannot meet).
    let held = xbuf_object_state(obj).cast::<Held>();
    let b = &(*held).view;
    let v = &mut *view;
    v.buf = b.buf;
    v.len = b.len;
    v.itemsize = b.itemsize;
    v.readonly = c_int::from(b.readonly != 0 || (*held).readonly);
    v.ndim = b.ndim;
    v.format = b.format;
    v.shape = b.shape;
    v.strides = b.strides;
    v.suboffsets = b.suboffsets;
    XBUF_OK
}

unsafe extern "C" fn dealloc(state: *mut c_void) {
    let held = Box::from_raw(state.cast::<Held>());
    if SHUTTING_DOWN.load(Ordering::SeqCst) || ffi::Py_IsInitialized() == 0 {
        LEAKED.fetch_add(1, Ordering::SeqCst);
        std::mem::forget(held);
        return;
    }
    let mut held = held;
    let gil = ffi::PyGILState_Ensure();
    ffi::PyBuffer_Release(&mut held.view);
    ffi::PyGILState_Release(gil);
    RELEASED.fetch_add(1, Ordering::SeqCst);
}

/// The exporter's vtable (`xbuf_object_new` copies it).
fn vtable() -> xbuf_type {
    xbuf_type {
        structsize: std::mem::size_of::<xbuf_type>(),
        name: c"python".as_ptr(),
        getbuffer: Some(getbuffer),
        releasebuffer: None,
        lockbuffer: None,
        dealloc: Some(dealloc),
    }
}

/// An owned reference to an xbuf object holding one export of the Python object `source`
/// (writable when asked, else read-only even when the memory is writable): the exporter's own exception (`BufferError`, `TypeError`) when it
/// refuses.
pub fn object_from_python(source: &Bound<'_, PyAny>, writable: bool) -> PyResult<*mut xbuf_object> {
    let flags = if writable {
        ffi::PyBUF_FULL
    } else {
        ffi::PyBUF_FULL_RO
    };
    let mut held = Box::new(Held {
        // SAFETY: Py_buffer is plain data; all zero is its empty state.
        view: unsafe { std::mem::zeroed() },
        readonly: !writable,
    });
    // SAFETY: the GIL is held (`source` is bound); `held.view` is an empty Py_buffer.
    if unsafe { ffi::PyObject_GetBuffer(source.as_ptr(), &mut held.view, flags) } != 0 {
        return Err(PyErr::fetch(source.py()));
    }
    let state = Box::into_raw(held);
    let mut obj = std::ptr::null_mut();
    let ty = vtable();
    // SAFETY: a valid vtable; on failure the library does not take `state`.
    let rc = unsafe { xbuf_object_new(&ty, state.cast(), &mut obj) };
    if rc != XBUF_OK {
        // SAFETY: still ours: the library did not take it.
        let mut held = unsafe { Box::from_raw(state) };
        unsafe { ffi::PyBuffer_Release(&mut held.view) };
        check(rc)?;
    }
    Ok(obj)
}
