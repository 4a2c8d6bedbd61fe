//! `xbuf.View`: an `xbuf_view` object of the library behind a Python object that is itself a
//! buffer exporter, with memoryview's API plus N-dimensional slicing and indexing.

use std::ffi::{c_char, c_int, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyEllipsis, PyList, PySlice, PyString, PyTuple};

use crate::alloc::new_view;
use crate::error::{check, exception, last_message};
use crate::gilrc::{GilPy, GilRc};
use crate::pyexport::object_from_python;
use crate::sys::values::Format;
use crate::sys::*;
use crate::values::item_value;

/// Views of at least this many bytes are copied, compared and hashed with the GIL released.
const DETACH_BYTES: isize = 1 << 16;

unsafe extern "C" {
    // Part of the stable ABI since Python 3.7.
    fn PySlice_Unpack(
        slice: *mut ffi::PyObject,
        start: *mut ffi::Py_ssize_t,
        stop: *mut ffi::Py_ssize_t,
        step: *mut ffi::Py_ssize_t,
    ) -> c_int;
}

/// One owned reference to an xbuf object, dropped with `xbuf_decref`.
pub struct Obj(NonNull<xbuf_object>);

// SAFETY: xbuf objects are atomically reference-counted and may be used from any thread.
unsafe impl Send for Obj {}
unsafe impl Sync for Obj {}

impl Obj {
    /// Takes over an owned reference (`p` must not be NULL).
    pub fn from_owned(p: *mut xbuf_object) -> Obj {
        Obj(NonNull::new(p).expect("the library returned an object"))
    }
    pub fn ptr(&self) -> *mut xbuf_object {
        self.0.as_ptr()
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: the reference is ours.
        unsafe { xbuf_decref(self.0.as_ptr()) };
    }
}

/// A library view object shared by the View that is it (its owner) and the slices of that
/// View not made yet (see `View::pending_slice`).
pub struct Held {
    obj: Obj,
    /// The Python object whose memory this is, when it came from one.
    source: Option<GilPy>,
    /// The owner was released while pending slices shared the object: the last of them to go
    /// while the owner lives hands the export back (`xbuf_view_release`).
    owner_released: AtomicBool,
}

impl Held {
    fn new(obj: Obj, source: Option<Py<PyAny>>) -> Held {
        Held {
            obj,
            source: source.map(GilPy::new),
            owner_released: AtomicBool::new(false),
        }
    }
    pub fn ptr(&self) -> *mut xbuf_object {
        self.obj.ptr()
    }
}

/// A filled `xbuf_bufferinfo`, released when dropped. Boxed: the struct must not move while it
/// holds a view.
pub struct Info(Box<xbuf_bufferinfo>);

// SAFETY: a filled view may be released on any thread; after it is filled it is only read
// (its fields, by any thread) until it is released, once, by its last owner.
unsafe impl Send for Info {}
unsafe impl Sync for Info {}

impl Info {
    pub fn get(obj: *mut xbuf_object, flags: c_int) -> PyResult<Info> {
        let mut b = Box::new(xbuf_bufferinfo::empty());
        // SAFETY: `obj` is a live object the caller holds; `b` is an empty full-size view.
        check(unsafe { xbuf_get_buffer(obj, &mut *b, flags) })?;
        Ok(Info(b))
    }
    pub fn raw(&self) -> *const xbuf_bufferinfo {
        &*self.0
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        // SAFETY: a view the library filled, at the address it was filled at.
        unsafe { xbuf_release(&mut *self.0) };
    }
}

/// State that only code holding the GIL touches. The package is built for the limited API
/// (abi3), which no free-threaded CPython implements, so the GIL serialises every access.
pub struct GilCell<T>(std::cell::UnsafeCell<T>);

// SAFETY: see the type's documentation: every access holds the GIL.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    fn new(v: T) -> GilCell<T> {
        GilCell(std::cell::UnsafeCell::new(v))
    }
    /// # Safety
    /// The caller holds the GIL and keeps no other reference from `get` alive.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> &mut T {
        &mut *self.0.get()
    }
}

/// The export a View shares between its Python consumers.
#[derive(Default)]
pub struct SharedExport {
    info: Option<Box<Info>>,
    /// Python consumers holding it.
    users: usize,
    /// The View was released: the export goes with its last consumer.
    released: bool,
}

/// A view's layout, read once.
pub struct Meta {
    pub format: String,
    pub fmt: Format,
    pub itemsize: isize,
    pub shape: Vec<isize>,
    pub strides: Vec<isize>,
    pub suboffsets: Option<Vec<isize>>,
    pub readonly: bool,
    pub nbytes: isize,
    pub c_contiguous: bool,
    pub f_contiguous: bool,
    /// The DLPack tensor of the shared export (`None`: refused), worked out at the first
    /// `__dlpack__` (see `dlpack_lend`).
    pub dlpack: OnceLock<Option<crate::sys::lent::LentTensor>>,
    /// Items are one number or bool (see `plain_format`): their values never fail.
    pub plain_items: bool,
}

/// Whether `format` is one integer, float or bool code (``bBhHiIlLqQnNfde?``) with at most a
/// byte-order prefix: items the value rule reads as one Python int, float or bool.
fn plain_format(format: &str) -> bool {
    let code = match format.as_bytes() {
        [c] => *c,
        [p, c] if b"@=<>!".contains(p) => *c,
        _ => return false,
    };
    b"bBhHiIlLqQnNfde?".contains(&code)
}

impl Meta {
    fn read(obj: *mut xbuf_object) -> PyResult<Meta> {
        let info = Info::get(obj, XBUF_FULL_RO)?;
        let v = &*info.0;
        let n = v.ndim as usize;
        // SAFETY: a filled XBUF_FULL_RO view: format, shape and strides are set, suboffsets
        // may be NULL; all stay valid until `info` is released.
        unsafe {
            let arr = |p: *const isize| -> Vec<isize> {
                if n == 0 || p.is_null() {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts(p, n).to_vec()
                }
            };
            let format = if v.format.is_null() {
                "B".to_owned()
            } else {
                std::ffi::CStr::from_ptr(v.format)
                    .to_string_lossy()
                    .into_owned()
            };
            let fmt = Format::parse(&format).map_err(|e| crate::error::from_error(&e))?;
            Ok(Meta {
                fmt,
                plain_items: plain_format(&format),
                format,
                itemsize: v.itemsize,
                shape: arr(v.shape),
                strides: arr(v.strides),
                suboffsets: if v.suboffsets.is_null() {
                    None
                } else {
                    Some(arr(v.suboffsets))
                },
                readonly: v.readonly != 0,
                nbytes: v.len,
                c_contiguous: xbuf_is_contiguous(info.raw(), b'C' as c_char) != 0,
                f_contiguous: xbuf_is_contiguous(info.raw(), b'F' as c_char) != 0,
                dlpack: OnceLock::new(),
            })
        }
    }
}

/// A view of memory lent by a buffer exporter, with memoryview's API.
///
/// ``View(obj, writable=False)`` takes one export of ``obj`` (any object with the buffer
/// protocol: bytes, bytearray, mmap, array.array, NumPy arrays, another View) and holds it
/// until the view and every view made from it are released. A View is itself a buffer
/// exporter: ``memoryview(v)``, ``bytes(v)``, ``np.asarray(v)`` share its memory with its
/// format, shape, strides and suboffsets.
//
// The class made here, `xbuf._View`, holds the methods; `xbuf.View` is its subclass made in
// `fasttype.rs` with its own allocation, deallocation, `v[key]` and buffer slots, and every
// View is an instance of it.
#[pyclass(frozen, subclass, module = "xbuf", name = "_View", weakref)]
pub struct View {
    /// The library's view object this view is, or, for a slice not yet used, the one it was
    /// sliced from. Shared without atomic counts: a View value is only dropped with the GIL
    /// held (by its Python object's deallocation, or as a temporary of a method), never in
    /// code that runs without it.
    base: GilRc<Held>,
    /// A slice of `base` made only when the view is first used (see `__getitem__`).
    pending: Option<Specs>,
    /// The library's view object of a pending slice, once made.
    made: OnceLock<GilRc<Held>>,
    meta: OnceLock<Box<Meta>>,
    /// Read-only although the memory may be writable (``View(v, writable=False)`` of a
    /// writable View, ``toreadonly()``, and every view made from such a view).
    lent_readonly: bool,
    released: AtomicBool,
    /// One export with the whole layout (`XBUF_FULL_RO`, or `XBUF_FULL` for a writable view),
    /// taken at the first Python request for it and shared by every Python consumer whose
    /// request it answers exactly (see `__getbuffer__`).
    shared: GilCell<SharedExport>,
}

