//! Copy kernels: copying between two layouts — correct for overlapping memory and for
//! PIL-style suboffsets, fast for the common cases (contiguous runs become `memcpy`, adjacent
//! dimensions that are contiguous with each other are merged, inner loops are specialised by
//! item size, transposes go through tiles and vector registers ([`transpose`]), large copies
//! and comparisons are split over threads ([`parallel`])) — and value comparison
//! ([`compare`]).

use std::ptr;

use crate::layout::{for_each_pair, Layout, Order, StrideBuf, Strided};
use crate::status::Result;
use crate::{bail, err};

mod compare;
mod parallel;
mod small;
mod transpose;
mod views;

pub use compare::equal;
pub(crate) use parallel::*;
pub use parallel::{default_max_threads, max_threads, set_max_threads};
use transpose::copy_tiled;
pub(crate) use views::{copy_views, read_destination, read_source};

/// Two layouts' items may share memory (a conservative test: their address ranges intersect,
/// or either is indirect).
#[inline]
pub(crate) fn may_overlap(a: &Strided<'_>, b: &Strided<'_>) -> bool {
    if a.count() == 0 || b.count() == 0 {
        return false;
    }
    spans_intersect(a, b)
}

/// Whether the byte spans of two layouts with items intersect (`true` when either has no
/// span: indirect, or reaching outside the address space).
#[inline(always)]
fn spans_intersect(a: &Strided<'_>, b: &Strided<'_>) -> bool {
    match (a.span(), b.span()) {
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
    copy_strided(&dst.strided(), &src.strided())
}

/// [`copy`] on borrowed layouts.
///
/// # Safety
/// As [`copy`].
pub unsafe fn copy_strided(dst: &Strided<'_>, src: &Strided<'_>) -> Result<()> {
    if dst.shape != src.shape {
        bail!(
            InvalidArgument,
            "shapes differ: destination {:?}, source {:?}",
            dst.shape,
            src.shape
        );
    }
    copy_equal_shapes(dst, src)
}

/// [`copy_strided`] once the shapes are known to be equal: refuses different item sizes.
///
/// # Safety
/// As [`copy`].
#[inline]
pub(crate) unsafe fn copy_equal_shapes(dst: &Strided<'_>, src: &Strided<'_>) -> Result<()> {
    if dst.itemsize != src.itemsize {
        bail!(
            InvalidArgument,
            "item sizes differ: destination {}, source {}",
            dst.itemsize,
            src.itemsize
        );
    }
    copy_same_shape(dst, src)
}

/// [`copy_strided`] once the shapes and item sizes are known to be equal. Layouts of one or
/// two dimensions take the paths instantiated for them ([`small::by_ndim`]).
///
/// # Safety
/// As [`copy`].
#[inline(always)]
unsafe fn copy_same_shape(dst: &Strided<'_>, src: &Strided<'_>) -> Result<()> {
    if small::by_ndim!(N; dst, src => copy_unless_overlapping::<N>(dst, src)) {
        return Ok(());
    }
    copy_through_buffer(dst, src)
}

/// The copy of [`copy_same_shape`] when it needs no buffer: no items; or both layouts direct
/// and either one contiguous run in both (and too small to split over threads: a move of the
/// bytes, correct for overlap as reading the whole source first is) or not overlapping.
/// Returns whether it was done (else nothing was written).
///
/// # Safety
/// As [`copy`].
#[inline(always)]
unsafe fn copy_unless_overlapping<const N: usize>(dst: &Strided<'_>, src: &Strided<'_>) -> bool {
    let count = dst.count();
    if count == 0 {
        return true;
    }
    if dst.suboffsets.is_some() || src.suboffsets.is_some() {
        return false;
    }
    let size = dst.itemsize;
    let mut dims = DimList::<N>::new();
    let (dp, sp) = plan_direct(dst, src, &mut dims);
    let bytes = count * size as usize;
    match *dims {
        [] => {
            ptr::copy(sp, dp, size as usize);
            return true;
        }
        [d] if d.d == size && d.s == size && bytes < 2 * BYTES_PER_THREAD => {
            ptr::copy(sp, dp, bytes);
            return true;
        }
        _ => {}
    }
    // Both have items: the spans decide.
    if spans_intersect(dst, src) {
        return false;
    }
    copy_planned(dp, sp, &dims, size, bytes);
    true
}

/// The copy of [`copy_same_shape`] through a contiguous buffer: gathers the source completely,
/// then scatters it.
///
/// # Safety
/// As [`copy`].
#[inline(never)]
unsafe fn copy_through_buffer(dst: &Strided<'_>, src: &Strided<'_>) -> Result<()> {
    let mut tmp = Vec::new();
    tmp.try_reserve_exact(src.byte_len()).map_err(|_| {
        err!(
            NoMemory,
            "cannot allocate {} bytes to copy overlapping memory",
            src.byte_len()
        )
    })?;
    let mut room = StrideBuf::new();
    let tmp_layout = Strided::contiguous(
        tmp.as_mut_ptr(),
        src.shape,
        src.itemsize,
        Order::C,
        &mut room,
    )?;
    copy_any(&tmp_layout, src);
    copy_any(dst, &tmp_layout);
    Ok(())
}

/// Copies between layouts that do not overlap; either may be indirect.
pub(crate) unsafe fn copy_any(dst: &Strided<'_>, src: &Strided<'_>) {
    if dst.suboffsets.is_none() && src.suboffsets.is_none() {
        copy_direct(dst, src);
        return;
    }
    let n = src.itemsize as usize;
    for_each_pair(dst, src, |d, s| ptr::copy_nonoverlapping(s, d, n));
}

/// One dimension of a copy: its extent and its byte strides in the destination and source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dim {
    pub(crate) n: isize,
    pub(crate) d: isize,
    pub(crate) s: isize,
}

