//! The views derived from a view: slices and indexing in every dimension (with their own
//! row-pointer tables when an indirect layout needs them), permutations and casts. Each
//! transforms its parent's layout in Rust; none asks an exporter again.

use std::ffi::CString;

use super::direct::derive_direct_slice;
use super::{derive_from, derive_in_place, view_of, Extra};
use crate::capi::{XBUF_MAX_NDIM, XBUF_SLICE_OMIT};
use crate::format;
use crate::layout::{self, Layout, Order};
use crate::object::{ObjRef, Object};
use crate::status::{overflow, Result};
use crate::{bail, err};

/// One dimension's slice, with Python's semantics. Laid out as `xbuf_range`, so that the C
/// caller's array is read as it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SliceSpec {
    pub start: isize,
    pub stop: isize,
    pub step: isize,
}

const _: () = {
    use crate::capi::xbuf_range;
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<SliceSpec>() == size_of::<xbuf_range>());
    assert!(align_of::<SliceSpec>() == align_of::<xbuf_range>());
    assert!(offset_of!(SliceSpec, start) == offset_of!(xbuf_range, start));
    assert!(offset_of!(SliceSpec, stop) == offset_of!(xbuf_range, stop));
    assert!(offset_of!(SliceSpec, step) == offset_of!(xbuf_range, step));
};

impl SliceSpec {
    /// Python's `slice.indices(n)` followed by the length of the range:
    /// `(start, step, count)`. A zero step is an error.
    #[inline]
    pub fn resolve(self, n: isize, dim: usize) -> Result<(isize, isize, isize)> {
        let step = if self.step == XBUF_SLICE_OMIT {
            1
        } else {
            self.step
        };
        if step == 0 {
            bail!(InvalidArgument, "slice step is zero in dimension {dim}");
        }
        // Bounds are clamped to [0, n] for positive steps and [-1, n-1] for negative ones; a
        // negative one counts from the end first (no overflow: `n >= 0`). An omitted bound is
        // `isize::MIN`, which that clamps to the lower end: right for a start with a positive
        // step and a stop with a negative one; the two others are set here.
        let clamp = |v: isize, lower: isize, upper: isize| -> isize {
            if v < 0 {
                v.wrapping_add(n).max(lower)
            } else {
                v.min(upper)
            }
        };
        // The span between the bounds, as a count of items: at most `n`, so the divisions are
        // of non-negative numbers (unsigned, the cheaper ones), and a step that is a power of
        // two needs none.
        let (start, span, by) = if step > 0 {
            let start = clamp(self.start, 0, n);
            let stop = if self.stop == XBUF_SLICE_OMIT {
                n
            } else {
                clamp(self.stop, 0, n)
            };
            (start, stop - start, step as usize)
        } else {
            let start = if self.start == XBUF_SLICE_OMIT {
                n - 1
            } else {
                clamp(self.start, -1, n - 1)
            };
            let stop = clamp(self.stop, -1, n - 1);
            (start, start - stop, step.unsigned_abs())
        };
        let count = if span <= 0 {
            0
        } else if by & (by - 1) == 0 {
            // A power of two (1 included): a shift, not a division (tens of cycles).
            ((span - 1) as usize >> by.trailing_zeros()) as isize + 1
        } else {
            ((span - 1) as usize / by) as isize + 1
        };
        Ok((start, step, count))
    }
}

/// A sub-view: `slices` apply to the first dimensions (the rest are kept whole).
///
/// Slicing dimension `d` moves its start: on `buf` when no earlier dimension is indirect, else
/// on the suboffset of the nearest earlier indirect dimension `k` (the pointers read there lead
/// to dimension `d`'s rows). When the exporter's row pointers are not the lowest address of
/// their rows, that suboffset would have to become negative, which PEP 3118 reads as "no
/// indirection" (memoryview then reads the wrong bytes). The result then gets a row-pointer
/// table of its own, made here from the source's pointers (see [`rebase`]).
pub fn slice(obj: &Object, slices: &[SliceSpec]) -> Result<ObjRef> {
    let parent = view_of(obj)?;
    // The layout of a view never changes, so it is read before the export is counted.
    if parent.layout().suboffsets.is_none() {
        return derive_direct_slice(parent, slices);
    }
    derive_in_place(obj, |l, out, extra| slice_layout(l, slices, out, extra))
}

