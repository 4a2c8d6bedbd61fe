//! Strided N-dimensional memory as the library works on it ([`Layout`]), walking it item by
//! item or run by run, and copying between two layouts — correct for overlapping memory and for
//! PIL-style suboffsets, fast for the common cases (contiguous runs become `memcpy`, adjacent
//! dimensions that are contiguous with each other are merged, inner loops are specialised by
//! item size, large copies and comparisons are split over threads: [`in_parallel`]).

use std::ptr;

use crate::abi::xbuf_bufferinfo;
use crate::bufferinfo;
use crate::format::Format;
use crate::layout::{self, Dims, Order};
use crate::status::Result;
use crate::{bail, err};

/// A strided layout over raw memory: item `(i0, i1, ...)` lies at
/// `buf + sum(ik * strides[k])`, following suboffsets as PEP 3118 defines them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub buf: *mut u8,
    pub itemsize: isize,
    pub shape: Dims,
    pub strides: Dims,
    /// Present only when some dimension really is indirect (an entry `>= 0`).
    pub suboffsets: Option<Dims>,
}

impl Layout {
    /// A contiguous layout of `shape` in `order` (`Any` means C) at `buf`.
    pub fn contiguous(
        buf: *mut u8,
        shape: &[isize],
        itemsize: isize,
        order: Order,
    ) -> Result<Layout> {
        let mut strides = Dims::zeros(shape.len());
        layout::contiguous_strides(shape, itemsize, order, &mut strides)?;
        Ok(Layout {
            buf,
            itemsize,
            shape: Dims::from_slice(shape),
            strides,
            suboffsets: None,
        })
    }

    /// The layout a consumer's view describes (missing shape: one dimension of `len / itemsize`
    /// items; missing strides: C-contiguous).
    ///
    /// # Safety
    /// As [`bufferinfo::read_view`].
    pub unsafe fn from_view(view: *const xbuf_bufferinfo) -> Result<Layout> {
        let v = bufferinfo::read_view(view)?;
        let shape = Dims::from_slice(v.shape());
        let strides = match v.strides {
            Some(s) => Dims::from_slice(s),
            None => {
                let mut s = Dims::zeros(shape.len());
                layout::contiguous_strides(&shape, v.itemsize, Order::C, &mut s)?;
                s
            }
        };
        let suboffsets = v
            .suboffsets
            .filter(|s| s.iter().any(|&x| x >= 0))
            .map(Dims::from_slice);
        Ok(Layout {
            buf: v.buf,
            itemsize: v.itemsize,
            shape,
            strides,
            suboffsets,
        })
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of items (the shape was checked when the layout was made).
    pub fn count(&self) -> usize {
        self.shape.iter().product::<isize>() as usize
    }

    /// `count * itemsize` in bytes.
    pub fn byte_len(&self) -> usize {
        self.count() * self.itemsize as usize
    }

    pub fn is_contiguous(&self, order: Order) -> bool {
        layout::is_contiguous(
            &self.shape,
            Some(&self.strides),
            self.suboffsets.is_some(),
            self.itemsize,
            order,
        )
    }

    /// The address range `[lo, hi)` the items occupy, for a layout without suboffsets.
    fn address_range(&self) -> Option<(usize, usize)> {
        if self.suboffsets.is_some() || self.count() == 0 {
            return None;
        }
        let (lo, hi) = layout::extent(&self.shape, &self.strides, self.itemsize).ok()?;
        let base = self.buf as usize;
        Some((base.wrapping_add_signed(lo), base.wrapping_add_signed(hi)))
    }

    /// Calls `f` with the address of every item, in C order (last index fastest).
    ///
    /// # Safety
    /// The layout must describe readable memory (pointer tables included).
    pub unsafe fn for_each_item(&self, mut f: impl FnMut(*mut u8)) {
        if self.count() == 0 {
            return;
        }
        unsafe fn walk(
            p: *mut u8,
            shape: &[isize],
            strides: &[isize],
            subs: Option<&[isize]>,
            f: &mut dyn FnMut(*mut u8),
        ) {
            let Some((&n, rest)) = shape.split_first() else {
                f(p);
                return;
            };
            for i in 0..n {
                let mut q = p.wrapping_offset(i.wrapping_mul(strides[0]));
                if let Some(s) = subs {
                    if s[0] >= 0 {
                        q = (q as *const *mut u8).read_unaligned().wrapping_offset(s[0]);
                    }
                }
                walk(q, rest, &strides[1..], subs.map(|s| &s[1..]), f);
            }
        }
        walk(
            self.buf,
            &self.shape,
            &self.strides,
            self.suboffsets.as_deref(),
            &mut f,
        );
    }
}

/// Calls `f` with the addresses of the items at the same indices of two layouts of the same
/// shape, in C order, following either's suboffsets.
///
/// # Safety
/// Both layouts must describe readable memory (pointer tables included).
pub unsafe fn for_each_pair(a: &Layout, b: &Layout, mut f: impl FnMut(*mut u8, *mut u8)) {
    if a.count() == 0 {
        return;
    }
    struct Side<'a> {
        strides: &'a [isize],
        subs: Option<&'a [isize]>,
    }
    unsafe fn step(p: *mut u8, i: isize, side: &Side<'_>, d: usize) -> *mut u8 {
        let q = p.wrapping_offset(i.wrapping_mul(side.strides[d]));
        match side.subs {
            Some(s) if s[d] >= 0 => (q as *const *mut u8).read_unaligned().wrapping_offset(s[d]),
            _ => q,
        }
    }
    unsafe fn walk(
        pa: *mut u8,
        pb: *mut u8,
        shape: &[isize],
        d: usize,
        sides: (&Side<'_>, &Side<'_>),
        f: &mut dyn FnMut(*mut u8, *mut u8),
    ) {
        if d == shape.len() {
            f(pa, pb);
            return;
        }
        for i in 0..shape[d] {
            let (x, y) = (step(pa, i, sides.0, d), step(pb, i, sides.1, d));
            walk(x, y, shape, d + 1, sides, f);
        }
    }
    let sa = Side {
        strides: &a.strides,
        subs: a.suboffsets.as_deref(),
    };
    let sb = Side {
        strides: &b.strides,
        subs: b.suboffsets.as_deref(),
    };
    walk(a.buf, b.buf, &a.shape, 0, (&sa, &sb), &mut f);
}