impl View {
    pub fn wrap(obj: Obj, source: Option<Py<PyAny>>) -> View {
        View {
            base: GilRc::new(Held::new(obj, source)),
            pending: None,
            made: OnceLock::new(),
            meta: OnceLock::new(),
            lent_readonly: false,
            released: AtomicBool::new(false),
            shared: GilCell::new(SharedExport::default()),
        }
    }

    fn readonly_view(mut self, readonly: bool) -> View {
        self.lent_readonly |= readonly;
        self
    }

    /// Whether the view is lent read-only although its memory may be writable.
    pub fn lent_readonly(&self) -> bool {
        self.lent_readonly
    }

    /// Whether the memory may not be written through this view.
    pub fn is_readonly(&self) -> PyResult<bool> {
        Ok(self.lent_readonly || self.meta()?.readonly)
    }

    /// The library's view object, made now for a pending slice.
    pub fn xobj(&self) -> PyResult<*mut xbuf_object> {
        let Some(specs) = &self.pending else {
            return Ok(self.base.ptr());
        };
        let specs = specs.as_slice();
        if let Some(o) = self.made.get() {
            return Ok(o.ptr());
        }
        let mut out = std::ptr::null_mut();
        // SAFETY: `specs` has `len` entries; `out` is written.
        check(unsafe {
            xbuf_view_slice(
                self.base.ptr(),
                specs.as_ptr(),
                specs.len() as c_int,
                &mut out,
            )
        })?;
        let o = GilRc::new(Held::new(Obj::from_owned(out), None));
        // Another thread may have made it meanwhile: its object is kept, this one dropped.
        Ok(self.made.get_or_init(|| o).ptr())
    }

    /// The object this View is, when it exists (not for a pending slice not made yet).
    fn own_held(&self) -> Option<&GilRc<Held>> {
        if self.pending.is_none() {
            Some(&self.base)
        } else {
            self.made.get()
        }
    }

    /// The library's view object as a shared reference (made now for a pending slice).
    fn shared_obj(&self) -> PyResult<&GilRc<Held>> {
        if self.pending.is_none() {
            return Ok(&self.base);
        }
        self.xobj()?;
        Ok(self.made.get().expect("made above"))
    }

