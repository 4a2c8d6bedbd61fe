//! `xbuf.View`, the type of every View: a subclass of the class PyO3 makes (`xbuf._View`,
//! which holds the methods, the attributes and the other slots), made with
//! `PyType_FromSpecWithBases` so that the calls made most often need none of PyO3's
//! bookkeeping:
//!
//! - `v[key]` (`mp_subscript`): the slices and items `View::quick_getitem` reads (a slice or
//!   a tuple of one or two slices of ints; one int per dimension of a view of plain numbers;
//!   of a view whose layout was read) are answered here; every other key is handed to the
//!   `__getitem__` PyO3 made, with nothing done before.
//! - the buffer slots: the requests the shared export answers once it was taken, and the
//!   refusal of a writable request of a read-only view
//!   (`View::quick_getbuffer`, `View::quick_releasebuffer`); every other request is handed
//!   to `__getbuffer__` / `__releasebuffer__`.
//! - allocation and deallocation: the type is not tracked by the cyclic garbage collector.
//!   A View's references are its type and the Python object its memory came from, which the
//!   class never reported to the collector (it has no `__traverse__`), so tracking it only
//!   cost time. Objects are `PyObject_Malloc`'d (`alloc.rs`) and freed by `dealloc` below:
//!   weak references cleared, the value dropped in place (with the GIL, as every View value
//!   is), the memory freed, the type's reference dropped.
//!
//! The subclass keeps the base's layout (the object header, the value, the weak-reference
//! list). It learns where the value lies from a View made by the class at module
//! initialisation, and is made only when the layout is exactly that; otherwise `xbuf.View` is
//! the class PyO3 made and Views are made through it (`_quick_views()` says which).
//!
//! The base is garbage-collected (PyO3 makes every class so); a subclass made from a spec
//! would inherit that unless it has a `tp_traverse` of its own, so it has one that visits
//! nothing (never called: the collector does not see the type's objects). The subclass has no
//! `Py_TPFLAGS_BASETYPE`: a View's type is always exactly this one, which the slots rely on.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::view::{Quick, View};

/// The View type and what its slots need.
pub struct Fast {
    /// The type (one reference kept for the life of the process, as the module's).
    pub tp: *mut ffi::PyTypeObject,
    /// Where the value lies in an object, and the size of an object.
    pub offset: usize,
    pub basicsize: usize,
    /// The slots PyO3 made for the base, which answer every case the quick ones do not.
    base_subscript: ffi::binaryfunc,
    base_getbuffer: ffi::getbufferproc,
    base_releasebuffer: ffi::releasebufferproc,
}

// SAFETY: the type object lives as long as the process; it and the slot functions are only
// used with the GIL held.
unsafe impl Send for Fast {}
unsafe impl Sync for Fast {}

/// `None` when the layout was not the expected one (then `xbuf.View` is the class PyO3 made).
static FAST: OnceLock<Option<Fast>> = OnceLock::new();

/// The View type, once made.
#[inline(always)]
pub fn fast() -> Option<&'static Fast> {
    FAST.get().and_then(Option::as_ref)
}

/// The View type's `Fast`: set before the type's first object exists.
#[inline(always)]
fn fast_of_type() -> &'static Fast {
    match fast() {
        Some(f) => f,
        // The type's slots run only for its objects, made after `FAST` was set.
        None => unreachable!("the View type's slots run only after it was made"),
    }
}

/// The value of a View object of the View type.
///
/// # Safety
/// `obj` is a live object of the View type.
#[inline(always)]
unsafe fn value<'a>(f: &Fast, obj: *mut ffi::PyObject) -> &'a View {
    // SAFETY: the value lies at `offset` in every object of the type, initialised.
    unsafe { &*obj.cast::<u8>().add(f.offset).cast::<View>() }
}

/// Sets `SystemError` for a panic caught in a slot.
///
/// # Safety
/// The GIL is held.
unsafe fn panicked() {
    // SAFETY: the GIL is held; the message is static.
    unsafe {
        ffi::PyErr_SetString(
            ffi::PyExc_SystemError,
            c"xbuf.View: internal error (a Rust panic)".as_ptr(),
        )
    };
}

