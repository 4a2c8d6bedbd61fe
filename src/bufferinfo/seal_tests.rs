//! The seal that tells a filled view from a moved, copied, altered or garbage struct, through
//! `is_filled` and both release paths (the short one and the general one).

use super::*;
use crate::exporters::bytearray::ByteArray;
use crate::exporters::ndarray::NdArray;
use crate::status::Status;

/// Slots for structs in one allocation, so that copies land at nearby addresses too.
const SLOTS: usize = 6;
const WORDS: usize = XBUF_BUFFERINFO_SIZE / 8;

fn slots() -> Vec<u64> {
    let mut v = vec![0u64; SLOTS * WORDS];
    for k in 0..SLOTS {
        v[k * WORDS] = XBUF_BUFFERINFO_SIZE as u64;
    }
    v
}

fn at(v: &mut [u64], k: usize) -> *mut xbuf_bufferinfo {
    v[k * WORDS..].as_mut_ptr() as *mut xbuf_bufferinfo
}

type ReleaseFn = unsafe fn(*mut xbuf_bufferinfo) -> Result<()>;
const PATHS: [(&str, ReleaseFn); 2] = [("short", release), ("general", release_checked)];

/// A view copied (or moved by hand) to any other slot is not filled there and its release is
/// refused, whatever the distance; a view whose releaser, block word or seal word changed in
/// any single bit is refused at its own address. Nothing is counted or handed back then.
#[test]
fn a_copied_moved_or_altered_view_is_refused() {
    let ba = ByteArray::new_object(b"0123456789").unwrap();
    let nd = NdArray::zeros(b"<h", &[2, 3], Order::C, 0).unwrap();
    for (obj, flags) in [(&ba, XBUF_SIMPLE), (&ba, XBUF_FULL_RO), (&nd, XBUF_FULL_RO)] {
        for (path, rel_fn) in PATHS {
            let mut mem = slots();
            let p = at(&mut mem, 0);
            unsafe { get_buffer(obj, p, flags) }.unwrap();
            let image: Vec<u64> = mem[..WORDS].to_vec();
            for k in 1..SLOTS {
                let what = format!("{path} flags 0x{flags:x} copy to slot {k}");
                mem[k * WORDS..(k + 1) * WORDS].copy_from_slice(&image);
                let q = at(&mut mem, k);
                unsafe {
                    assert!(!is_filled(q), "{what}");
                    let e = rel_fn(q).unwrap_err();
                    assert_eq!(e.status, Status::InvalidArgument, "{what}");
                    assert!(e.message.contains("moved, copied or overwritten"), "{what}");
                }
                assert_eq!(obj.exports(), 1, "{what}");
            }
            // One bit changed in the releaser (but not to NULL), the block or the seal word.
            for word in [2, 11, 12] {
                for bit in 0..64 {
                    let what = format!("{path} flags 0x{flags:x} word {word} bit {bit}");
                    mem[WORDS..2 * WORDS].copy_from_slice(&image);
                    mem[WORDS + word] ^= 1 << bit;
                    let q = at(&mut mem, 1);
                    // The same change at the original address.
                    mem[word] ^= 1 << bit;
                    unsafe {
                        assert!(!is_filled(p), "{what}");
                        let e = rel_fn(p).unwrap_err();
                        assert_eq!(e.status, Status::InvalidArgument, "{what}");
                        assert!(!is_filled(q), "{what}");
                    }
                    mem[word] ^= 1 << bit;
                    assert_eq!(obj.exports(), 1, "{what}");
                }
            }
            // The original still releases, once.
            unsafe {
                assert!(is_filled(p));
                rel_fn(p).unwrap();
                rel_fn(p).unwrap();
            }
            assert_eq!(obj.exports(), 0);
            assert!(mem[1..WORDS].iter().all(|&w| w == 0));
        }
    }
}

/// A struct filled with one repeated byte (what `memset` leaves) never looks like a filled
/// view, at any of the addresses tried: a get fills it, a release before that is refused
/// without touching anything.
#[test]
fn a_struct_of_one_repeated_byte_never_looks_filled() {
    let ba = ByteArray::new_object(b"0123456789").unwrap();
    let mut mem = slots();
    let mut on_stack = [0u64; WORDS * 2];
    for byte in 1..=255u8 {
        let fill = u64::from_ne_bytes([byte; 8]);
        let places: Vec<*mut xbuf_bufferinfo> = (0..SLOTS)
            .map(|k| at(&mut mem, k))
            .chain((0..WORDS).map(|w| on_stack[w..].as_mut_ptr() as *mut xbuf_bufferinfo))
            .collect();
        for v in places {
            let what = format!("byte 0x{byte:02x} at {v:p}");
            unsafe {
                let words = std::slice::from_raw_parts_mut(v as *mut u64, WORDS);
                words.fill(fill);
                words[0] = XBUF_BUFFERINFO_SIZE as u64;
                assert!(!is_filled(v), "{what}");
                for (path, rel_fn) in PATHS {
                    let e = rel_fn(v).unwrap_err();
                    assert_eq!(e.status, Status::InvalidArgument, "{what} {path}");
                    assert!(words[1..].iter().all(|&w| w == fill), "{what} {path}");
                }
                get_buffer(&ba, v, XBUF_SIMPLE).unwrap();
                assert!(is_filled(v), "{what}");
                release(v).unwrap();
                assert!(words[1..].iter().all(|&w| w == 0), "{what}");
            }
        }
    }
    assert_eq!(ba.exports(), 0);
}

/// The seal changes with each of its three inputs alone.
#[test]
fn the_seal_depends_on_each_input() {
    let views = [0x7f00_1234_5670usize, 0x5555_0000_1008, 0x1000];
    let releasers = [0x7f00_1234_5000usize, 0x5555_0000_2000, 0x40];
    let blocks = [0usize, 0x7f00_0000_1000, 8];
    for &v in &views {
        for &r in &releasers {
            for &b in &blocks {
                let s = seal(v as *const _, r as *mut _, b);
                for bit in 0..usize::BITS {
                    let d = 1usize << bit;
                    assert_ne!(s, seal((v ^ d) as *const _, r as *mut _, b));
                    assert_ne!(s, seal(v as *const _, (r ^ d) as *mut _, b));
                    assert_ne!(s, seal(v as *const _, r as *mut _, b ^ d));
                }
            }
        }
    }
}
