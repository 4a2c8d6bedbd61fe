//! Differential tests of the copy paths instantiated for one and two dimensions
//! ([`small::by_ndim`]) against the general instantiation and against the item-by-item walk
//! that defines a strided copy. Each small copy is made again on the same memory described
//! with extent-1 dimensions inserted (at least three dimensions, so that the general code
//! runs: the same items at the same places), over random shapes (zero extents included),
//! strides (gaps, negative, zero, transposed), item sizes 1 to 16 (3 and 12 as structs are)
//! and orders, with the source and destination apart or overlapping; bytes and statuses must
//! be equal.

use super::*;
use crate::capi::{self, xbuf_bufferinfo};
use crate::layout::over_bytes as lay;
use crate::status::Status;
use std::ffi::CStr;

/// A small deterministic generator (splitmix64): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

const ARENA: usize = 16 << 10;

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|k| (k.wrapping_mul(131) ^ (k >> 8) ^ seed.wrapping_mul(29)) as u8)
        .collect()
}

fn random_shape(rng: &mut Rng) -> Vec<isize> {
    let ndim = rng.below(3);
    (0..ndim)
        .map(|_| rng.pick(&[0isize, 1, 1, 2, 3, 4, 5, 7, 8, 8, 9, 16]))
        .collect()
}

/// Random strides for `shape`: the dimensions in C or reversed (transposed) order, items and
/// rows with gaps or not, each dimension forwards or backwards, now and then a zero stride
/// (when `zero` allows: items that share bytes).
fn random_strides(rng: &mut Rng, shape: &[isize], size: isize, zero: bool) -> Vec<isize> {
    let n = shape.len();
    let mut order: Vec<usize> = (0..n).collect();
    if rng.below(2) == 0 {
        order.reverse();
    }
    let mut strides = vec![0isize; n];
    let mut step = size * (1 + rng.below(2) as isize);
    for &d in order.iter().rev() {
        strides[d] = step;
        step *= shape[d].max(1) + rng.below(2) as isize;
    }
    for s in strides.iter_mut() {
        if rng.below(2) == 0 {
            *s = -*s;
        }
        if zero && rng.below(8) == 0 {
            *s = 0;
        }
    }
    strides
}

/// The byte offsets `[lo, hi)` the items of a layout reach, relative to its first item.
fn reach(shape: &[isize], strides: &[isize], size: isize) -> (isize, isize) {
    let (mut lo, mut hi) = (0, size);
    for (&n, &s) in shape.iter().zip(strides) {
        let r = (n.max(1) - 1) * s;
        if r < 0 {
            lo += r;
        } else {
            hi += r;
        }
    }
    (lo, hi)
}

/// An offset in the arena at which a layout's items all fit.
fn random_offset(rng: &mut Rng, shape: &[isize], strides: &[isize], size: isize) -> isize {
    let (lo, hi) = reach(shape, strides, size);
    let room = ARENA as isize - (hi - lo);
    assert!(room > 0, "a test layout larger than the arena");
    -lo + rng.below(room as usize + 1) as isize
}

/// Whether two different indices of a layout share a byte.
fn overlaps_itself(l: &Layout) -> bool {
    let mut starts = Vec::new();
    unsafe { for_each_pair(&l.strided(), &l.strided(), |p, _| starts.push(p as usize)) };
    starts.sort_unstable();
    starts.windows(2).any(|w| w[1] - w[0] < l.itemsize as usize)
}

/// The same layout with extent-1 dimensions (of arbitrary strides) inserted until it has at
/// least three: the same items at the same addresses, for the general instantiation.
fn lifted(rng: &mut Rng, l: &Layout) -> Layout {
    lifted_pair(rng, l, l).0
}