    /// A slice made when it is first used: `specs` (at most one per dimension, of a view
    /// without suboffsets, whose slices only fail on a released view or an address overflow)
    /// are applied then.
    fn pending_slice<'py>(&self, py: Python<'py>, specs: Specs) -> PyResult<Bound<'py, View>> {
        let base = self.shared_obj()?.clone_ref(py);
        // SAFETY: `pending_init` writes every field.
        unsafe { crate::alloc::new_view_with(py, pending_init(base, specs, self.lent_readonly)) }
    }

    /// `v[key]` for the keys of the View type's own `mp_subscript`, of a live view whose layout
    /// was read, without suboffsets, whose view object exists: a pending slice when the key is
    /// a slice or a tuple of at most two slices (exactly those types) whose bounds
    /// `quick_slice` resolves; an item's value when it is one int per dimension (exactly ints,
    /// at most four) of plain items (see `quick_item`). A new reference (NULL with an exception set when the allocation
    /// fails), or `None` for every other case, left to `__getitem__` (nothing was done that
    /// it would see or repeat: no Python code ran, no exception is left set).
    ///
    /// # Safety
    /// The GIL is held; `key` is a live object.
    pub unsafe fn quick_getitem(
        &self,
        py: Python<'_>,
        key: *mut ffi::PyObject,
    ) -> Option<*mut ffi::PyObject> {
        if self.released.load(Ordering::Acquire) {
            return None;
        }
        let m = self.meta.get()?;
        if m.suboffsets.is_some() {
            return None;
        }
        let held = self.own_held()?;
        let slice_type = std::ptr::addr_of_mut!(ffi::PySlice_Type);
        let tuple_type = std::ptr::addr_of_mut!(ffi::PyTuple_Type);
        let int_type = std::ptr::addr_of_mut!(ffi::PyLong_Type);
        let ty = ffi::Py_TYPE(key);
        // An item: one int per dimension (exactly ints).
        if ty == int_type && m.shape.len() == 1 {
            return self.quick_item(py, m, held, &[key]);
        }
        if ty == tuple_type {
            let n = ffi::PyTuple_Size(key);
            // (An empty tuple has no item 0: asking sets an error.)
            if (1..=4).contains(&n)
                && n as usize == m.shape.len()
                && ffi::Py_TYPE(ffi::PyTuple_GetItem(key, 0)) == int_type
            {
                let mut keys = [std::ptr::null_mut(); 4];
                for (k, slot) in keys.iter_mut().enumerate().take(n as usize) {
                    // Borrowed: the tuple holds its items while `key` lives.
                    let item = ffi::PyTuple_GetItem(key, k as ffi::Py_ssize_t);
                    if item.is_null() || ffi::Py_TYPE(item) != int_type {
                        return None;
                    }
                    *slot = item;
                }
                return self.quick_item(py, m, held, &keys[..n as usize]);
            }
        }
        let specs = if ty == slice_type {
            Specs::one(quick_slice_ptr(key, *m.shape.first()?)?)
        } else if ty == tuple_type {
            let n = ffi::PyTuple_Size(key);
            if !(1..=2).contains(&n) || n as usize > m.shape.len() {
                return None;
            }
            let mut inline = [ALL; 2];
            for (k, slot) in inline.iter_mut().enumerate().take(n as usize) {
                // Borrowed: the tuple holds its items while `key` lives.
                let item = ffi::PyTuple_GetItem(key, k as ffi::Py_ssize_t);
                if item.is_null() || ffi::Py_TYPE(item) != slice_type {
                    return None;
                }
                *slot = quick_slice_ptr(item, m.shape[k])?;
            }
            Specs {
                len: n as usize,
                inline,
                heap: None,
            }
        } else {
            return None;
        };
        let init = pending_init(held.clone_ref(py), specs, self.lent_readonly);
        // SAFETY: `pending_init` writes every field.
        Some(crate::alloc::new_view_raw(init))
    }

    /// `quick_getitem` for an item: the value of the item at the ints `keys` (one per
    /// dimension) of a view whose items are plain numbers (`Meta::plain_items`); `None` when
    /// an index does not fit `Py_ssize_t` or is out of range, left to `__getitem__`.
    ///
    /// # Safety
    /// As `quick_getitem`'s; `keys` are int objects; `held` is this view's object.
    unsafe fn quick_item(
        &self,
        py: Python<'_>,
        m: &Meta,
        held: &GilRc<Held>,
        keys: &[*mut ffi::PyObject],
    ) -> Option<*mut ffi::PyObject> {
        if !m.plain_items {
            return None;
        }
        let mut idx = [0isize; 4];
        for (slot, &k) in idx.iter_mut().zip(keys) {
            let i = ffi::PyLong_AsSsize_t(k);
            if i == -1 && !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            *slot = i;
        }
        let mut p = std::ptr::null_mut();
        if xbuf_view_item_pointer(held.ptr(), idx.as_ptr(), keys.len() as c_int, &mut p) != XBUF_OK
        {
            return None;
        }
        // The item's `itemsize` bytes lie in the view's memory, held by this view.
        let item = std::slice::from_raw_parts(p.cast::<u8>(), m.itemsize as usize);
        Some(match item_value(py, &m.fmt, item) {
            Ok(v) => v.into_ptr(),
            // Not for plain items; handled all the same.
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        })
    }

    /// The View type's own `bf_getbuffer` for the requests the shared export answers, once it
    /// was taken (see `__getbuffer__`), and for a writable request of a read-only view (refused
    /// with `__getbuffer__`'s `BufferError`, without its call: NumPy's `frombuffer` asks for a
    /// writable buffer first). `Quick::Done` when `view` was filled, holding a new reference to
    /// `slf`; `Quick::Refused` with the exception set; `Quick::HandOn` for every other case (a
    /// released view, a layout not read yet, other requests), left to `__getbuffer__` with
    /// nothing changed.
    ///
    /// # Safety
    /// The GIL is held; `slf` is this View's object; `view` points to a `Py_buffer` to fill.
    pub unsafe fn quick_getbuffer(
        &self,
        slf: *mut ffi::PyObject,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> Quick {
        if self.released.load(Ordering::Acquire) {
            return Quick::HandOn;
        }
        let Some(m) = self.meta.get() else {
            return Quick::HandOn;
        };
        let readonly = self.lent_readonly || m.readonly;
        if readonly && flags & ffi::PyBUF_WRITABLE != 0 {
            ffi::PyErr_SetString(ffi::PyExc_BufferError, READONLY_REFUSAL.as_ptr());
            // A refusing exporter leaves no object in the consumer's struct.
            (*view).obj = std::ptr::null_mut();
            return Quick::Refused;
        }
        let (whole, simple) = shared_request(m, flags);
        if !(whole || simple) {
            return Quick::HandOn;
        }
        let shared = self.shared.get();
        let Some(info) = shared.info.as_deref() else {
            return Quick::HandOn;
        };
        shared.users += 1;
        fill_py_buffer(&mut *view, &info.0, readonly, simple, std::ptr::null_mut());
        ffi::Py_IncRef(slf);
        (*view).obj = slf;
        Quick::Done
    }

    /// The View type's own `bf_releasebuffer` for a consumer of the shared export that is not
    /// its last one after the view was released: `true` when done, `false` for every other
    /// case, left to `__releasebuffer__` with nothing changed.
    ///
    /// # Safety
    /// The GIL is held; `view` is a `Py_buffer` this View filled.
    pub unsafe fn quick_releasebuffer(&self, view: *mut ffi::Py_buffer) -> bool {
        if !(*view).internal.is_null() {
            return false;
        }
        let shared = self.shared.get();
        if shared.users == 0 || (shared.users == 1 && shared.released) {
            return false;
        }
        shared.users -= 1;
        true
    }

    /// `key` as one slice per dimension when it is a slice or a tuple of slices of a view
    /// whose slices can be made later; `None` otherwise.
    fn lazy_specs(&self, key: &Bound<'_, PyAny>) -> PyResult<Option<Specs>> {
        let m = self.meta()?;
        if m.suboffsets.is_some() {
            return Ok(None);
        }
        let specs = if key.is_instance_of::<PySlice>() {
            if m.shape.is_empty() {
                return Ok(None);
            }
            Specs::one(slice_of(key, m.shape[0])?)
        } else if let Ok(t) = key.cast::<PyTuple>() {
            let n = t.len();
            if n > m.shape.len() || n == 0 {
                return Ok(None);
            }
            let mut inline = [ALL; 2];
            let mut heap = Vec::new();
            for k in 0..n {
                // Borrowed: the tuple holds its items while `key` lives.
                let item = t.get_borrowed_item(k)?;
                if !item.is_instance_of::<PySlice>() {
                    return Ok(None);
                }
                let s = slice_of(&item, m.shape[k])?;
                match inline.get_mut(k) {
                    Some(slot) if n <= 2 => *slot = s,
                    _ => heap.push(s),
                }
            }
            if n <= 2 {
                Specs {
                    len: n,
                    inline,
                    heap: None,
                }
            } else {
                Specs::from(heap)
            }
        } else {
            return Ok(None);
        };
        Ok(Some(specs))
    }

    pub fn live(&self) -> PyResult<()> {
        if self.released.load(Ordering::Acquire) {
            return Err(PyValueError::new_err(
                "operation forbidden on a released xbuf.View",
            ));
        }
        Ok(())
    }

    pub fn meta(&self) -> PyResult<&Meta> {
        self.live()?;
        if let Some(m) = self.meta.get() {
            return Ok(m);
        }
        let m = Meta::read(self.xobj()?)?;
        Ok(self.meta.get_or_init(|| Box::new(m)))
    }

    /// The export the view shares between its Python consumers (see `__getbuffer__`), for one
    /// more of them (taken now when none is held): a view filled with the whole layout
    /// (`XBUF_FULL_RO`, or `XBUF_FULL` for a writable view), which stays filled until the
    /// matching [`View::unshare_export`]. Fails for a released view.
    pub fn share_export(&self, _py: Python<'_>) -> PyResult<*const xbuf_bufferinfo> {
        self.live()?;
        // SAFETY: the GIL is held (the token).
        let shared = unsafe { self.shared.get() };
        if shared.info.is_none() {
            let f = if self.is_readonly()? {
                XBUF_FULL_RO
            } else {
                XBUF_FULL
            };
            shared.info = Some(Box::new(Info::get(self.xobj()?, f)?));
        }
        shared.users += 1;
        Ok(shared.info.as_deref().expect("set above").raw())
    }

    /// One Python consumer of the shared export is done with it: the last one after the view
    /// was released hands it back.
    pub fn unshare_export(&self, _py: Python<'_>) {
        // SAFETY: the GIL is held (the token).
        let shared = unsafe { self.shared.get() };
        shared.users -= 1;
        if shared.users == 0 && shared.released {
            shared.info = None;
        }
    }

    fn derived(&self, py: Python<'_>, p: *mut xbuf_object) -> View {
        View::wrap(
            Obj::from_owned(p),
            self.base.source.as_ref().map(|s| s.clone_ref(py)),
        )
        .readonly_view(self.lent_readonly)
    }

    /// A view made by `op`, which fills an out-pointer and returns a status.
    fn make(
        &self,
        py: Python<'_>,
        op: impl FnOnce(*mut xbuf_object, *mut *mut xbuf_object) -> c_int,
    ) -> PyResult<View> {
        let mut out = std::ptr::null_mut();
        check(op(self.xobj()?, &mut out))?;
        Ok(self.derived(py, out))
    }

    fn slice_view(&self, py: Python<'_>, specs: &[xbuf_range]) -> PyResult<View> {
        // SAFETY: `specs` has `len` entries.
        self.make(py, |o, out| unsafe {
            xbuf_view_slice(o, specs.as_ptr(), specs.len() as c_int, out)
        })
    }

    fn index_view(&self, py: Python<'_>, idx: &[isize]) -> PyResult<View> {
        // SAFETY: `idx` has `len` entries.
        self.make(py, |o, out| unsafe {
            xbuf_view_index(o, idx.as_ptr(), idx.len() as c_int, out)
        })
    }

    fn permute_view(&self, py: Python<'_>, axes: &[c_int]) -> PyResult<View> {
        // SAFETY: `axes` has `len` entries.
        self.make(py, |o, out| unsafe {
            xbuf_view_permute(o, axes.as_ptr(), axes.len() as c_int, out)
        })
    }

    /// The address of the item at `idx` (one index per dimension).
    fn item_ptr(&self, idx: &[isize]) -> PyResult<*mut u8> {
        let mut p = std::ptr::null_mut();
        // SAFETY: `idx` has `len` entries; `p` is written.
        check(unsafe {
            xbuf_view_item_pointer(self.xobj()?, idx.as_ptr(), idx.len() as c_int, &mut p)
        })?;
        Ok(p.cast())
    }

    fn item_at<'py>(&self, py: Python<'py>, idx: &[isize]) -> PyResult<Bound<'py, PyAny>> {
        let m = self.meta()?;
        let p = self.item_ptr(idx)?;
        // SAFETY: the item's `itemsize` bytes lie in the view's memory, held by this view.
        let item = unsafe { std::slice::from_raw_parts(p, m.itemsize as usize) };
        item_value(py, &m.fmt, item)
    }

    fn set_item_at(&self, py: Python<'_>, idx: &[isize], value: &Bound<'_, PyAny>) -> PyResult<()> {
        let m = self.meta()?;
        if self.is_readonly()? {
            return Err(PyTypeError::new_err("cannot modify read-only memory"));
        }
        let bytes = pack(py, m, value)?;
        let p = self.item_ptr(idx)?;
        // SAFETY: a writable view's item of `itemsize` bytes; `bytes` has exactly that many.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
        Ok(())
    }

    /// Resolves a key into the view it selects, or into one item's indices.
    fn select(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Selected> {
        let m = self.meta()?;
        let ndim = m.shape.len();
        let parts: Vec<Bound<'_, PyAny>> = if let Ok(t) = key.cast::<PyTuple>() {
            t.iter().collect()
        } else {
            vec![key.clone()]
        };
        // Each part: an index, a slice, or one Ellipsis standing for the dimensions not named.
        let mut keys: Vec<Key> = Vec::with_capacity(parts.len());
        let mut ellipsis = None;
        for p in &parts {
            if p.is_instance_of::<PySlice>() {
                keys.push(Key::Slice(unpack_slice(p)?));
            } else if p.is(PyEllipsis::get(py)) {
                if ellipsis.is_some() {
                    return Err(PyIndexError::new_err(
                        "an index can only have a single ellipsis ('...')",
                    ));
                }
                ellipsis = Some(keys.len());
            } else {
                match index_of(p) {
                    Ok(i) => keys.push(Key::Index(i)),
                    // As memoryview: an int beyond the index range is an IndexError.
                    Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
                        return Err(PyIndexError::new_err(
                            "cannot fit 'int' into an index-sized integer",
                        ));
                    }
                    Err(_) => {
                        return Err(PyTypeError::new_err(format!(
                            "xbuf.View: invalid index or slice key of type '{}' (integers, slices and '...' are valid)",
                            p.get_type().name()?
                        )));
                    }
                }
            }
        }
        if keys.len() > ndim {
            if ndim == 0 {
                return Err(PyTypeError::new_err("invalid indexing of 0-dim memory"));
            }
            return Err(PyIndexError::new_err(format!(
                "too many indices: the view has {ndim} dimensions, {} were indexed",
                keys.len()
            )));
        }
        if let Some(at) = ellipsis {
            let fill = ndim - keys.len();
            keys.splice(at..at, std::iter::repeat_n(Key::Slice(ALL), fill));
        }
        let ints: Vec<usize> = (0..keys.len())
            .filter(|&k| matches!(keys[k], Key::Index(_)))
            .collect();
        if ints.len() == ndim && ellipsis.is_none() {
            let idx: Vec<isize> = keys
                .iter()
                .map(|k| match k {
                    Key::Index(i) => *i,
                    Key::Slice(_) => unreachable!(),
                })
                .collect();
            return Ok(Selected::Item(idx));
        }
        if ints.is_empty() {
            let specs: Vec<xbuf_range> = keys
                .iter()
                .map(|k| match k {
                    Key::Slice(s) => *s,
                    Key::Index(_) => unreachable!(),
                })
                .collect();
            return Ok(Selected::View(self.slice_view(py, &specs)?));
        }
        // Indices first (dimensions indexed with integers moved to the front when they are
        // not there already), then the slices of what remains.
        let prefix = ints.iter().enumerate().all(|(k, &d)| k == d);
        let base;
        let target: &View = if prefix {
            self
        } else {
            let mut axes: Vec<c_int> = ints.iter().map(|&d| d as c_int).collect();
            axes.extend((0..ndim).filter(|d| !ints.contains(d)).map(|d| d as c_int));
            base = self.permute_view(py, &axes)?;
            &base
        };
        let idx: Vec<isize> = ints
            .iter()
            .map(|&d| match keys[d] {
                Key::Index(i) => i,
                Key::Slice(_) => unreachable!(),
            })
            .collect();
        let indexed = target.index_view(py, &idx)?;
        let specs: Vec<xbuf_range> = keys
            .iter()
            .filter_map(|k| match k {
                Key::Slice(s) => Some(*s),
                Key::Index(_) => None,
            })
            .collect();
        if specs.iter().all(is_all) {
            return Ok(Selected::View(indexed));
        }
        Ok(Selected::View(indexed.slice_view(py, &specs)?))
    }

    fn detach_if_large<T: Send>(
        &self,
        py: Python<'_>,
        nbytes: isize,
        f: impl FnOnce() -> T + Send,
    ) -> T {
        if nbytes >= DETACH_BYTES {
            py.detach(f)
        } else {
            f()
        }
    }
}

