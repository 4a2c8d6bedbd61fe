//! The short path of a slice of a direct layout against the general one, and Python's range
//! arithmetic against a plain reference, over many layouts and ranges, extremes included.

use super::derive::{slice_direct, slice_layout};
use super::*;
use crate::capi::XBUF_SLICE_OMIT as O;
use crate::layout::Dims;
use crate::view::derive::SliceSpec;

/// A small deterministic generator (xorshift), so that a failure reproduces.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// An index, bound or step: small ones mostly, the extremes and OMIT sometimes.
    fn bound(&mut self) -> isize {
        match self.below(12) {
            0 => O,
            1 => isize::MAX,
            2 => isize::MIN + 1,
            3 => isize::MAX / 3,
            4 => -(self.below(40) as isize),
            _ => self.below(40) as isize - 8,
        }
    }
    fn stride(&mut self) -> isize {
        match self.below(10) {
            0 => isize::MAX / 2,
            1 => isize::MIN / 3,
            2 => 0,
            _ => (self.below(64) as isize - 32) * 8,
        }
    }
}

/// Python's `slice(start, stop, step).indices(n)` and `len(range(...))`, in wide integers.
fn reference(n: isize, s: SliceSpec) -> Option<(isize, isize, isize)> {
    let step = if s.step == O { 1 } else { s.step } as i128;
    if step == 0 {
        return None;
    }
    let n = n as i128;
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let clamp = |v: isize, omitted: i128| {
        if v == O {
            omitted
        } else if v < 0 {
            (v as i128 + n).max(lower)
        } else {
            (v as i128).min(upper)
        }
    };
    let start = clamp(s.start, if step > 0 { lower } else { upper });
    let stop = clamp(s.stop, if step > 0 { upper } else { lower });
    let count = if step > 0 && stop > start {
        (stop - start - 1) / step + 1
    } else if step < 0 && start > stop {
        (start - stop - 1) / -step + 1
    } else {
        0
    };
    Some((start as isize, step as isize, count as isize))
}

#[test]
fn ranges_resolve_as_python_does() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200_000 {
        let n = match g.below(4) {
            0 => 0,
            1 => isize::MAX,
            _ => g.below(30) as isize,
        };
        let s = SliceSpec {
            start: g.bound(),
            stop: g.bound(),
            step: if g.below(8) == 0 { 0 } else { g.bound() },
        };
        match (s.resolve(n, 3), reference(n, s)) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "{s:?} of {n}"),
            (Err(e), None) => {
                assert_eq!(e.status, crate::status::Status::InvalidArgument);
                assert!(e.message.contains("dimension 3"), "{}", e.message);
            }
            (got, want) => panic!("{s:?} of {n}: {got:?} against {want:?}"),
        }
    }
}

/// What a slice gives: the layout, or the error's status and message.
fn outcome(
    r: Result<()>,
    out: Layout,
) -> std::result::Result<Layout, (crate::status::Status, String)> {
    match r {
        Ok(()) => Ok(out),
        Err(e) => Err((e.status, e.message.clone())),
    }
}

