//! [`Object`]: an owned reference to an exporter, and the built-in exporters.

use std::ffi::{c_int, CStr, CString};
use std::path::Path;
use std::ptr::{self, NonNull};

use super::buffer::Buffer;
use super::error::{check, Error, Result, Status};
use super::request::Request;
use crate::ffi;

/// An owned reference to an exporter object (`xbuf_object *` in C): `Clone` takes another
/// reference (`xbuf_incref`), `Drop` gives one back (`xbuf_decref`). Objects are atomically
/// reference-counted, so an `Object` is `Send` and `Sync`.
///
/// ```
/// use xbuf::{Object, Request};
/// let obj = Object::bytearray(b"hello")?;
/// let copy = obj.clone();
/// assert_eq!(obj.refcount(), 2);
/// drop(copy);
/// let buf = obj.buffer(Request::SIMPLE)?;
/// assert_eq!(buf.as_bytes()?, b"hello");
/// assert_eq!(obj.exports(), 1);
/// # Ok::<(), xbuf::Error>(())
/// ```
#[derive(Debug)]
pub struct Object {
    ptr: NonNull<ffi::xbuf_object>,
}

// SAFETY: objects are atomically reference-counted and every C function on them may be called
// from any thread (the header's thread-safety rules).
unsafe impl Send for Object {}
// SAFETY: as above.
unsafe impl Sync for Object {}

/// How [`Object::mmap`] maps a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmapMode {
    /// Read-only views.
    Read,
    /// Writable views; writes reach the file.
    Write,
    /// Writable views; the file never changes (copy-on-write).
    Copy,
}

impl Object {
    /// Takes over an owned reference (what a C constructor returned).
    ///
    /// # Safety
    /// `ptr` must be an owned reference to a live object; the `Object` gives it back on drop.
    pub unsafe fn from_raw(ptr: NonNull<ffi::xbuf_object>) -> Object {
        Object { ptr }
    }

    /// Takes another reference to a borrowed object.
    ///
    /// # Safety
    /// `ptr` must point at a live object (the caller holds a reference or an export).
    pub unsafe fn from_borrowed(ptr: NonNull<ffi::xbuf_object>) -> Result<Object> {
        check(ffi::xbuf_incref(ptr.as_ptr()))?;
        Ok(Object { ptr })
    }

    /// The raw pointer, still owned by `self`.
    pub fn as_ptr(&self) -> *mut ffi::xbuf_object {
        self.ptr.as_ptr()
    }

    /// Gives up ownership: the caller must `xbuf_decref` the pointer.
    pub fn into_raw(self) -> NonNull<ffi::xbuf_object> {
        let p = self.ptr;
        std::mem::forget(self);
        p
    }

    /// Runs a C constructor that returns an owned object through `*out`.
    pub(crate) fn new_with(f: impl FnOnce(*mut *mut ffi::xbuf_object) -> c_int) -> Result<Object> {
        let mut out: *mut ffi::xbuf_object = ptr::null_mut();
        check(f(&mut out))?;
        match NonNull::new(out) {
            Some(ptr) => Ok(Object { ptr }),
            None => Err(Error::new(Status::Panic, "constructor returned no object")),
        }
    }

    /// An immutable copy of `data` (`xbuf_bytes_new`): read-only views of format `B`.
    ///
    /// ```
    /// let obj = xbuf::Object::from_bytes(b"abc")?;
    /// assert!(obj.buffer(xbuf::Request::WRITABLE).is_err());
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn from_bytes(data: &[u8]) -> Result<Object> {
        // SAFETY: `data` is readable for its length; the library copies it.
        Object::new_with(|out| unsafe {
            ffi::xbuf_bytes_new(data.as_ptr().cast(), data.len(), out)
        })
    }

    /// A mutable, resizable copy of `data` (`xbuf_bytearray_new`); see [`Object::resize`].
    pub fn bytearray(data: &[u8]) -> Result<Object> {
        // SAFETY: as in from_bytes.
        Object::new_with(|out| unsafe {
            ffi::xbuf_bytearray_new(data.as_ptr().cast(), data.len(), out)
        })
    }

    /// Resizes a bytearray (`xbuf_bytearray_resize`): refused with [`Status::Busy`] while it
    /// has exports (live [`Buffer`]s or views), as Python's bytearray refuses.
    pub fn resize(&self, len: usize) -> Result<()> {
        // SAFETY: self holds a reference.
        check(unsafe { ffi::xbuf_bytearray_resize(self.as_ptr(), len) })
    }

    /// The file at `path` mapped whole (`xbuf_mmap_open`); the mapping stays until the last
    /// reference and export are gone. Another process that changes or truncates the file
    /// while it is mapped changes what the views show (or makes reads past the new end
    /// fault): that is the nature of shared mappings.
    pub fn mmap(path: impl AsRef<Path>, mode: MmapMode) -> Result<Object> {
        use std::os::unix::ffi::OsStrExt;
        let path = path.as_ref();
        let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            Error::new(
                Status::InvalidArgument,
                format!("path {} contains a NUL byte", path.display()),
            )
        })?;
        let mode = match mode {
            MmapMode::Read => ffi::XBUF_MMAP_READ,
            MmapMode::Write => ffi::XBUF_MMAP_WRITE,
            MmapMode::Copy => ffi::XBUF_MMAP_COPY,
        };
        // SAFETY: `c` is NUL-terminated.
        Object::new_with(|out| unsafe { ffi::xbuf_mmap_open(c.as_ptr(), mode, out) })
    }

    /// A view of the object's memory that meets `request` (`xbuf_get_buffer`); released when
    /// the [`Buffer`] is dropped.
    pub fn buffer(&self, request: Request) -> Result<Buffer<'_>> {
        Buffer::get(self, request)
    }

    /// The object's export count: live views whose releaser it is, plus locks.
    pub fn exports(&self) -> isize {
        // SAFETY: self holds a reference.
        unsafe { ffi::xbuf_exports(self.as_ptr()) }
    }

    /// The object's reference count (for tests and diagnostics: it may change at any time).
    pub fn refcount(&self) -> isize {
        // SAFETY: self holds a reference.
        unsafe { ffi::xbuf_refcount(self.as_ptr()) }
    }

    /// The name of the object's type (`"bytearray"`, `"view"`, ...).
    pub fn type_name(&self) -> String {
        // SAFETY: self holds a reference; the name lives as long as the object.
        let p = unsafe { ffi::xbuf_object_type_name(self.as_ptr()) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: NUL-terminated, alive while self is.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Clone for Object {
    fn clone(&self) -> Object {
        // SAFETY: self holds a reference, so the object is live and incref cannot fail.
        let code = unsafe { ffi::xbuf_incref(self.as_ptr()) };
        debug_assert_eq!(code, ffi::XBUF_OK);
        Object { ptr: self.ptr }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: self owns one reference.
        unsafe { ffi::xbuf_decref(self.as_ptr()) };
    }
}
