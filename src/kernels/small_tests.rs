//! Differential tests of the small-copy paths (one tile of whole register blocks, one or no
//! outer dimension, borrowed layouts read from a consumer's view) against the item-by-item
//! walk that follows the definition of a strided layout.

use super::*;
use crate::bufferinfo::read_view;
use crate::capi::xbuf_bufferinfo;
use crate::layout::{over_bytes as lay, Dims};

/// The reference: every item of `src` to the same indices of `dst`, one at a time.
unsafe fn copy_reference(dst: &Layout, src: &Layout) {
    let n = src.itemsize as usize;
    for_each_pair(&dst.strided(), &src.strided(), |d, s| {
        ptr::copy_nonoverlapping(s, d, n)
    });
}

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|k| (k.wrapping_mul(31) ^ (k >> 7) ^ seed) as u8)
        .collect()
}

/// Copies `src_layout` (over a pattern) into a C- or F-contiguous buffer through
/// `to_contiguous` and through the reference, and compares the bytes.
fn check_to_contiguous(
    shape: &[isize],
    strides: &[isize],
    offset: isize,
    size: isize,
    bytes: usize,
) {
    for order in [Order::C, Order::F] {
        let mut src = pattern(bytes, shape.len() + size as usize);
        let s = lay(&mut src, shape, strides, offset, size);
        let len = s.byte_len();
        let mut got = vec![0xAAu8; len];
        let mut want = vec![0x55u8; len];
        let w = Layout::contiguous(want.as_mut_ptr(), shape, size, order).unwrap();
        unsafe {
            to_contiguous(got.as_mut_ptr(), len, &s, order).unwrap();
            copy_reference(&w, &s);
        }
        assert_eq!(
            got, want,
            "shape {shape:?} strides {strides:?} size {size} {order:?}"
        );
    }
}

#[test]
fn one_tile_transposes_match_the_reference() {
    for size in [1isize, 2, 4, 8] {
        let block = if size <= 2 { 8 } else { 16 / size };
        let tile = (256 / size).max(8);
        // Whole blocks within one tile (the direct path), and around its edges.
        let mut extents = vec![block, 2 * block, tile, tile - block, tile + block];
        extents.extend([1, block - 1, block + 1, 3 * block - 1]);
        extents.retain(|&e| e >= 1);
        for &rows in &extents {
            for &cols in &extents {
                // The source's transpose, rows padded by `pad` items.
                for pad in [0isize, 3] {
                    let row = (cols + pad) * size;
                    let bytes = (rows * row) as usize;
                    check_to_contiguous(&[cols, rows], &[size, row], 0, size, bytes);
                }
            }
        }
    }
}

#[test]
fn one_and_no_outer_dimensions_match_the_reference() {
    // Items of 3 bytes and gapped strides keep the copy item by item.
    check_to_contiguous(&[], &[], 0, 8, 8);
    check_to_contiguous(&[7], &[6], 0, 3, 64);
    check_to_contiguous(&[7], &[-6], 36, 3, 64);
    check_to_contiguous(&[5, 7], &[48, 6], 0, 3, 256);
    check_to_contiguous(&[5, 7], &[-48, 6], 192, 3, 256);
    check_to_contiguous(&[3, 4, 5], &[160, 40, 8], 0, 4, 512);
    check_to_contiguous(&[3, 4, 5], &[-160, 8, 32], 320, 4, 512);
    check_to_contiguous(&[2, 3, 2, 3], &[96, 32, 16, 4], 0, 2, 256);
    check_to_contiguous(&[4, 0, 3], &[12, 4, 1], 0, 1, 16);
}

#[test]
fn overlapping_views_go_through_a_buffer() {
    // A source and destination over the same bytes, shifted by one item, in both directions
    // and transposed: the result equals a copy from a snapshot of the source.
    for shift in [-4isize, 4] {
        for transposed in [false, true] {
            let mut m = pattern(256, 9);
            let snapshot = m.clone();
            let strides: &[isize] = if transposed { &[4, 16] } else { &[32, 4] };
            let base = 64;
            let d = lay(&mut m, &[4, 8], &[32, 4], base + shift, 4);
            let s = lay(&mut m, &[4, 8], strides, base, 4);
            let mut want = m.clone();
            let wd = lay(&mut want, &[4, 8], &[32, 4], base + shift, 4);
            let mut snap = snapshot.clone();
            let ws = lay(&mut snap, &[4, 8], strides, base, 4);
            unsafe {
                copy(&d, &s).unwrap();
                copy_reference(&wd, &ws);
            }
            assert_eq!(m, want, "shift {shift}, transposed {transposed}");
        }
    }
}

#[test]
fn borrowed_view_layouts_equal_the_owned_ones() {
    let mut mem = pattern(512, 1);
    let mut shape = [4isize, 6];
    let mut strides = [-48isize, 8];
    let mut v = xbuf_bufferinfo::empty();
    v.buf = mem.as_mut_ptr().wrapping_add(144).cast();
    v.itemsize = 8;
    v.len = 4 * 6 * 8;
    v.ndim = 2;
    // With shape and strides, with shape only (C strides), with neither (one dimension).
    for (with_shape, with_strides) in [(true, true), (true, false), (false, false)] {
        v.shape = if with_shape {
            shape.as_mut_ptr()
        } else {
            ptr::null_mut()
        };
        v.strides = if with_strides {
            strides.as_mut_ptr()
        } else {
            ptr::null_mut()
        };
        unsafe {
            let owned = Layout::from_view(&v).unwrap();
            let read = read_view(&v).unwrap();
            let mut room = StrideBuf::new();
            let b = read.strided(&mut room).unwrap();
            assert_eq!(b.buf, owned.buf);
            assert_eq!(b.itemsize, owned.itemsize);
            assert_eq!(Dims::from_slice(b.shape), owned.shape);
            assert_eq!(Dims::from_slice(b.strides), owned.strides);
            assert!(b.suboffsets.is_none() && owned.suboffsets.is_none());
            assert_eq!(b.count(), owned.count());
            assert_eq!(b.byte_len(), owned.byte_len());
        }
    }
}

