//! The harnesses of the `view_ops` and `exporter` fuzz targets. They drive the library through
//! its C ABI (the `xbuf_*` functions, called from Rust) and check it against reference models
//! written here. Shared by the fuzz targets (`fuzz_targets/`) and by `cargo test` in the main
//! crate (`tests/fuzz_regressions.rs`), which runs every input kept in `regressions_*/`.
#![allow(dead_code)]

pub mod exporter;
pub mod input;
pub mod layout;
pub mod view_ops;

/// Counts of what the inputs reached, to see that a corpus exercises every path.
pub mod stats {
    use std::sync::atomic::{AtomicU64, Ordering};

    pub static COUNTERS: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];
    pub const NAMES: [&str; 32] = [
        "inputs",
        "views made",
        "slices",
        "slices with a table of their own",
        "indexes",
        "permutes",
        "casts",
        "tobytes",
        "tolist",
        "copies out",
        "copies in",
        "overlapping copies",
        "from_contiguous",
        "equal",
        "requests",
        "item pointers",
        "releases",
        "exporter gets",
        "exporter gets accepted",
        "exporter gets refused",
        "accepted answers read back",
        "nested answers",
        "answers through a view with a table of its own",
        "indirect layouts",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];

    pub fn bump(k: usize) {
        COUNTERS[k].fetch_add(1, Ordering::Relaxed);
    }

    /// One line per non-zero counter.
    pub fn report() -> String {
        let mut s = String::new();
        for (name, c) in NAMES.iter().zip(COUNTERS.iter()) {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                s.push_str(&format!("{name}: {n}\n"));
            }
        }
        s
    }

    pub const INPUTS: usize = 0;
    pub const VIEWS: usize = 1;
    pub const SLICES: usize = 2;
    pub const OWN_TABLES: usize = 3;
    pub const INDEXES: usize = 4;
    pub const PERMUTES: usize = 5;
    pub const CASTS: usize = 6;
    pub const TOBYTES: usize = 7;
    pub const TOLIST: usize = 8;
    pub const COPIES_OUT: usize = 9;
    pub const COPIES_IN: usize = 10;
    pub const OVERLAPPING: usize = 11;
    pub const FROM_CONTIGUOUS: usize = 12;
    pub const EQUAL: usize = 13;
    pub const REQUESTS: usize = 14;
    pub const ITEM_POINTERS: usize = 15;
    pub const RELEASES: usize = 16;
    pub const GETS: usize = 17;
    pub const ACCEPTED: usize = 18;
    pub const REFUSED: usize = 19;
    pub const READ_BACK: usize = 20;
    pub const NESTED: usize = 21;
    pub const NESTED_TABLES: usize = 22;
    pub const INDIRECT: usize = 23;
}
