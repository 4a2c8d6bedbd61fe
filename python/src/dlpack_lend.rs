//! The tensor of `View.__dlpack__` made from the export the View shares between its Python
//! consumers (the one `memoryview(v)` and `np.asarray(v)` use), holding the View itself, as a
//! consumer of that export, until the tensor is deleted.
//!
//! The library's bridge works out the tensor of that filled view once per View (`LentTensor`:
//! the tensor `xbuf_dlpack_export` makes of the same memory) and copies it into each new
//! tensor, which counts no export on the library's objects; the tensor holds a [`Lend`]: a
//! strong reference to the View and one user of its shared export, both counted under the GIL
//! (no atomic operation per exchange, as NumPy's own export takes a reference to its array). The tensor's deleter may run on any thread, holding the GIL or not: it takes
//! the GIL to hand them back. Once the interpreter is shutting down (after the module's
//! `atexit` hook, or when it is no longer initialised) they are leaked instead, as NumPy does:
//! taking the GIL then can hang or end the thread.
//!
//! `View.release()` while tensors live behaves as with `memoryview(v)`: the View is released,
//! and the shared export, which holds the memory, goes with its last consumer.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;

use crate::sys::lent::LentTensor;
use crate::view::{Meta, View};

/// Lends leaked because the interpreter was shutting down when their tensor was deleted.
static LEAKED: AtomicUsize = AtomicUsize::new(0);

/// How many tensors' holds on their View were leaked at shutdown (for tests).
pub fn leaked() -> usize {
    LEAKED.load(Ordering::SeqCst)
}

/// What a tensor made here holds: one strong reference to a View and one user of the View's
/// shared export (which the tensor describes), handed back when dropped.
struct Lend(NonNull<ffi::PyObject>);

// SAFETY: the reference and the user count are touched only with the GIL held (taken by
// `drop` on whichever thread drops the value).
unsafe impl Send for Lend {}

impl Drop for Lend {
    fn drop(&mut self) {
        // SAFETY: reading whether the interpreter is initialised needs no GIL.
        if crate::pyexport::is_shutting_down() || unsafe { ffi::Py_IsInitialized() } == 0 {
            LEAKED.fetch_add(1, Ordering::SeqCst);
            return;
        }
        // SAFETY: the interpreter runs; the GIL is taken (or counted again when this thread
        // holds it) and released below. The reference is the one taken in `lend`, so the
        // object is a live View.
        unsafe {
            let gil = ffi::PyGILState_Ensure();
            let py = Python::assume_attached();
            let obj = Borrowed::from_ptr(py, self.0.as_ptr());
            obj.cast_unchecked::<View>().get().unshare_export(py);
            ffi::Py_DecRef(self.0.as_ptr());
            ffi::PyGILState_Release(gil);
        }
    }
}

/// The tensor (`DLManagedTensorVersioned`, or the legacy `DLManagedTensor` when not
/// `versioned`) of the View's shared export, holding the View (`meta` is its layout); `None`
/// when the export cannot be shared or the bridge refuses the tensor (the caller then asks
/// the library's general export, which answers the refusal). Nothing is held on `None`.
pub fn lend(slf: &Bound<'_, View>, meta: &Meta, versioned: bool) -> Option<*mut c_void> {
    let view = slf.get();
    // The tensor of the shared export is worked out once: the view's layout and memory
    // do not change while the view is not released.
    let lent = match meta.dlpack.get() {
        Some(lent) => lent.as_ref()?,
        None => {
            let info = view.share_export(slf.py()).ok()?;
            // SAFETY: `info` is the shared export, filled with `XBUF_FULL(_RO)`.
            let lent = meta
                .dlpack
                .get_or_init(|| unsafe { LentTensor::new(info) }.ok());
            view.unshare_export(slf.py());
            lent.as_ref()?
        }
    };
    lend_with(slf, lent, versioned)
}

/// [`lend`] once the View's tensor (`lent`) is worked out.
pub fn lend_with(slf: &Bound<'_, View>, lent: &LentTensor, versioned: bool) -> Option<*mut c_void> {
    slf.get().share_export(slf.py()).ok()?;
    // SAFETY: the GIL is held; the new reference is the holder's. From here dropping the
    // holder hands back the reference and the user of the shared export.
    let holder = Lend(unsafe {
        ffi::Py_IncRef(slf.as_ptr());
        NonNull::new_unchecked(slf.as_ptr())
    });
    // SAFETY: the holder keeps the shared export, whose memory the tensor describes; on
    // failure it is dropped by the call.
    unsafe {
        if versioned {
            lent.export(0, holder).ok().map(|t| t.cast())
        } else {
            lent.export_unversioned(0, holder).ok().map(|t| t.cast())
        }
    }
}