/// Writes a pending slice of `base` by `specs` (see `View::pending_slice`) in place.
fn pending_init(base: GilRc<Held>, specs: Specs, lent_readonly: bool) -> impl FnOnce(*mut View) {
    // Every field of View is listed here (a field added to View and not below fails to
    // compile).
    let _ = |v: &View| {
        let View {
            base: _,
            pending: _,
            made: _,
            meta: _,
            lent_readonly: _,
            released: _,
            shared: _,
        } = v;
    };
    move |p| {
        // SAFETY: `p` is the place of a View, written here field by field, in place.
        unsafe {
            std::ptr::addr_of_mut!((*p).base).write(base);
            std::ptr::addr_of_mut!((*p).pending).write(Some(specs));
            std::ptr::addr_of_mut!((*p).made).write(OnceLock::new());
            std::ptr::addr_of_mut!((*p).meta).write(OnceLock::new());
            std::ptr::addr_of_mut!((*p).lent_readonly).write(lent_readonly);
            std::ptr::addr_of_mut!((*p).released).write(AtomicBool::new(false));
            std::ptr::addr_of_mut!((*p).shared).write(GilCell::new(SharedExport::default()));
        }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // Runs with the GIL held (the Python object's deallocation), as do all the methods
        // that read or change the counts and flags used here.
        if let Some(own) = self.own_held() {
            // The owner is gone: its pending slices keep the export until they go.
            own.owner_released.store(false, Ordering::Release);
        }
        if self.pending.is_some()
            && self.base.owner_released.load(Ordering::Acquire)
            && self.base.count() == 2
        {
            // The last pending slice of a released owner that still lives.
            // SAFETY: a live view object.
            unsafe { xbuf_view_release(self.base.ptr()) };
            self.base.owner_released.store(false, Ordering::Release);
        }
    }
}

/// The slices of a pending slice: up to two without an allocation.
pub struct Specs {
    len: usize,
    inline: [xbuf_range; 2],
    heap: Option<Box<[xbuf_range]>>,
}

impl Specs {
    fn one(s: xbuf_range) -> Specs {
        Specs {
            len: 1,
            inline: [s, ALL],
            heap: None,
        }
    }
    fn as_slice(&self) -> &[xbuf_range] {
        match &self.heap {
            Some(h) => h,
            None => &self.inline[..self.len],
        }
    }
}

