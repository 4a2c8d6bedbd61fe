//! Making `xbuf.View` objects without `object.__new__`, as the type's own `tp_alloc` would.
//!
//! `Bound::new` reaches the allocator through `object.__new__`, looks up a slot of the type on
//! every call, and zeroes the whole object before writing it. A View made here is the same
//! object: allocated as the type's `tp_alloc` (`PyType_GenericAlloc`) would (the memory of a
//! collected object, a reference to the type), then the Rust value and an empty
//! weak-reference list written where the class keeps them, then tracked by the collector.
//! Where they are is learnt from the first View made the ordinary way, and the quick path is
//! used only when the type's layout is the object header, the value, and the weak-reference
//! list, nothing else, and the type allocates and frees as assumed. Deallocation is the
//! class's own in both cases. The class is not subclassable, so every View has this layout;
//! its type object, like the class's own pointer to it, lives as long as the process.

use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::type_object::PyTypeInfo;

use crate::view::View;

/// How Views are made quickly: the type and the offset of the value.
struct Quick {
    tp: *mut ffi::PyTypeObject,
    offset: usize,
}

// SAFETY: the type object lives as long as the process (as the class's own pointer to it) and
// is only used with the GIL held.
unsafe impl Send for Quick {}
unsafe impl Sync for Quick {}

/// `None` once the first View showed a layout the quick path cannot reproduce.
static QUICK: OnceLock<Option<Quick>> = OnceLock::new();

/// ``_quick_views()``: whether Views are made by the quick path (known once one View was made).
/// For tests.
#[pyfunction]
pub fn _quick_views() -> bool {
    matches!(QUICK.get(), Some(Some(_)))
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
    match QUICK.get() {
        Some(Some(q)) => {
            // SAFETY: `q.tp` is View's type, a garbage-collected type without items, with
            // the GIL held.
            let obj = unsafe { ffi::PyObject_GC_New::<ffi::PyObject>(q.tp) };
            if obj.is_null() {
                return Err(PyErr::fetch(py));
            }
            // SAFETY: an object of View's type whose value lives at `offset` and weak-reference
            // list at `offset + size_of::<View>()` (see `learn`); both are written once, before
            // anything else sees the object, which the collector tracks from then on.
            unsafe {
                let value = obj.cast::<u8>().add(q.offset).cast::<View>();
                init(value);
                value
                    .add(1)
                    .cast::<*mut ffi::PyObject>()
                    .write(std::ptr::null_mut());
                ffi::PyObject_GC_Track(obj.cast());
                Ok(Bound::from_owned_ptr(py, obj).cast_into_unchecked())
            }
        }
        quick => {
            let mut v = std::mem::MaybeUninit::<View>::uninit();
            init(v.as_mut_ptr());
            // SAFETY: `init` initialised it.
            let b = Bound::new(py, unsafe { v.assume_init() })?;
            if quick.is_none() {
                let _ = QUICK.set(learn(&b));
            }
            Ok(b)
        }
    }
}

/// The quick path's parameters from `b`, a View just made by the class, or `None` unless the
/// object is laid out as the header, the value right after it, and the weak-reference list
/// right after the value (NULL in a zeroed object, as the class starts it), with nothing else.
fn learn(b: &Bound<'_, View>) -> Option<Quick> {
    let py = b.py();
    let tp = View::type_object_raw(py);
    let obj = b.as_ptr();
    // SAFETY: `obj` is a live object.
    if unsafe { ffi::Py_TYPE(obj) } != tp {
        return None;
    }
    let ty = b.get_type();
    let attr = |name: &str| -> Option<usize> { ty.getattr(name).ok()?.extract().ok() };
    let offset = (b.get() as *const View as usize).checked_sub(obj as usize)?;
    let end = offset + std::mem::size_of::<View>();
    let layout = (
        attr("__basicsize__")?,
        attr("__itemsize__")?,
        attr("__dictoffset__")?,
        attr("__weakrefoffset__")?,
    );
    let expected = (end + std::mem::size_of::<*mut ffi::PyObject>(), 0, 0, end);
    if offset != std::mem::size_of::<ffi::PyObject>() || layout != expected {
        return None;
    }
    // The class allocates with `PyType_GenericAlloc` (a zeroed object of a collected type,
    // tracked at once) and frees with `PyObject_GC_Del`: the quick path allocates as
    // `PyObject_GC_New` does, writes every byte the zeroing would have, then tracks.
    // SAFETY: a type object and slot ids of the stable ABI.
    let (alloc, free, flags) = unsafe {
        (
            ffi::PyType_GetSlot(tp, ffi::Py_tp_alloc),
            ffi::PyType_GetSlot(tp, ffi::Py_tp_free),
            ffi::PyType_GetFlags(tp),
        )
    };
    let generic: ffi::allocfunc = ffi::PyType_GenericAlloc;
    let gc_del: ffi::freefunc = ffi::PyObject_GC_Del;
    if alloc != generic as *mut std::ffi::c_void
        || free != gc_del as *mut std::ffi::c_void
        || flags & ffi::Py_TPFLAGS_HAVE_GC == 0
    {
        return None;
    }
    Some(Quick { tp, offset })
}