/// [`lifted`] for two layouts of one shape: the same dimensions inserted at the same places
/// (with strides of their own), so that the shapes stay equal.
fn lifted_pair(rng: &mut Rng, a: &Layout, b: &Layout) -> (Layout, Layout) {
    let (mut ha, mut hb) = (a.shape.to_vec(), b.shape.to_vec());
    let (mut sa, mut sb) = (a.strides.to_vec(), b.strides.to_vec());
    while ha.len() < 3 || rng.below(4) == 0 && ha.len() < 5 {
        let at = rng.below(ha.len() + 1);
        ha.insert(at, 1);
        hb.insert(at, 1);
        sa.insert(at, rng.pick(&[0isize, 4, -12, 1 << 40]));
        sb.insert(at, rng.pick(&[0isize, 4, -12, 1 << 40]));
    }
    let make = |l: &Layout, shape: &[isize], strides: &[isize]| Layout {
        buf: l.buf,
        itemsize: l.itemsize,
        shape: crate::layout::Dims::from_slice(shape),
        strides: crate::layout::Dims::from_slice(strides),
        suboffsets: None,
    };
    (make(a, &ha, &sa), make(b, &hb, &sb))
}

/// A layout like `l` over another buffer (at the same offset).
fn moved(l: &Layout, from: &[u8], to: &mut [u8]) -> Layout {
    let offset = l.buf as isize - from.as_ptr() as isize;
    lay(to, &l.shape, &l.strides, offset, l.itemsize)
}

unsafe fn copy_reference(dst: &Layout, src: &Layout) {
    let n = src.itemsize as usize;
    for_each_pair(&dst.strided(), &src.strided(), |d, s| {
        ptr::copy_nonoverlapping(s, d, n)
    });
}

fn status(r: Result<()>) -> Option<Status> {
    r.err().map(|e| e.status)
}

#[test]
fn small_copies_equal_the_general_ones_and_the_reference() {
    let mut rng = Rng(1);
    let mut checked = [0usize; 3];
    for case in 0..4000 {
        let shape = random_shape(&mut rng);
        let size = rng.pick(&[1isize, 2, 3, 4, 4, 8, 12, 16]);
        let overlapping = rng.below(3) == 0;
        let ds = random_strides(&mut rng, &shape, size, true);
        let ss = random_strides(&mut rng, &shape, size, true);
        let doff = random_offset(&mut rng, &shape, &ds, size);
        let soff = random_offset(&mut rng, &shape, &ss, size);
        // Sometimes a destination of another item size: refused alike.
        let dsize = if rng.below(50) == 0 { size + 1 } else { size };
        let src_mem = pattern(ARENA, case);
        let dst_mem = pattern(ARENA, case + 7);

        // The memory of each run: one arena (overlapping) or a source and a destination.
        let run = |rng: &mut Rng, general: bool| -> (Vec<u8>, Vec<u8>, Option<Status>) {
            let mut d = if overlapping {
                src_mem.clone()
            } else {
                dst_mem.clone()
            };
            let mut s = src_mem.clone();
            let dl = lay(&mut d, &shape, &ds, doff, dsize);
            let sl = if overlapping {
                lay(&mut d, &shape, &ss, soff, size)
            } else {
                lay(&mut s, &shape, &ss, soff, size)
            };
            let (dl, sl) = if general {
                lifted_pair(rng, &dl, &sl)
            } else {
                (dl, sl)
            };
            let st = status(unsafe { copy(&dl, &sl) });
            (d, s, st)
        };
        let (small_d, small_s, small_st) = run(&mut rng, false);
        let (gen_d, gen_s, gen_st) = run(&mut rng, true);
        let what = format!(
            "case {case}: shape {shape:?} size {size}/{dsize} dst {ds:?}+{doff} src {ss:?}+{soff} overlapping {overlapping}"
        );
        assert_eq!(small_st, gen_st, "{what}");
        assert_eq!(small_d, gen_d, "{what}");
        assert_eq!(small_s, gen_s, "{what}");
        checked[0] += 1;
        if dsize != size {
            assert_eq!(small_st, Some(Status::InvalidArgument), "{what}");
            continue;
        }
        assert_eq!(small_st, None, "{what}");
        // The reference, from a snapshot of the source, where the destination's items are
        // apart (else the order of the writes decides, and the two runs above agree on it).
        let mut want = if overlapping {
            src_mem.clone()
        } else {
            dst_mem.clone()
        };
        let wd = lay(&mut want, &shape, &ds, doff, size);
        if overlaps_itself(&wd) {
            continue;
        }
        let mut snap = src_mem.clone();
        let ws = lay(&mut snap, &shape, &ss, soff, size);
        unsafe { copy_reference(&wd, &ws) };
        assert_eq!(small_d, want, "{what}");
        checked[1 + usize::from(overlapping)] += 1;
    }
    // Every kind of case was met many times.
    assert!(checked.iter().all(|&n| n > 500), "{checked:?}");
}

