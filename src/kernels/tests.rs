//! Tests of the copy kernels and the thread split.

use super::*;
use crate::layout::over_bytes as lay;

#[test]
fn transpose_to_c_order() {
    let mut src: Vec<u8> = (0..6).collect(); // 2x3 C
    let s = lay(&mut src, &[3, 2], &[1, 3], 0, 1); // its transpose
    let mut out = [0u8; 6];
    unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &s, Order::C) }.unwrap();
    assert_eq!(out, [0, 3, 1, 4, 2, 5]);
    unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &s, Order::F) }.unwrap();
    assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    // 'A' on a Fortran-contiguous layout means F.
    unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &s, Order::Any) }.unwrap();
    assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    assert!(unsafe { to_contiguous(out.as_mut_ptr(), 5, &s, Order::C) }.is_err());
}

#[test]
fn overlapping_copies_read_the_source_first() {
    // Shift right by one item within the same memory, items of 4 bytes.
    let mut m: Vec<u8> = (0..24).collect();
    let d = lay(&mut m, &[5], &[4], 4, 4);
    let s = lay(&mut m, &[5], &[4], 0, 4);
    unsafe { copy(&d, &s) }.unwrap();
    assert_eq!(&m[4..24], &(0..20).collect::<Vec<u8>>()[..]);
    // Reverse in place with a negative stride.
    let mut m: Vec<u8> = (0..5).collect();
    let d = lay(&mut m, &[5], &[1], 0, 1);
    let s = lay(&mut m, &[5], &[-1], 4, 1);
    unsafe { copy(&d, &s) }.unwrap();
    assert_eq!(m, [4, 3, 2, 1, 0]);
}

#[test]
fn only_disjoint_rows_are_split() {
    let dim = |n, d, s| Dim { n, d, s };
    // 4 rows of 8 four-byte items, rows 32 bytes apart: disjoint.
    assert!(rows_disjoint(&[dim(4, 32, 32), dim(8, 4, 4)], 4));
    // Rows 1 byte apart over 8-byte rows, and a zero stride: the rows overlap.
    assert!(!rows_disjoint(&[dim(2, 1, 8), dim(8, 1, 1)], 1));
    assert!(!rows_disjoint(&[dim(2, 0, 8), dim(8, 1, 1)], 1));
    // Rows exactly back to back: disjoint.
    assert!(rows_disjoint(&[dim(2, 8, 8), dim(8, 1, 1)], 1));
    // One byte short of that: the last item of a row overlaps the next row's first.
    assert!(!rows_disjoint(&[dim(3, 7, 8), dim(8, 1, 1)], 1));
    // One dimension: disjoint when items do not overlap; no dimension: nothing to split.
    assert!(rows_disjoint(&[dim(100, 4, 4)], 4));
    assert!(!rows_disjoint(&[dim(100, 2, 4)], 4));
    assert!(!rows_disjoint(&[], 4));
    // A reach that overflows is not split.
    assert!(!rows_disjoint(
        &[dim(2, isize::MAX, 1), dim(4, isize::MAX / 2, 1)],
        1
    ));
}

/// Checks the invariants of one split and returns its piece lengths.
fn check_split(n: isize, bytes: usize, cap: usize) -> Vec<isize> {
    let ranges = split_ranges(n, bytes, cap);
    let what = format!("n {n}, bytes {bytes}, cap {cap}: {ranges:?}");
    assert!(!ranges.is_empty(), "{what}");
    assert!(
        ranges.len() <= cap.max(1),
        "more pieces than the cap: {what}"
    );
    // Consecutive, covering 0..n, none empty (so disjoint).
    assert_eq!(ranges[0].0, 0, "{what}");
    assert_eq!(ranges[ranges.len() - 1].1, n, "{what}");
    for w in ranges.windows(2) {
        assert_eq!(w[0].1, w[1].0, "{what}");
    }
    if ranges.len() > 1 {
        for &(lo, hi) in &ranges {
            assert!(hi > lo, "empty piece: {what}");
            let piece = bytes as u128 * (hi - lo) as u128 / n as u128;
            assert!(
                piece >= BYTES_PER_THREAD as u128,
                "piece below the minimum: {what}"
            );
        }
        // Cut on whole granules when every piece has that many indices, unless moving the
        // cuts down to granules would leave a piece below the minimum.
        if n / ranges.len() as isize >= SPLIT_GRANULE
            && ranges[1..].iter().any(|r| r.0 % SPLIT_GRANULE != 0)
        {
            let mut cuts: Vec<isize> = ranges
                .iter()
                .map(|r| r.0 / SPLIT_GRANULE * SPLIT_GRANULE)
                .collect();
            cuts.push(n);
            assert!(
                cuts.windows(2)
                    .any(|w| (bytes as u128 * (w[1] - w[0]) as u128)
                        < BYTES_PER_THREAD as u128 * n as u128),
                "not cut on granules: {what}"
            );
        }
    }
    ranges.iter().map(|r| r.1 - r.0).collect()
}

