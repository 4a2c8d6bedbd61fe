//! The C boundary: every function, type and constant of `include/xbuf.h`, one module per
//! section of the header (tools/gen-header writes the sections in the order declared below,
//! each headed by its module's documentation). Every exported function is a thin wrapper: it
//! reads its arguments (NULL checks, `structsize`, conversions), calls a safe function and
//! writes the results, all inside [`boundary!`], which turns errors into the function's
//! failure value ([`Outcome`]) plus the thread's last message and never lets a panic cross
//! into C. A new object reaches C through [`object_out`]. The logic lives in the safe modules.

// The boundary macro and its failure values, and the readers and writers of arguments.
mod args;
mod boundary;
mod format_structs;
pub(crate) use args::*;
pub(crate) use boundary::*;

// The modules, one per section of the header, in the header's order (tools/gen-header reads
// this list; each declaration stands apart so that formatting keeps the order).

/// Section 1: status codes, the thread's last error, versions.
pub mod errors;

/// Section 2: objects and their types (`xbuf_object`, `xbuf_type`, the proc typedefs).
pub mod objects;

/// Section 3: requests and `xbuf_bufferinfo`: getting, releasing and reading views.
pub mod requests;

/// Section 4: helpers for exporters' procs.
pub mod procs;

/// Section 5: the built-in exporters.
pub mod exporters;

/// Section 6: item formats.
pub mod format;

/// Section 7: view objects (`xbuf_view_*`).
pub mod view;

/// Section 8: copies and the thread cap.
pub mod copy;

/// Section 9: DLPack.
pub mod dlpack;

/// Section 10: the Arrow C Data Interface.
pub mod arrow;

pub use arrow::*;
pub use copy::*;
pub use dlpack::*;
pub use errors::*;
pub use exporters::*;
pub use format::*;
pub use objects::*;
pub use procs::*;
pub use requests::*;
pub use view::*;

#[cfg(test)]
mod tests;
