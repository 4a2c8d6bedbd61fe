//! What an object's behaviour provides: the `Exporter` trait and the `Response` it hands back
//! for a request.

use std::any::Any;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::bail;
use crate::capi::xbuf_bufferinfo;
use crate::status::Result;

use super::Object;

/// What an exporter hands back for a request: the layout it describes. Slices borrow from the
/// exporter (or, for C exporters, from the memory its `getbuffer` pointed at) and are copied
/// into the view before the consumer sees them.
#[derive(Clone, Debug)]
pub struct Response<'a> {
    pub buf: *mut u8,
    pub len: isize,
    pub itemsize: isize,
    pub readonly: bool,
    /// `None`: not given (means `"B"`).
    pub format: Option<&'a CStr>,
    /// Number of dimensions the exporter claims.
    pub ndim: usize,
    /// `None`: not given (allowed for `ndim <= 1`, or when `XBUF_ND` was not requested).
    pub shape: Option<&'a [isize]>,
    /// `None`: C-contiguous.
    pub strides: Option<&'a [isize]>,
    /// `None`: no indirection.
    pub suboffsets: Option<&'a [isize]>,
    /// A table of row pointers that `buf` points into (at any entry), kept by the exporter
    /// apart from the memory it lends (a view's rebased PIL table): every view gets a copy of
    /// it in its own layout storage, with `buf` at the same entry of the copy, so the view
    /// does not depend on the exporter's table. `None`: `buf` is the lent memory itself.
    pub table: Option<&'a [*mut u8]>,
    pub internal: *mut c_void,
    /// The object the view must be handed back to; `None` means the object asked. Borrowed:
    /// the library takes its own reference.
    pub releaser: Option<NonNull<Object>>,
    /// The exporter answered by filling its scratch struct with `xbuf_get_buffer` on another
    /// object (as CPython exporters often do): that view already holds a reference and an
    /// export on `releaser`, which the consumer's view takes over.
    pub nested: bool,
    /// `releaser` was named by code outside the library (a C exporter), which may name
    /// anything: it is looked up among the live objects
    /// ([`ObjRef::acquire_live`](super::ObjRef::acquire_live)) before it is read. A built-in
    /// exporter's releaser is an object it holds.
    pub releaser_from_c: bool,
    /// Where the memory lives: `(device_type, device_id)` with DLPack's codes; `(1, 0)` is
    /// the CPU (a C exporter that leaves `device_type` 0 means the CPU too).
    pub device: (i32, i32),
}

impl Default for Response<'_> {
    fn default() -> Self {
        Response {
            buf: std::ptr::null_mut(),
            len: 0,
            itemsize: 1,
            readonly: false,
            format: None,
            ndim: 1,
            shape: None,
            strides: None,
            suboffsets: None,
            table: None,
            internal: std::ptr::null_mut(),
            releaser: None,
            nested: false,
            releaser_from_c: false,
            device: (crate::capi::XBUF_DEVICE_CPU, 0),
        }
    }
}

impl Response<'_> {
    /// A one-dimensional, contiguous byte buffer.
    pub fn bytes(buf: *mut u8, len: usize, readonly: bool) -> Response<'static> {
        Response {
            buf,
            len: len as isize,
            readonly,
            ..Response::default()
        }
    }
}

/// Where an exporter whose memory is one dimension of bytes it owns keeps that memory's
/// address, length and writability, for the library to read without calling the exporter
/// (see [`Exporter::flat_cell`]). The address and length change only under the object's
/// exclusive access, hence never while an export is counted.
#[derive(Debug)]
pub struct FlatCell {
    ptr: AtomicPtr<u8>,
    len: AtomicUsize,
    readonly: bool,
}

impl FlatCell {
    /// `len` bytes at `ptr` (non-NULL unless `len` is 0; `len <= isize::MAX`).
    pub fn new(ptr: *mut u8, len: usize, readonly: bool) -> FlatCell {
        debug_assert!(len <= isize::MAX as usize && (!ptr.is_null() || len == 0));
        FlatCell {
            ptr: AtomicPtr::new(ptr),
            len: AtomicUsize::new(len),
            readonly,
        }
    }

    /// `(buf, len, readonly)`, as [`Exporter::flat_bytes`] answers.
    #[inline(always)]
    pub fn get(&self) -> (*mut u8, usize, bool) {
        (
            self.ptr.load(Ordering::Relaxed),
            self.len.load(Ordering::Relaxed),
            self.readonly,
        )
    }

    /// Publishes new memory; only under the object's exclusive access.
    pub fn set(&self, ptr: *mut u8, len: usize) {
        debug_assert!(len <= isize::MAX as usize && (!ptr.is_null() || len == 0));
        self.ptr.store(ptr, Ordering::Relaxed);
        self.len.store(len, Ordering::Relaxed);
    }
}

