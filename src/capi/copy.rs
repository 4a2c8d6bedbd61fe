//! Copies: between views, and between views and contiguous memory; the cap on the threads a
//! large copy or comparison may use.

use std::ffi::{c_char, c_int, c_void};

use super::{boundary, nonnull, raw_bytes_arg, xbuf_bufferinfo};
use crate::kernels;
use crate::layout::{Order, StrideBuf};

/// Caps the number of threads one large copy or comparison may use.
///
/// Caps the number of threads one large copy or comparison may use (`xbuf_copy`,
/// `xbuf_to_contiguous`, `xbuf_from_contiguous`, `xbuf_view_tobytes`, `xbuf_view_equal` and
/// the other calls that copy or compare items), as the thread settings of BLAS libraries do.
/// A copy of at least 8 MiB splits its destination into disjoint pieces of at least 4 MiB,
/// one per thread, up to the cap; a comparison splits likewise. The calling thread takes one
/// piece, the others run on threads started for the call and joined before it returns (no
/// thread outlives a call; there is no pool; a piece whose thread the system refuses runs on
/// the calling thread). A destination that overlaps itself, and anything
/// smaller, is done on the calling thread alone. The results are the same for every cap.
///
/// `n >= 1` sets the cap to `n` (it may exceed the number of cores; 1 keeps every copy on the
/// calling thread). `n == 0` removes the cap set here, restoring the default: the value of the
/// environment variable `XBUF_NUM_THREADS` when it holds a whole number from 1 to `INT_MAX`
/// (spaces around it allowed), else the number of threads the process can run at once (its
/// CPUs after affinity masks and cgroup quotas). The variable is read once per process, the
/// first time the default is needed; an unset, empty, zero, signed, non-numeric or too large
/// value is ignored. A cap set here always wins over the variable.
///
/// Returns: `XBUF_OK`.
/// Errors: `XBUF_ERR_INVALID_ARGUMENT` (`n` negative; the cap is then unchanged).
/// Thread safety: any thread; the cap is process-wide and atomic. A copy already running keeps
/// the thread count it started with.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_set_max_threads(n: c_int) -> c_int {
    boundary!({ kernels::set_max_threads(i64::from(n)) })
}

/// The cap on the threads of one large copy or comparison now in force.
///
/// The cap on the threads of one large copy or comparison now in force (see
/// `xbuf_set_max_threads`): the last `n >= 1` given to `xbuf_set_max_threads`, else
/// `XBUF_NUM_THREADS` when valid, else the number of threads the process can run at once.
///
/// Returns: the cap, at least 1 (`INT_MAX` if larger). Never fails.
/// Thread safety: any thread.
///
/// # Safety
/// Safe to call at any time: no pointer arguments.
#[no_mangle]
pub extern "C" fn xbuf_get_max_threads() -> c_int {
    boundary!({ Ok(ThreadCap(kernels::max_threads())) })
}

/// The answer of `xbuf_get_max_threads`: a thread count, `INT_MAX` if larger, and 1 on
/// failure (the value that is always safe).
struct ThreadCap(usize);

impl super::Outcome for ThreadCap {
    type C = c_int;
    fn into_c(self) -> c_int {
        c_int::try_from(self.0).unwrap_or(c_int::MAX)
    }
    fn failed(_: &crate::status::Error) -> c_int {
        1
    }
}

