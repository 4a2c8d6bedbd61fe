//! The earlier home of the owned layout, the copy kernels and the list rendering, kept as
//! paths to where they live now: [`crate::layout`], [`crate::kernels`], [`crate::format::list`].

pub use crate::format::list::{empty_list_len, write_list, BoundedText, TextSink};
pub use crate::kernels::{
    copy, default_max_threads, equal, from_contiguous, max_threads, resolve_order, set_max_threads,
    to_contiguous,
};
pub use crate::layout::{for_each_pair, Layout};