/// The layout of a slice of `l` (any layout, indirect ones too), written into `out`, a copy
/// of `l`; a row-pointer table the result needs goes into `extra`.
pub(super) fn slice_layout(
    l: &Layout,
    slices: &[SliceSpec],
    out: &mut Layout,
    extra: &mut Extra,
) -> Result<()> {
    check_count(slices, l)?;
    // On the stack for the common ranks.
    let mut few = [(0isize, 0isize, 0isize); layout::INLINE];
    let mut many = Vec::new();
    let resolved: &mut [(isize, isize, isize)] = if slices.len() <= layout::INLINE {
        &mut few[..slices.len()]
    } else {
        many.resize(slices.len(), (0, 0, 0));
        &mut many
    };
    for (d, s) in slices.iter().enumerate() {
        resolved[d] = s.resolve(l.shape[d], d)?;
    }
    let resolved = &*resolved;
    for (d, &(_, step, count)) in resolved.iter().enumerate() {
        out.shape[d] = count;
        // Python allows any step, so one far beyond the extent can overflow the new stride;
        // that happens only when fewer than two items remain, whose stride is never used.
        out.strides[d] = match l.strides[d].checked_mul(step) {
            Some(s) => s,
            None if count < 2 => l.strides[d],
            None => {
                return Err(overflow(format!(
                    "stride {} times step {step} in dimension {d}",
                    l.strides[d]
                )))
            }
        };
    }
    // A result without items addresses no memory: its start is left where it is.
    if out.shape.contains(&0) {
        return Ok(());
    }
    // Where each dimension's start moves (see above): `None` for `buf`, else the indirect
    // dimension whose suboffset moves. Summed exactly; applied with wrapping arithmetic,
    // since each sum lands inside the memory the source reaches.
    let target = |d: usize| {
        l.suboffsets
            .as_ref()
            .and_then(|subs| (0..d).rev().find(|&k| subs[k] >= 0))
    };
    // Only an indirect layout moves suboffsets.
    let mut shift = if l.suboffsets.is_some() {
        vec![0i128; l.ndim()]
    } else {
        Vec::new()
    };
    let mut buf_shift = 0isize;
    for (d, &(start, _, _)) in resolved.iter().enumerate() {
        let offset = start.checked_mul(l.strides[d]).ok_or_else(|| {
            overflow(format!(
                "start {start} times stride {} in dimension {d}",
                l.strides[d]
            ))
        })?;
        match target(d) {
            Some(k) => shift[k] += offset as i128,
            None => buf_shift = buf_shift.wrapping_add(offset),
        }
    }
    out.buf = l.buf.wrapping_offset(buf_shift);
    let mut below = None;
    if let Some(subs) = &mut out.suboffsets {
        for k in 0..subs.len() {
            if subs[k] < 0 {
                continue;
            }
            let moved = subs[k] as i128 + shift[k];
            if moved < 0 {
                below = Some(k);
            } else {
                subs[k] = isize::try_from(moved)
                    .map_err(|_| overflow(format!("suboffsets[{k}] moved to {moved}")))?;
            }
        }
    }
    if let Some(k) = below {
        extra.table = Some(rebase(l, resolved, out, k, shift[k])?);
    }
    Ok(())
}

/// Refuses more slices than the layout has dimensions.
#[inline(always)]
fn check_count(slices: &[SliceSpec], l: &Layout) -> Result<()> {
    if slices.len() > l.ndim() {
        bail!(
            InvalidArgument,
            "{} slices given for a view of {} dimensions",
            slices.len(),
            l.ndim()
        );
    }
    Ok(())
}