unsafe extern "C" fn subscript(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let f = fast_of_type();
    let quick = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a slot runs with the GIL held; `obj` is a View object, `key` a live object.
        unsafe { value(f, obj).quick_getitem(Python::assume_attached(), key) }
    }));
    match quick {
        Ok(Some(result)) => result,
        // SAFETY: the base's slot, for an object of a subclass, with the GIL held.
        Ok(None) => unsafe { (f.base_subscript)(obj, key) },
        Err(_) => {
            // SAFETY: the GIL is held.
            unsafe { panicked() };
            std::ptr::null_mut()
        }
    }
}

unsafe extern "C" fn getbuffer(
    obj: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    let f = fast_of_type();
    // SAFETY: a slot runs with the GIL held; `obj` is a View object, `view` to be filled.
    let quick = catch_unwind(AssertUnwindSafe(|| unsafe {
        value(f, obj).quick_getbuffer(obj, view, flags)
    }));
    match quick {
        Ok(Quick::Done) => 0,
        Ok(Quick::Refused) => -1,
        // SAFETY: the base's slot, for an object of a subclass, with the GIL held.
        Ok(Quick::HandOn) => unsafe { (f.base_getbuffer)(obj, view, flags) },
        Err(_) => {
            // SAFETY: the GIL is held.
            unsafe { panicked() };
            -1
        }
    }
}

unsafe extern "C" fn releasebuffer(obj: *mut ffi::PyObject, view: *mut ffi::Py_buffer) {
    let f = fast_of_type();
    // SAFETY: a slot runs with the GIL held; `view` was filled by this object.
    let quick = catch_unwind(AssertUnwindSafe(|| unsafe {
        value(f, obj).quick_releasebuffer(view)
    }));
    if let Ok(false) = quick {
        // SAFETY: the base's slot, for an object of a subclass, with the GIL held.
        unsafe { (f.base_releasebuffer)(obj, view) };
    }
}

unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    let f = fast_of_type();
    // SAFETY: the object's last reference is gone; the GIL is held. The weak-reference list
    // lies right after the value.
    unsafe {
        let v = obj.cast::<u8>().add(f.offset).cast::<View>();
        if !v.add(1).cast::<*mut ffi::PyObject>().read().is_null() {
            ffi::PyObject_ClearWeakRefs(obj);
        }
        // A panic while dropping leaks what was not dropped yet.
        let _ = catch_unwind(AssertUnwindSafe(|| std::ptr::drop_in_place(v)));
        let tp = ffi::Py_TYPE(obj);
        ffi::PyObject_Free(obj.cast());
        ffi::Py_DecRef(tp.cast());
    }
}

/// Visits nothing: it keeps the type from inheriting the base's garbage collection, and is
/// never called (the type's objects are not tracked).
unsafe extern "C" fn traverse(
    _obj: *mut ffi::PyObject,
    _visit: ffi::visitproc,
    _arg: *mut c_void,
) -> c_int {
    0
}

/// Where the value of `b`, a View made by the class, lies, and the size of an object, when the
/// layout is the object header, the value right after it and the weak-reference list right
/// after the value, with nothing else; `None` otherwise.
fn learn(b: &Bound<'_, View>) -> Option<(usize, usize)> {
    let ty = b.get_type();
    let attr = |name: &str| -> Option<usize> { ty.getattr(name).ok()?.extract().ok() };
    let offset = (b.get() as *const View as usize).checked_sub(b.as_ptr() as usize)?;
    let end = offset + std::mem::size_of::<View>();
    let basicsize = end + std::mem::size_of::<*mut ffi::PyObject>();
    let layout = (
        attr("__basicsize__")?,
        attr("__itemsize__")?,
        attr("__dictoffset__")?,
        attr("__weakrefoffset__")?,
    );
    if offset != std::mem::size_of::<ffi::PyObject>() || layout != (basicsize, 0, 0, end) {
        return None;
    }
    Some((offset, basicsize))
}

