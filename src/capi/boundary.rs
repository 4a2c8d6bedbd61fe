//! The boundary every exported function's body runs in: [`boundary!`] catches panics, records
//! failures for the calling thread and returns the failure value the body's type chooses
//! ([`Outcome`]).

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::XBUF_OK;
use crate::status::{self, Error, Result, Status};

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cold]
#[inline(never)]
fn fail(func: &str, e: Error) {
    status::set_last_error(e.code(), &format!("{func}: {}", e.message));
}

/// What an exported function's body yields, and what the function returns to C for it: the
/// C return type is `Self::C`, and [`Outcome::failed`] chooses the value a failure (an error or
/// a caught panic) returns, so that each kind of function fails as its documentation says.
pub(crate) trait Outcome: Sized {
    /// The C return type.
    type C;
    /// The value for a success.
    fn into_c(self) -> Self::C;
    /// The value for a failure `e` (already recorded for the thread).
    fn failed(e: &Error) -> Self::C;
}

/// A function that returns a status: `XBUF_OK`, or the error's `XBUF_ERR_*` code
/// (`XBUF_ERR_PANIC` for a panic).
impl Outcome for () {
    type C = c_int;
    #[inline(always)]
    fn into_c(self) -> c_int {
        XBUF_OK
    }
    fn failed(e: &Error) -> c_int {
        e.code()
    }
}

/// A predicate: 1 or 0, and 0 on failure.
impl Outcome for bool {
    type C = c_int;
    #[inline(always)]
    fn into_c(self) -> c_int {
        c_int::from(self)
    }
    fn failed(_: &Error) -> c_int {
        0
    }
}

/// A count or size (`ptrdiff_t`): -1 on failure.
impl Outcome for isize {
    type C = isize;
    #[inline(always)]
    fn into_c(self) -> isize {
        self
    }
    fn failed(_: &Error) -> isize {
        -1
    }
}

/// A character answer (a byte-order character): NUL on failure.
impl Outcome for std::ffi::c_char {
    type C = std::ffi::c_char;
    #[inline(always)]
    fn into_c(self) -> std::ffi::c_char {
        self
    }
    fn failed(_: &Error) -> std::ffi::c_char {
        0
    }
}

/// A pointer: NULL on failure.
impl<T> Outcome for *mut T {
    type C = *mut T;
    #[inline(always)]
    fn into_c(self) -> *mut T {
        self
    }
    fn failed(_: &Error) -> *mut T {
        std::ptr::null_mut()
    }
}

/// A pointer: NULL on failure.
impl<T> Outcome for *const T {
    type C = *const T;
    #[inline(always)]
    fn into_c(self) -> *const T {
        self
    }
    fn failed(_: &Error) -> *const T {
        std::ptr::null()
    }
}

/// The body of an exported function, run so that nothing but its C return value crosses into
/// the caller: `Ok(v)` returns `v` converted by [`Outcome`], an error records
/// `function_name: message` for the calling thread and returns the failure value of the body's
/// type, and a panic is caught and reported as `XBUF_ERR_PANIC` likewise. The function's name
/// is found from the function the macro is expanded in, so no call site types it.
///
/// ```text
/// pub unsafe extern "C" fn xbuf_incref(obj: *mut xbuf_object) -> c_int {
///     boundary!({ object(obj, "obj")?.incref() })
/// }
/// ```
macro_rules! boundary {
    ($body:block) => {{
        fn here() {}
        $crate::capi::run_boundary(here, || -> $crate::status::Result<_> { $body })
    }};
}
pub(crate) use boundary;

/// Runs `body` for [`boundary!`]; `here` is a function item defined inside the exported
/// function, whose path names it.
#[inline(always)]
pub(crate) fn run_boundary<F: Fn(), R: Outcome>(
    _here: F,
    body: impl FnOnce() -> Result<R>,
) -> R::C {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v.into_c(),
        // One cold call each, so that the success path keeps no state for them.
        Ok(Err(e)) => failed_in::<F, R>(e),
        Err(p) => panicked_in::<F, R>(p),
    }
}

/// The failure `e` of the exported function `F` is in, recorded and turned into its value.
#[cold]
#[inline(never)]
fn failed_in<F, R: Outcome>(e: Error) -> R::C {
    failure::<R>(function_name::<F>(), e)
}

/// A panic caught in the exported function `F` is in, recorded as `XBUF_ERR_PANIC`.
#[cold]
#[inline(never)]
fn panicked_in<F, R: Outcome>(p: Box<dyn std::any::Any + Send>) -> R::C {
    failure::<R>(
        function_name::<F>(),
        Error::new(
            Status::Panic,
            format!("internal error (please report): {}", panic_message(&*p)),
        ),
    )
}

#[cold]
#[inline(never)]
fn failure<R: Outcome>(func: &str, e: Error) -> R::C {
    let r = R::failed(&e);
    fail(func, e);
    r
}

/// The name of the function a `fn here() {}` item is defined in: the path segment before
/// `here` (closures' segments skipped). `std::any::type_name` promises no format, only a
/// description; the tests in `capi/tests.rs` check the names every message starts with.
#[cold]
fn function_name<F>() -> &'static str {
    std::any::type_name::<F>()
        .rsplit("::")
        .skip(1)
        .find(|s| !s.starts_with('{'))
        .unwrap_or("xbuf")
}
