//! xbuf: the extended buffer protocol (PEP 3118) as a C library, and a safe Rust API over it.
//!
//! An *exporter* lends typed, N-dimensional, strided memory; a *consumer* reads (or writes) it
//! without copying, with clear rules for who keeps the memory alive. The C API is
//! `include/xbuf.h`; this crate's Rust API is built on it:
//!
//! - [`Object`]: an owned reference to an exporter (`Clone` = incref, `Drop` = decref), with
//!   the built-in exporters ([`Object::from_vec`], [`Object::from_bytes`],
//!   [`Object::bytearray`], [`Object::mmap`]) and your own through [`Exporter`];
//! - [`Buffer`]: a filled view, released on drop, read as `&[T]` / `&mut [T]` (checked against
//!   the format through [`Element`]) or item by item in any layout;
//! - [`View`]: memoryview's operations (N-d slicing, indexing, transpose, cast, `tobytes`,
//!   `tolist`, equality, hash);
//! - [`Format`]: parsed PEP 3118 item formats, their fields and scalars, items decoded,
//!   rendered as JSON or walked value by value ([`Format::walk`], [`Visit`]);
//! - [`Error`] with its [`Status`], and [`Result`];
//! - with the `ndarray` feature, `Buffer::as_array` and `Object::from_array`;
//! - [`ffi`]: the raw C ABI by its C names, for what the safe API does not cover.
//!
//! ```
//! use xbuf::{Object, Request, Slice, View};
//!
//! // A 2-D float32 array, lent without copying.
//! let obj = Object::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
//! let buf = obj.buffer(Request::FULL_RO)?;
//! assert_eq!((buf.shape(), buf.format()), (&[2usize, 3][..], "f"));
//! let values: &[f32] = buf.as_slice()?;
//! assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//!
//! // Every second column, as memoryview would slice it (if it could in 2-D).
//! let view = View::new(&obj, Request::FULL_RO)?.slice(&[Slice::all(), Slice::new(None, None, Some(2))])?;
//! assert_eq!(view.tolist()?, "[[1.0, 3.0], [4.0, 6.0]]");
//! # Ok::<(), xbuf::Error>(())
//! ```

#![warn(missing_docs)]

// The safe Rust API, re-exported below (not part of the C header, hence the annotation).
/// cbindgen:ignore
mod api;
pub mod ffi;

// The library's internals: the C ABI (`capi`, reached from Rust through `ffi`) and the safe
// modules behind it, which the unit tests reach directly; a few of their items serve only
// those tests.
#[allow(dead_code, unused_imports)]
pub(crate) mod abi;
#[allow(dead_code, unused_imports)]
pub(crate) mod bufferinfo;
#[allow(dead_code, unused_imports)]
pub(crate) mod capi;
#[allow(dead_code, unused_imports)]
pub(crate) mod exporters;
#[allow(dead_code, unused_imports)]
pub(crate) mod foreign;
#[allow(dead_code, unused_imports)]
pub(crate) mod format;
#[allow(dead_code, unused_imports)]
pub(crate) mod interop;
#[allow(dead_code, unused_imports)]
pub(crate) mod layout;
#[allow(dead_code, unused_imports)]
pub(crate) mod object;
#[allow(dead_code, unused_imports)]
pub(crate) mod request;
#[allow(dead_code, unused_imports)]
pub(crate) mod status;
#[allow(dead_code, unused_imports)]
pub(crate) mod strided;
#[allow(dead_code, unused_imports)]
pub(crate) mod sync;
#[allow(dead_code, unused_imports)]
pub(crate) mod view;

pub use api::*;

/// Internals reached by the fuzz targets and their regression test (`fuzz/`,
/// `tests/fuzz_regressions.rs`); not part of the API, may change at any time.
#[doc(hidden)]
pub mod test_support {
    /// The format parser and item rendering.
    pub mod format {
        /// A format as the parser holds it.
        pub struct Format(std::sync::Arc<crate::format::Format>);

        /// Parses (through the library's cache); `None` for a malformed format.
        pub fn parse(text: &[u8]) -> Option<Format> {
            crate::format::parse(text).ok().map(Format)
        }

        /// Appends one item (`itemsize` bytes) as JSON to `out`.
        pub fn write_json(fmt: &Format, item: &[u8], out: &mut String) -> Option<()> {
            crate::format::write_json(&fmt.0, item, out).ok()
        }

        /// Whether two items are equal by value.
        pub fn items_equal(a: &Format, item_a: &[u8], b: &Format, item_b: &[u8]) -> bool {
            crate::format::items_equal(&a.0, item_a, &b.0, item_b)
        }

        /// Parses `data` as a format and checks the parser's invariants (panics on a break).
        pub fn fuzz_check(data: &[u8]) {
            crate::format::fuzz_check(data)
        }
    }
}

/// `MAJOR * 10000 + MINOR * 100 + PATCH` of this crate.
pub(crate) const VERSION_NUMBER: u32 = {
    const fn parse(s: &str) -> u32 {
        let b = s.as_bytes();
        let mut i = 0;
        let mut n = 0u32;
        while i < b.len() {
            n = n * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        n
    }
    parse(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + parse(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + parse(env!("CARGO_PKG_VERSION_PATCH"))
};

/// The crate version, NUL-terminated.
pub(crate) const VERSION_STRING: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(s) => s,
    Err(_) => panic!("version contains NUL"),
};
