//! Exchange formats of other array libraries, both directions, zero-copy.

pub(crate) mod arrow;
pub(crate) mod dlpack;
