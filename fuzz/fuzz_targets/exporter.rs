//! Fuzzes the checks of exporter answers: a C-style exporter fills its views from the input
//! and the library must accept exactly the valid answers, as the reference model in
//! `harness/exporter.rs` says, and never read or write outside what they describe.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::exporter::run(data);
});