impl From<Vec<xbuf_range>> for Specs {
    fn from(v: Vec<xbuf_range>) -> Specs {
        if v.len() <= 2 {
            let mut inline = [ALL; 2];
            inline[..v.len()].copy_from_slice(&v);
            Specs {
                len: v.len(),
                inline,
                heap: None,
            }
        } else {
            Specs {
                len: v.len(),
                inline: [ALL; 2],
                heap: Some(v.into_boxed_slice()),
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Key {
    Index(isize),
    Slice(xbuf_range),
}

enum Selected {
    Item(Vec<isize>),
    View(View),
}

const OMIT: isize = isize::MIN;
const ALL: xbuf_range = xbuf_range {
    start: OMIT,
    stop: OMIT,
    step: OMIT,
};

fn is_all(s: &xbuf_range) -> bool {
    s.start == OMIT && s.stop == OMIT && (s.step == OMIT || s.step == 1)
}

/// A Python slice as an `xbuf_range`: omitted bounds become `XBUF_SLICE_OMIT` (`PySlice_Unpack`
/// gives `PY_SSIZE_T_MIN` for an omitted stop of a negative step, or a bound the library clamps
/// exactly as omission), bounds beyond the `Py_ssize_t` range the nearest value in it that
/// means the same.
fn unpack_slice(s: &Bound<'_, PyAny>) -> PyResult<xbuf_range> {
    let (mut start, mut stop, mut step) = (0, 0, 0);
    // SAFETY: `s` is a slice object; the GIL is held.
    if unsafe { PySlice_Unpack(s.as_ptr(), &mut start, &mut stop, &mut step) } != 0 {
        return Err(PyErr::fetch(s.py()));
    }
    // A bound below the Py_ssize_t range comes back as PY_SSIZE_T_MIN, which is also
    // `XBUF_SLICE_OMIT`: omission means the same for a start with a positive step and a stop
    // with a negative one (the first item, before the first item), but not for the others
    // (the end, the last item), which take the next value, clamped as Python does.
    if step > 0 && stop == OMIT {
        stop = OMIT + 1;
    }
    if step < 0 && start == OMIT {
        start = OMIT + 1;
    }
    Ok(xbuf_range { start, stop, step })
}

/// A Python slice as an `xbuf_range` for a dimension of `n` items: the resolved bounds when
/// `quick_slice` is sure of them, else `unpack_slice`'s.
#[inline]
fn slice_of(s: &Bound<'_, PyAny>, n: isize) -> PyResult<xbuf_range> {
    match quick_slice(s, n) {
        Some(r) => Ok(r),
        None => unpack_slice(s),
    }
}

/// A Python slice of a dimension of `n` items as absolute bounds, through
/// `PySlice_GetIndices`, which reads bounds that are ints without converting them through
/// `__index__` and adds `n` to negative ones. Its answer is taken only when it is Python's
/// own: no error (an int too large sets one), a start inside the dimension, a stop inside it
/// or, for a negative step, the position before the first item (an omitted stop, kept as
/// omitted). `None` for anything else (bounds of other types, zero steps, starts and stops
/// beyond the ends), which `unpack_slice` reads as before.
#[inline]
fn quick_slice(s: &Bound<'_, PyAny>, n: isize) -> Option<xbuf_range> {
    // SAFETY: `s` is a slice object; the GIL is held.
    unsafe { quick_slice_ptr(s.as_ptr(), n) }
}

/// `quick_slice` of a slice object by pointer.
///
/// # Safety
/// `s` is a live slice object; the GIL is held.
#[inline]
unsafe fn quick_slice_ptr(s: *mut ffi::PyObject, n: isize) -> Option<xbuf_range> {
    let (mut start, mut stop, mut step) = (0, 0, 0);
    // SAFETY: `s` is a slice object; the GIL is held.
    let rc = unsafe { ffi::PySlice_GetIndices(s, n, &mut start, &mut stop, &mut step) };
    // SAFETY: the GIL is held; no error was set when the method was called, so one set now
    // is `PySlice_GetIndices`'s, which `unpack_slice` will answer in its own way.
    unsafe {
        if !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
    }
    // Returned 0: start < n, stop <= n, step != 0.
    if rc != 0 || start < 0 || step == OMIT {
        return None;
    }
    let stop = if stop >= 0 {
        stop
    } else if stop == -1 && step < 0 {
        OMIT
    } else {
        return None;
    };
    Some(xbuf_range { start, stop, step })
}

/// An integer key (anything with `__index__`), refusing bool-like floats.
fn index_of(p: &Bound<'_, PyAny>) -> PyResult<isize> {
    if p.is_instance_of::<pyo3::types::PyFloat>() {
        return Err(PyTypeError::new_err("float index"));
    }
    p.extract::<isize>()
}

/// The bytes of one item holding `value`: `struct.pack` where the struct module parses the
/// format (a tuple or list for items of several values), else a bytes-like object of exactly
/// `itemsize` bytes.
fn pack(py: Python<'_>, m: &Meta, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let st = py.import("struct")?;
    // The struct module's own answer to whether it parses the format, and how many values an
    // item of it holds.
    let values = st
        .call_method1("calcsize", (m.format.as_str(),))
        .and_then(|n| n.extract::<isize>())
        .ok()
        .filter(|&n| n == m.itemsize)
        .map(|n| {
            st.call_method1(
                "unpack",
                (m.format.as_str(), PyBytes::new(py, &vec![0u8; n as usize])),
            )
            .and_then(|t| t.len())
        })
        .transpose()?;
    if let Some(count) = values {
        let pack = st.getattr("pack")?;
        let packed = if count == 1 {
            pack.call1((m.format.as_str(), value))
        } else {
            let mut args = vec![PyString::new(py, &m.format).into_any()];
            for v in value.try_iter()? {
                args.push(v?);
            }
            pack.call1(PyTuple::new(py, args)?)
        };
        // As memoryview: TypeError for a value of the wrong type, ValueError for one out of
        // the format's range.
        let packed = packed.map_err(|e| {
            let text = e.value(py).to_string();
            let msg = format!("xbuf.View: invalid value for format '{}': {text}", m.format);
            if e.is_instance_of::<PyTypeError>(py) || text.contains("required argument is not") {
                PyTypeError::new_err(msg)
            } else {
                PyValueError::new_err(msg)
            }
        })?;
        let b: Vec<u8> = packed.extract()?;
        return Ok(b);
    }
    let b: Vec<u8> = match value.extract::<Vec<u8>>() {
        Ok(b) if !value.is_instance_of::<PyList>() => b,
        _ => {
            let v = View::new_from(py, value, false)?;
            v.tobytes_impl(py, 'C')?
        }
    };
    if b.len() as isize != m.itemsize {
        return Err(PyValueError::new_err(format!(
            "xbuf.View: items of format '{}' are set from {} bytes (the struct module does not know the format), got {}",
            m.format,
            m.itemsize,
            b.len()
        )));
    }
    Ok(b)
}

impl View {
    /// A view of any buffer exporter (a View: a view of its view object).
    pub fn new_from(py: Python<'_>, obj: &Bound<'_, PyAny>, writable: bool) -> PyResult<View> {
        let flags = if writable { XBUF_FULL } else { XBUF_FULL_RO };
        if let Ok(other) = obj.cast::<View>() {
            let other = other.get();
            other.live()?;
            let mut out = std::ptr::null_mut();
            // SAFETY: a live view object; `out` is written.
            if writable && other.lent_readonly {
                return Err(pyo3::exceptions::PyBufferError::new_err(
                    "xbuf.View: the view is read-only; a writable view of it was requested",
                ));
            }
            check(unsafe { xbuf_view_new(other.xobj()?, flags, &mut out) })
                .map_err(as_buffer_error)?;
            return Ok(other.derived(py, out).readonly_view(!writable));
        }
        let base = Obj::from_owned(object_from_python(obj, writable)?);
        let mut out = std::ptr::null_mut();
        // SAFETY: a live object; `out` is written.
        check(unsafe { xbuf_view_new(base.ptr(), flags, &mut out) }).map_err(as_buffer_error)?;
        Ok(View::wrap(Obj::from_owned(out), Some(obj.clone().unbind())))
    }

    /// A view of the xbuf object `obj` (borrowed), writable when asked.
    pub fn of_object(obj: *mut xbuf_object, writable: bool) -> PyResult<View> {
        let flags = if writable { XBUF_FULL } else { XBUF_FULL_RO };
        let mut out = std::ptr::null_mut();
        // SAFETY: the caller holds `obj`; `out` is written.
        check(unsafe { xbuf_view_new(obj, flags, &mut out) }).map_err(as_buffer_error)?;
        Ok(View::wrap(Obj::from_owned(out), None).readonly_view(!writable))
    }

    pub fn tobytes_impl(&self, py: Python<'_>, order: char) -> PyResult<Vec<u8>> {
        let m = self.meta()?;
        let len = m.nbytes as usize;
        let mut out = vec![0u8; len];
        let obj = SendPtr(self.xobj()?);
        let dst = SendPtr(out.as_mut_ptr());
        let rc = self.detach_if_large(py, m.nbytes, move || {
            let (obj, dst) = (obj, dst);
            // SAFETY: `dst` has `len` bytes.
            unsafe {
                xbuf_view_tobytes(
                    obj.0,
                    order as c_char,
                    dst.0.cast(),
                    len,
                    std::ptr::null_mut(),
                )
            }
        });
        check(rc)?;
        Ok(out)
    }

    fn tolist_rec<'py>(
        &self,
        py: Python<'py>,
        m: &Meta,
        idx: &mut Vec<isize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = idx.len();
        if d == m.shape.len() {
            return self.item_at(py, idx);
        }
        let mut items = Vec::with_capacity(m.shape[d] as usize);
        for i in 0..m.shape[d] {
            idx.push(i);
            items.push(self.tolist_rec(py, m, idx)?);
            idx.pop();
        }
        Ok(PyList::new(py, items)?.into_any())
    }
}

/// A view creation that failed because the exporter refused the request is a `BufferError`,
/// as memoryview raises it.
fn as_buffer_error(e: PyErr) -> PyErr {
    Python::attach(|py| {
        if e.is_instance_of::<PyTypeError>(py) {
            pyo3::exceptions::PyBufferError::new_err(e.value(py).to_string())
        } else {
            e
        }
    })
}

#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: used only to hand pointers the caller keeps valid to a closure run with the GIL
// released on the same thread.
unsafe impl<T> Send for SendPtr<T> {}

#[pymethods]
impl View {
    #[new]
    #[pyo3(signature = (obj, writable = false))]
    fn py_new(py: Python<'_>, obj: &Bound<'_, PyAny>, writable: bool) -> PyResult<View> {
        View::new_from(py, obj, writable)
    }

    /// The item format (struct-module syntax with PEP 3118's extensions).
    #[getter]
    fn format(&self) -> PyResult<&str> {
        Ok(&self.meta()?.format)
    }
    /// The size of one item in bytes.
    #[getter]
    fn itemsize(&self) -> PyResult<isize> {
        Ok(self.meta()?.itemsize)
    }
    /// The number of dimensions.
    #[getter]
    fn ndim(&self) -> PyResult<usize> {
        Ok(self.meta()?.shape.len())
    }
    /// The extent of each dimension.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.meta()?.shape)
    }
    /// The byte step of each dimension.
    #[getter]
    fn strides<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.meta()?.strides)
    }
    /// The suboffset of each dimension (PIL-style indirection), or ``()`` when there are none.
    #[getter]
    fn suboffsets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        match &self.meta()?.suboffsets {
            Some(s) => PyTuple::new(py, s),
            None => Ok(PyTuple::empty(py)),
        }
    }
    /// The size of the items in bytes: ``product(shape) * itemsize``.
    #[getter]
    fn nbytes(&self) -> PyResult<isize> {
        Ok(self.meta()?.nbytes)
    }
    /// Whether the memory may not be written through this view.
    #[getter]
    fn readonly(&self) -> PyResult<bool> {
        self.is_readonly()
    }
    /// Whether the items are C-contiguous (row-major).
    #[getter]
    fn c_contiguous(&self) -> PyResult<bool> {
        Ok(self.meta()?.c_contiguous)
    }
    /// Whether the items are Fortran-contiguous (column-major).
    #[getter]
    fn f_contiguous(&self) -> PyResult<bool> {
        Ok(self.meta()?.f_contiguous)
    }
    /// Whether the items are C- or Fortran-contiguous.
    #[getter]
    fn contiguous(&self) -> PyResult<bool> {
        let m = self.meta()?;
        Ok(m.c_contiguous || m.f_contiguous)
    }
    /// The device of the memory as DLPack's ``(device_type, device_id)``: ``(1, 0)`` for CPU.
    #[getter]
    fn device(&self) -> PyResult<(i32, i32)> {
        self.live()?;
        Ok((1, 0))
    }
    /// The Python object whose memory this is (``None`` for memory the library allocated).
    #[getter]
    fn obj(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.live()?;
        // A pending slice's base is the view it was sliced from: the same memory.
        Ok(self.base.source.as_ref().map(|s| s.clone_ref(py)))
    }
    /// The transpose: the dimensions in reverse order.
    #[getter(T)]
    fn transpose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, View>> {
        self.live()?;
        // SAFETY: a live view; `out` is written.
        new_view(
            py,
            self.make(py, |o, out| unsafe { xbuf_view_transpose(o, out) })?,
        )
    }

    /// ``permute(*axes)``: the dimensions reordered; dimension ``k`` of the result is
    /// dimension ``axes[k]`` of this view (also accepts one sequence).
    #[pyo3(signature = (*axes))]
    fn permute<'py>(
        &self,
        py: Python<'py>,
        axes: &Bound<'_, PyTuple>,
    ) -> PyResult<Bound<'py, View>> {
        self.live()?;
        let items: Vec<Bound<'_, PyAny>> =
            if axes.len() == 1 && axes.get_item(0)?.extract::<isize>().is_err() {
                axes.get_item(0)?.try_iter()?.collect::<PyResult<_>>()?
            } else {
                axes.iter().collect()
            };
        let mut perm = Vec::with_capacity(items.len());
        for a in items {
            let a: isize = a.extract()?;
            perm.push(
                c_int::try_from(a)
                    .map_err(|_| PyValueError::new_err(format!("axis {a} out of range")))?,
            );
        }
        new_view(py, self.permute_view(py, &perm)?)
    }

    /// ``cast(format, shape=None)``: the same memory read as items of ``format`` in ``shape``
    /// (one dimension of as many items as fit when omitted). The view must be C-contiguous and
    /// the byte size is kept; any format may become any other.
    #[pyo3(signature = (format, shape = None))]
    fn cast<'py>(
        &self,
        py: Python<'py>,
        format: &str,
        shape: Option<Vec<isize>>,
    ) -> PyResult<Bound<'py, View>> {
        self.live()?;
        let f = CString::new(format).map_err(|_| PyValueError::new_err("format contains NUL"))?;
        let n = shape.as_ref().map_or(0, |s| s.len());
        if n > 64 {
            return Err(PyValueError::new_err(format!(
                "ndim {n} exceeds the limit of 64"
            )));
        }
        let sp = shape.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        // SAFETY: `f` is NUL-terminated; `sp` has `n` entries or is NULL.
        let v = self.make(py, |o, out| unsafe {
            xbuf_view_cast(o, f.as_ptr(), n as c_int, sp, out)
        })?;
        new_view(py, v)
    }

    /// A read-only view of the same memory.
    fn toreadonly<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, View>> {
        self.live()?;
        // SAFETY: a live view; `out` is written.
        let v = self
            .make(py, |o, out| unsafe { xbuf_view_new(o, XBUF_FULL_RO, out) })?
            .readonly_view(true);
        new_view(py, v)
    }

    /// ``tobytes(order='C')``: the items as bytes, in ``'C'``, ``'F'`` or ``'A'`` order.
    #[pyo3(signature = (order = "C"))]
    fn tobytes<'py>(&self, py: Python<'py>, order: Option<&str>) -> PyResult<Bound<'py, PyBytes>> {
        let order = match order.unwrap_or("C") {
            "C" => 'C',
            "F" => 'F',
            "A" => 'A',
            o => {
                return Err(PyValueError::new_err(format!(
                    "order must be 'C', 'F' or 'A', not '{o}'"
                )))
            }
        };
        let m = self.meta()?;
        let len = m.nbytes as usize;
        let obj = SendPtr(self.xobj()?);
        let mut rc = XBUF_OK;
        let b = PyBytes::new_with(py, len, |buf: &mut [u8]| {
            let dst = SendPtr(buf.as_mut_ptr());
            rc = self.detach_if_large(py, m.nbytes, move || {
                let (obj, dst) = (obj, dst);
                // SAFETY: `dst` has `len` bytes.
                unsafe {
                    xbuf_view_tobytes(
                        obj.0,
                        order as c_char,
                        dst.0.cast(),
                        len,
                        std::ptr::null_mut(),
                    )
                }
            });
            Ok(())
        })?;
        check(rc)?;
        Ok(b)
    }

    /// ``hex(sep=None, bytes_per_sep=1)``: the C-order bytes as lowercase hexadecimal.
    #[pyo3(signature = (sep = None, bytes_per_sep = 1))]
    fn hex<'py>(
        &self,
        py: Python<'py>,
        sep: Option<&Bound<'py, PyAny>>,
        bytes_per_sep: isize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.meta()?;
        if let Some(sep) = sep {
            let b = self.tobytes(py, None)?;
            return b.call_method1("hex", (sep, bytes_per_sep));
        }
        let cap = (m.nbytes as usize) * 2 + 1;
        let mut out = vec![0u8; cap];
        // SAFETY: `out` has `cap` bytes.
        check(unsafe {
            xbuf_view_hex(
                self.xobj()?,
                out.as_mut_ptr().cast(),
                cap,
                std::ptr::null_mut(),
            )
        })?;
        out.pop();
        // SAFETY: hexadecimal digits are ASCII.
        Ok(PyString::new(py, unsafe { std::str::from_utf8_unchecked(&out) }).into_any())
    }

    /// The items as nested lists of Python values (one level per dimension; a
    /// zero-dimensional view is its item), by the library's value rule.
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.meta()?;
        let mut idx = Vec::with_capacity(m.shape.len());
        self.tolist_rec(py, m, &mut idx)
    }

    /// The items as JSON text, as the library renders it (``xbuf_view_tolist``).
    fn tojson(&self, py: Python<'_>) -> PyResult<String> {
        self.live()?;
        let obj = SendPtr(self.xobj()?);
        let (rc, text) = py.detach(move || {
            let obj = obj;
            let mut needed = 0usize;
            // SAFETY: a size query.
            let rc = unsafe { xbuf_view_tolist(obj.0, std::ptr::null_mut(), 0, &mut needed) };
            if rc != XBUF_OK {
                return (rc, (Vec::new(), last_message()));
            }
            let mut buf = vec![0u8; needed];
            // SAFETY: `buf` has `needed` bytes.
            let rc = unsafe {
                xbuf_view_tolist(obj.0, buf.as_mut_ptr().cast(), needed, std::ptr::null_mut())
            };
            (
                rc,
                (
                    buf,
                    if rc == XBUF_OK {
                        String::new()
                    } else {
                        last_message()
                    },
                ),
            )
        });
        let (mut buf, msg) = text;
        if rc != XBUF_OK {
            return Err(exception(rc, msg));
        }
        buf.pop();
        String::from_utf8(buf).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Hands the view's export back now. Views made from this one, and exports taken of it
    /// (``memoryview(v)``, NumPy arrays), keep their own exports and stay valid. Every other
    /// operation on the view raises ``ValueError`` afterwards; releasing again does nothing.
    fn release(&self) -> PyResult<()> {
        if self.released.load(Ordering::Acquire) {
            return Ok(());
        }
        // A pending slice holds no export of its own; a view whose object pending slices of
        // it still share hands its export back when they are gone (each would hold an
        // export of the same memory if it had been made already).
        if let Some(obj) = self.own_held() {
            if obj.count() == 1 {
                // SAFETY: a live view object.
                check(unsafe { xbuf_view_release(obj.ptr()) })?;
            } else {
                obj.owner_released.store(true, Ordering::Release);
            }
        }
        self.released.store(true, Ordering::Release);
        // Python consumers of the shared export keep it until the last of them is done.
        // SAFETY: the GIL is held (a Python method).
        let shared = unsafe { self.shared.get() };
        shared.released = true;
        if shared.users == 0 {
            shared.info = None;
        }
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().live()?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    /// The extent of the first dimension (``TypeError`` for a zero-dimensional view).
    fn __len__(&self) -> PyResult<usize> {
        let m = self.meta()?;
        match m.shape.first() {
            Some(&n) => Ok(n as usize),
            None => Err(PyTypeError::new_err("0-dim memory has no length")),
        }
    }

    /// ``v[key]``: an item's value when every dimension gets an integer, else a View. Keys are
    /// integers, slices and one ``...`` per dimension, in any mix (``v[1:3, ::2]``,
    /// ``v[..., 0]``, ``v[i, j]``).
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // Slices of every dimension given: made when the result is first used.
        if let Some(specs) = self.lazy_specs(key)? {
            return Ok(self.pending_slice(py, specs)?.into_any());
        }
        match self.select(py, key)? {
            Selected::Item(idx) => self.item_at(py, &idx),
            Selected::View(v) => Ok(crate::alloc::new_view(py, v)?.into_any()),
        }
    }

    /// ``v[key] = value``: an item from a value (``struct.pack``'s rules for the formats of the
    /// struct module, else a bytes-like object of ``itemsize`` bytes), or the items a key
    /// selects from any buffer exporter of the same shape and format layout.
    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if self.is_readonly()? {
            return Err(PyTypeError::new_err("cannot modify read-only memory"));
        }
        match self.select(py, key)? {
            Selected::Item(idx) => self.set_item_at(py, &idx, value),
            Selected::View(dst) => {
                let src = View::new_from(py, value, false)?;
                copy_views(py, &dst, &src)
            }
        }
    }

    /// Iterates over the first dimension: items of a one-dimensional view, Views otherwise.
    fn __iter__(slf: Bound<'_, Self>) -> PyResult<ViewIter> {
        let n = slf.get().__len__()?;
        Ok(ViewIter {
            view: slf.unbind(),
            next: 0,
            len: n,
        })
    }

    /// ``==`` and ``!=`` by value against any buffer exporter, for every format: equal shapes
    /// and equal items (``1 == 1.0`` across formats, NaN never equal, structs field by field).
    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let eq = match op {
            CompareOp::Eq => true,
            CompareOp::Ne => false,
            _ => return Ok(py.NotImplemented()),
        };
        let tmp;
        let o: &View = if let Ok(v) = other.cast::<View>() {
            v.get()
        } else {
            match View::new_from(py, other, false) {
                Ok(v) => {
                    tmp = v;
                    &tmp
                }
                Err(_) => return Ok(py.NotImplemented()),
            }
        };
        if self.released.load(Ordering::Acquire) || o.released.load(Ordering::Acquire) {
            let same = std::ptr::eq(self, o);
            return Ok((same == eq)
                .into_pyobject(py)?
                .to_owned()
                .into_any()
                .unbind());
        }
        let nbytes = self.meta()?.nbytes.max(o.meta()?.nbytes);
        let (a, b) = (SendPtr(self.xobj()?), SendPtr(o.xobj()?));
        let (rc, equal) = self.detach_if_large(py, nbytes, move || {
            let (a, b) = (a, b);
            let mut equal = 0;
            // SAFETY: live view objects; `equal` is written.
            let rc = unsafe { xbuf_view_equal(a.0, b.0, &mut equal) };
            (rc, equal)
        });
        check(rc)?;
        Ok(((equal != 0) == eq)
            .into_pyobject(py)?
            .to_owned()
            .into_any()
            .unbind())
    }

    /// The hash of a read-only view's C-order bytes (``ValueError`` for a writable view).
    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        let m = self.meta()?;
        if !self.is_readonly()? {
            return Err(PyValueError::new_err("cannot hash a writable xbuf.View"));
        }
        let obj = SendPtr(self.xobj()?);
        let (rc, h) = self.detach_if_large(py, m.nbytes, move || {
            let obj = obj;
            let mut h = 0u64;
            // SAFETY: a live view object; `h` is written.
            let rc = unsafe { xbuf_view_hash(obj.0, &mut h) };
            (rc, h)
        });
        check(rc)?;
        // -1 is Python's error marker.
        let h = h as isize;
        Ok(if h == -1 { -2 } else { h })
    }

    fn __repr__(&self) -> String {
        match self.meta() {
            Ok(m) => {
                let shape: Vec<String> = m.shape.iter().map(|s| s.to_string()).collect();
                let shape = if shape.len() == 1 {
                    format!("({},)", shape[0])
                } else {
                    format!("({})", shape.join(", "))
                };
                format!(
                    "<xbuf.View format={:?} shape={} {}>",
                    m.format,
                    shape,
                    if m.readonly || self.lent_readonly {
                        "read-only"
                    } else {
                        "writable"
                    }
                )
            }
            Err(_) => "<released xbuf.View>".to_owned(),
        }
    }

    /// The library's export count of the memory's owner and the view object's reference
    /// count, for tests of lifetimes.
    fn _counts(&self) -> PyResult<(isize, isize)> {
        // SAFETY: the view object is live while `self` holds it.
        unsafe { Ok((xbuf_exports(self.xobj()?), xbuf_refcount(self.xobj()?))) }
    }

    /// A PyCapsule named ``"xbuf.object"`` holding one reference to the view's xbuf object
    /// (an ``xbuf_object *``), dropped when the capsule is destroyed.
    fn _to_object_capsule(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.live()?;
        crate::sources::object_capsule(py, self.xobj()?)
    }

    /// A View of the ``xbuf_object *`` in a PyCapsule named ``"xbuf.object"`` (as C extensions
    /// built on libxbuf hand them out). The object must be one of this library's objects.
    #[staticmethod]
    #[pyo3(signature = (capsule, writable = false))]
    fn _from_object_capsule<'py>(
        capsule: &Bound<'py, PyAny>,
        writable: bool,
    ) -> PyResult<Bound<'py, View>> {
        new_view(
            capsule.py(),
            crate::sources::view_from_capsule(capsule, writable)?,
        )
    }

    /// ``__dlpack__(stream=None, max_version=None, dl_device=None, copy=None)``: a DLPack
    /// capsule of the view's memory, zero-copy, per the array API standard: versioned
    /// (``"dltensor_versioned"``, DLPack 1.x, read-only views marked so) when ``max_version``
    /// allows, else the legacy ``"dltensor"`` (refused for read-only views, which it cannot
    /// mark). The tensor holds the view, and the export of the memory the view shares with
    /// its memoryview and NumPy consumers, until its consumer deletes it (on any thread);
    /// ``release()`` meanwhile releases the view, and the memory stays until the tensor goes.
    /// ``BufferError`` for ``copy=True`` and for devices other than the CPU.
    #[pyo3(signature = (*, stream = None, max_version = None, dl_device = None, copy = None))]
    fn __dlpack__(
        slf: &Bound<'_, Self>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        crate::dlpack::dlpack(slf, stream, max_version, dl_device, copy)
    }

    /// ``__dlpack_device__()``: ``(1, 0)``, DLPack's CPU device.
    fn __dlpack_device__(&self) -> PyResult<(i32, i32)> {
        self.live()?;
        Ok((1, 0))
    }

    /// ``__arrow_c_array__(requested_schema=None)``: the Arrow PyCapsule interface, zero-copy
    /// (``pa.array(v)``): one dimension of a primitive format as that primitive type, ``?`` as
    /// ``arrow.bool8``, more dimensions as ``arrow.fixed_shape_tensor``, other formats as
    /// fixed-size binary carrying the PEP 3118 format in its metadata. The array holds an
    /// export of the memory until it is released. ``requested_schema`` is not converted to.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        crate::arrow::arrow_c_array(py, self, requested_schema)
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        // A refused request leaves no object in the consumer's struct (the buffer protocol's
        // rule); a granted one sets it below.
        (*view).obj = std::ptr::null_mut();
        let this = slf.get();
        let buffer_error = |e: PyErr| {
            let msg = e.value(slf.py()).to_string();
            pyo3::exceptions::PyBufferError::new_err(msg)
        };
        let m = this.meta().map_err(buffer_error)?;
        let readonly = this.lent_readonly || m.readonly;
        if readonly && flags & ffi::PyBUF_WRITABLE != 0 {
            return Err(pyo3::exceptions::PyBufferError::new_err(
                READONLY_REFUSAL.to_str().expect("ASCII"),
            ));
        }
        // The requests memoryview and NumPy make are answered from one shared export: the
        // whole layout (PyBUF_FULL, PyBUF_FULL_RO; PyBUF_RECORDS(_RO) without suboffsets), or
        // a C-contiguous view as bytes (PyBUF_SIMPLE, with PyBUF_WRITABLE). Anything else asks
        // the library, which applies every rule of the request.
        let (whole, simple) = shared_request(m, flags);
        let (info, internal) = if whole || simple {
            // SAFETY: the GIL is held (the buffer protocol's slots are called with it).
            let shared = this.shared.get();
            if shared.info.is_none() {
                let f = if readonly { XBUF_FULL_RO } else { XBUF_FULL };
                shared.info = Some(Box::new(Info::get(this.xobj()?, f).map_err(buffer_error)?));
            }
            shared.users += 1;
            let info: &Info = shared.info.as_deref().expect("set above");
            (info as *const Info, std::ptr::null_mut())
        } else {
            let own = Box::into_raw(Box::new(
                Info::get(this.xobj()?, flags).map_err(buffer_error)?,
            ));
            (own as *const Info, own.cast::<std::ffi::c_void>())
        };
        // NULL for the shared export, else the consumer's own.
        fill_py_buffer(&mut *view, &(*info).0, readonly, simple, internal);
        (*view).obj = slf.into_any().into_ptr();
        Ok(())
    }

    unsafe fn __releasebuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer) {
        let own = (*view).internal.cast::<Info>();
        if !own.is_null() {
            drop(Box::from_raw(own));
            (*view).internal = std::ptr::null_mut();
            return;
        }
        // SAFETY: the GIL is held.
        let shared = slf.get().shared.get();
        shared.users -= 1;
        if shared.users == 0 && shared.released {
            shared.info = None;
        }
    }
}

