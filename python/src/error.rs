//! xbuf statuses as Python exceptions, carrying the library's message, chosen as memoryview
//! raises them: `BufferError` for requests an exporter cannot meet and for busy objects,
//! `ValueError` for bad arguments, formats and released views, `IndexError` for indices out of
//! range, `TypeError` for writes to read-only memory, `MemoryError`, `OverflowError`,
//! `OSError`, `NotImplementedError` for what the library does not support.

use std::ffi::{c_int, CStr};

use pyo3::exceptions::{
    PyBufferError, PyIndexError, PyMemoryError, PyNotImplementedError, PyOSError, PyOverflowError,
    PySystemError, PyTypeError, PyValueError,
};
use pyo3::PyErr;

use crate::sys::*;

/// The calling thread's last library message.
pub fn last_message() -> String {
    // SAFETY: the library returns a NUL-terminated string that stays valid until the next
    // failing call on this thread; it is copied at once.
    unsafe { CStr::from_ptr(xbuf_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// The exception for `status` with `message`.
pub fn exception(status: c_int, message: String) -> PyErr {
    match status {
        XBUF_ERR_REQUEST | XBUF_ERR_NOT_CONTIGUOUS | XBUF_ERR_BUSY | XBUF_ERR_BAD_EXPORTER => {
            PyBufferError::new_err(message)
        }
        XBUF_ERR_READONLY => PyTypeError::new_err(message),
        XBUF_ERR_OUT_OF_BOUNDS => PyIndexError::new_err(message),
        XBUF_ERR_OVERFLOW => PyOverflowError::new_err(message),
        XBUF_ERR_NO_MEMORY => PyMemoryError::new_err(message),
        XBUF_ERR_IO => PyOSError::new_err(message),
        XBUF_ERR_UNSUPPORTED => PyNotImplementedError::new_err(message),
        XBUF_ERR_PANIC | XBUF_ERR_BUFFER_TOO_SMALL => PySystemError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// `Ok` for `XBUF_OK`, else the exception for `status` with the thread's last message.
#[inline]
pub fn check(status: c_int) -> pyo3::PyResult<()> {
    if status == XBUF_OK {
        Ok(())
    } else {
        Err(exception(status, last_message()))
    }
}

/// A library error from the value rule as an exception.
pub fn from_error(e: &crate::sys::values::Error) -> PyErr {
    exception(e.status().code(), e.message().to_owned())
}