/// The dimensions of a copy in the order the kernels want them: extent-1 dimensions dropped;
/// dimensions with a negative destination stride walked backwards (both start pointers moved
/// to the last item), so that the destination is written forwards; sorted by destination
/// stride, largest first (the innermost dimension writes the closest bytes); neighbours that
/// are contiguous with each other in both layouts merged into one.
#[inline(always)]
pub(crate) fn plan_dims<const CAP: usize>(
    shape: &[isize],
    ds: &[isize],
    ss: &[isize],
    dp: &mut *mut u8,
    sp: &mut *const u8,
    dims: &mut DimList<CAP>,
) {
    dims.len = 0;
    // Without branches on the extent (so that a short shape unrolls): an extent-1 dimension
    // moves no pointer, is written past the list's end and not counted. Its stride may be any
    // value (it is never stepped along), hence the wrapping arithmetic.
    for k in 0..shape.len() {
        let mut dim = Dim {
            n: shape[k],
            d: ds[k],
            s: ss[k],
        };
        if dim.d < 0 {
            *dp = dp.wrapping_offset(dim.d.wrapping_mul(dim.n - 1));
            *sp = sp.wrapping_offset(dim.s.wrapping_mul(dim.n - 1));
            dim.d = dim.d.wrapping_neg();
            dim.s = dim.s.wrapping_neg();
        }
        dims.items[dims.len].write(dim);
        dims.len += usize::from(dim.n != 1);
    }
    // By destination stride, largest first; stable (an insertion sort: a few entries). The
    // loops run to `CAP`, a constant, so that small lists unroll.
    for i in 1..CAP {
        if i >= dims.len() {
            break;
        }
        let mut j = i;
        while j > 0 && dims[j - 1].d < dims[j].d {
            dims.swap(j - 1, j);
            j -= 1;
        }
    }
    // Merged in place: entry `kept - 1` is the last dimension kept so far (the first always is).
    let mut kept: usize = 1;
    for i in 1..CAP {
        if i >= dims.len() {
            break;
        }
        let dim = dims[i];
        let outer = &mut dims[kept - 1];
        // The outer dimension steps over exactly this whole dimension, in both layouts.
        if outer.d == dim.d * dim.n && outer.s == dim.s * dim.n {
            outer.n *= dim.n;
            outer.d = dim.d;
            outer.s = dim.s;
        } else {
            if kept != i {
                dims[kept] = dim;
            }
            kept += 1;
        }
    }
    dims.len = dims.len.min(kept);
}

/// The most dimensions a layout has (`XBUF_MAX_NDIM`).
pub(crate) const MAX_DIMS: usize = crate::capi::XBUF_MAX_NDIM as usize;

/// The planned dimensions of a copy, on the stack: at most `CAP` (a layout has at most
/// `XBUF_MAX_NDIM`; a copy of layouts known to have fewer keeps fewer, so that the compiler
/// can keep them in registers); [`MAX_DIMS`] holds any.
pub(crate) struct DimList<const CAP: usize> {
    len: usize,
    items: [std::mem::MaybeUninit<Dim>; CAP],
}

