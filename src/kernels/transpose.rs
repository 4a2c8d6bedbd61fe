//! Tiled 2-D copies for transposes, with 8x8, 4x4 and 2x2 blocks transposed in vector
//! registers where the target has them.

use super::{copy_run, Dim};

/// A 2-D copy in square tiles, for a pair of dimensions where the destination is contiguous
/// along `a` and the source along `b` (a transpose): within a tile both sides stay in cache, so
/// neither pays a miss per item. Blocks of 4x4 four-byte or 2x2 eight-byte items with unit
/// strides are transposed in vector registers.
#[inline(always)]
pub(crate) unsafe fn copy_tiled(dst: *mut u8, src: *const u8, a: Dim, b: Dim, size: isize) {
    if one_tile(dst, src, a, b, size) {
        return;
    }
    let tile = tile_side(size);
    let block = register_block(a, b, size);
    let mut b0 = 0;
    while b0 < b.n {
        let b1 = (b0 + tile).min(b.n);
        let mut a0 = 0;
        while a0 < a.n {
            let a1 = (a0 + tile).min(a.n);
            // Whole register blocks first, then the tile's ragged edges item by item.
            let (mut ab, mut bb) = (a0, b0);
            if block > 0 {
                ab = a0 + (a1 - a0) / block * block;
                bb = b0 + (b1 - b0) / block * block;
                let mut i = a0;
                while i < ab {
                    let mut j = b0;
                    while j < bb {
                        let d = dst.wrapping_offset(i * a.d + j * b.d);
                        let s = src.wrapping_offset(i * a.s + j * b.s);
                        match size {
                            1 => transpose_8x8_u8(d, b.d, s, a.s),
                            2 => transpose_8x8_u16(d, b.d, s, a.s),
                            4 => transpose_4x4_u32(d, b.d, s, a.s),
                            _ => transpose_2x2_u64(d, b.d, s, a.s),
                        }
                        j += block;
                    }
                    i += block;
                }
            }
            // Edges: rows [a0, a1) x columns [bb, b1), and rows [ab, a1) x columns [b0, bb).
            for j in bb..b1 {
                let d = dst.wrapping_offset(a0 * a.d + j * b.d);
                let s = src.wrapping_offset(a0 * a.s + j * b.s);
                copy_run(d, a.d, s, a.s, a1 - a0, size);
            }
            if ab < a1 {
                for j in b0..bb {
                    let d = dst.wrapping_offset(ab * a.d + j * b.d);
                    let s = src.wrapping_offset(ab * a.s + j * b.s);
                    copy_run(d, a.d, s, a.s, a1 - ab, size);
                }
            }
            a0 = a1;
        }
        b0 = b1;
    }
}

/// The side of a tile, in items of `size` bytes.
#[inline(always)]
fn tile_side(size: isize) -> isize {
    (256 / size).max(8)
}

/// The side of the blocks transposed in vector registers for this pair of dimensions, or 0
/// when their items are not contiguous where the registers need it.
#[inline(always)]
fn register_block(a: Dim, b: Dim, size: isize) -> isize {
    match size {
        1 if a.d == 1 && b.s == 1 => 8,
        2 if a.d == 2 && b.s == 2 => 8,
        4 if a.d == 4 && b.s == 4 => 4,
        8 if a.d == 8 && b.s == 8 => 2,
        _ => 0,
    }
}