/// Copies the items of the view `src` into the view `dst`, index by index.
///
/// Copies the items of `src` into `dst`, item by item at the same indices. Requires equal
/// shapes (`ndim` and every extent), formats of the same layout (NULL means `"B"`) and a
/// writable `dst`. Correct when the two share memory: the source is read completely before
/// the destination is written where they may overlap. A destination whose items overlap one
/// another is written in C order (the last write wins).
///
/// Borrows: `dst` and `src`, filled views (by `xbuf_get_buffer` or by hand).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_RELEASED` (an empty view),
/// `XBUF_ERR_INVALID_ARGUMENT` (shapes differ, an inconsistent view), `XBUF_ERR_FORMAT`
/// (formats differ), `XBUF_ERR_READONLY`, `XBUF_ERR_NO_MEMORY`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread; the caller keeps other writers away from `dst`.
///
/// # Safety
/// `dst` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable,
/// used by no other thread during the call; `src` is NULL or points at an `xbuf_bufferinfo` whose
/// first `structsize` bytes are readable, used by no other thread during the call. Each must stay
/// valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_copy(
    dst: *const xbuf_bufferinfo,
    src: *const xbuf_bufferinfo,
) -> c_int {
    boundary!({
        let d = nonnull(dst, "dst")?.as_ptr();
        let s = nonnull(src, "src")?.as_ptr();
        kernels::copy_views(d, s)
    })
}

/// Copies the items of `src` into `buf`, contiguously in `order`.
///
/// Copies the items of `src` into `buf`, contiguously in `order` (`'C'`, `'F'`, or `'A'`:
/// Fortran if `src` is Fortran- but not C-contiguous, else C), as `PyBuffer_ToContiguous`.
/// `len` must equal `src->len` exactly (CPython clamps silently; xbuf refuses).
///
/// Borrows: `buf` (`len` bytes, written), `src` (a filled view).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_RELEASED`, `XBUF_ERR_INVALID_ARGUMENT` (bad
/// order, `len` differs, an inconsistent view), `XBUF_ERR_NO_MEMORY`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread.
///
/// # Safety
/// `buf` is NULL or points at as many writable bytes as stated above; `src` is NULL or points at an
/// `xbuf_bufferinfo` whose first `structsize` bytes are readable, used by no other thread during
/// the call. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_to_contiguous(
    buf: *mut c_void,
    len: usize,
    src: *const xbuf_bufferinfo,
    order: c_char,
) -> c_int {
    boundary!({
        let order = Order::from_char(order as u8)?;
        let mut room = StrideBuf::new();
        let sl = kernels::read_source(
            nonnull(src, "src")?.as_ptr(),
            &mut room,
            "xbuf_to_contiguous",
        )?;
        let buf = raw_bytes_arg(buf, len, "buf")?;
        kernels::to_contiguous_strided(buf as *mut u8, len, &sl, order)
    })
}

/// Copies contiguous bytes at `buf` into the items of `dst`.
///
/// Copies `len` bytes at `buf`, laid out contiguously in `order` (`'C'`, `'F'`, or `'A'`: as
/// for `xbuf_to_contiguous`, judged on `dst`), into the items of `dst`, as
/// `PyBuffer_FromContiguous`. `len` must equal `dst->len` exactly.
///
/// Borrows: `dst` (a filled, writable view), `buf` (`len` bytes, read; may overlap `dst`'s
/// memory).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_RELEASED`, `XBUF_ERR_READONLY`,
/// `XBUF_ERR_INVALID_ARGUMENT` (bad order, `len` differs, an inconsistent view),
/// `XBUF_ERR_NO_MEMORY`.
/// Refuses memory on a device other than the CPU with `XBUF_ERR_UNSUPPORTED`.
/// Thread safety: any thread; the caller keeps other writers away from `dst`.
///
/// # Safety
/// `dst` is NULL or points at an `xbuf_bufferinfo` whose first `structsize` bytes are readable,
/// used by no other thread during the call; `buf` is NULL or points at as many readable bytes as
/// stated above. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_from_contiguous(
    dst: *const xbuf_bufferinfo,
    buf: *const c_void,
    len: usize,
    order: c_char,
) -> c_int {
    boundary!({
        let order = Order::from_char(order as u8)?;
        let mut room = StrideBuf::new();
        let dl = kernels::read_destination(
            nonnull(dst, "dst")?.as_ptr(),
            &mut room,
            "xbuf_from_contiguous",
        )?;
        let buf = raw_bytes_arg(buf, len, "buf")?;
        kernels::from_contiguous_strided(&dl, buf, len, order)
    })
}