/// Two layouts' items may share memory (a conservative test: their address ranges intersect,
/// or either is indirect).
fn may_overlap(a: &Layout, b: &Layout) -> bool {
    if a.count() == 0 || b.count() == 0 {
        return false;
    }
    match (a.address_range(), b.address_range()) {
        (Some((alo, ahi)), Some((blo, bhi))) => alo < bhi && blo < ahi,
        _ => true,
    }
}

/// Copies every item of `src` to the same position in `dst`. Both must have the same shape
/// and item size. Correct when the two overlap (the source is read completely first).
///
/// # Safety
/// `src` must describe readable and `dst` writable memory.
pub unsafe fn copy(dst: &Layout, src: &Layout) -> Result<()> {
    if dst.shape != src.shape {
        bail!(
            InvalidArgument,
            "shapes differ: destination {:?}, source {:?}",
            dst.shape,
            src.shape
        );
    }
    if dst.itemsize != src.itemsize {
        bail!(
            InvalidArgument,
            "item sizes differ: destination {}, source {}",
            dst.itemsize,
            src.itemsize
        );
    }
    if dst.count() == 0 {
        return Ok(());
    }
    if dst.suboffsets.is_none() && src.suboffsets.is_none() && !may_overlap(dst, src) {
        copy_direct(dst, src);
        return Ok(());
    }
    // Through a contiguous buffer: gather the source completely, then scatter.
    let mut tmp = Vec::new();
    tmp.try_reserve_exact(src.byte_len()).map_err(|_| {
        err!(
            NoMemory,
            "cannot allocate {} bytes to copy overlapping memory",
            src.byte_len()
        )
    })?;
    let tmp_layout = Layout::contiguous(tmp.as_mut_ptr(), &src.shape, src.itemsize, Order::C)?;
    copy_any(&tmp_layout, src);
    copy_any(dst, &tmp_layout);
    Ok(())
}

/// Copies between layouts that do not overlap; either may be indirect.
unsafe fn copy_any(dst: &Layout, src: &Layout) {
    if dst.suboffsets.is_none() && src.suboffsets.is_none() {
        copy_direct(dst, src);
        return;
    }
    let n = src.itemsize as usize;
    for_each_pair(dst, src, |d, s| ptr::copy_nonoverlapping(s, d, n));
}

/// One dimension of a copy: its extent and its byte strides in the destination and source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dim {
    n: isize,
    d: isize,
    s: isize,
}

/// The dimensions of a copy in the order the kernels want them: extent-1 dimensions dropped;
/// dimensions with a negative destination stride walked backwards (both start pointers moved
/// to the last item), so that the destination is written forwards; sorted by destination
/// stride, largest first (the innermost dimension writes the closest bytes); neighbours that
/// are contiguous with each other in both layouts merged into one.
#[inline(always)]
fn plan_dims(
    shape: &[isize],
    ds: &[isize],
    ss: &[isize],
    dp: &mut *mut u8,
    sp: &mut *const u8,
    dims: &mut DimList,
) {
    dims.len = 0;
    for k in 0..shape.len() {
        if shape[k] == 1 {
            continue;
        }
        let mut dim = Dim {
            n: shape[k],
            d: ds[k],
            s: ss[k],
        };
        if dim.d < 0 {
            *dp = dp.wrapping_offset(dim.d * (dim.n - 1));
            *sp = sp.wrapping_offset(dim.s * (dim.n - 1));
            dim.d = -dim.d;
            dim.s = -dim.s;
        }
        dims.push(dim);
    }
    dims.sort_by_key(|d| std::cmp::Reverse(d.d));
    // Merged in place: entry `kept - 1` is the last dimension kept so far.
    let mut kept: usize = 0;
    for i in 0..dims.len() {
        let dim = dims[i];
        match kept.checked_sub(1).map(|k| &mut dims[k]) {
            // The outer dimension steps over exactly this whole dimension, in both layouts.
            Some(outer) if outer.d == dim.d * dim.n && outer.s == dim.s * dim.n => {
                outer.n *= dim.n;
                outer.d = dim.d;
                outer.s = dim.s;
            }
            _ => {
                dims[kept] = dim;
                kept += 1;
            }
        }
    }
    dims.len = kept;
}