#[test]
fn small_contiguous_copies_equal_the_general_ones_and_the_reference() {
    let mut rng = Rng(2);
    for case in 0..3000 {
        let shape = random_shape(&mut rng);
        let size = rng.pick(&[1isize, 2, 3, 4, 4, 8, 12, 16]);
        let order = rng.pick(&[Order::C, Order::F, Order::Any]);
        let strides = random_strides(&mut rng, &shape, size, false);
        let off = random_offset(&mut rng, &shape, &strides, size);
        let mut mem = pattern(ARENA, case);
        let l = lay(&mut mem, &shape, &strides, off, size);
        let count: isize = shape.iter().product();
        // Now and then a wrong length: refused alike.
        let len = (count * size) as usize + usize::from(rng.below(40) == 0);
        let g = lifted(&mut rng, &l);
        let what =
            format!("case {case}: shape {shape:?} strides {strides:?} size {size} {order:?}");

        // To contiguous bytes.
        let (mut a, mut b) = (vec![0xAAu8; len], vec![0x55u8; len]);
        let sa = status(unsafe { to_contiguous(a.as_mut_ptr(), len, &l, order) });
        let sb = status(unsafe { to_contiguous(b.as_mut_ptr(), len, &g, order) });
        assert_eq!(sa, sb, "{what}");
        if sa.is_some() {
            assert_eq!(sa, Some(Status::InvalidArgument), "{what}");
            continue;
        }
        assert_eq!(a, b, "{what}");
        let resolved = resolve_order(&l.strided(), order);
        let mut want = vec![0x11u8; len];
        let w = Layout::contiguous(want.as_mut_ptr(), &shape, size, resolved).unwrap();
        unsafe { copy_reference(&w, &l) };
        assert_eq!(a, want, "{what}");

        // From contiguous bytes, into a destination whose items are apart.
        let bytes = pattern(len, case + 3);
        let mut m1 = mem.clone();
        let mut m2 = mem.clone();
        let d1 = moved(&l, &mem, &mut m1);
        let d2 = moved(&g, &mem, &mut m2);
        let s1 = status(unsafe { from_contiguous(&d1, bytes.as_ptr(), len, order) });
        let s2 = status(unsafe { from_contiguous(&d2, bytes.as_ptr(), len, order) });
        assert_eq!((s1, s2), (None, None), "{what}");
        assert_eq!(m1, m2, "{what}");
        let mut m3 = mem.clone();
        let d3 = moved(&l, &mem, &mut m3);
        let mut src = bytes.clone();
        let s = Layout::contiguous(src.as_mut_ptr(), &shape, size, resolved).unwrap();
        unsafe { copy_reference(&d3, &s) };
        assert_eq!(m1, m3, "{what}");
    }
}

