//! `mmap`: a file mapped read-only, read-write (shared: writes reach the file) or
//! copy-on-write (private: writes stay in this process). Resizing a read-write mapping and
//! closing are refused while the object is exported or locked.

use std::cell::UnsafeCell;
use std::ffi::{c_int, CStr, OsStr};
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::any_impl;
use crate::capi::xbuf_bufferinfo;
use crate::capi::{XBUF_MMAP_COPY, XBUF_MMAP_READ, XBUF_MMAP_WRITE};
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::Result;
use crate::{bail, err};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
    Copy,
}

impl Mode {
    pub fn from_c(mode: c_int) -> Result<Mode> {
        match mode {
            XBUF_MMAP_READ => Ok(Mode::Read),
            XBUF_MMAP_WRITE => Ok(Mode::Write),
            XBUF_MMAP_COPY => Ok(Mode::Copy),
            _ => Err(err!(
                InvalidArgument,
                "mmap mode {mode} is not XBUF_MMAP_READ (0), XBUF_MMAP_WRITE (1) or XBUF_MMAP_COPY (2)"
            )),
        }
    }
}

struct Mapping {
    file: Option<File>,
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    fn map(file: File, len: usize, mode: Mode, path: &Path) -> Result<Mapping> {
        let addr = map_fd(&file, len, mode, path)?;
        Ok(Mapping {
            file: Some(file),
            addr,
            len,
        })
    }

    fn unmap(&mut self) {
        if self.len != 0 {
            // SAFETY: addr/len came from a successful mmap and nothing refers to them now.
            unsafe { libc::munmap(self.addr.cast(), self.len) };
        }
        self.len = 0;
        self.addr = std::ptr::NonNull::dangling().as_ptr();
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> crate::status::Error {
    err!(Io, "cannot {what} '{}': {e}", path.display())
}

fn map_fd(file: &File, len: usize, mode: Mode, path: &Path) -> Result<*mut u8> {
    if len == 0 {
        // mmap refuses empty mappings; an empty file is an empty view.
        return Ok(std::ptr::NonNull::dangling().as_ptr());
    }
    let (prot, flags) = match mode {
        Mode::Read => (libc::PROT_READ, libc::MAP_SHARED),
        Mode::Write => (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED),
        Mode::Copy => (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE),
    };
    // SAFETY: a fresh mapping of an open file descriptor; the kernel checks the arguments.
    let addr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, file.as_raw_fd(), 0) };
    if addr == libc::MAP_FAILED {
        return Err(io_error("map", path, std::io::Error::last_os_error()));
    }
    Ok(addr.cast())
}

pub struct Mmap {
    path: PathBuf,
    mode: Mode,
    /// Changed only under the object's exclusive access (resize, close); read only while an
    /// export is counted.
    map: UnsafeCell<Mapping>,
}