/// The behaviour behind an object: a built-in exporter in Rust, or a C exporter's `xbuf_type`
/// and state. Dropping it frees the exporter's resources (a C exporter's `dealloc`).
///
/// Every method may be called from any thread (the object may be shared), hence `Send + Sync`.
pub trait Exporter: Any + Send + Sync {
    /// A short name used in messages.
    fn type_name(&self) -> &CStr;

    /// Describes the memory for a request. The library has already counted one export on
    /// `this` for the duration of the call, so no exclusive change of `this` can run
    /// concurrently. The response is validated and copied by the library.
    ///
    /// `scratch` is a zeroed, full-size struct owned by the library for this call; a C
    /// exporter fills it and the response borrows from it. Built-in exporters ignore it.
    ///
    /// The default answers with [`Exporter::flat_bytes`].
    fn get_buffer<'a>(
        &'a self,
        _this: &'a Object,
        _flags: c_int,
        _scratch: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        match self.flat_bytes() {
            Some((buf, len, readonly)) => Ok(Response::bytes(buf, len, readonly)),
            None => bail!(
                Unsupported,
                "'{}' has no buffer to export",
                self.type_name().to_string_lossy()
            ),
        }
    }

    /// For exporters whose memory is always one dimension of bytes that they own and release
    /// themselves (no `internal`, no delegated releaser): `(buf, len, readonly)`, with
    /// `len <= isize::MAX` and `buf` non-NULL unless `len` is 0. The library then fills views without building
    /// a [`Response`]. Called with an export counted, like `get_buffer`. `None` (the default)
    /// means: ask [`Exporter::get_buffer`].
    fn flat_bytes(&self) -> Option<(*mut u8, usize, bool)> {
        None
    }

    /// For exporters whose [`Exporter::flat_bytes`] answer always comes from one
    /// [`FlatCell`] they hold: that cell, which the library then reads without a call when it
    /// is the exporter's first field (`#[repr(C)]`, the cell first; elsewhere it is ignored).
    /// Asked once, when the object is made; the cell must agree with `flat_bytes`. `None`
    /// (the default): ask `flat_bytes`.
    fn flat_cell(&self) -> Option<&FlatCell> {
        None
    }

    /// Whether [`Exporter::get_buffer`] answers with a layout the library made itself and
    /// checked when it made it (a built-in array's, a view's): the library then applies only
    /// the request's rules to the answer (`request::grant`), not the checks of an exporter's
    /// answer. The answer must give its shape and strides, and name a releaser only that is
    /// a live object it holds.
    fn trusted(&self) -> bool {
        false
    }

    /// A trusted exporter's answer ([`Exporter::trusted`]), asked without the scratch struct
    /// that only C exporters fill (so none is made); its `get_buffer` gives the same answer.
    /// Asked only of exporters whose `trusted` says true.
    fn trusted_answer<'a>(&'a self, _this: &'a Object, _flags: c_int) -> Result<Response<'a>> {
        bail!(
            Unsupported,
            "'{}' gives no trusted answer",
            self.type_name().to_string_lossy()
        )
    }

    /// Whether [`Exporter::release_buffer`] does anything with a view (not only with NULL, a
    /// returned lock). When it does not, a view the library derives for itself from another
    /// view holds a bare export instead of a filled struct to hand back.
    fn releases_views(&self) -> bool {
        false
    }

    /// Whether [`Exporter::release_buffer`] does nothing at all with a view (it may still act
    /// on NULL, a returned lock): the library then releases this exporter's views without
    /// calling it. Defaults to `false` (always called); an exporter that overrides
    /// `release_buffer` to act on views must not say `true`.
    fn release_ignores_views(&self) -> bool {
        false
    }

    /// Called on the releaser when a view is released (the consumer's struct, which may be an
    /// older, shorter one: only its published prefix may be touched) or a lock returned (NULL).
    fn release_buffer(&self, _this: &Object, _view: *mut xbuf_bufferinfo) {}

    /// Extra work when a lock is taken; an error refuses the lock.
    fn lock_buffer(&self, _this: &Object) -> Result<()> {
        Ok(())
    }

    /// The C exporter's state pointer (NULL for built-in exporters).
    fn state(&self) -> *mut c_void {
        std::ptr::null_mut()
    }

    /// Frees what `get_buffer` set up when a view is abandoned before reaching the consumer
    /// (the response failed validation). By default the same as a release.
    fn abandon(&self, this: &Object, view: &mut xbuf_bufferinfo) {
        self.release_buffer(this, view);
    }

    fn as_any(&self) -> &dyn Any;

    /// The exporter as a view object's state, if it is one: what `Object::downcast` finds,
    /// without comparing type identities (for the views' per-call paths).
    fn as_view(&self) -> Option<&crate::view::View> {
        None
    }
}