/// The planned dimensions of a copy, on the stack (a layout has at most `XBUF_MAX_NDIM`).
struct DimList {
    len: usize,
    items: [std::mem::MaybeUninit<Dim>; crate::abi::XBUF_MAX_NDIM as usize],
}

impl DimList {
    fn new() -> DimList {
        DimList {
            len: 0,
            items: [std::mem::MaybeUninit::uninit(); crate::abi::XBUF_MAX_NDIM as usize],
        }
    }
    fn push(&mut self, d: Dim) {
        self.items[self.len].write(d);
        self.len += 1;
    }
}

impl std::ops::Deref for DimList {
    type Target = [Dim];
    fn deref(&self) -> &[Dim] {
        // SAFETY: the first `len` entries were written by `push`.
        unsafe { std::slice::from_raw_parts(self.items.as_ptr().cast(), self.len) }
    }
}

impl std::ops::DerefMut for DimList {
    fn deref_mut(&mut self) -> &mut [Dim] {
        // SAFETY: as in `deref`.
        unsafe { std::slice::from_raw_parts_mut(self.items.as_mut_ptr().cast(), self.len) }
    }
}

impl std::fmt::Debug for DimList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl PartialEq<Vec<Dim>> for DimList {
    fn eq(&self, other: &Vec<Dim>) -> bool {
        **self == other[..]
    }
}

/// Copies `n` items of `size` bytes from `src` (step `ss`) to `dst` (step `ds`).
#[inline(always)]
unsafe fn copy_run(dst: *mut u8, ds: isize, src: *const u8, ss: isize, n: isize, size: isize) {
    #[inline(always)]
    unsafe fn typed<T: Copy>(dst: *mut u8, ds: isize, src: *const u8, ss: isize, n: isize) {
        let (mut d, mut s) = (dst, src);
        for _ in 0..n {
            (d as *mut T).write_unaligned((s as *const T).read_unaligned());
            d = d.wrapping_offset(ds);
            s = s.wrapping_offset(ss);
        }
    }
    if ds == size && ss == size {
        ptr::copy_nonoverlapping(src, dst, (n * size) as usize);
        return;
    }
    match size {
        1 => typed::<u8>(dst, ds, src, ss, n),
        2 => typed::<u16>(dst, ds, src, ss, n),
        4 => typed::<u32>(dst, ds, src, ss, n),
        8 => typed::<u64>(dst, ds, src, ss, n),
        16 => typed::<u128>(dst, ds, src, ss, n),
        _ => {
            let (mut d, mut s) = (dst, src);
            for _ in 0..n {
                ptr::copy_nonoverlapping(s, d, size as usize);
                d = d.wrapping_offset(ds);
                s = s.wrapping_offset(ss);
            }
        }
    }
}