impl<const CAP: usize> DimList<CAP> {
    #[inline(always)]
    fn new() -> DimList<CAP> {
        DimList {
            len: 0,
            // SAFETY: an array of `MaybeUninit` needs no initialisation (and gets none: no
            // stores to the whole array on each copy).
            items: unsafe {
                std::mem::MaybeUninit::<[std::mem::MaybeUninit<Dim>; CAP]>::uninit().assume_init()
            },
        }
    }
    #[inline(always)]
    fn push(&mut self, d: Dim) {
        self.items[self.len].write(d);
        self.len += 1;
    }
}

impl<const CAP: usize> std::ops::Deref for DimList<CAP> {
    type Target = [Dim];
    #[inline(always)]
    fn deref(&self) -> &[Dim] {
        // SAFETY: the first `len` entries were written by `push`.
        unsafe { std::slice::from_raw_parts(self.items.as_ptr().cast(), self.len) }
    }
}

impl<const CAP: usize> std::ops::DerefMut for DimList<CAP> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [Dim] {
        // SAFETY: as in `deref`.
        unsafe { std::slice::from_raw_parts_mut(self.items.as_mut_ptr().cast(), self.len) }
    }
}

impl<const CAP: usize> std::fmt::Debug for DimList<CAP> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<const CAP: usize> PartialEq<Vec<Dim>> for DimList<CAP> {
    fn eq(&self, other: &Vec<Dim>) -> bool {
        **self == other[..]
    }
}

