//! Exchange formats of other array libraries, both ways, zero-copy.

pub mod arrow;
