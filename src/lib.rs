//! xbuf: the extended buffer protocol (PEP 3118) as a C library.
//!
//! The C API is generated into `include/xbuf.h` from the `capi` module; everything else is
//! safe(-as-possible) Rust that the unit tests reach directly.

pub mod abi;
pub mod bufferinfo;
pub mod capi;
pub mod exporters;
pub mod foreign;
pub mod format;
pub(crate) mod interop;
pub mod layout;
pub mod object;
pub mod request;
pub mod status;
pub mod strided;
pub(crate) mod sync;
pub mod view;

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