#[test]
fn direct_slices_match_the_general_path() {
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let mut counts = [0usize; 3];
    for round in 0..100_000 {
        // Up to 10 dimensions: the inline arrays (copied in half or whole blocks) and the heap
        // ones.
        let ndim = match round % 50 {
            0 => 9 + g.below(2) as usize,
            1 => 5 + g.below(4) as usize,
            _ => 1 + g.below(4) as usize,
        };
        let shape: Vec<isize> = (0..ndim)
            .map(|_| match g.below(10) {
                0 => 0,
                1 => isize::MAX / 2,
                _ => g.below(12) as isize,
            })
            .collect();
        let strides: Vec<isize> = (0..ndim).map(|_| g.stride()).collect();
        let itemsize = [1, 2, 8, 24][g.below(4) as usize];
        let l = Layout {
            buf: 0x10_0000 as *mut u8,
            itemsize,
            shape: Dims::from_slice(&shape),
            strides: Dims::from_slice(&strides),
            suboffsets: None,
        };
        let n = g.below(ndim as u64 + 2) as usize;
        let slices: Vec<SliceSpec> = (0..n)
            .map(|_| SliceSpec {
                start: g.bound(),
                stop: g.bound(),
                step: if g.below(20) == 0 { 0 } else { g.bound() },
            })
            .collect();
        // Copied as a derived view copies its parent's layout.
        let mut slot = std::mem::MaybeUninit::<Layout>::uninit();
        // SAFETY: `slot` is writable and distinct from `l`; read only once written.
        let mut fast = unsafe {
            l.write_copy(slot.as_mut_ptr());
            slot.assume_init()
        };
        assert_eq!(fast, l);
        let fast_r = slice_direct(&l, &slices, &mut fast);
        // The count it gives is the result's number of items (taken when the general path
        // succeeds: then the extents are final).
        let fast_items = fast_r.as_ref().ok().copied();
        let fast_r = fast_r.map(|_| ());
        let mut general = l.clone();
        let mut extra = Extra::default();
        let general_r = slice_layout(&l, &slices, &mut general, &mut extra);
        assert!(extra.table.is_none() && extra.format.is_none());
        // Items counted as a layout's are: zero when an extent is, else an exact product.
        let items = |shape: &[isize]| {
            shape.iter().try_fold(1usize, |c, &x| {
                if x == 0 || c == 0 {
                    Some(0)
                } else {
                    c.checked_mul(x as usize)
                }
            })
        };
        // Compared when the general path succeeds (the extents are final then) and the source
        // is a layout the library could hold (its count fits).
        if general_r.is_ok() && items(&shape).is_some() {
            let want = items(&general.shape);
            assert_eq!(fast_items, want, "{slices:?} of shape {shape:?}");
        }
        let (a, b) = (outcome(fast_r, fast), outcome(general_r, general));
        counts[match &b {
            Ok(_) => 0,
            Err((crate::status::Status::Overflow, _)) => 1,
            Err(_) => 2,
        }] += 1;
        assert_eq!(a, b, "{slices:?} of shape {shape:?} strides {strides:?}");
    }
    // Every kind of outcome was met many times.
    assert!(counts.iter().all(|&c| c > 1000), "{counts:?}");
}

/// A zero extent in a dimension kept whole leaves `buf` where it was; so does an empty range.
#[test]
fn empty_results_keep_their_start() {
    let l = Layout {
        buf: 0x1000 as *mut u8,
        itemsize: 4,
        shape: Dims::from_slice(&[5, 0]),
        strides: Dims::from_slice(&[16, 4]),
        suboffsets: None,
    };
    let mut out = l.clone();
    let s = [SliceSpec {
        start: 2,
        stop: O,
        step: 1,
    }];
    assert_eq!(slice_direct(&l, &s, &mut out).unwrap(), 0);
    assert_eq!((out.buf, &out.shape[..]), (l.buf, &[3isize, 0][..]));
    // Items of no bytes: nothing is empty although the byte length is zero.
    let z = Layout {
        itemsize: 0,
        shape: Dims::from_slice(&[5, 2]),
        ..l.clone()
    };
    let mut out = z.clone();
    assert_eq!(slice_direct(&z, &s, &mut out).unwrap(), 6);
    assert_eq!(out.buf, z.buf.wrapping_add(32));
    let mut out = l.clone();
    let none = [SliceSpec {
        start: 3,
        stop: 1,
        step: 1,
    }];
    let full = Layout {
        shape: Dims::from_slice(&[5, 2]),
        ..l.clone()
    };
    assert_eq!(slice_direct(&full, &none, &mut out).unwrap(), 0);
    assert_eq!((out.buf, out.shape[0]), (l.buf, 0));
}
