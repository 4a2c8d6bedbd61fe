//! Fuzzes the format parser and everything built on it: any input must parse or fail with
//! the format or overflow status (never panic, hang or exhaust memory), and a parsed format
//! must satisfy every invariant `xbuf::test_support::format::fuzz_check` asserts (canonical text round
//! trip, equivalence, leaves inside the item, JSON rendering, decoding).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    xbuf::test_support::format::fuzz_check(data);
});