/// [`slice`] of a layout without suboffsets, where every start moves `buf`, written into
/// `out`, a copy of `l`; returns the result's number of items. See [`slice_dims`].
#[inline(always)]
pub(super) fn slice_direct(l: &Layout, slices: &[SliceSpec], out: &mut Layout) -> Result<usize> {
    let (buf, items) = slice_dims(l, slices, &mut out.shape, &mut out.strides)?;
    out.buf = buf;
    Ok(items)
}

/// [`slice_direct`] on the result's extents and strides (`new_shape`, `new_strides`: copies of
/// `l`'s): one pass over the sliced dimensions (more slices than dimensions refused first),
/// then one over the result's extents for its number of items. Returns the result's `buf` and
/// that number. Errors as the general path gives them: a range's at once; an overflow is left
/// to [`slice_direct_error`], which finds the first in the general path's order.
#[inline(always)]
pub(super) fn slice_dims(
    l: &Layout,
    slices: &[SliceSpec],
    new_shape: &mut [isize],
    new_strides: &mut [isize],
) -> Result<(*mut u8, usize)> {
    let n = slices.len();
    let (shape, strides) = (&l.shape[..], &l.strides[..]);
    if n > shape.len() {
        return check_count(slices, l).map(|()| (l.buf, 0));
    }
    let new_strides = &mut new_strides[..n];
    let mut shift = 0isize;
    let mut overflow = false;
    for d in 0..n {
        let (start, step, count) = slices[d].resolve(shape[d], d)?;
        let stride = strides[d];
        new_shape[d] = count;
        // Python allows any step, so one far beyond the extent can overflow the new stride;
        // that happens only when fewer than two items remain, whose stride is never used.
        let (new_stride, far) = stride.overflowing_mul(step);
        new_strides[d] = if far { stride } else { new_stride };
        let (offset, beyond) = start.overflowing_mul(stride);
        shift = shift.wrapping_add(offset);
        overflow |= (far && count >= 2) | beyond;
    }
    // The result's number of items: zero exactly when some extent is (some range is empty, or
    // an extent kept whole is zero), else no more than its source's, so exact. Wrapping only so
    // that the partial products of an empty result never trap; stopping at a zero also keeps
    // the loop a plain one (a few dimensions: no vector set-up).
    let mut items = 1usize;
    for &x in new_shape.iter() {
        if x == 0 {
            items = 0;
            break;
        }
        items = items.wrapping_mul(x as usize);
    }
    if overflow {
        return slice_direct_error(l, slices, new_shape).map(|()| (l.buf, items));
    }
    // A result without items addresses no memory: its start is left where it is.
    if items == 0 {
        return Ok((l.buf, 0));
    }
    // Wrapping: the sum lands inside the memory the source reaches.
    Ok((l.buf.wrapping_offset(shift), items))
}

/// The first overflow of a direct slice, in the order the general path finds them: every
/// range resolved, then the new strides, then (when the result has items) the starts.
#[cold]
#[inline(never)]
fn slice_direct_error(l: &Layout, slices: &[SliceSpec], new_shape: &[isize]) -> Result<()> {
    let mut bad_start = None;
    for (d, s) in slices.iter().enumerate() {
        let (start, step, count) = s.resolve(l.shape[d], d)?;
        let stride = l.strides[d];
        if stride.checked_mul(step).is_none() && count >= 2 {
            return Err(overflow(format!(
                "stride {stride} times step {step} in dimension {d}"
            )));
        }
        if start.checked_mul(stride).is_none() {
            bad_start.get_or_insert((d, start));
        }
    }
    // A result without items addresses no memory: its start is never computed.
    if new_shape.contains(&0) {
        return Ok(());
    }
    match bad_start {
        Some((d, start)) => Err(overflow(format!(
            "start {start} times stride {} in dimension {d}",
            l.strides[d]
        ))),
        None => Ok(()),
    }
}