#[test]
fn splits_are_disjoint_covering_and_capped() {
    const MIB: usize = 1 << 20;
    // A 4096x4096 float32 transpose (64 MiB) over 1, 2, 16 and "more than enough" threads:
    // at most one piece per 4 MiB.
    assert_eq!(check_split(4096, 64 * MIB, 1), vec![4096]);
    assert_eq!(check_split(4096, 64 * MIB, 2), vec![2048, 2048]);
    assert_eq!(check_split(4096, 64 * MIB, 16), vec![256; 16]);
    assert_eq!(check_split(4096, 64 * MIB, 1000), vec![256; 16]);
    // A contiguous copy of 16M floats (one merged dimension) over 3 threads: granule cuts.
    assert_eq!(check_split(16 << 20, 64 * MIB, 3).len(), 3);
    // Below twice the minimum: one piece, whatever the cap.
    assert_eq!(check_split(1 << 20, 8 * MIB - 1, 64), vec![1 << 20]);
    assert_eq!(check_split(1 << 20, 8 * MIB, 64), vec![1 << 19, 1 << 19]);
    // Fewer indices than threads: one index per piece at most.
    assert_eq!(check_split(3, 64 * MIB, 8), vec![1, 1, 1]);
    assert_eq!(check_split(1, 64 * MIB, 8), vec![1]);
    // 5 rows of 1.8 MiB: two pieces would leave one with 2 rows (3.6 MiB), so one piece.
    assert_eq!(check_split(5, 9 * MIB, 8), vec![5]);
    // 7 rows of 2 MiB and a cap of 3: the smallest pieces have 2 rows, the minimum exactly.
    assert_eq!(check_split(7, 14 * MIB, 3), vec![2, 2, 3]);
    // No indices or no bytes: one (empty) piece.
    assert_eq!(check_split(0, 0, 8), vec![0]);
    assert_eq!(check_split(100, 0, 8), vec![100]);
    // Every small combination keeps the invariants and uses as many threads as it may:
    // the most for which an even split's smallest piece (n / threads indices) still holds
    // the minimum.
    for n in [
        1isize,
        2,
        3,
        5,
        63,
        64,
        65,
        127,
        128,
        129,
        1000,
        4097,
        1 << 24,
    ] {
        for mib in [0usize, 1, 4, 7, 8, 9, 12, 16, 33, 64, 256, 1024] {
            for cap in [1usize, 2, 3, 4, 5, 7, 8, 16, 64, 4096] {
                let bytes = mib * MIB + if n > 64 { n as usize } else { 0 };
                let pieces = check_split(n, bytes, cap).len();
                let enough = |t: usize| {
                    let rows = (n / t as isize) as u128;
                    bytes as u128 * rows >= (BYTES_PER_THREAD as u128) * n as u128
                };
                let most = (1..=cap.min(n as usize))
                    .rev()
                    .find(|&t| t == 1 || enough(t))
                    .unwrap_or(1);
                assert_eq!(pieces, most, "n {n}, bytes {bytes}, cap {cap}");
            }
        }
    }
}

#[test]
fn pieces_run_on_threads_of_their_own() {
    // A 4096x4096 float32 transpose planned (never run: the pointers are not touched).
    let dims = [
        Dim {
            n: 4096,
            d: 16384,
            s: 4,
        },
        Dim {
            n: 4096,
            d: 4,
            s: 16384,
        },
    ];
    let (pa, pb) = (0x100000 as *mut u8, 0x200000 as *const u8);
    let bytes = 64 << 20;
    let seen = |cap: usize| unsafe {
        in_parallel(&dims, pa, pb, bytes, cap, |d, p, q| {
            (
                std::thread::current().id(),
                d.to_vec(),
                p as usize,
                q as usize,
            )
        })
    };
    assert!(
        seen(1).is_none(),
        "one thread: the caller runs the job itself"
    );
    for cap in [2usize, 3, 5, 16] {
        let got = seen(cap).expect("split");
        assert_eq!(got.len(), cap);
        assert_eq!(got[0].0, std::thread::current().id());
        let ids: std::collections::HashSet<_> = got.iter().map(|g| g.0).collect();
        assert_eq!(ids.len(), cap, "a thread per piece");
        // The pieces follow each other: pointers moved by the rows before them, the inner
        // dimension untouched.
        let mut row = 0isize;
        for (_, d, p, q) in &got {
            assert_eq!(d[1], dims[1]);
            assert_eq!(*p, 0x100000 + (row * 16384) as usize);
            assert_eq!(*q, 0x200000 + (row * 4) as usize);
            row += d[0].n;
        }
        assert_eq!(row, 4096);
    }
    // Too small a job, or a dimension of one index: nothing split.
    assert!(unsafe { in_parallel(&dims, pa, pb, (8 << 20) - 1, 8, |_, _, _| ()) }.is_none());
    let one = [Dim { n: 1, d: 4, s: 4 }];
    assert!(unsafe { in_parallel(&one, pa, pb, 64 << 20, 8, |_, _, _| ()) }.is_none());
}