/// Whether the request `flags` is answered by the shared export: as the whole layout
/// (PyBUF_FULL, PyBUF_FULL_RO; PyBUF_RECORDS(_RO) without suboffsets), or as the bytes of a
/// C-contiguous view (PyBUF_SIMPLE, with PyBUF_WRITABLE).
fn shared_request(m: &Meta, flags: c_int) -> (bool, bool) {
    let request = flags & !ffi::PyBUF_WRITABLE;
    let whole = request == ffi::PyBUF_FULL_RO
        || (request == ffi::PyBUF_RECORDS_RO && m.suboffsets.is_none());
    let simple = request == ffi::PyBUF_SIMPLE && m.c_contiguous;
    (whole, simple)
}

/// Fills a consumer's `Py_buffer` (all but `obj`) from the filled view `v`: the whole layout,
/// or for `simple` one dimension of bytes without format, shape or strides.
fn fill_py_buffer(
    pb: &mut ffi::Py_buffer,
    v: &xbuf_bufferinfo,
    readonly: bool,
    simple: bool,
    internal: *mut std::ffi::c_void,
) {
    pb.buf = v.buf;
    pb.len = v.len;
    pb.itemsize = v.itemsize;
    pb.readonly = c_int::from(readonly);
    if simple {
        pb.ndim = 1;
        pb.format = std::ptr::null_mut();
        pb.shape = std::ptr::null_mut();
        pb.strides = std::ptr::null_mut();
    } else {
        pb.ndim = v.ndim;
        pb.format = v.format as *mut c_char;
        pb.shape = v.shape;
        pb.strides = v.strides;
    }
    pb.suboffsets = v.suboffsets;
    pb.internal = internal;
}