#[test]
fn spans_are_the_bytes_reached() {
    let mut m = vec![0u8; 64];
    let base = m.as_ptr() as usize;
    let s = lay(&mut m, &[3, 4], &[-16, 4], 32, 4);
    assert_eq!(s.strided().span(), Some((base, base + 48)));
    let e = lay(&mut m, &[3, 0], &[16, 4], 0, 4);
    assert_eq!(e.strided().span(), None);
    // A reach that overflows has no span (and so counts as overlapping).
    let o = lay(&mut m, &[3], &[isize::MAX], 0, 1);
    assert_eq!(o.strided().span(), None);
    assert!(may_overlap(&o.strided(), &s.strided()));
    let z = lay(&mut m, &[0], &[isize::MAX], 0, 1);
    assert!(!may_overlap(&z.strided(), &o.strided()));
}

#[test]
fn view_lengths_agree_with_the_precise_rule() {
    // read_view's one-pass length test against layout::byte_len, including shapes whose
    // running product with the item size overflows before a zero extent.
    let big = isize::MAX / 2;
    let cases: &[(&[isize], isize, isize)] = &[
        (&[3, 4], 8, 96),
        (&[3, 4], 8, 95),
        (&[], 8, 8),
        (&[], 8, 0),
        (&[big, 0], 4, 0),
        (&[big, 4, 0], 1, 0),
        (&[big, 4], 1, 0),
        (&[-1, 0], 1, 0),
        (&[0, -1], 1, 0),
        (&[2, 0], 1, 0),
    ];
    for &(shape, itemsize, len) in cases {
        let mut shape_v = shape.to_vec();
        let mut v = xbuf_bufferinfo::empty();
        let mut mem = [0u8; 8];
        v.buf = mem.as_mut_ptr().cast();
        v.itemsize = itemsize;
        v.len = len;
        v.ndim = shape.len() as i32;
        v.shape = shape_v.as_mut_ptr();
        let got = unsafe { read_view(&v) }.map(|_| ()).map_err(|e| e.status);
        let want = match crate::layout::byte_len(shape, itemsize) {
            Ok(n) if n == len => Ok(()),
            Ok(_) => Err(crate::status::Status::InvalidArgument),
            Err(e) => Err(e.status),
        };
        assert_eq!(got, want, "shape {shape:?} itemsize {itemsize} len {len}");
    }
}

#[test]
fn runs_contiguous_in_both_move_like_the_reference() {
    // Runs that merge into one contiguous run in both layouts (forwards, or both reversed),
    // over the same bytes shifted by -2..=2 items, and a single item over itself.
    let cases: &[(&[isize], &[isize], isize)] = &[
        (&[4, 8], &[32, 4], 0),
        (&[4, 8], &[-32, -4], 124),
        (&[32], &[-4], 124),
        (&[1, 1], &[4, 4], 0),
    ];
    for &(shape, strides, first) in cases {
        for shift in -2isize..=2 {
            let mut m = pattern(256, 5);
            let mut snap = m.clone();
            let base = 64;
            let d = lay(&mut m, shape, strides, base + first + 4 * shift, 4);
            let s = lay(&mut m, shape, strides, base + first, 4);
            let mut want = m.clone();
            let wd = lay(&mut want, shape, strides, base + first + 4 * shift, 4);
            let ws = lay(&mut snap, shape, strides, base + first, 4);
            unsafe {
                copy(&d, &s).unwrap();
                copy_reference(&wd, &ws);
            }
            assert_eq!(m, want, "shape {shape:?} strides {strides:?} shift {shift}");
        }
    }
}

#[test]
fn stride_room_agrees_with_contiguous_strides() {
    let big = isize::MAX / 2;
    let shapes: &[&[isize]] = &[
        &[],
        &[5],
        &[2, 3, 4],
        &[1, 7, 1],
        &[0, big, 3],
        &[3, big, 0],
        &[big, 4],
        &[2, 0, big, big],
    ];
    for &shape in shapes {
        for order in [Order::C, Order::F, Order::Any] {
            for itemsize in [1isize, 8] {
                let mut want = vec![0isize; shape.len()];
                let precise = crate::layout::contiguous_strides(shape, itemsize, order, &mut want);
                let mut room = StrideBuf::new();
                let got = room.contiguous(shape, itemsize, order);
                match (got, precise) {
                    (Ok(g), Ok(())) => assert_eq!(g, &want[..], "{shape:?} {order:?} {itemsize}"),
                    (Err(g), Err(w)) => assert_eq!(g.status, w.status),
                    (g, w) => panic!("{shape:?} {order:?} {itemsize}: {g:?} vs {w:?}"),
                }
            }
        }
    }
}