/// A slot of the class PyO3 made.
fn base_slot(base: &Bound<'_, PyType>, slot: c_int) -> Option<*mut c_void> {
    // SAFETY: a type object and a slot id of the stable ABI.
    let p = unsafe { ffi::PyType_GetSlot(base.as_type_ptr(), slot) };
    (!p.is_null()).then_some(p)
}

/// Makes `xbuf.View` (see the module's documentation) and returns it, or the class PyO3 made
/// when the layout is not the expected one.
pub fn install(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let base = py.get_type::<View>();
    // A View of an empty byte array of the library (not of a Python object, whose export
    // would count in `_python_exports()`).
    let mut empty = std::ptr::null_mut();
    // SAFETY: NULL data of no bytes; `empty` is written.
    crate::error::check(unsafe {
        crate::sys::xbuf_bytearray_new(std::ptr::null(), 0, &mut empty)
    })?;
    let empty = crate::view::Obj::from_owned(empty);
    let made = Bound::new(py, View::of_object(empty.ptr(), false)?)?;
    let layout = learn(&made);
    drop(made);
    let slots = (
        base_slot(&base, ffi::Py_mp_subscript),
        base_slot(&base, ffi::Py_bf_getbuffer),
        base_slot(&base, ffi::Py_bf_releasebuffer),
    );
    let (Some((offset, basicsize)), (Some(sub), Some(get), Some(rel))) = (layout, slots) else {
        let _ = FAST.set(None);
        return Ok(base.into_any());
    };
    let doc = base_slot(&base, ffi::Py_tp_doc).unwrap_or(std::ptr::null_mut());
    let slot = |slot: c_int, pfunc: *mut c_void| ffi::PyType_Slot { slot, pfunc };
    let alloc: ffi::allocfunc = ffi::PyType_GenericAlloc;
    let free: ffi::freefunc = ffi::PyObject_Free;
    let mut slots = [
        slot(ffi::Py_mp_subscript, subscript as *mut c_void),
        slot(ffi::Py_bf_getbuffer, getbuffer as *mut c_void),
        slot(ffi::Py_bf_releasebuffer, releasebuffer as *mut c_void),
        slot(ffi::Py_tp_dealloc, dealloc as *mut c_void),
        slot(ffi::Py_tp_traverse, traverse as *mut c_void),
        slot(ffi::Py_tp_alloc, alloc as *mut c_void),
        slot(ffi::Py_tp_free, free as *mut c_void),
        slot(ffi::Py_tp_doc, doc),
        slot(0, std::ptr::null_mut()),
    ];
    let mut spec = ffi::PyType_Spec {
        // Kept by the type (a static string).
        name: c"xbuf.View".as_ptr(),
        basicsize: c_int::try_from(basicsize).expect("a small object"),
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: a valid spec (the slots are copied; the name is static); the base is a type.
    let tp = unsafe { ffi::PyType_FromSpecWithBases(&mut spec, base.as_ptr()) };
    if tp.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference to a type.
    let tp = unsafe { Bound::from_owned_ptr(py, tp).cast_into_unchecked::<PyType>() };
    // SAFETY: a type object.
    let flags = unsafe { ffi::PyType_GetFlags(tp.as_type_ptr()) };
    let weakrefoffset: usize = tp.getattr("__weakrefoffset__")?.extract()?;
    if flags & ffi::Py_TPFLAGS_HAVE_GC != 0 || weakrefoffset != offset + size_of::<View>() {
        let _ = FAST.set(None);
        return Ok(base.into_any());
    }
    // SAFETY: slot functions of the signatures their ids name.
    let fast = unsafe {
        Fast {
            // The reference kept for the life of the process.
            tp: tp.clone().into_ptr().cast(),
            offset,
            basicsize,
            base_subscript: std::mem::transmute::<*mut c_void, ffi::binaryfunc>(sub),
            base_getbuffer: std::mem::transmute::<*mut c_void, ffi::getbufferproc>(get),
            base_releasebuffer: std::mem::transmute::<*mut c_void, ffi::releasebufferproc>(rel),
        }
    };
    if FAST.set(Some(fast)).is_err() {
        return Err(pyo3::exceptions::PyImportError::new_err(
            "xbuf._xbuf cannot be initialised twice in one process",
        ));
    }
    Ok(tp.into_any())
}