#[test]
fn bytes_over_their_own_source_move_like_a_snapshot() {
    // `to_contiguous` into memory that overlaps the source, and `from_contiguous` from memory
    // that overlaps the destination: the result equals a copy from a snapshot.
    let mut rng = Rng(3);
    for case in 0..1500 {
        let shape = random_shape(&mut rng);
        let size = rng.pick(&[1isize, 2, 4, 8, 12]);
        let order = rng.pick(&[Order::C, Order::F]);
        let strides = random_strides(&mut rng, &shape, size, false);
        let off = random_offset(&mut rng, &shape, &strides, size);
        let count: isize = shape.iter().product();
        let len = (count * size) as usize;
        let at = rng.below(ARENA - len + 1);
        let mem = pattern(ARENA, case);
        let what = format!("case {case}: shape {shape:?} strides {strides:?} size {size} at {at}");
        for general in [false, true] {
            let mut m = mem.clone();
            let mut l = lay(&mut m, &shape, &strides, off, size);
            if general {
                l = lifted(&mut rng, &l);
            }
            unsafe { to_contiguous(m.as_mut_ptr().add(at), len, &l, order).unwrap() };
            let mut snap = mem.clone();
            let sl = lay(&mut snap, &shape, &strides, off, size);
            let mut want = mem.clone();
            let w = Layout::contiguous(want.as_mut_ptr().wrapping_add(at), &shape, size, order)
                .unwrap();
            unsafe { copy_reference(&w, &sl) };
            assert_eq!(m, want, "to, {what}, general {general}");

            let mut m = mem.clone();
            let mut l = lay(&mut m, &shape, &strides, off, size);
            if general {
                l = lifted(&mut rng, &l);
            }
            unsafe { from_contiguous(&l, m.as_ptr().add(at), len, order).unwrap() };
            let mut snap = mem.clone();
            let s = Layout::contiguous(snap.as_mut_ptr().wrapping_add(at), &shape, size, order)
                .unwrap();
            let mut want = mem.clone();
            let w = lay(&mut want, &shape, &strides, off, size);
            unsafe { copy_reference(&w, &s) };
            assert_eq!(m, want, "from, {what}, general {general}");
        }
    }
}

/// A consumer's view described by hand over a layout's memory, as the C API receives it; its
/// shape and strides are kept in `shape` and `strides`.
fn view(
    l: &Layout,
    format: &'static CStr,
    shape: &mut Vec<isize>,
    strides: &mut Vec<isize>,
) -> xbuf_bufferinfo {
    *shape = l.shape.to_vec();
    *strides = l.strides.to_vec();
    let mut v = xbuf_bufferinfo::empty();
    v.buf = l.buf.cast();
    v.itemsize = l.itemsize;
    v.len = l.byte_len() as isize;
    v.ndim = shape.len() as i32;
    v.format = format.as_ptr().cast_mut();
    v.shape = shape.as_mut_ptr();
    v.strides = strides.as_mut_ptr();
    v
}