/// Gives the non-empty slice `out` of `src` a row-pointer table of its own for the dimensions
/// `0..=k` (`k` the last indirect dimension whose suboffset would become negative, `shift` the
/// bytes its rows' starts move): one pointer per row, in C order of the result's indices,
/// each the lowest address its row reaches (as the ndarray exporter's are), read from the
/// source's pointers now. In the result, dimensions `0..k` step C-contiguously over the table
/// (suboffset -1), dimension `k` steps over it by a pointer with suboffset
/// `first item - row pointer >= 0`, and later dimensions are unchanged. Returns the table,
/// which `out.buf` points at.
fn rebase(
    src: &Layout,
    resolved: &[(isize, isize, isize)],
    out: &mut Layout,
    k: usize,
    shift: i128,
) -> Result<Box<[*mut u8]>> {
    let ptr_size = std::mem::size_of::<*mut u8>() as isize;
    let src_subs = src.suboffsets.as_deref().expect("an indirect layout");
    let rows_shape = &out.shape[..=k];
    let rows = layout::item_count(rows_shape)?;
    layout::byte_len(rows_shape, ptr_size)?;
    let mut table: Vec<*mut u8> = Vec::new();
    table.try_reserve_exact(rows as usize).map_err(|_| {
        err!(
            NoMemory,
            "cannot allocate {} row pointers for a slice of an indirect view",
            rows
        )
    })?;
    // The row of dimension k: the dimensions after it up to and including the next indirect
    // one (whose pointers lie in the row). Its lowest address, relative to its first item:
    let end = (k + 1..out.ndim())
        .find(|&j| src_subs[j] >= 0)
        .map_or(out.ndim(), |j| j + 1);
    let (lo, _) = layout::extent(&out.shape[k + 1..end], &out.strides[k + 1..end], 1)?;
    // The move from the pointer read in dimension k to the row's first item, wrapping (the
    // sum is exact in `shift`; the address it leads to lies in the memory).
    let to_first = (src_subs[k] as i128 + shift) as isize;
    let mut idx = vec![0isize; k + 1];
    'rows: loop {
        let mut p = src.buf;
        for (j, &i) in idx.iter().enumerate() {
            let at = match resolved.get(j) {
                Some(&(start, step, _)) => start.wrapping_add(i.wrapping_mul(step)),
                None => i,
            };
            p = p.wrapping_offset(at.wrapping_mul(src.strides[j]));
            if src_subs[j] >= 0 {
                // SAFETY: `at` is a valid index of a layout with items, whose pointer tables
                // are pinned by the export the caller holds.
                let row = unsafe { (p as *const *mut u8).read_unaligned() };
                p = row.wrapping_offset(if j == k { to_first } else { src_subs[j] });
            }
        }
        table.push(p.wrapping_offset(lo));
        for j in (0..=k).rev() {
            idx[j] += 1;
            if idx[j] < rows_shape[j] {
                continue 'rows;
            }
            idx[j] = 0;
        }
        break;
    }
    let table = table.into_boxed_slice();
    out.buf = table.as_ptr() as *mut u8;
    let subs = out.suboffsets.as_mut().expect("an indirect layout");
    let mut step = ptr_size;
    for j in (0..=k).rev() {
        out.strides[j] = step;
        subs[j] = -1;
        step *= out.shape[j];
    }
    subs[k] = lo
        .checked_neg()
        .ok_or_else(|| overflow("the lowest address of a row"))?;
    Ok(table)
}

/// Indexes the first `indices.len()` dimensions: the sub-view of the remaining dimensions
/// (zero-dimensional when every dimension is indexed).
pub fn index(obj: &Object, indices: &[isize]) -> Result<ObjRef> {
    derive_in_place(obj, |_, l, _| {
        if indices.len() > l.ndim() {
            bail!(
                InvalidArgument,
                "{} indices given for a view of {} dimensions",
                indices.len(),
                l.ndim()
            );
        }
        // Each index is checked as its dimension comes first; `l` is a copy, so an error
        // part-way leaves nothing changed.
        // A layout without items addresses no memory (its pointer tables may be absent):
        // only its shape changes.
        let empty = l.shape.contains(&0);
        for (d, &i) in indices.iter().enumerate() {
            let i = layout::normalize_index(i, l.shape[0], d)?;
            l.buf = l.buf.wrapping_offset(i.wrapping_mul(l.strides[0]));
            if let Some(subs) = &l.suboffsets {
                if subs[0] >= 0 && !empty {
                    // SAFETY: the memory (with its pointer table) is pinned by the export.
                    l.buf = unsafe { (l.buf as *const *mut u8).read_unaligned() }
                        .wrapping_offset(subs[0]);
                }
            }
            l.shape.remove(0);
            l.strides.remove(0);
            if let Some(subs) = &mut l.suboffsets {
                subs.remove(0);
            }
        }
        if l.suboffsets
            .as_ref()
            .is_some_and(|s| s.iter().all(|&x| x < 0))
        {
            l.suboffsets = None;
        }
        Ok(())
    })
}