#[test]
fn thread_counts_from_the_environment() {
    assert_eq!(parse_num_threads(Some("4")), Some(4));
    assert_eq!(parse_num_threads(Some(" 12\n")), Some(12));
    assert_eq!(parse_num_threads(Some("007")), Some(7));
    assert_eq!(parse_num_threads(Some("2147483647")), Some(2147483647));
    for bad in [
        "",
        " ",
        "0",
        "00",
        "-1",
        "+3",
        "3x",
        "x3",
        "1.5",
        "2147483648",
        "1e3",
        "4 4",
        "99999999999999999999999",
    ] {
        assert_eq!(parse_num_threads(Some(bad)), None, "{bad:?}");
    }
    assert_eq!(parse_num_threads(None), None);
    // A negative cap is refused and changes nothing; the cap in force is at least 1.
    let before = max_threads();
    assert!(set_max_threads(-1).is_err());
    assert!(set_max_threads(i64::MIN).is_err());
    assert_eq!(max_threads(), before);
    assert!(max_threads() >= 1 && default_max_threads() >= 1);
}

#[test]
fn dimensions_are_flipped_sorted_and_merged() {
    let dim = |n, d, s| Dim { n, d, s };
    let (mut dp, mut sp) = (0x10000 as *mut u8, 0x20000 as *const u8);
    // dst 2x1x3x4 C-contiguous (4-byte items), src contiguous bytes: all merge into one.
    let mut dims = DimList::<MAX_DIMS>::new();
    plan_dims(
        &[2, 1, 3, 4],
        &[48, 7, 16, 4],
        &[12, 99, 4, 1],
        &mut dp,
        &mut sp,
        &mut dims,
    );
    assert_eq!(dims, vec![dim(24, 4, 1)]);
    // A transpose stays two dimensions, sorted by destination stride.
    plan_dims(&[3, 2], &[4, 12], &[8, 4], &mut dp, &mut sp, &mut dims);
    assert_eq!(dims, vec![dim(2, 12, 4), dim(3, 4, 8)]);
    // A reversed destination is walked forwards from its last item.
    let (mut dp, mut sp) = (0x10000 as *mut u8, 0x20000 as *const u8);
    plan_dims(&[5], &[-4], &[4], &mut dp, &mut sp, &mut dims);
    assert_eq!(dims, vec![dim(5, 4, -4)]);
    assert_eq!((dp as usize, sp as usize), (0x10000 - 16, 0x20000 + 16));
}

#[test]
fn tiled_transposes_of_every_item_size() {
    for size in [1usize, 2, 4, 8, 16, 3] {
        for (rows, cols) in [(37, 70), (64, 64), (5, 130)] {
            let n = rows * cols;
            let mut src: Vec<u8> = (0..n * size).map(|k| (k * 7 + k / 251) as u8).collect();
            let mut out = vec![0u8; n * size];
            // The source read as its transpose: shape (cols, rows).
            let s = lay(
                &mut src,
                &[cols as isize, rows as isize],
                &[size as isize, (cols * size) as isize],
                0,
                size as isize,
            );
            unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &s, Order::C) }.unwrap();
            for c in 0..cols {
                for r in 0..rows {
                    let got = &out[(c * rows + r) * size..][..size];
                    let want = &src[(r * cols + c) * size..][..size];
                    assert_eq!(got, want, "size {size}, {rows}x{cols}, at ({c}, {r})");
                }
            }
        }
    }
}

#[test]
fn indirect_copy() {
    let rows: [[u8; 3]; 2] = [[1, 2, 3], [4, 5, 6]];
    let ptrs: [*const u8; 2] = [rows[1].as_ptr(), rows[0].as_ptr()];
    let src = Layout {
        buf: ptrs.as_ptr() as *mut u8,
        itemsize: 1,
        shape: vec![2, 3].into(),
        strides: vec![std::mem::size_of::<*const u8>() as isize, 1].into(),
        suboffsets: Some(vec![0, -1].into()),
    };
    let mut out = [0u8; 6];
    unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &src, Order::C) }.unwrap();
    assert_eq!(out, [4, 5, 6, 1, 2, 3]);
    unsafe { to_contiguous(out.as_mut_ptr(), out.len(), &src, Order::F) }.unwrap();
    assert_eq!(out, [4, 1, 5, 2, 6, 3]);
}