#[test]
fn the_c_calls_answer_alike_for_small_and_general_views() {
    // xbuf_copy, xbuf_to_contiguous and xbuf_from_contiguous on views of one and two
    // dimensions and on the same views with extent-1 dimensions inserted: the same status for
    // every refusal they make (read-only, formats, item sizes, shapes, lengths, orders,
    // released views) and the same bytes on success.
    let mut rng = Rng(4);
    for case in 0..600 {
        let shape = random_shape(&mut rng);
        let flaw = rng.below(8);
        // Flaw 4: a source of another shape (its last extent one more).
        let mut sshape = shape.clone();
        if let (4, Some(last)) = (flaw, sshape.last_mut()) {
            *last += 1;
        }
        let ds = random_strides(&mut rng, &shape, 4, false);
        let ss = random_strides(&mut rng, &sshape, 4, false);
        let doff = random_offset(&mut rng, &shape, &ds, 4);
        let soff = random_offset(&mut rng, &sshape, &ss, 4);
        let order = rng.pick(b"CFACx");
        let mem = pattern(ARENA, case);
        let mut results = Vec::new();
        for general in [false, true] {
            let mut rng2 = Rng(case as u64);
            let (mut d, mut s) = (pattern(ARENA, case + 1), mem.clone());
            let mut dl = lay(&mut d, &shape, &ds, doff, 4);
            let mut sl = lay(&mut s, &sshape, &ss, soff, 4);
            if general {
                (dl, sl) = lifted_pair(&mut rng2, &dl, &sl);
            }
            let (mut a, mut b, mut c, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let dfmt: &'static CStr = if flaw == 1 { c"i" } else { c"f" };
            let mut dv = view(&dl, dfmt, &mut a, &mut b);
            let mut sv = view(&sl, c"f", &mut c, &mut e);
            match flaw {
                2 => dv.readonly = 1,
                3 => sv.itemsize = 8,
                5 => sv = xbuf_bufferinfo::empty(),
                _ => {}
            }
            let copied = unsafe { capi::xbuf_copy(&dv, &sv) };
            let len = dv.len as usize + usize::from(flaw == 6);
            let mut out = vec![0u8; len];
            let to =
                unsafe { capi::xbuf_to_contiguous(out.as_mut_ptr().cast(), len, &sv, order as _) };
            let from =
                unsafe { capi::xbuf_from_contiguous(&dv, mem.as_ptr().cast(), len, order as _) };
            results.push((copied, to, from, d, out));
        }
        let what = format!(
            "case {case}: shape {shape:?} flaw {flaw} order {}",
            order as char
        );
        assert_eq!(results[0].0, results[1].0, "xbuf_copy, {what}");
        assert_eq!(results[0].1, results[1].1, "xbuf_to_contiguous, {what}");
        assert_eq!(results[0].2, results[1].2, "xbuf_from_contiguous, {what}");
        assert_eq!(results[0].3, results[1].3, "destination bytes, {what}");
        assert_eq!(results[0].4, results[1].4, "contiguous bytes, {what}");
        // Each refusal is the one the flaw calls for, in the documented order.
        let bad_order = order == b'x';
        let invalid = capi::XBUF_ERR_INVALID_ARGUMENT;
        let reshaped = flaw == 4 && !shape.is_empty();
        // The reshaped source also holds more bytes, unless it has no items.
        let longer = reshaped && shape[..shape.len() - 1].iter().product::<isize>() != 0;
        let copy_want = match flaw {
            1 => capi::XBUF_ERR_FORMAT,
            2 => capi::XBUF_ERR_READONLY,
            3 => invalid,
            4 if reshaped => invalid,
            5 => capi::XBUF_ERR_RELEASED,
            _ => capi::XBUF_OK,
        };
        let to_want = match flaw {
            _ if bad_order => invalid,
            // A source of 8-byte items holds another length, unless it has no items.
            3 if shape.iter().product::<isize>() != 0 => invalid,
            6 => invalid,
            4 if longer => invalid,
            5 => capi::XBUF_ERR_RELEASED,
            _ => capi::XBUF_OK,
        };
        let from_want = match flaw {
            _ if bad_order => invalid,
            2 => capi::XBUF_ERR_READONLY,
            6 => invalid,
            _ => capi::XBUF_OK,
        };
        assert_eq!(
            (results[0].0, results[0].1, results[0].2),
            (copy_want, to_want, from_want),
            "{what}"
        );
    }
}

#[test]
fn extent_1_dimensions_take_any_stride() {
    // A dimension of extent 1 is never stepped along, so its stride may be anything, even
    // one whose negation or multiple overflows: the copies treat it as absent.
    for far in [isize::MIN, isize::MIN + 1, isize::MAX, 0] {
        for (shape, ds, ss) in [
            (vec![1isize, 4], vec![far, 4], vec![far, -4]),
            (vec![4, 1], vec![-4, far], vec![4, far]),
            (vec![1], vec![far], vec![far]),
            (vec![1, 3, 1], vec![far, 4, far], vec![far, 8, far / 2]),
        ] {
            let mut d = vec![0u8; 64];
            let mut s = pattern(64, 1);
            let dl = lay(&mut d, &shape, &ds, 16, 4);
            let sl = lay(&mut s, &shape, &ss, 32, 4);
            unsafe { copy(&dl, &sl).unwrap() };
            let mut want = vec![0u8; 64];
            let mut snap = pattern(64, 1);
            let wd = lay(&mut want, &shape, &ds, 16, 4);
            let ws = lay(&mut snap, &shape, &ss, 32, 4);
            unsafe { copy_reference(&wd, &ws) };
            assert_eq!(d, want, "{shape:?} {ds:?} {ss:?}");
            for order in [Order::C, Order::F] {
                let mut out = vec![0u8; sl.byte_len()];
                unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &sl, order).unwrap() };
                let mut m = vec![0u8; 64];
                let back = lay(&mut m, &shape, &ds, 16, 4);
                unsafe { from_contiguous(&back, out.as_ptr(), out.len(), order).unwrap() };
                assert_eq!(m, want, "{shape:?} {ds:?} {ss:?} {order:?}");
            }
        }
    }
}
