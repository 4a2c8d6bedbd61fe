//! Fuzzes view operations (slice, index, permute, cast, copies, from_contiguous, tobytes,
//! tolist, requests, item pointers, release) on random layouts, suboffsets included, against
//! the reference model in `harness/view_ops.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::view_ops::run(data);
});
