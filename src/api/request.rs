//! [`Request`]: what a consumer asks of an exporter (the request flags).

use std::ffi::c_int;
use std::ops::BitOr;

use crate::ffi;

/// The request flags of `xbuf_get_buffer` (PEP 3118's, with the same values). Combine them
/// with `|`: `Request::STRIDES | Request::FORMAT`.
///
/// ```
/// use xbuf::Request;
/// assert_eq!(Request::FULL_RO | Request::WRITABLE, Request::FULL);
/// assert!(Request::FULL.writable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request(c_int);

impl Request {
    /// Contiguous bytes only: no format (meaning `B`), no shape, no strides.
    pub const SIMPLE: Request = Request(ffi::XBUF_SIMPLE);
    /// The view must be writable.
    pub const WRITABLE: Request = Request(ffi::XBUF_WRITABLE);
    /// Fill the format.
    pub const FORMAT: Request = Request(ffi::XBUF_FORMAT);
    /// Fill the shape.
    pub const ND: Request = Request(ffi::XBUF_ND);
    /// Fill the strides (any layout).
    pub const STRIDES: Request = Request(ffi::XBUF_STRIDES);
    /// The memory must be C-contiguous.
    pub const C_CONTIGUOUS: Request = Request(ffi::XBUF_C_CONTIGUOUS);
    /// The memory must be Fortran-contiguous.
    pub const F_CONTIGUOUS: Request = Request(ffi::XBUF_F_CONTIGUOUS);
    /// The memory must be C- or Fortran-contiguous.
    pub const ANY_CONTIGUOUS: Request = Request(ffi::XBUF_ANY_CONTIGUOUS);
    /// Suboffsets (PIL-style indirect arrays) are accepted.
    pub const INDIRECT: Request = Request(ffi::XBUF_INDIRECT);
    /// Writable, C-contiguous, with shape.
    pub const CONTIG: Request = Request(ffi::XBUF_CONTIG);
    /// C-contiguous, with shape.
    pub const CONTIG_RO: Request = Request(ffi::XBUF_CONTIG_RO);
    /// Writable, strided.
    pub const STRIDED: Request = Request(ffi::XBUF_STRIDED);
    /// Strided.
    pub const STRIDED_RO: Request = Request(ffi::XBUF_STRIDED_RO);
    /// Writable, strided, with format.
    pub const RECORDS: Request = Request(ffi::XBUF_RECORDS);
    /// Strided, with format.
    pub const RECORDS_RO: Request = Request(ffi::XBUF_RECORDS_RO);
    /// Writable, everything, suboffsets accepted.
    pub const FULL: Request = Request(ffi::XBUF_FULL);
    /// Everything, suboffsets accepted.
    pub const FULL_RO: Request = Request(ffi::XBUF_FULL_RO);

    /// The flags as the C API takes them.
    pub fn bits(self) -> c_int {
        self.0
    }

    /// Flags from their C value (the library checks them when they are used).
    pub fn from_bits(bits: c_int) -> Request {
        Request(bits)
    }

    /// Whether the request demands writable memory.
    pub fn writable(self) -> bool {
        self.0 & ffi::XBUF_WRITABLE != 0
    }
}

impl BitOr for Request {
    type Output = Request;
    fn bitor(self, rhs: Request) -> Request {
        Request(self.0 | rhs.0)
    }
}
