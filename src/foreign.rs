//! Exporters written in C (or any language with a C FFI): an `xbuf_type` vtable and a state
//! pointer behind the same [`Exporter`] trait as the built-in exporters.

use std::any::Any;
use std::ffi::{c_int, c_void, CStr, CString};

use crate::abi::*;
use crate::bufferinfo::{is_filled, release, response_from_scratch, ScratchFrame};
use crate::capi::*;
use crate::object::{Exporter, Object, Response};
use crate::status::{self, Result, Status};
use crate::{bail, err};

/// A copy of a C exporter's vtable (slots past its `structsize` are NULL) and its state.
pub struct Foreign {
    name: CString,
    getbuffer: xbuf_getbufferproc,
    releasebuffer: xbuf_releasebufferproc,
    lockbuffer: xbuf_lockbufferproc,
    dealloc: xbuf_deallocproc,
    state: *mut c_void,
}

// SAFETY: the C exporter promises (in the header's contract) that its procs may be called
// from any thread for an object shared between threads.
unsafe impl Send for Foreign {}
unsafe impl Sync for Foreign {}

impl Foreign {
    /// Reads a caller's `xbuf_type` of any published size.
    ///
    /// # Safety
    /// `ty` must point at `ty.structsize` readable bytes; `ty.name`, if not NULL, at a
    /// NUL-terminated string.
    pub unsafe fn new(ty: *const xbuf_type, state: *mut c_void) -> Result<Foreign> {
        let size = (*ty).structsize;
        check_structsize("xbuf_type", size, XBUF_TYPE_SIZE_MIN)?;
        check_unknown_tail(
            "xbuf_type",
            ty.cast(),
            size,
            std::mem::size_of::<xbuf_type>(),
        )?;
        let t = &*ty;
        let name = if t.name.is_null() {
            CString::from(c"<unnamed>")
        } else {
            CStr::from_ptr(t.name).to_owned()
        };
        Ok(Foreign {
            name,
            getbuffer: t.getbuffer,
            releasebuffer: t.releasebuffer,
            lockbuffer: t.lockbuffer,
            dealloc: t.dealloc,
            state,
        })
    }
}

/// Turns a C status into an error, keeping the message a callback recorded with
/// `xbuf_set_error` (if it recorded one during the call).
fn from_callback(code: c_int, generation_before: u64, what: &str) -> crate::status::Error {
    let recorded = status::last_error_generation() != generation_before;
    let status = Status::from_code(code);
    match (status, recorded) {
        (Some(s), true) => crate::status::Error::new(s, status::last_error_string()),
        (Some(s), false) => crate::status::Error::new(
            s,
            format!("{what} failed with {}", s.name().trim_end_matches('\0')),
        ),
        (None, _) => err!(
            BadExporter,
            "{what} returned {code}, which is not an xbuf status code"
        ),
    }
}

impl Exporter for Foreign {
    fn type_name(&self) -> &CStr {
        &self.name
    }

    fn get_buffer<'a>(
        &'a self,
        this: &'a Object,
        flags: c_int,
        scratch: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        let Some(getbuffer) = self.getbuffer else {
            bail!(
                Unsupported,
                "type '{}' has no getbuffer; it only takes locks",
                self.name.to_string_lossy()
            );
        };
        let before = status::last_error_generation();
        let view: *mut xbuf_bufferinfo = scratch;
        // SAFETY: the exporter's contract: it fills the scratch struct for `flags`.
        let code = ScratchFrame::lend(view, || unsafe {
            getbuffer(this.as_ptr().cast(), view, flags)
        });
        if scratch.structsize != XBUF_BUFFERINFO_SIZE {
            // The struct is the library's: whatever the exporter did with it is undone at its
            // real size.
            let found = scratch.structsize;
            scratch.structsize = XBUF_BUFFERINFO_SIZE;
            if code == 0 {
                // SAFETY: the scratch struct, filled by the library or by the exporter.
                if unsafe { is_filled(scratch) } {
                    let _ = unsafe { release(scratch) };
                } else {
                    self.abandon(this, scratch);
                }
            }
            bail!(
                BadExporter,
                "exporter '{}' changed the structsize of the library's view from {} to {found}",
                self.name.to_string_lossy(),
                XBUF_BUFFERINFO_SIZE
            );
        }
        if code != 0 {
            return Err(from_callback(
                code,
                before,
                &format!("getbuffer of '{}'", self.name.to_string_lossy()),
            ));
        }
        // A response too broken to read (ndim out of range) is handed straight back to the
        // exporter so that it can undo its work.
        if !(0..=XBUF_MAX_NDIM).contains(&scratch.ndim) {
            let ndim = scratch.ndim;
            self.abandon(this, scratch);
            bail!(
                BadExporter,
                "exporter '{}' returned ndim {ndim} (0 to {XBUF_MAX_NDIM} allowed)",
                self.name.to_string_lossy()
            );
        }
        // SAFETY: the exporter's contract: the arrays and format it returned are valid.
        unsafe { response_from_scratch(scratch) }
    }

    fn releases_views(&self) -> bool {
        self.releasebuffer.is_some()
    }

    fn release_buffer(&self, this: &Object, view: *mut xbuf_bufferinfo) {
        if let Some(release) = self.releasebuffer {
            // SAFETY: the exporter's contract.
            unsafe { release(this.as_ptr().cast(), view) };
        }
    }

    fn lock_buffer(&self, this: &Object) -> Result<()> {
        if let Some(lock) = self.lockbuffer {
            let before = status::last_error_generation();
            // SAFETY: the exporter's contract.
            let code = unsafe { lock(this.as_ptr().cast()) };
            if code != 0 {
                return Err(from_callback(
                    code,
                    before,
                    &format!("lockbuffer of '{}'", self.name.to_string_lossy()),
                ));
            }
        }
        Ok(())
    }

    fn state(&self) -> *mut c_void {
        self.state
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        if let Some(dealloc) = self.dealloc {
            // SAFETY: the exporter's contract; called exactly once, after the last reference
            // and export are gone.
            unsafe { dealloc(self.state) };
        }
    }
}