/// Copies `src`'s items into `dst`'s (equal shapes, formats of the same layout), correct for
/// overlapping memory, with the GIL released for large copies.
pub fn copy_views(py: Python<'_>, dst: &View, src: &View) -> PyResult<()> {
    if dst.is_readonly()? {
        return Err(PyTypeError::new_err("cannot modify read-only memory"));
    }
    let d = Info::get(dst.xobj()?, XBUF_FULL)?;
    let s = Info::get(src.xobj()?, XBUF_FULL_RO)?;
    let nbytes = src.meta()?.nbytes;
    let (dp, sp) = (
        SendPtr(d.raw() as *mut xbuf_bufferinfo),
        SendPtr(s.raw() as *mut xbuf_bufferinfo),
    );
    let (rc, msg) = dst.detach_if_large(py, nbytes, move || {
        let (dp, sp) = (dp, sp);
        // SAFETY: two filled views, alive until `d` and `s` drop.
        let rc = unsafe { xbuf_copy(dp.0, sp.0) };
        (
            rc,
            if rc == XBUF_OK {
                String::new()
            } else {
                last_message()
            },
        )
    });
    if rc != XBUF_OK {
        let e = exception(rc, msg);
        // memoryview raises ValueError for mismatched structures.
        return Err(
            if rc == XBUF_ERR_FORMAT || rc == XBUF_ERR_INVALID_ARGUMENT {
                PyValueError::new_err(e.value(py).to_string())
            } else {
                e
            },
        );
    }
    Ok(())
}

/// Iterates over the first dimension: items of a one-dimensional view, sub-views otherwise.
#[pyclass(module = "xbuf")]
pub struct ViewIter {
    view: Py<View>,
    next: usize,
    len: usize,
}

#[pymethods]
impl ViewIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.next >= self.len {
            return Ok(None);
        }
        let i = self.next as isize;
        self.next += 1;
        let v = self.view.get();
        let m = v.meta()?;
        if m.shape.len() == 1 {
            return v.item_at(py, &[i]).map(Some);
        }
        Ok(Some(
            crate::alloc::new_view(py, v.index_view(py, &[i])?)?.into_any(),
        ))
    }
}

/// The message of a writable buffer request of a read-only View, from either buffer slot.
const READONLY_REFUSAL: &std::ffi::CStr =
    c"xbuf.View: the view is read-only; a writable buffer was requested";

/// What `View::quick_getbuffer` did.
pub enum Quick {
    /// The view was filled.
    Done,
    /// The request was refused; the exception is set.
    Refused,
    /// Not a case it answers: nothing was changed.
    HandOn,
}