/// Copies `n` items of `size` bytes from `src` (step `ss`) to `dst` (step `ds`).
#[inline(always)]
pub(crate) unsafe fn copy_run(
    dst: *mut u8,
    ds: isize,
    src: *const u8,
    ss: isize,
    n: isize,
    size: isize,
) {
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

/// Calls `f(dst, src)` at every combination of indices of `outer`, advancing both pointers
/// by the dimensions' strides (an odometer: no per-position index arithmetic).
#[inline(always)]
pub(crate) unsafe fn for_each_outer(
    outer: &[Dim],
    dp: *mut u8,
    sp: *const u8,
    mut f: impl FnMut(*mut u8, *const u8),
) {
    match outer {
        [] => return f(dp, sp),
        [o] => {
            let (mut d, mut s) = (dp, sp);
            for _ in 0..o.n {
                f(d, s);
                d = d.wrapping_offset(o.d);
                s = s.wrapping_offset(o.s);
            }
            return;
        }
        _ => {}
    }
    if outer.iter().any(|d| d.n == 0) {
        return;
    }
    let mut idx = [0isize; crate::capi::XBUF_MAX_NDIM as usize];
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
pub(crate) unsafe fn copy_direct(dst: &Strided<'_>, src: &Strided<'_>) {
    let mut dims = DimList::<MAX_DIMS>::new();
    let (dp, sp) = plan_direct(dst, src, &mut dims);
    copy_planned(dp, sp, &dims, dst.itemsize, dst.byte_len());
}

/// The planned dimensions (see [`plan_dims`]) of a copy between direct layouts of equal
/// shape, written into `dims` (filled in place: the list is large to move), with the
/// pointers at which the planned walk starts.
#[inline]
fn plan_direct<const CAP: usize>(
    dst: &Strided<'_>,
    src: &Strided<'_>,
    dims: &mut DimList<CAP>,
) -> (*mut u8, *const u8) {
    let (mut dp, mut sp) = (dst.buf, src.buf as *const u8);
    plan_dims(dst.shape, dst.strides, src.strides, &mut dp, &mut sp, dims);
    (dp, sp)
}

/// The copy of planned dimensions (see [`plan_dims`]) of `bytes` bytes from `sp` to `dp`,
/// split over threads when large enough and the destination's rows are disjoint.
#[inline(always)]
unsafe fn copy_planned(dp: *mut u8, sp: *const u8, dims: &[Dim], size: isize, bytes: usize) {
    if bytes >= 2 * BYTES_PER_THREAD && copy_in_parallel(dp, sp, dims, size, bytes) {
        return;
    }
    copy_dims(dp, sp, dims, size);
}

/// The large copy of [`copy_planned`] over threads, when its destination's rows are disjoint
/// and it gets more than one thread; returns whether it was done (else nothing was written).
#[inline(never)]
unsafe fn copy_in_parallel(
    dp: *mut u8,
    sp: *const u8,
    dims: &[Dim],
    size: isize,
    bytes: usize,
) -> bool {
    rows_disjoint(dims, size)
        && in_parallel(dims, dp, sp, bytes, max_threads(), |d, p, q| {
            copy_dims(p, q, d, size)
        })
        .is_some()
}

/// The copy of planned dimensions (see [`plan_dims`]) from `sp` to `dp`. One item, and a
/// small 2-D transpose (one tile), are decided here, inline; the rest by [`copy_dims_walk`].
#[inline(always)]
pub(crate) unsafe fn copy_dims(dp: *mut u8, sp: *const u8, dims: &[Dim], size: isize) {
    match *dims {
        [] => ptr::copy_nonoverlapping(sp, dp, size as usize),
        [b, inner]
            if b.s.unsigned_abs() < inner.s.unsigned_abs()
                && transpose::one_tile(dp, sp, inner, b, size) => {}
        _ => copy_dims_walk(dp, sp, dims, size),
    }
}

/// [`copy_dims`] of at least one dimension, past its small cases: runs along the innermost
/// dimension, or tiles when the source reads another one closer together (a transpose).
#[inline(never)]
unsafe fn copy_dims_walk(dp: *mut u8, sp: *const u8, dims: &[Dim], size: isize) {
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
        let mut rest = DimList::<MAX_DIMS>::new();
        for (k, d) in outer.iter().enumerate() {
            if k != t {
                rest.push(*d);
            }
        }
        for_each_outer(&rest, dp, sp, |d, s| copy_tiled(d, s, inner, b, size));
    } else {
        for_each_outer(outer, dp, sp, |d, s| {
            copy_run(d, inner.d, s, inner.s, inner.n, size)
        });
    }
}

/// The order `'A'` resolves to for `layout`: Fortran when it is Fortran- but not C-contiguous,
/// else C (CPython's rule for `tobytes('A')` and `PyBuffer_ToContiguous`).
#[inline(always)]
pub fn resolve_order(layout: &Strided<'_>, order: Order) -> Order {
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
    to_contiguous_strided(dst, len, &src.strided(), order)
}

/// [`to_contiguous`] from a borrowed layout.
///
/// # Safety
/// As [`to_contiguous`].
pub unsafe fn to_contiguous_strided(
    dst: *mut u8,
    len: usize,
    src: &Strided<'_>,
    order: Order,
) -> Result<()> {
    small::by_ndim!(src => {
        check_len(len, src)?;
        let order = resolve_order(src, order);
        // Already laid out as asked: the bytes as they are (a move: they may overlap `dst`).
        if src.is_contiguous(order) {
            if len > 0 {
                ptr::copy(src.buf, dst, len);
            }
            return Ok(());
        }
        let mut room = StrideBuf::new();
        let out = Strided::contiguous(dst, src.shape, src.itemsize, order, &mut room)?;
        copy_same_shape(&out, src)
    })
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
    from_contiguous_strided(&dst.strided(), data, len, order)
}

/// [`from_contiguous`] into a borrowed layout.
///
/// # Safety
/// As [`from_contiguous`].
pub unsafe fn from_contiguous_strided(
    dst: &Strided<'_>,
    data: *const u8,
    len: usize,
    order: Order,
) -> Result<()> {
    small::by_ndim!(dst => {
        check_len(len, dst)?;
        let order = resolve_order(dst, order);
        // Laid out as the bytes are: a move (they may overlap).
        if dst.is_contiguous(order) {
            if len > 0 {
                ptr::copy(data, dst.buf, len);
            }
            return Ok(());
        }
        let mut room = StrideBuf::new();
        let inp = Strided::contiguous(data as *mut u8, dst.shape, dst.itemsize, order, &mut room)?;
        copy_same_shape(dst, &inp)
    })
}

pub(crate) fn check_len(len: usize, layout: &Strided<'_>) -> Result<()> {
    if len != layout.byte_len() {
        check_len_error(len, layout)?;
    }
    Ok(())
}

#[cold]
fn check_len_error(len: usize, layout: &Strided<'_>) -> Result<()> {
    bail!(
        InvalidArgument,
        "the contiguous buffer has {len} bytes but the view holds {} ({} items of {} bytes)",
        layout.byte_len(),
        layout.count(),
        layout.itemsize
    );
}

#[cfg(test)]
mod by_ndim_tests;
#[cfg(test)]
mod small_tests;
#[cfg(test)]
mod tests;