// SAFETY: the object's export/exclusive word serialises every change of `map` against every
// read; the mapping itself is plain memory.
unsafe impl Send for Mmap {}
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Opens and maps `path` (raw bytes of a file name). Only a regular file is opened: the
    /// path is checked before `open(2)` (opening a FIFO blocks until a writer comes, opening
    /// a device can act on it), and the open file again (the path may have changed between
    /// the two), with `O_NONBLOCK` so that a FIFO put there meanwhile cannot block either.
    pub fn open(path: &[u8], mode: Mode) -> Result<ObjRef> {
        let path = PathBuf::from(OsStr::from_bytes(path));
        let not_regular = || err!(Io, "cannot map '{}': not a regular file", path.display());
        let meta = std::fs::metadata(&path).map_err(|e| io_error("open", &path, e))?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        // `O_CLOEXEC` is added by the standard library. `O_NONBLOCK` changes nothing for a
        // regular file that is only mapped and resized.
        let file = OpenOptions::new()
            .read(true)
            .write(mode == Mode::Write)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| io_error("open", &path, e))?;
        let meta = file.metadata().map_err(|e| io_error("stat", &path, e))?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        let len = usize::try_from(meta.len())
            .ok()
            .filter(|&l| l <= isize::MAX as usize)
            .ok_or_else(|| {
                err!(
                    Overflow,
                    "'{}' is too large to map ({} bytes)",
                    path.display(),
                    meta.len()
                )
            })?;
        let map = Mapping::map(file, len, mode, &path)?;
        Ok(ObjRef::new(Mmap {
            path,
            mode,
            map: UnsafeCell::new(map),
        }))
    }

    /// Resizes the file and its mapping (read-write mode only); new bytes are zero.
    ///
    /// The mapping never reaches past the file's end, and a resize that fails changes
    /// nothing: a grow extends the file, then maps the new size (on failure the file gets
    /// its length back; the bytes it had are untouched); a shrink maps the new size while the
    /// file still has all its bytes and cuts the file only after (on failure the new mapping
    /// goes and the old one stays).
    pub fn resize(obj: &Object, len: usize) -> Result<()> {
        let this = obj.downcast::<Mmap>("mmap")?;
        if this.mode != Mode::Write {
            bail!(
                ReadOnly,
                "'{}' is mapped {}; only a read-write mapping can be resized",
                this.path.display(),
                if this.mode == Mode::Read {
                    "read-only"
                } else {
                    "copy-on-write"
                }
            );
        }
        if len > isize::MAX as usize {
            bail!(Overflow, "mmap length {len} exceeds the largest view size");
        }
        obj.with_exclusive(|| {
            // SAFETY: exclusive access: no view refers to the mapping.
            let m = unsafe { &mut *this.map.get() };
            let Some(file) = m.file.as_ref() else {
                bail!(Released, "'{}' was closed", this.path.display());
            };
            let addr = if len >= m.len {
                file.set_len(len as u64)
                    .map_err(|e| io_error("resize", &this.path, e))?;
                match map_fd(file, len, this.mode, &this.path) {
                    Ok(addr) => addr,
                    Err(e) => {
                        // The old mapping stays; the file gets back its length (cutting
                        // only the zeros just added).
                        let _ = file.set_len(m.len as u64);
                        return Err(e);
                    }
                }
            } else {
                let addr = map_fd(file, len, this.mode, &this.path)?;
                if let Err(e) = file.set_len(len as u64) {
                    let mut fresh = Mapping {
                        file: None,
                        addr,
                        len,
                    };
                    fresh.unmap();
                    return Err(io_error("resize", &this.path, e));
                }
                addr
            };
            m.unmap();
            m.addr = addr;
            m.len = len;
            Ok(())
        })
    }

    /// Writes a read-write mapping's changes to the file.
    pub fn flush(obj: &Object) -> Result<()> {
        let this = obj.downcast::<Mmap>("mmap")?;
        // Counting an export keeps the mapping in place while msync runs.
        obj.add_export()?;
        // SAFETY: an export is counted, so no change runs.
        let m = unsafe { &*this.map.get() };
        let result = if m.file.is_none() {
            Err(err!(Released, "'{}' was closed", this.path.display()))
        } else if m.len == 0 || this.mode != Mode::Write {
            Ok(())
        } else if unsafe { libc::msync(m.addr.cast(), m.len, libc::MS_SYNC) } != 0 {
            Err(io_error(
                "flush",
                &this.path,
                std::io::Error::last_os_error(),
            ))
        } else {
            Ok(())
        };
        // SAFETY: the export counted above; the caller holds a reference.
        unsafe { Object::drop_export(std::ptr::NonNull::from(obj)) };
        result
    }

    /// Unmaps and closes the file; later requests fail with `Released`. Refused while exported.
    pub fn close(obj: &Object) -> Result<()> {
        let this = obj.downcast::<Mmap>("mmap")?;
        obj.with_exclusive(|| {
            // SAFETY: exclusive access: no view refers to the mapping.
            let m = unsafe { &mut *this.map.get() };
            if m.file.is_none() {
                bail!(Released, "'{}' was already closed", this.path.display());
            }
            m.unmap();
            m.file = None;
            Ok(())
        })
    }
}

impl Exporter for Mmap {
    fn type_name(&self) -> &CStr {
        c"mmap"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        // SAFETY: an export is counted, so no resize or close runs now.
        let m = unsafe { &*self.map.get() };
        if m.file.is_none() {
            bail!(Released, "'{}' was closed", self.path.display());
        }
        Ok(Response::bytes(m.addr, m.len, self.mode == Mode::Read))
    }
    fn flat_bytes(&self) -> Option<(*mut u8, usize, bool)> {
        // SAFETY: an export is counted, so no resize or close runs now.
        let m = unsafe { &*self.map.get() };
        // A closed mapping answers through get_buffer, which reports it.
        m.file.as_ref()?;
        Some((m.addr, m.len, self.mode == Mode::Read))
    }
    /// The default `release_buffer`: nothing to do for a view.
    fn release_ignores_views(&self) -> bool {
        true
    }
    any_impl!();
}

impl Drop for Mmap {
    fn drop(&mut self) {
        self.map.get_mut().unmap();
    }
}