/// A 2-D copy in square tiles, for a pair of dimensions where the destination is contiguous
/// along `a` and the source along `b` (a transpose): within a tile both sides stay in cache, so
/// neither pays a miss per item. Blocks of 4x4 four-byte or 2x2 eight-byte items with unit
/// strides are transposed in vector registers.
#[inline(always)]
unsafe fn copy_tiled(dst: *mut u8, src: *const u8, a: Dim, b: Dim, size: isize) {
    let tile = (256 / size).max(8);
    let block = match size {
        1 if a.d == 1 && b.s == 1 => 8,
        2 if a.d == 2 && b.s == 2 => 8,
        4 if a.d == 4 && b.s == 4 => 4,
        8 if a.d == 8 && b.s == 8 => 2,
        _ => 0,
    };
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

/// Transposes an 8x8 block of bytes (see [`transpose_4x4_u32`]).
#[inline(always)]
unsafe fn transpose_8x8_u8(dst: *mut u8, dst_row: isize, src: *const u8, src_row: isize) {
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
unsafe fn transpose_8x8_u16(dst: *mut u8, dst_row: isize, src: *const u8, src_row: isize) {
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

/// Transposes a 4x4 block of 4-byte items: source rows of 4 contiguous items `src_row` bytes
/// apart become destination rows of 4 contiguous items `dst_row` bytes apart.
#[inline(always)]
unsafe fn transpose_4x4_u32(dst: *mut u8, dst_row: isize, src: *const u8, src_row: isize) {
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
unsafe fn transpose_2x2_u64(dst: *mut u8, dst_row: isize, src: *const u8, src_row: isize) {
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

/// Calls `f(dst, src)` at every combination of indices of `outer`, advancing both pointers
/// by the dimensions' strides (an odometer: no per-position index arithmetic).
#[inline(always)]
unsafe fn for_each_outer(
    outer: &[Dim],
    dp: *mut u8,
    sp: *const u8,
    mut f: impl FnMut(*mut u8, *const u8),
) {
    if outer.iter().any(|d| d.n == 0) {
        return;
    }
    let mut idx = [0isize; 64];
    let (mut d, mut s) = (dp, sp);
    loop {
        f(d, s);
        let mut k = outer.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            d = d.wrapping_offset(outer[k].d);
            s = s.wrapping_offset(outer[k].s);
            if idx[k] < outer[k].n {
                break;
            }
            d = d.wrapping_offset(-outer[k].d * outer[k].n);
            s = s.wrapping_offset(-outer[k].s * outer[k].n);
            idx[k] = 0;
        }
    }
}

/// Copies between direct (no suboffsets), non-overlapping layouts of equal shape.
unsafe fn copy_direct(dst: &Layout, src: &Layout) {
    let size = dst.itemsize;
    let (mut dp, mut sp) = (dst.buf, src.buf as *const u8);
    let mut dims = DimList::new();
    plan_dims(
        &dst.shape,
        &dst.strides,
        &src.strides,
        &mut dp,
        &mut sp,
        &mut dims,
    );
    let bytes = dst.byte_len();
    if bytes >= 2 * BYTES_PER_THREAD
        && rows_disjoint(&dims, size)
        && in_parallel(&dims, dp, sp, bytes, max_threads(), |d, p, q| {
            copy_dims(p, q, d, size)
        })
        .is_some()
    {
        return;
    }
    copy_dims(dp, sp, &dims, size);
}

/// Whether the destination bytes of different indices of the outermost dimension are disjoint,
/// so that its index ranges may be written by different threads (a destination may overlap
/// itself, with a zero or an aliasing stride; it is then written by one thread in C order).
/// The planned destination strides are all non-negative and the outermost is the largest: one
/// outer index writes `[i * d, i * d + reach)`, where `reach` is how far the inner dimensions
/// reach, so the ranges are disjoint exactly when `reach <= d`.
fn rows_disjoint(dims: &[Dim], size: isize) -> bool {
    let Some((outer, inner)) = dims.split_first() else {
        return false;
    };
    inner
        .iter()
        .try_fold(size, |acc, d| acc.checked_add((d.n - 1).checked_mul(d.d)?))
        .is_some_and(|reach| reach <= outer.d)
}

/// Each thread of a large copy or comparison gets at least this many bytes (of the
/// destination, or of the first view compared): below that, starting a thread costs a
/// noticeable part of what it saves, and a job of less than twice this stays on the calling
/// thread.
pub(crate) const BYTES_PER_THREAD: usize = 4 << 20;

/// Split points of the outermost dimension are multiples of this many indices when every
/// piece keeps the minimum that way: the pieces of a contiguous copy then start on cache-line
/// boundaries and those of a transpose on whole tiles.
const SPLIT_GRANULE: isize = 64;

/// The index ranges `[start, end)` of an outermost dimension of extent `n` that the threads of
/// a job of `bytes` bytes (spread evenly over the indices) take, in order: consecutive, covering
/// `0..n`, none empty; as many as `cap` allows with at least [`BYTES_PER_THREAD`] bytes each
/// (one range, the whole dimension, when the job is too small to split).
pub(crate) fn split_ranges(n: isize, bytes: usize, cap: usize) -> Vec<(isize, isize)> {
    let n = n.max(0);
    // Whether `rows` consecutive indices hold at least the minimum.
    let enough = |rows: isize| bytes as u128 * rows as u128 >= BYTES_PER_THREAD as u128 * n as u128;
    let mut threads = cap.min(n as usize).min(bytes / BYTES_PER_THREAD).max(1);
    // An even split's smallest piece has n / threads indices.
    while threads > 1 && !enough(n / threads as isize) {
        threads -= 1;
    }
    let split = |granule: isize| -> Vec<(isize, isize)> {
        let cut = |k: usize| (n as i128 * k as i128 / threads as i128) as isize / granule * granule;
        (0..threads)
            .map(|k| (cut(k), if k + 1 == threads { n } else { cut(k + 1) }))
            .collect()
    };
    if threads > 1 && n / threads as isize >= SPLIT_GRANULE {
        let ranges = split(SPLIT_GRANULE);
        if ranges.iter().all(|&(lo, hi)| enough(hi - lo)) {
            return ranges;
        }
    }
    split(1)
}

/// The cap set by `xbuf_set_max_threads`; 0 when none is set.
static MAX_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The environment variable that sets the default thread cap.
const NUM_THREADS_VAR: &str = "XBUF_NUM_THREADS";

/// Sets the process-wide cap on the threads of one copy or comparison: `n >= 1` caps, 0 goes
/// back to the default ([`default_max_threads`]); a negative `n` is refused.
pub fn set_max_threads(n: i64) -> Result<()> {
    let Ok(n) = usize::try_from(n) else {
        bail!(
            InvalidArgument,
            "the thread cap must be at least 1, or 0 for the default; got {n}"
        );
    };
    MAX_THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// The cap on the threads of one copy or comparison now in force: the one set with
/// [`set_max_threads`], else the default.
pub fn max_threads() -> usize {
    match MAX_THREADS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => default_max_threads(),
        n => n,
    }
}

/// The default cap, decided once per process: `XBUF_NUM_THREADS` when it holds a valid count
/// (see [`parse_num_threads`]), else the number of threads the machine can run at once
/// (`std::thread::available_parallelism`: the CPUs this process may use, after affinity masks
/// and cgroup quotas), else 1.
pub fn default_max_threads() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        let var = std::env::var_os(NUM_THREADS_VAR);
        parse_num_threads(var.as_deref().and_then(|v| v.to_str()))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// The thread count an `XBUF_NUM_THREADS` value asks for: decimal digits (spaces around them
/// allowed) giving a number from 1 to `INT_MAX`. Anything else (unset, empty, 0, a sign, other
/// characters, too large) asks for nothing, and the default stays in force.
pub(crate) fn parse_num_threads(value: Option<&str>) -> Option<usize> {
    let digits = value?.trim_matches(|c: char| c.is_ascii_whitespace());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<std::ffi::c_int>() {
        Ok(n) if n >= 1 => usize::try_from(n).ok(),
        _ => None,
    }
}

/// One thread's share of a job: the planned dimensions with the outermost cut to its range,
/// and both start pointers moved to the range's first index.
struct Piece {
    dims: Vec<Dim>,
    pa: SendPtr,
    pb: SendPtr,
}

/// Runs `work` on pieces of the outermost dimension of `dims` of a job of `bytes` bytes, one
/// piece per thread, at most `cap` threads (the calling thread takes the first piece; see
/// [`split_ranges`]), and returns the pieces' results in order: a large copy or comparison is
/// bound by memory latency, and more cores keep more misses in flight. Every thread is joined
/// before it returns (a panic in one is resumed here). `None` (nothing run) when the job gets
/// one thread; a piece whose thread cannot be started runs on the calling thread.
///
/// # Safety
/// `work` must be safe to run on the pieces at the same time: when it writes through `pa`, the
/// outermost dimension's indices must write disjoint bytes ([`rows_disjoint`]).
unsafe fn in_parallel<T: Send>(
    dims: &[Dim],
    pa: *mut u8,
    pb: *const u8,
    bytes: usize,
    cap: usize,
    work: impl Fn(&[Dim], *mut u8, *const u8) -> T + Sync,
) -> Option<Vec<T>> {
    let outer = *dims.first()?;
    let ranges = split_ranges(outer.n, bytes, cap);
    if ranges.len() < 2 {
        return None;
    }
    let pieces: Vec<Piece> = ranges
        .iter()
        .map(|&(lo, hi)| {
            let mut d = dims.to_vec();
            d[0].n = hi - lo;
            Piece {
                dims: d,
                pa: SendPtr(pa.wrapping_offset(lo * outer.d)),
                pb: SendPtr(pb.wrapping_offset(lo * outer.s) as *mut u8),
            }
        })
        .collect();
    let run = |p: &Piece| work(&p.dims, p.pa.0, p.pb.0);
    let run = &run;
    Some(std::thread::scope(|scope| {
        let (first, rest) = pieces.split_first().expect("at least two pieces");
        let others: Vec<_> = rest
            .iter()
            .map(|p| {
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || run(p));
                (p, spawned)
            })
            .collect();
        let mut results = Vec::with_capacity(pieces.len());
        results.push(run(first));
        for (p, spawned) in others {
            results.push(match spawned {
                Ok(handle) => match handle.join() {
                    Ok(t) => t,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(_) => run(p),
            });
        }
        results
    }))
}

/// A pointer handed to other threads; the memory is the caller's, borrowed for the duration
/// of the scoped threads.
#[derive(Clone, Copy)]
struct SendPtr(*mut u8);
// SAFETY: the threads work on disjoint pieces (a copy writes disjoint index ranges of its
// destination and only reads its source; a comparison only reads), and all of them are joined
// before the memory's borrow ends.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// The copy of planned dimensions (see [`plan_dims`]) from `sp` to `dp`.
unsafe fn copy_dims(dp: *mut u8, sp: *const u8, dims: &[Dim], size: isize) {
    let Some((&inner, outer)) = dims.split_last() else {
        ptr::copy_nonoverlapping(sp, dp, size as usize);
        return;
    };
    // The dimension the source reads closest together; when it is not the innermost one, the
    // copy is a transpose of those two and goes in tiles.
    let t = (0..dims.len())
        .min_by_key(|&k| dims[k].s.unsigned_abs())
        .expect("at least one dimension");
    let tiled = t != dims.len() - 1
        && dims[t].s.unsigned_abs() < inner.s.unsigned_abs()
        && dims[t].n >= 4
        && inner.n >= 4;
    if tiled {
        let b = dims[t];
        let rest: Vec<Dim> = outer
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != t)
            .map(|(_, d)| *d)
            .collect();
        for_each_outer(&rest, dp, sp, |d, s| copy_tiled(d, s, inner, b, size));
    } else {
        for_each_outer(outer, dp, sp, |d, s| {
            copy_run(d, inner.d, s, inner.s, inner.n, size)
        });
    }
}

/// How the items of two views compare, chosen once per comparison from their formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    /// Equal values exactly when the bytes are equal: integers, characters, byte strings and
    /// pointers filling the whole item, in formats of the same layout.
    Bytes,
    /// One native-order 4-byte float per item in both (NaN never equal, -0.0 == 0.0).
    F32,
    /// One native-order 8-byte float per item in both.
    F64,
    /// Value by value (`format::items_equal`).
    Values,
}

fn compare_kind(fa: &Format, fb: &Format) -> Compare {
    use crate::format::{ByteOrder, Kind};
    let single = |f: &Format, size: usize| match f.leaves() {
        [l] if l.count == 1
            && l.scalar.kind == Kind::Float
            && l.scalar.size == size
            && l.scalar.order == ByteOrder::NATIVE
            && f.itemsize() == size =>
        {
            true
        }
        _ => false,
    };
    if single(fa, 4) && single(fb, 4) {
        return Compare::F32;
    }
    if single(fa, 8) && single(fb, 8) {
        return Compare::F64;
    }
    let covered: usize = fa.leaves().iter().map(|l| l.bytes()).sum();
    let bytewise = fa.leaves().iter().all(|l| {
        matches!(
            l.scalar.kind,
            Kind::Int
                | Kind::UInt
                | Kind::Char
                | Kind::Bytes
                | Kind::Pointer
                | Kind::Object
                | Kind::Ref
        )
    });
    if fa.equivalent(fb) && bytewise && covered == fa.itemsize() {
        Compare::Bytes
    } else {
        Compare::Values
    }
}

/// Whether `n` items at `pa` (step `sa`) equal `n` items at `pb` (step `sb`).
#[inline(always)]
unsafe fn run_equal(
    pa: *const u8,
    sa: isize,
    pb: *const u8,
    sb: isize,
    n: isize,
    how: Compare,
    (fa, fb): (&Format, &Format),
) -> bool {
    /// Compares in chunks without an exit per item, so that the loop vectorises; unit
    /// strides get a loop of their own (the compiler then knows the step).
    #[inline(always)]
    unsafe fn floats<T: Copy + PartialEq>(
        pa: *const u8,
        sa: isize,
        pb: *const u8,
        sb: isize,
        n: isize,
    ) -> bool {
        const CHUNK: isize = 256;
        let unit = std::mem::size_of::<T>() as isize;
        let mut k = 0;
        while k < n {
            let end = (k + CHUNK).min(n);
            let mut eq = true;
            if sa == unit && sb == unit {
                let (a, b) = (pa as *const T, pb as *const T);
                for i in k..end {
                    eq &= a.offset(i).read_unaligned() == b.offset(i).read_unaligned();
                }
            } else {
                for i in k..end {
                    let x = (pa.wrapping_offset(i * sa) as *const T).read_unaligned();
                    let y = (pb.wrapping_offset(i * sb) as *const T).read_unaligned();
                    eq &= x == y;
                }
            }
            if !eq {
                return false;
            }
            k = end;
        }
        true
    }
    let size = fa.itemsize() as isize;
    match how {
        Compare::F32 => floats::<f32>(pa, sa, pb, sb, n),
        Compare::F64 => floats::<f64>(pa, sa, pb, sb, n),
        Compare::Bytes if sa == size && sb == size => {
            let len = (n * size) as usize;
            std::slice::from_raw_parts(pa, len) == std::slice::from_raw_parts(pb, len)
        }
        Compare::Bytes => (0..n).all(|i| {
            std::slice::from_raw_parts(pa.wrapping_offset(i * sa), size as usize)
                == std::slice::from_raw_parts(pb.wrapping_offset(i * sb), size as usize)
        }),
        Compare::Values => (0..n).all(|i| {
            let x = std::slice::from_raw_parts(pa.wrapping_offset(i * sa), fa.itemsize());
            let y = std::slice::from_raw_parts(pb.wrapping_offset(i * sb), fb.itemsize());
            crate::format::items_equal(fa, x, fb, y)
        }),
    }
}

/// Whether two views are equal as memoryview's `==` defines it: the same shape, and every pair
/// of items at the same indices equal by value (`1 == 1.0`, NaN never equal, `-0.0 == 0.0`),
/// for any two formats.
///
/// # Safety
/// Both layouts must describe readable memory (pointer tables included) holding items of
/// their formats.
pub unsafe fn equal(a: &Layout, fa: &Format, b: &Layout, fb: &Format) -> bool {
    if a.shape != b.shape {
        return false;
    }
    let how = compare_kind(fa, fb);
    if a.suboffsets.is_some() || b.suboffsets.is_some() {
        // Indirect layouts: item by item in C order.
        let mut eq = true;
        for_each_pair(a, b, |p, q| {
            eq = eq && run_equal(p, 0, q, 0, 1, how, (fa, fb));
        });
        return eq;
    }
    if a.count() == 0 {
        return true;
    }
    let (mut pa, mut pb) = (a.buf, b.buf as *const u8);
    let mut dims = DimList::new();
    plan_dims(
        &a.shape, &a.strides, &b.strides, &mut pa, &mut pb, &mut dims,
    );
    if dims.is_empty() {
        return run_equal(pa, 0, pb, 0, 1, how, (fa, fb));
    }
    let rows = |dims: &[Dim], pa: *mut u8, pb: *const u8| -> bool {
        let (inner, outer) = dims.split_last().expect("at least one dimension");
        let mut eq = true;
        for_each_outer(outer, pa, pb, |x, y| {
            eq = eq && run_equal(x, inner.d, y, inner.s, inner.n, how, (fa, fb));
        });
        eq
    };
    let bytes = a.byte_len();
    if bytes >= 2 * BYTES_PER_THREAD {
        if let Some(pieces) = in_parallel(&dims, pa, pb, bytes, max_threads(), rows) {
            return pieces.into_iter().all(|eq| eq);
        }
    }
    rows(&dims, pa, pb)
}

/// Where [`write_list`] puts its text: a growing `String`, a counter, or a caller's buffer.
pub trait TextSink {
    /// Appends `text`.
    fn put(&mut self, text: &str) -> Result<()>;
}

impl TextSink for String {
    /// Fails with `NoMemory` instead of aborting when the text cannot grow.
    fn put(&mut self, text: &str) -> Result<()> {
        self.try_reserve(text.len())
            .map_err(|_| err!(NoMemory, "cannot grow the text beyond {} bytes", self.len()))?;
        self.push_str(text);
        Ok(())
    }
}

/// A sink that writes the first `cap` bytes of the text at `dst` and counts all of it: one
/// pass renders into a caller's buffer when the text fits and measures it when it does not.
pub struct BoundedText {
    dst: *mut u8,
    cap: usize,
    /// Bytes of text so far (only the first `cap` of them written).
    pub len: usize,
}

impl BoundedText {
    /// A sink over the `cap` writable bytes at `dst` (`cap` 0: a counter; `dst` may then be
    /// NULL).
    ///
    /// # Safety
    /// `dst` must point at `cap` writable bytes for as long as the sink is used.
    pub unsafe fn new(dst: *mut u8, cap: usize) -> BoundedText {
        BoundedText { dst, cap, len: 0 }
    }

    /// Whether every byte of the text so far was written.
    pub fn fits(&self) -> bool {
        self.len <= self.cap
    }
}

impl TextSink for BoundedText {
    fn put(&mut self, text: &str) -> Result<()> {
        let at = self.len;
        self.len = at
            .checked_add(text.len())
            .ok_or_else(|| crate::status::overflow("the length of the text"))?;
        if self.len <= self.cap {
            // SAFETY: `at + text.len() <= cap` bytes at `dst` are writable (see `new`).
            unsafe { ptr::copy_nonoverlapping(text.as_ptr(), self.dst.add(at), text.len()) };
        }
        Ok(())
    }
}

/// The length of the text [`write_list`] writes for a layout without items, from its shape
/// alone: nested lists down to the first extent 0, which is `[]`. `None` when the layout has
/// items.
pub fn empty_list_len(l: &Layout) -> Result<Option<usize>> {
    let Some(k) = l.shape.iter().position(|&n| n == 0) else {
        return Ok(None);
    };
    let too_long = || crate::status::overflow("the length of the view's list text");
    // "[" + n texts joined by ", " + "]", from the innermost list outwards.
    let mut len = 2usize;
    for &n in l.shape[..k].iter().rev() {
        let n = n as usize;
        len = n
            .checked_mul(len)
            .and_then(|t| t.checked_add(2 * (n - 1) + 2))
            .ok_or_else(too_long)?;
    }
    Ok(Some(len))
}

/// Writes the view's items as JSON nested lists to `out` (one level per dimension; a
/// zero-dimensional view is its item), each item rendered by `format::write_json`. Only one
/// item's text is held at a time.
///
/// # Safety
/// The layout must describe readable memory holding items of `fmt`.
pub unsafe fn write_list(l: &Layout, fmt: &Format, out: &mut impl TextSink) -> Result<()> {
    /// Writes the list of the dimensions in `shape` whose first item is at `p`; pointers are
    /// followed only when the layout has items (`items`).
    #[allow(clippy::too_many_arguments)]
    unsafe fn walk(
        p: *mut u8,
        shape: &[isize],
        strides: &[isize],
        subs: Option<&[isize]>,
        items: bool,
        fmt: &Format,
        text: &mut String,
        out: &mut impl TextSink,
    ) -> Result<()> {
        let Some((&n, rest)) = shape.split_first() else {
            let item = std::slice::from_raw_parts(p, fmt.itemsize());
            text.clear();
            crate::format::write_json(fmt, item, text)?;
            return out.put(text);
        };
        out.put("[")?;
        for i in 0..n {
            if i > 0 {
                out.put(", ")?;
            }
            let mut q = p.wrapping_offset(i.wrapping_mul(strides[0]));
            if let Some(s) = subs {
                if s[0] >= 0 && items {
                    q = (q as *const *mut u8).read_unaligned().wrapping_offset(s[0]);
                }
            }
            walk(
                q,
                rest,
                &strides[1..],
                subs.map(|s| &s[1..]),
                items,
                fmt,
                text,
                out,
            )?;
        }
        out.put("]")
    }
    let items = l.count() > 0;
    let subs = l.suboffsets.as_deref();
    let mut text = String::new();
    walk(
        l.buf, &l.shape, &l.strides, subs, items, fmt, &mut text, out,
    )
}

/// The order `'A'` resolves to for `layout`: Fortran when it is Fortran- but not C-contiguous,
/// else C (CPython's rule for `tobytes('A')` and `PyBuffer_ToContiguous`).
pub fn resolve_order(layout: &Layout, order: Order) -> Order {
    match order {
        Order::Any if layout.is_contiguous(Order::F) && !layout.is_contiguous(Order::C) => Order::F,
        Order::Any => Order::C,
        o => o,
    }
}

/// Copies `src`'s items into the `len` bytes at `dst` (exactly `src.byte_len()` of them),
/// laid out contiguously in `order`. `dst` may overlap `src`'s memory.
///
/// # Safety
/// `src` must describe readable memory; `dst` must point at `len` writable bytes.
pub unsafe fn to_contiguous(dst: *mut u8, len: usize, src: &Layout, order: Order) -> Result<()> {
    check_len(len, src)?;
    let order = resolve_order(src, order);
    let out = Layout::contiguous(dst, &src.shape, src.itemsize, order)?;
    copy(&out, src)
}

/// Copies the `len` bytes at `data` (exactly `dst.byte_len()` of them, laid out contiguously
/// in `order`) into the items of `dst`. `data` may overlap `dst`'s memory.
///
/// # Safety
/// `dst` must describe writable memory; `data` must point at `len` readable bytes.
pub unsafe fn from_contiguous(
    dst: &Layout,
    data: *const u8,
    len: usize,
    order: Order,
) -> Result<()> {
    check_len(len, dst)?;
    let order = resolve_order(dst, order);
    let inp = Layout::contiguous(data as *mut u8, &dst.shape, dst.itemsize, order)?;
    copy(dst, &inp)
}

fn check_len(len: usize, layout: &Layout) -> Result<()> {
    if len != layout.byte_len() {
        bail!(
            InvalidArgument,
            "the contiguous buffer has {len} bytes but the view holds {} ({} items of {} bytes)",
            layout.byte_len(),
            layout.count(),
            layout.itemsize
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lay(
        buf: &mut [u8],
        shape: &[isize],
        strides: &[isize],
        offset: isize,
        itemsize: isize,
    ) -> Layout {
        Layout {
            buf: buf.as_mut_ptr().wrapping_offset(offset),
            itemsize,
            shape: Dims::from_slice(shape),
            strides: Dims::from_slice(strides),
            suboffsets: None,
        }
    }

    #[test]
    fn list_lengths_of_layouts_without_items_match_their_text() {
        let fmt = crate::format::parse(b"<d").unwrap();
        let mut none: [u8; 0] = [];
        let shapes: &[&[isize]] = &[
            &[0],
            &[1, 0],
            &[5, 0],
            &[0, 9],
            &[2, 3, 0],
            &[3, 1, 0, 4],
            &[1, 1, 1, 0],
            &[4, 0, 0],
            &[7, 2, 3, 0, 2],
        ];
        for &shape in shapes {
            let l = lay(&mut none, shape, &vec![8; shape.len()], 0, 8);
            let mut text = String::new();
            unsafe { write_list(&l, &fmt, &mut text) }.unwrap();
            assert_eq!(empty_list_len(&l).unwrap(), Some(text.len()), "{shape:?}");
            // Measured by the bounded sink without room: the same length, nothing written.
            let mut counter = unsafe { BoundedText::new(std::ptr::null_mut(), 0) };
            unsafe { write_list(&l, &fmt, &mut counter) }.unwrap();
            assert_eq!(counter.len, text.len());
            assert!(!counter.fits());
        }
        let mut one = [0u8; 8];
        let l = lay(&mut one, &[1], &[8], 0, 8);
        assert_eq!(empty_list_len(&l).unwrap(), None);
        let l = lay(&mut none, &[isize::MAX, 0], &[0, 0], 0, 8);
        assert_eq!(
            empty_list_len(&l).unwrap_err().status,
            crate::status::Status::Overflow
        );
    }

    #[test]
    fn bounded_text_writes_what_fits_and_counts_all() {
        let mut buf = [b'x'; 8];
        let mut out = unsafe { BoundedText::new(buf.as_mut_ptr(), 5) };
        out.put("abc").unwrap();
        out.put("de").unwrap();
        assert!(out.fits());
        out.put("fgh").unwrap();
        assert_eq!(out.len, 8);
        assert!(!out.fits());
        assert_eq!(&buf, b"abcdexxx");
    }

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
        let mut dims = DimList::new();
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
}
