//! The safe Rust API, built on the C ABI (the `xbuf_*` functions) and re-exported at the crate
//! root.

pub(crate) mod buffer;
pub(crate) mod element;
pub(crate) mod error;
pub(crate) mod exporter;
pub(crate) mod format;
#[cfg(feature = "ndarray")]
pub(crate) mod ndarray;
pub(crate) mod object;
pub(crate) mod request;
pub(crate) mod view;
pub(crate) mod walk;

pub use buffer::{Buffer, Items};
pub use element::Element;
pub use error::{Error, Result, Status};
pub use exporter::{ExportLayout, Exporter};
pub use format::{Field, Format, Leaf, Value, ValueKind};
pub use object::{MmapMode, Object};
pub use request::Request;
pub use view::{Order, Slice, View};
pub use walk::{Scalar, Visit};
