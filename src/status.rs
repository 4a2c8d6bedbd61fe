//! Status codes, the library's error type and the thread's last error message.
//!
//! Every fallible C function returns an `int` status: [`XBUF_OK`] (0) on success, one of the
//! `XBUF_ERR_*` codes on failure. The values are part of the ABI and are never renumbered; new
//! codes are only ever appended. A failing call also records a message for the calling thread,
//! readable with `xbuf_last_error_message()` until the next failure on that thread.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::fmt;

use crate::capi::errors::*;

/// The status codes as a Rust enum. `Status as c_int` is the ABI value.
/// cbindgen:ignore
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    InvalidArgument = XBUF_ERR_INVALID_ARGUMENT,
    NullArgument = XBUF_ERR_NULL_ARGUMENT,
    Request = XBUF_ERR_REQUEST,
    ReadOnly = XBUF_ERR_READONLY,
    NotContiguous = XBUF_ERR_NOT_CONTIGUOUS,
    Format = XBUF_ERR_FORMAT,
    Busy = XBUF_ERR_BUSY,
    OutOfBounds = XBUF_ERR_OUT_OF_BOUNDS,
    Overflow = XBUF_ERR_OVERFLOW,
    NoMemory = XBUF_ERR_NO_MEMORY,
    StructTooNew = XBUF_ERR_STRUCT_TOO_NEW,
    StructTooOld = XBUF_ERR_STRUCT_TOO_OLD,
    Released = XBUF_ERR_RELEASED,
    Io = XBUF_ERR_IO,
    Unsupported = XBUF_ERR_UNSUPPORTED,
    Panic = XBUF_ERR_PANIC,
    BufferTooSmall = XBUF_ERR_BUFFER_TOO_SMALL,
    BadExporter = XBUF_ERR_BAD_EXPORTER,
}

impl Status {
    /// Every status in code order (for tables and tests).
    pub const ALL: [Status; 18] = [
        Status::InvalidArgument,
        Status::NullArgument,
        Status::Request,
        Status::ReadOnly,
        Status::NotContiguous,
        Status::Format,
        Status::Busy,
        Status::OutOfBounds,
        Status::Overflow,
        Status::NoMemory,
        Status::StructTooNew,
        Status::StructTooOld,
        Status::Released,
        Status::Io,
        Status::Unsupported,
        Status::Panic,
        Status::BufferTooSmall,
        Status::BadExporter,
    ];

    /// The status for an ABI code, if it names one (0 is success, not a `Status`).
    pub fn from_code(code: c_int) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| *s as c_int == code)
    }

    /// The C constant's name, NUL-terminated.
    pub fn name(self) -> &'static str {
        match self {
            Status::InvalidArgument => "XBUF_ERR_INVALID_ARGUMENT\0",
            Status::NullArgument => "XBUF_ERR_NULL_ARGUMENT\0",
            Status::Request => "XBUF_ERR_REQUEST\0",
            Status::ReadOnly => "XBUF_ERR_READONLY\0",
            Status::NotContiguous => "XBUF_ERR_NOT_CONTIGUOUS\0",
            Status::Format => "XBUF_ERR_FORMAT\0",
            Status::Busy => "XBUF_ERR_BUSY\0",
            Status::OutOfBounds => "XBUF_ERR_OUT_OF_BOUNDS\0",
            Status::Overflow => "XBUF_ERR_OVERFLOW\0",
            Status::NoMemory => "XBUF_ERR_NO_MEMORY\0",
            Status::StructTooNew => "XBUF_ERR_STRUCT_TOO_NEW\0",
            Status::StructTooOld => "XBUF_ERR_STRUCT_TOO_OLD\0",
            Status::Released => "XBUF_ERR_RELEASED\0",
            Status::Io => "XBUF_ERR_IO\0",
            Status::Unsupported => "XBUF_ERR_UNSUPPORTED\0",
            Status::Panic => "XBUF_ERR_PANIC\0",
            Status::BufferTooSmall => "XBUF_ERR_BUFFER_TOO_SMALL\0",
            Status::BadExporter => "XBUF_ERR_BAD_EXPORTER\0",
        }
    }
}

/// The name of any status code, NUL-terminated: `"XBUF_OK"`, an `XBUF_ERR_*` name, or
/// `"XBUF_ERR_UNKNOWN"` for a value that names no status.
pub fn status_name(code: c_int) -> &'static str {
    if code == XBUF_OK {
        return "XBUF_OK\0";
    }
    match Status::from_code(code) {
        Some(s) => s.name(),
        None => "XBUF_ERR_UNKNOWN\0",
    }
}

/// What a failure says: its status and a message naming what was asked and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    pub status: Status,
    pub message: String,
}

/// A failure. Boxed, so that a `Result` of a small value stays small on the hot paths; its
/// fields read through `Deref` (`e.status`, `e.message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<ErrorInfo>);

impl std::ops::Deref for Error {
    type Target = ErrorInfo;
    fn deref(&self) -> &ErrorInfo {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    #[cold]
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error(Box::new(ErrorInfo {
            status,
            message: message.into(),
        }))
    }