/// The copy of [`copy_tiled`] (same arguments) when it is one tile of whole register blocks,
/// as small transposes are: the blocks one after another, without the tile loops and ragged
/// edges. Returns whether it applied (else it did nothing). The tests are made here, inline;
/// the blocks are moved by one function per item size.
#[inline(always)]
pub(crate) unsafe fn one_tile(dst: *mut u8, src: *const u8, a: Dim, b: Dim, size: isize) -> bool {
    match size {
        1 if a.d == 1 && b.s == 1 && whole_blocks::<8, 256>(a, b) => tile_u8(dst, src, a, b),
        2 if a.d == 2 && b.s == 2 && whole_blocks::<8, 128>(a, b) => tile_u16(dst, src, a, b),
        #[cfg(target_arch = "x86_64")]
        4 if a.d == 4
            && b.s == 4
            && whole_blocks::<8, 64>(a, b)
            && std::arch::is_x86_feature_detected!("avx") =>
        {
            tile_u32_avx(dst, src, a, b)
        }
        4 if a.d == 4 && b.s == 4 && whole_blocks::<4, 64>(a, b) => tile_u32(dst, src, a, b),
        8 if a.d == 8 && b.s == 8 && whole_blocks::<2, 32>(a, b) => tile_u64(dst, src, a, b),
        _ => return false,
    }
    true
}

/// Whether both extents are whole multiples of `BLOCK` and fit one tile of `TILE` (see
/// [`tile_side`]).
#[inline(always)]
fn whole_blocks<const BLOCK: isize, const TILE: isize>(a: Dim, b: Dim) -> bool {
    a.n <= TILE && b.n <= TILE && a.n % BLOCK == 0 && b.n % BLOCK == 0
}

/// [`one_tile`] of bytes.
#[inline(never)]
unsafe fn tile_u8(dst: *mut u8, src: *const u8, a: Dim, b: Dim) {
    blocks::<8>(dst, src, a, b, |d, r, s, q| transpose_8x8_u8(d, r, s, q))
}

/// [`one_tile`] of 2-byte items.
#[inline(never)]
unsafe fn tile_u16(dst: *mut u8, src: *const u8, a: Dim, b: Dim) {
    blocks::<8>(dst, src, a, b, |d, r, s, q| transpose_8x8_u16(d, r, s, q))
}

/// [`one_tile`] of 4-byte items in 8x8 blocks, for processors with AVX (the caller checks).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline(never)]
unsafe fn tile_u32_avx(dst: *mut u8, src: *const u8, a: Dim, b: Dim) {
    blocks::<8>(dst, src, a, b, |d, r, s, q| {
        transpose_8x8_u32_avx(d, r, s, q)
    })
}

/// [`one_tile`] of 4-byte items in 4x4 blocks.
#[inline(never)]
unsafe fn tile_u32(dst: *mut u8, src: *const u8, a: Dim, b: Dim) {
    blocks::<4>(dst, src, a, b, |d, r, s, q| transpose_4x4_u32(d, r, s, q))
}

/// [`one_tile`] of 8-byte items.
#[inline(never)]
unsafe fn tile_u64(dst: *mut u8, src: *const u8, a: Dim, b: Dim) {
    blocks::<2>(dst, src, a, b, |d, r, s, q| transpose_2x2_u64(d, r, s, q))
}

/// The blocks of `BLOCK` items of a tile (both extents whole multiples of `BLOCK`), `t`
/// transposing each in turn, the pointers stepping from block to block.
#[inline(always)]
unsafe fn blocks<const BLOCK: isize>(
    dst: *mut u8,
    src: *const u8,
    a: Dim,
    b: Dim,
    t: impl Fn(*mut u8, isize, *const u8, isize),
) {
    // One block (an 8x8 transpose of 4-byte items, say): no loops.
    if a.n == BLOCK && b.n == BLOCK {
        return t(dst, b.d, src, a.s);
    }
    let (mut dr, mut sr) = (dst, src);
    let mut i = 0;
    while i < a.n {
        let (mut d, mut s) = (dr, sr);
        let mut j = 0;
        while j < b.n {
            t(d, b.d, s, a.s);
            d = d.wrapping_offset(BLOCK * b.d);
            s = s.wrapping_offset(BLOCK * b.s);
            j += BLOCK;
        }
        dr = dr.wrapping_offset(BLOCK * a.d);
        sr = sr.wrapping_offset(BLOCK * a.s);
        i += BLOCK;
    }
}

