//! [`Error`], [`Status`] and [`Result`]: a failed call's status code and message.

use std::ffi::{c_int, CStr};

use crate::ffi;

/// What kind of failure an [`Error`] is: the library's status codes (`XBUF_ERR_*` in C).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// An argument has a value the call cannot take.
    InvalidArgument,
    /// A required pointer was NULL.
    NullArgument,
    /// The exporter cannot meet the request.
    Request,
    /// The memory is read-only and a writable view was asked for.
    Readonly,
    /// The memory does not have the layout the call needs.
    NotContiguous,
    /// A format is malformed or does not fit.
    Format,
    /// The memory is exported (or borrowed) and cannot change now.
    Busy,
    /// An index or range is outside the memory.
    OutOfBounds,
    /// A size does not fit in the address space.
    Overflow,
    /// An allocation failed.
    NoMemory,
    /// A struct is newer than this library knows.
    StructTooNew,
    /// A struct is older than the first published version.
    StructTooOld,
    /// The object was released.
    Released,
    /// An I/O call failed.
    Io,
    /// The operation is not supported for this object or format.
    Unsupported,
    /// A panic was caught inside the library (a bug: please report it).
    Panic,
    /// An output buffer is too small.
    BufferTooSmall,
    /// An exporter answered a request with a broken view.
    BadExporter,
    /// A status code this version does not know.
    Other(i32),
}

impl Status {
    /// The status for a C status code (`code != 0`).
    pub fn from_code(code: i32) -> Status {
        match code {
            ffi::XBUF_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            ffi::XBUF_ERR_NULL_ARGUMENT => Status::NullArgument,
            ffi::XBUF_ERR_REQUEST => Status::Request,
            ffi::XBUF_ERR_READONLY => Status::Readonly,
            ffi::XBUF_ERR_NOT_CONTIGUOUS => Status::NotContiguous,
            ffi::XBUF_ERR_FORMAT => Status::Format,
            ffi::XBUF_ERR_BUSY => Status::Busy,
            ffi::XBUF_ERR_OUT_OF_BOUNDS => Status::OutOfBounds,
            ffi::XBUF_ERR_OVERFLOW => Status::Overflow,
            ffi::XBUF_ERR_NO_MEMORY => Status::NoMemory,
            ffi::XBUF_ERR_STRUCT_TOO_NEW => Status::StructTooNew,
            ffi::XBUF_ERR_STRUCT_TOO_OLD => Status::StructTooOld,
            ffi::XBUF_ERR_RELEASED => Status::Released,
            ffi::XBUF_ERR_IO => Status::Io,
            ffi::XBUF_ERR_UNSUPPORTED => Status::Unsupported,
            ffi::XBUF_ERR_PANIC => Status::Panic,
            ffi::XBUF_ERR_BUFFER_TOO_SMALL => Status::BufferTooSmall,
            ffi::XBUF_ERR_BAD_EXPORTER => Status::BadExporter,
            other => Status::Other(other),
        }
    }

    /// The C status code (`XBUF_ERR_*`).
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => ffi::XBUF_ERR_INVALID_ARGUMENT,
            Status::NullArgument => ffi::XBUF_ERR_NULL_ARGUMENT,
            Status::Request => ffi::XBUF_ERR_REQUEST,
            Status::Readonly => ffi::XBUF_ERR_READONLY,
            Status::NotContiguous => ffi::XBUF_ERR_NOT_CONTIGUOUS,
            Status::Format => ffi::XBUF_ERR_FORMAT,
            Status::Busy => ffi::XBUF_ERR_BUSY,
            Status::OutOfBounds => ffi::XBUF_ERR_OUT_OF_BOUNDS,
            Status::Overflow => ffi::XBUF_ERR_OVERFLOW,
            Status::NoMemory => ffi::XBUF_ERR_NO_MEMORY,
            Status::StructTooNew => ffi::XBUF_ERR_STRUCT_TOO_NEW,
            Status::StructTooOld => ffi::XBUF_ERR_STRUCT_TOO_OLD,
            Status::Released => ffi::XBUF_ERR_RELEASED,
            Status::Io => ffi::XBUF_ERR_IO,
            Status::Unsupported => ffi::XBUF_ERR_UNSUPPORTED,
            Status::Panic => ffi::XBUF_ERR_PANIC,
            Status::BufferTooSmall => ffi::XBUF_ERR_BUFFER_TOO_SMALL,
            Status::BadExporter => ffi::XBUF_ERR_BAD_EXPORTER,
            Status::Other(code) => code,
        }
    }

    /// The C name of the status (`"XBUF_ERR_BUSY"`).
    pub fn name(self) -> &'static str {
        let p = ffi::xbuf_status_str(self.code());
        if p.is_null() {
            return "XBUF_ERR_UNKNOWN";
        }
        // SAFETY: xbuf_status_str returns NULL or a static NUL-terminated string.
        unsafe { CStr::from_ptr(p) }
            .to_str()
            .unwrap_or("XBUF_ERR_UNKNOWN")
    }
}

/// A failed call: its [`Status`] and a message that says what was asked and what was found.
///
/// ```
/// let err = xbuf::Format::parse("T{i:x:").unwrap_err();
/// assert_eq!(err.status(), xbuf::Status::Format);
/// assert!(err.to_string().contains("T{i:x:"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    status: Status,
    message: String,
}

/// The result of the fallible calls of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with this status and message.
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error of the C call that just returned `code` on this thread (its message is the
    /// thread's last error message).
    pub(crate) fn last(code: c_int) -> Error {
        let p = ffi::xbuf_last_error_message();
        let message = if p.is_null() {
            String::new()
        } else {
            // SAFETY: the message is NUL-terminated and lives until the thread's next failure.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        };
        Error::new(Status::from_code(code), message)
    }
}

/// `Ok(())` for `XBUF_OK`, else the thread's last error.
#[inline]
pub(crate) fn check(code: c_int) -> Result<()> {
    if code == ffi::XBUF_OK {
        Ok(())
    } else {
        Err(Error::last(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_have_names() {
        for code in 1..=18 {
            let s = Status::from_code(code);
            assert!(!matches!(s, Status::Other(_)), "code {code}");
            assert_eq!(s.code(), code);
            assert!(s.name().starts_with("XBUF_ERR_"), "{}", s.name());
        }
        assert_eq!(Status::Busy.name(), "XBUF_ERR_BUSY");
        assert_eq!(Status::from_code(999), Status::Other(999));
        assert_eq!(Status::Other(999).code(), 999);
    }
}