    /// The same error with `what: ` in front of its message.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.0.message = format!("{what}: {}", self.0.message);
        self
    }

    /// The ABI code of this error.
    pub fn code(&self) -> c_int {
        self.status as c_int
    }
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error`] with a formatted message: `err!(Busy, "object has {} exports", n)`.
#[doc(hidden)]
#[macro_export]
macro_rules! err {
    ($status:ident, $($arg:tt)+) => {
        $crate::status::Error::new($crate::status::Status::$status, format!($($arg)+))
    };
}

/// Returns early with an [`Error`]: `bail!(OutOfBounds, "index {} >= {}", i, n)`.
#[doc(hidden)]
#[macro_export]
macro_rules! bail {
    ($status:ident, $($arg:tt)+) => {
        return Err($crate::err!($status, $($arg)+))
    };
}

/// `Err(Overflow)` helper for checked arithmetic: `a.checked_mul(b).ok_or_else(|| overflow("..."))`.
pub fn overflow(what: impl fmt::Display) -> Error {
    Error::new(Status::Overflow, format!("{what} overflows"))
}

struct LastError {
    status: c_int,
    message: CString,
    /// Incremented on every recorded failure; lets the library tell whether a callback
    /// recorded its own message.
    generation: u64,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        status: XBUF_OK,
        message: CString::default(),
        generation: 0,
    });
}

/// Runs `f` on the thread's last error, or returns `gone` when the thread's storage is already
/// destroyed (a call from a thread-exit destructor) or, which no library code does, borrowed:
/// the library never panics for either.
fn with_last<T>(gone: T, f: impl FnOnce(&mut LastError) -> T) -> T {
    LAST_ERROR
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut last| f(&mut last)))
        .ok()
        .flatten()
        .unwrap_or(gone)
}

/// Records `status` and `message` as the calling thread's last error (dropped silently when
/// the thread is exiting and its storage is gone).
pub fn set_last_error(status: c_int, message: &str) {
    // Interior NULs would truncate the C string; show them instead.
    let text = message.replace('\0', "\\0");
    let message = CString::new(text).unwrap_or_default();
    with_last((), |last| {
        last.status = status;
        last.message = message;
        last.generation = last.generation.wrapping_add(1);
    });
}

/// Records `e` as the calling thread's last error and returns its code.
pub fn record(e: &Error) -> c_int {
    set_last_error(e.code(), &e.message);
    e.code()
}

/// The generation counter of the thread's last error (changes on every recorded failure).
pub fn last_error_generation() -> u64 {
    with_last(0, |last| last.generation)
}

/// The status of the thread's last recorded failure (`XBUF_OK` if none).
pub fn last_error_status() -> c_int {
    with_last(XBUF_OK, |last| last.status)
}

/// The thread's last message, as an owned Rust string.
pub fn last_error_string() -> String {
    with_last(String::new(), |last| {
        last.message.to_string_lossy().into_owned()
    })
}

/// A pointer to the thread's last message. Valid until the next failure recorded on this
/// thread, or `xbuf_clear_error` / `xbuf_set_error` on it (or until the thread ends).
pub fn last_error_ptr() -> *const c_char {
    with_last(c"".as_ptr(), |last| last.message.as_ptr())
}

/// Forgets the thread's last error.
pub fn clear_last_error() {
    with_last((), |last| {
        last.status = XBUF_OK;
        last.message = CString::default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_fixed() {
        let expected = [
            (Status::InvalidArgument, 1),
            (Status::NullArgument, 2),
            (Status::Request, 3),
            (Status::ReadOnly, 4),
            (Status::NotContiguous, 5),
            (Status::Format, 6),
            (Status::Busy, 7),
            (Status::OutOfBounds, 8),
            (Status::Overflow, 9),
            (Status::NoMemory, 10),
            (Status::StructTooNew, 11),
            (Status::StructTooOld, 12),
            (Status::Released, 13),
            (Status::Io, 14),
            (Status::Unsupported, 15),
            (Status::Panic, 16),
            (Status::BufferTooSmall, 17),
            (Status::BadExporter, 18),
        ];
        for (s, code) in expected {
            assert_eq!(s as c_int, code);
            assert_eq!(Status::from_code(code), Some(s));
        }
        assert_eq!(Status::from_code(0), None);
        assert_eq!(Status::from_code(19), None);
    }

    #[test]
    fn names() {
        assert_eq!(status_name(0), "XBUF_OK\0");
        assert_eq!(status_name(7), "XBUF_ERR_BUSY\0");
        assert_eq!(status_name(-3), "XBUF_ERR_UNKNOWN\0");
        for s in Status::ALL {
            assert!(s.name().starts_with("XBUF_ERR_") && s.name().ends_with('\0'));
        }
    }

    #[test]
    fn last_error_is_per_thread_and_keeps_nul_visible() {
        set_last_error(XBUF_ERR_BUSY, "a\0b");
        assert_eq!(last_error_string(), "a\\0b");
        assert_eq!(last_error_status(), XBUF_ERR_BUSY);
        std::thread::spawn(|| assert_eq!(last_error_status(), XBUF_OK))
            .join()
            .unwrap();
        let g = last_error_generation();
        record(&err!(Overflow, "x {}", 1));
        assert_eq!(last_error_generation(), g + 1);
        assert_eq!(last_error_string(), "x 1");
        clear_last_error();
        assert_eq!(last_error_status(), XBUF_OK);
    }
}