/// The view with its dimensions reordered: dimension `k` of the result is dimension `axes[k]`
/// of the source. Indirect views are refused (their pointer tables fix the dimension order).
pub fn permute(obj: &Object, axes: Option<&[usize]>) -> Result<ObjRef> {
    derive_from(obj, |l, _| {
        let n = l.ndim();
        let reversed: Vec<usize> = (0..n).rev().collect();
        let axes = axes.unwrap_or(&reversed);
        if axes.len() != n {
            bail!(
                InvalidArgument,
                "{} axes given for a view of {n} dimensions",
                axes.len()
            );
        }
        let mut seen = vec![false; n];
        for &a in axes {
            if a >= n || std::mem::replace(&mut seen[a], true) {
                bail!(
                    InvalidArgument,
                    "axes {axes:?} are not a permutation of 0..{n}"
                );
            }
        }
        if l.suboffsets.is_some() {
            bail!(
                Unsupported,
                "cannot permute the dimensions of an indirect (suboffsets) view"
            );
        }
        Ok(Layout {
            shape: axes.iter().map(|&a| l.shape[a]).collect(),
            strides: axes.iter().map(|&a| l.strides[a]).collect(),
            ..l.clone()
        })
    })
}

/// The view's memory read as items of `fmt` in `shape` (`None`: one dimension of as many items
/// as fit). Rules: the source must be C-contiguous (so it has no suboffsets); the byte size is
/// preserved (`product(shape) * itemsize(fmt) == len`); any format may become any other.
pub fn cast(obj: &Object, fmt: &[u8], shape: Option<&[isize]>) -> Result<ObjRef> {
    let itemsize = format::itemsize(fmt)? as isize;
    if itemsize < 1 {
        bail!(
            Format,
            "cannot cast to format '{}': its items have no bytes",
            String::from_utf8_lossy(fmt)
        );
    }
    let text = CString::new(fmt).map_err(|_| err!(Format, "the format contains a NUL byte"))?;
    // The cast brings its own format, so none is asked of the view.
    derive_from(obj, |l, extra| {
        if !l.is_contiguous(Order::C) {
            bail!(
                NotContiguous,
                "cannot cast a view that is not C-contiguous (shape {:?}, strides {:?})",
                l.shape,
                l.strides
            );
        }
        let len = l.byte_len() as isize;
        let new_shape = match shape {
            Some(s) => {
                if s.len() > XBUF_MAX_NDIM as usize {
                    bail!(
                        InvalidArgument,
                        "cast to {} dimensions (0 to {XBUF_MAX_NDIM} allowed)",
                        s.len()
                    );
                }
                let bytes = layout::byte_len(s, itemsize)?;
                if bytes != len {
                    bail!(
                        InvalidArgument,
                        "cast to shape {s:?} of {itemsize}-byte items needs {bytes} bytes but the view has {len}"
                    );
                }
                s.to_vec()
            }
            None => {
                if len % itemsize != 0 {
                    bail!(
                        InvalidArgument,
                        "the view's {len} bytes are not a whole number of {itemsize}-byte items of format '{}'",
                        String::from_utf8_lossy(fmt)
                    );
                }
                vec![len / itemsize]
            }
        };
        extra.format = Some(text);
        Layout::contiguous(l.buf, &new_shape, itemsize, Order::C)
    })
}