/// Transposes an 8x8 block of bytes (see [`transpose_4x4_u32`]).
#[inline(always)]
pub(crate) unsafe fn transpose_8x8_u8(
    dst: *mut u8,
    dst_row: isize,
    src: *const u8,
    src_row: isize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let row = |k: isize| _mm_loadl_epi64(src.wrapping_offset(k * src_row) as *const __m128i);
        // Interleave bytes, then pairs, then quads: each 8-byte half ends up one column.
        let t0 = _mm_unpacklo_epi8(row(0), row(1));
        let t1 = _mm_unpacklo_epi8(row(2), row(3));
        let t2 = _mm_unpacklo_epi8(row(4), row(5));
        let t3 = _mm_unpacklo_epi8(row(6), row(7));
        let u0 = _mm_unpacklo_epi16(t0, t1);
        let u1 = _mm_unpackhi_epi16(t0, t1);
        let u2 = _mm_unpacklo_epi16(t2, t3);
        let u3 = _mm_unpackhi_epi16(t2, t3);
        let cols = [
            _mm_unpacklo_epi32(u0, u2),
            _mm_unpackhi_epi32(u0, u2),
            _mm_unpacklo_epi32(u1, u3),
            _mm_unpackhi_epi32(u1, u3),
        ];
        for (k, c) in cols.into_iter().enumerate() {
            let k = 2 * k as isize;
            _mm_storel_epi64(dst.wrapping_offset(k * dst_row) as *mut __m128i, c);
            _mm_storel_epi64(
                dst.wrapping_offset((k + 1) * dst_row) as *mut __m128i,
                _mm_srli_si128::<8>(c),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..8 {
        copy_run(
            dst.wrapping_offset(i),
            dst_row,
            src.wrapping_offset(i * src_row),
            1,
            8,
            1,
        );
    }
}

/// Transposes an 8x8 block of 2-byte items (see [`transpose_4x4_u32`]).
#[inline(always)]
pub(crate) unsafe fn transpose_8x8_u16(
    dst: *mut u8,
    dst_row: isize,
    src: *const u8,
    src_row: isize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let row = |k: isize| _mm_loadu_si128(src.wrapping_offset(k * src_row) as *const __m128i);
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
        let t0 = _mm_unpacklo_epi16(r0, r1);
        let t1 = _mm_unpackhi_epi16(r0, r1);
        let t2 = _mm_unpacklo_epi16(r2, r3);
        let t3 = _mm_unpackhi_epi16(r2, r3);
        let t4 = _mm_unpacklo_epi16(r4, r5);
        let t5 = _mm_unpackhi_epi16(r4, r5);
        let t6 = _mm_unpacklo_epi16(r6, r7);
        let t7 = _mm_unpackhi_epi16(r6, r7);
        let u0 = _mm_unpacklo_epi32(t0, t2);
        let u1 = _mm_unpackhi_epi32(t0, t2);
        let u2 = _mm_unpacklo_epi32(t1, t3);
        let u3 = _mm_unpackhi_epi32(t1, t3);
        let u4 = _mm_unpacklo_epi32(t4, t6);
        let u5 = _mm_unpackhi_epi32(t4, t6);
        let u6 = _mm_unpacklo_epi32(t5, t7);
        let u7 = _mm_unpackhi_epi32(t5, t7);
        let cols = [
            _mm_unpacklo_epi64(u0, u4),
            _mm_unpackhi_epi64(u0, u4),
            _mm_unpacklo_epi64(u1, u5),
            _mm_unpackhi_epi64(u1, u5),
            _mm_unpacklo_epi64(u2, u6),
            _mm_unpackhi_epi64(u2, u6),
            _mm_unpacklo_epi64(u3, u7),
            _mm_unpackhi_epi64(u3, u7),
        ];
        for (k, c) in cols.into_iter().enumerate() {
            _mm_storeu_si128(dst.wrapping_offset(k as isize * dst_row) as *mut __m128i, c);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..8 {
        copy_run(
            dst.wrapping_offset(i * 2),
            dst_row,
            src.wrapping_offset(i * src_row),
            2,
            8,
            2,
        );
    }
}

/// Transposes an 8x8 block of 4-byte items in 256-bit registers (see [`transpose_4x4_u32`]);
/// for processors with AVX (the caller checks). The items move as bit patterns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn transpose_8x8_u32_avx(dst: *mut u8, dst_row: isize, src: *const u8, src_row: isize) {
    use std::arch::x86_64::*;
    let row = |k: isize| _mm256_loadu_ps(src.wrapping_offset(k * src_row) as *const f32);
    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
    let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
    // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves exchanged.
    let t0 = _mm256_unpacklo_ps(r0, r1);
    let t1 = _mm256_unpackhi_ps(r0, r1);
    let t2 = _mm256_unpacklo_ps(r2, r3);
    let t3 = _mm256_unpackhi_ps(r2, r3);
    let t4 = _mm256_unpacklo_ps(r4, r5);
    let t5 = _mm256_unpackhi_ps(r4, r5);
    let t6 = _mm256_unpacklo_ps(r6, r7);
    let t7 = _mm256_unpackhi_ps(r6, r7);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    let cols = [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ];
    for (k, c) in cols.into_iter().enumerate() {
        _mm256_storeu_ps(dst.wrapping_offset(k as isize * dst_row) as *mut f32, c);
    }
}

/// Transposes a 4x4 block of 4-byte items: source rows of 4 contiguous items `src_row` bytes
/// apart become destination rows of 4 contiguous items `dst_row` bytes apart.
#[inline(always)]
pub(crate) unsafe fn transpose_4x4_u32(
    dst: *mut u8,
    dst_row: isize,
    src: *const u8,
    src_row: isize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SSE2 is part of the x86-64 baseline.
        let r0 = _mm_loadu_si128(src as *const __m128i);
        let r1 = _mm_loadu_si128(src.wrapping_offset(src_row) as *const __m128i);
        let r2 = _mm_loadu_si128(src.wrapping_offset(2 * src_row) as *const __m128i);
        let r3 = _mm_loadu_si128(src.wrapping_offset(3 * src_row) as *const __m128i);
        let t0 = _mm_unpacklo_epi32(r0, r1);
        let t1 = _mm_unpacklo_epi32(r2, r3);
        let t2 = _mm_unpackhi_epi32(r0, r1);
        let t3 = _mm_unpackhi_epi32(r2, r3);
        _mm_storeu_si128(dst as *mut __m128i, _mm_unpacklo_epi64(t0, t1));
        _mm_storeu_si128(
            dst.wrapping_offset(dst_row) as *mut __m128i,
            _mm_unpackhi_epi64(t0, t1),
        );
        _mm_storeu_si128(
            dst.wrapping_offset(2 * dst_row) as *mut __m128i,
            _mm_unpacklo_epi64(t2, t3),
        );
        _mm_storeu_si128(
            dst.wrapping_offset(3 * dst_row) as *mut __m128i,
            _mm_unpackhi_epi64(t2, t3),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..4 {
        copy_run(
            dst.wrapping_offset(i * 4),
            dst_row,
            src.wrapping_offset(i * src_row),
            4,
            4,
            4,
        );
    }
}

/// Transposes a 2x2 block of 8-byte items (see [`transpose_4x4_u32`]).
#[inline(always)]
pub(crate) unsafe fn transpose_2x2_u64(
    dst: *mut u8,
    dst_row: isize,
    src: *const u8,
    src_row: isize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let r0 = _mm_loadu_si128(src as *const __m128i);
        let r1 = _mm_loadu_si128(src.wrapping_offset(src_row) as *const __m128i);
        _mm_storeu_si128(dst as *mut __m128i, _mm_unpacklo_epi64(r0, r1));
        _mm_storeu_si128(
            dst.wrapping_offset(dst_row) as *mut __m128i,
            _mm_unpackhi_epi64(r0, r1),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..2 {
        copy_run(
            dst.wrapping_offset(i * 8),
            dst_row,
            src.wrapping_offset(i * src_row),
            8,
            2,
            8,
        );
    }
}
