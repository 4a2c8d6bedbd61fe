//! `xbuf_view`, the memoryview of C: an object made from any exporter that holds one export of
//! it, describes a (possibly sliced, indexed, cast or permuted) layout of that memory, and is
//! itself an exporter whose views name the base's releaser.
//!
//! Every operation on a view counts a transient export on the view object while it runs, so an
//! explicit [`release`] (which needs exclusive access) can never free the memory under a
//! running operation; after a release every operation fails with `XBUF_ERR_RELEASED`.
//!
//! Rules that differ from CPython's memoryview, on purpose:
//! - slicing and indexing work in every dimension (memoryview: one dimension only);
//! - a cast may go from any format to any format, and from N dimensions to M, as long as the
//!   source is C-contiguous and the byte size is preserved (memoryview: only to or from a byte
//!   format, and only 1-D ↔ N-D);
//! - equality compares items by value for every format, structs included (memoryview:
//!   struct-module formats only); NaN is never equal, as there;
//! - the hash is the FNV-1a hash of the C-order bytes, for read-only views of every format
//!   (memoryview: `hash(tobytes())`, byte formats only);
//! - an empty one-dimensional view is contiguous, whatever its stride (memoryview judges it by
//!   its stride; `PyBuffer_IsContiguous` and xbuf call every empty layout contiguous);
//! - `xbuf_from_contiguous` refuses a length that differs from the view's (CPython clamps);
//! - a second explicit release is a no-op (as memoryview's), but every other operation on a
//!   released view fails with `XBUF_ERR_RELEASED`.

use std::ffi::{c_int, CStr, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::abi::*;
use crate::bufferinfo::HeldView;
use crate::exporters::any_impl;
use crate::format;
use crate::layout::{self, Order};
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::{overflow, Result};
use crate::strided::{self, Layout};
use crate::{bail, err};

/// The value that stands for an omitted `start`, `stop` or `step` in a slice (C:
/// `XBUF_SLICE_OMIT`, `PTRDIFF_MIN`).
/// cbindgen:ignore
pub const XBUF_SLICE_OMIT: isize = isize::MIN;

/// One dimension's slice, with Python's semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceSpec {
    pub start: isize,
    pub stop: isize,
    pub step: isize,
}

impl SliceSpec {
    /// Python's `slice.indices(n)` followed by the length of the range:
    /// `(start, step, count)`. A zero step is an error.
    pub fn resolve(self, n: isize, dim: usize) -> Result<(isize, isize, isize)> {
        let step = if self.step == XBUF_SLICE_OMIT {
            1
        } else {
            self.step
        };
        if step == 0 {
            bail!(InvalidArgument, "slice step is zero in dimension {dim}");
        }
        // Bounds are clamped to [0, n] for positive steps and [-1, n-1] for negative ones.
        let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
        let clamp = |v: isize, omitted: isize| -> isize {
            if v == XBUF_SLICE_OMIT {
                omitted
            } else if v < 0 {
                v.saturating_add(n).max(lower)
            } else {
                v.min(upper)
            }
        };
        let start = clamp(self.start, if step > 0 { lower } else { upper });
        let stop = clamp(self.stop, if step > 0 { upper } else { lower });
        let count = if step > 0 {
            if stop > start {
                (stop - start - 1) / step + 1
            } else {
                0
            }
        } else if start > stop {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        };
        Ok((start, step, count))
    }
}

/// The state behind an `xbuf_view` object.
pub struct View {
    /// The export of the base this view holds, returned when the view is freed or, once, under
    /// the object's exclusive access, by [`release`].
    base: HeldView,
    released: AtomicBool,
    layout: Layout,
    /// The row-pointer table the layout's `buf` points into when it is not the base's memory:
    /// see [`Table`].
    table: Table,
    readonly: bool,
    /// `None`: the base gave no format and items are wider than one byte.
    format: Option<CString>,
    /// The base's `(device_type, device_id)`, kept by every derived view.
    device: (i32, i32),
}

/// A table of row pointers that belongs to a view rather than to the memory it describes: made
/// by a slice that needs its own table (see [`slice`]), or the copy of such a table in the
/// layout storage of the export a derived view holds. Immutable once made; every view taken of
/// the view gets a copy of it (`Response::table`), so that views outliving the view object
/// never point into it.
enum Table {
    None,
    /// Made by this view.
    Own(Box<[*mut u8]>),
    /// In the layout storage of `View::base`, valid while that export is held.
    Held(*const *mut u8, usize),
}

// SAFETY: `base` is written only under exclusive access (no export counted, so no reader);
// everything else is immutable after construction.
unsafe impl Send for View {}
unsafe impl Sync for View {}

impl View {
    fn releaser(&self) -> Result<&Object> {
        // SAFETY: read while an export on this view is counted (no release can run).
        let base = unsafe { &*self.base.ptr() };
        match NonNull::new(base.releaser) {
            Some(r) => Ok(unsafe { r.cast::<Object>().as_ref() }),
            None => bail!(Released, "the view was released"),
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// The view's own row-pointer table, if it has one.
    fn table(&self) -> Option<&[*mut u8]> {
        match &self.table {
            Table::None => None,
            Table::Own(t) => Some(t),
            // SAFETY: read while an export on this view is counted, so the base's export (in
            // whose layout storage the table lies) is held.
            Table::Held(p, n) => Some(unsafe { std::slice::from_raw_parts(*p, *n) }),
        }
    }
    pub fn readonly(&self) -> bool {
        self.readonly
    }
    /// The format text (`"B"` when the base gave none for one-byte items).
    pub fn format(&self) -> Result<&CStr> {
        self.format.as_deref().ok_or_else(|| {
            err!(
                Format,
                "the view has items of {} bytes but no format (its base was asked without XBUF_FORMAT)",
                self.layout.itemsize
            )
        })
    }
    pub fn len(&self) -> isize {
        self.layout.byte_len() as isize
    }
    /// `(device_type, device_id)` of the memory; the CPU's is `(XBUF_DEVICE_CPU, 0)`.
    pub fn device(&self) -> (i32, i32) {
        self.device
    }
    /// Refuses a view of memory on another device than the CPU, for an operation (`what`)
    /// that reads or writes its items.
    pub fn check_cpu(&self, what: &str) -> Result<()> {
        crate::bufferinfo::check_cpu(self.device, what)
    }
}

impl Exporter for View {
    fn type_name(&self) -> &CStr {
        c"view"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        flags: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        if self.released.load(Ordering::Acquire) {
            bail!(Released, "the view was released");
        }
        // A view whose base gave no format for items wider than a byte cannot name one.
        if flags & XBUF_FORMAT != 0 {
            self.format()?;
        }
        let l = &self.layout;
        Ok(Response {
            buf: l.buf,
            len: self.len(),
            itemsize: l.itemsize,
            readonly: self.readonly,
            format: self.format.as_deref(),
            ndim: l.ndim(),
            shape: Some(&l.shape),
            strides: Some(&l.strides),
            suboffsets: l.suboffsets.as_deref(),
            table: self.table(),
            releaser: Some(NonNull::from(self.releaser()?)),
            device: self.device,
            ..Response::default()
        })
    }
    /// A lock on the view is forwarded to the object that owns the memory.
    fn lock_buffer(&self, _: &Object) -> Result<()> {
        if self.released.load(Ordering::Acquire) {
            bail!(Released, "the view was released");
        }
        self.releaser()?.lock()
    }
    fn release_buffer(&self, _: &Object, view: *mut xbuf_bufferinfo) {
        if view.is_null() {
            if let Ok(r) = self.releaser() {
                // SAFETY: paired with the lock taken in lock_buffer (the view cannot be
                // released while that lock is counted on it).
                let _ = unsafe { Object::unlock(NonNull::from(r)) };
            }
        }
    }
    any_impl!();
}

/// Makes a view of `obj` from a `flags` request.
pub fn new(obj: &Object, flags: c_int) -> Result<ObjRef> {
    derive(obj, flags, |l, _| Ok(l))
}

/// What a derived view may bring besides its layout.
struct Extra {
    /// The format (the base's, unless the change replaces it).
    format: Option<CString>,
    /// A row-pointer table of the view's own, which the layout's `buf` points into.
    table: Option<Box<[*mut u8]>>,
}

/// Gets a fresh export of `obj` for `flags`, lets `change` turn its layout into the new view's,
/// and wraps the result in a new view object. On failure the export is returned.
fn derive(
    obj: &Object,
    flags: c_int,
    change: impl FnOnce(Layout, &mut Extra) -> Result<Layout>,
) -> Result<ObjRef> {
    let held = HeldView::get(obj, flags)?;
    // SAFETY: just filled by the library; read only here, before the view is shared.
    let base = unsafe { &*held.ptr() };
    // SAFETY: as above.
    let layout = unsafe { Layout::from_view(base) }?;
    let format = if base.format.is_null() {
        (layout.itemsize == 1).then(|| CString::from(c"B"))
    } else {
        // SAFETY: the library's copy, NUL-terminated.
        Some(unsafe { CStr::from_ptr(base.format) }.to_owned())
    };
    // SAFETY: filled by the library and held as long as the new view.
    let held_table = unsafe { crate::bufferinfo::owned_table(held.ptr()) };
    let mut extra = Extra {
        format,
        table: None,
    };
    // On failure (or a panic) `held` returns the export when it is dropped.
    let layout = change(layout, &mut extra)?;
    let table = match (extra.table, held_table) {
        (Some(t), _) => Table::Own(t),
        (None, Some(t)) => Table::Held(t.as_ptr(), t.len()),
        (None, None) => Table::None,
    };
    let readonly = base.readonly != 0;
    // SAFETY: a full-size struct filled by the library.
    let device = unsafe { crate::bufferinfo::read_device(base) };
    Ok(ObjRef::new(Box::new(View {
        device,
        base: held,
        released: AtomicBool::new(false),
        layout,
        table,
        readonly,
        format: extra.format,
    })))
}

/// A new view derived from the view `obj`: a fresh export of it (so the new view pins the
/// memory on its own) whose layout `change` transforms.
fn derive_from(
    obj: &Object,
    change: impl FnOnce(Layout, &mut Extra) -> Result<Layout>,
) -> Result<ObjRef> {
    with(obj, |v| {
        // A view without a format is re-exported without one.
        let flags = if v.format.is_some() {
            XBUF_FULL_RO
        } else {
            XBUF_INDIRECT
        } | XBUF_DEVICE;
        derive(obj, flags, change)
    })
}

/// Runs `op` on the view behind `obj` with a transient export counted, so that no release can
/// run meanwhile. Fails with `Released` after a release.
pub fn with<T>(obj: &Object, op: impl FnOnce(&View) -> Result<T>) -> Result<T> {
    let view = obj.downcast::<View>("view")?;
    obj.add_export().map_err(|e| {
        if view.released.load(Ordering::Acquire) {
            err!(Released, "the view was released")
        } else {
            e
        }
    })?;
    struct Done<'a>(&'a Object);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            // SAFETY: the export counted above; the caller holds a reference.
            unsafe { Object::drop_export(NonNull::from(self.0)) };
        }
    }
    let _done = Done(obj);
    if view.released.load(Ordering::Acquire) {
        bail!(Released, "the view was released");
    }
    op(view)
}

/// Hands the view's export back to its base. Refused with `Busy` while the view's own exports
/// (locks, running operations) live; a second release is a no-op.
pub fn release(obj: &Object) -> Result<()> {
    let view = obj.downcast::<View>("view")?;
    if view.released.load(Ordering::Acquire) {
        return Ok(());
    }
    obj.with_exclusive(|| {
        if view.released.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // SAFETY: exclusive access: no export on the view, so nobody reads `base`.
        unsafe { view.base.release_in_place() }
    })
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
    derive_from(obj, |l, extra| {
        if slices.len() > l.ndim() {
            bail!(
                InvalidArgument,
                "{} slices given for a view of {} dimensions",
                slices.len(),
                l.ndim()
            );
        }
        let resolved = slices
            .iter()
            .enumerate()
            .map(|(d, s)| s.resolve(l.shape[d], d))
            .collect::<Result<Vec<_>>>()?;
        let mut out = l.clone();
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
            return Ok(out);
        }
        // Where each dimension's start moves (see above): `None` for `buf`, else the indirect
        // dimension whose suboffset moves. Summed exactly; applied with wrapping arithmetic,
        // since each sum lands inside the memory the source reaches.
        let target = |d: usize| {
            l.suboffsets
                .as_ref()
                .and_then(|subs| (0..d).rev().find(|&k| subs[k] >= 0))
        };
        let mut shift = vec![0i128; l.ndim()];
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
            extra.table = Some(rebase(&l, &resolved, &mut out, k, shift[k])?);
        }
        Ok(out)
    })
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
    derive_from(obj, |mut l, _| {
        if indices.len() > l.ndim() {
            bail!(
                InvalidArgument,
                "{} indices given for a view of {} dimensions",
                indices.len(),
                l.ndim()
            );
        }
        for (d, &i) in indices.iter().enumerate() {
            layout::normalize_index(i, l.shape[d], d)?;
        }
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
        Ok(l)
    })
}

/// The address of the item at `indices` (one per dimension), following suboffsets.
pub fn item_pointer(obj: &Object, indices: &[isize]) -> Result<*mut u8> {
    with(obj, |v| {
        let l = &v.layout;
        // SAFETY: the memory is pinned by the view's export.
        unsafe {
            layout::pointer_at(
                l.buf,
                &l.shape,
                &l.strides,
                l.suboffsets.as_deref(),
                indices,
            )
        }
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
            ..l
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
    with(obj, |v| {
        if !v.layout.is_contiguous(Order::C) {
            bail!(
                NotContiguous,
                "cannot cast a view that is not C-contiguous (shape {:?}, strides {:?})",
                v.layout.shape,
                v.layout.strides
            );
        }
        let len = v.len();
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
        // The cast brings its own format, so none is asked of the view.
        derive(obj, XBUF_INDIRECT | XBUF_DEVICE, |l, extra| {
            extra.format = Some(text);
            Layout::contiguous(l.buf, &new_shape, itemsize, Order::C)
        })
    })
}

/// Writes the view's items contiguously in `order` into the `len` bytes at `out` (exactly
/// the view's byte length). Call it inside [`with`], which pins the memory.
///
/// # Safety
/// `out` must point at `len` writable bytes (it may overlap the view's memory).
pub unsafe fn tobytes(v: &View, order: Order, out: *mut u8, len: usize) -> Result<()> {
    v.check_cpu("tobytes")?;
    strided::to_contiguous(out, len, &v.layout, order)
}

/// Writes the lowercase hexadecimal digits of the view's C-order bytes (two per byte, no NUL)
/// at `out`. Call it inside [`with`], which pins the memory.
///
/// # Safety
/// `out` must point at twice the view's byte length of writable bytes.
pub unsafe fn hex(v: &View, out: *mut u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = v.layout.itemsize as usize;
    let mut at = out;
    v.layout.for_each_item(|p| {
        for k in 0..n {
            let b = p.add(k).read();
            at.write(DIGITS[(b >> 4) as usize]);
            at.add(1).write(DIGITS[(b & 15) as usize]);
            at = at.add(2);
        }
    });
}

/// The view's format, parsed (cached per process).
fn parsed_format(v: &View) -> Result<std::sync::Arc<format::Format>> {
    v.check_cpu("an item operation (equal, tolist)")?;
    format::parse(v.format()?.to_bytes())
}

/// Whether two views are equal as memoryview's `==` defines it, for every format: the same
/// shape (`ndim` and every extent) and every pair of items at the same indices equal by value
/// (`1 == 1.0`, NaN never equal, not even to itself, `-0.0 == 0.0`; structs field by field).
/// The formats need not be the same.
pub fn equal(a: &Object, b: &Object) -> Result<bool> {
    with(a, |va| {
        with(b, |vb| {
            let (fa, fb) = (parsed_format(va)?, parsed_format(vb)?);
            // SAFETY: both memories are pinned by the views' exports; the library checked
            // each item size against its format.
            Ok(unsafe { strided::equal(&va.layout, &fa, &vb.layout, &fb) })
        })
    })
}

/// The view's items as JSON text: nested lists, one level per dimension (a zero-dimensional
/// view is its item), items rendered as `format::write_json` describes.
pub fn tolist(obj: &Object) -> Result<String> {
    with(obj, |v| {
        let fmt = parsed_format(v)?;
        let mut out = String::new();
        // At least three bytes per item ("0, "): a view whose text cannot fit fails at once.
        let least = v.layout.count().saturating_mul(3);
        out.try_reserve(least).map_err(|_| {
            err!(
                NoMemory,
                "cannot hold the text of the view's {} items (at least {least} bytes)",
                v.layout.count()
            )
        })?;
        // SAFETY: the memory is pinned by the view's export.
        unsafe { strided::write_list(&v.layout, &fmt, &mut out) }?;
        Ok(out)
    })
}

/// [`tolist`] into a caller's buffer: writes the text at `dst` if it fits in `room` bytes,
/// and returns its length in every case, measured while it is written (one pass; nothing but
/// one item's text is held). A view without items is measured from its shape alone; a view
/// whose text could not be held in memory (at least three bytes per item) fails at once with
/// `NoMemory` unless `room` already holds that much.
///
/// # Safety
/// `dst` must point at `room` writable bytes (it may be NULL when `room` is 0).
pub unsafe fn tolist_into(obj: &Object, dst: *mut u8, room: usize) -> Result<usize> {
    with(obj, |v| {
        let fmt = parsed_format(v)?;
        let mut out = strided::BoundedText::new(dst, room);
        if let Some(n) = strided::empty_list_len(&v.layout)? {
            if n <= room {
                // No item is read; the text is at most `room` bytes long.
                strided::write_list(&v.layout, &fmt, &mut out)?;
                debug_assert_eq!(out.len, n);
            }
            return Ok(n);
        }
        let count = v.layout.count();
        let least = count.saturating_mul(3) - 2;
        if room < least {
            // Measuring means rendering every item; refuse at once a text that could never be
            // held (the probe reserves address space only, it touches no page).
            let mut probe: Vec<u8> = Vec::new();
            probe.try_reserve_exact(least).map_err(|_| {
                err!(
                    NoMemory,
                    "cannot hold the text of the view's {count} items (at least {least} bytes)"
                )
            })?;
        }
        // SAFETY: the memory is pinned by the view's export.
        strided::write_list(&v.layout, &fmt, &mut out)?;
        Ok(out.len)
    })
}

/// The 64-bit FNV-1a hash of the view's C-order bytes (offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3): the same in every process and on every platform. Only read-only views may
/// be hashed (a writable view's contents, and so its hash, may change).
pub fn hash(obj: &Object) -> Result<u64> {
    with(obj, |v| {
        if !v.readonly {
            bail!(
                Unsupported,
                "cannot hash a writable view (its contents may change)"
            );
        }
        v.check_cpu("hash")?;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let n = v.layout.itemsize as usize;
        // SAFETY: the memory is pinned by the view's export.
        unsafe {
            v.layout.for_each_item(|p| {
                for &b in std::slice::from_raw_parts(p, n) {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
                }
            })
        };
        Ok(h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bufferinfo;

    /// A PIL-style exporter over memory it owns, with row pointers wherever the test puts them
    /// (here: at each row's first item, which is not its lowest address).
    struct Rows {
        _data: Vec<u8>,
        /// Pointer tables: level 0 first (what `buf` points at), then deeper levels.
        tables: Vec<Box<[*mut u8]>>,
        shape: Vec<isize>,
        strides: Vec<isize>,
        subs: Vec<isize>,
        len: isize,
    }
    unsafe impl Send for Rows {}
    unsafe impl Sync for Rows {}
    impl Exporter for Rows {
        fn type_name(&self) -> &CStr {
            c"rows"
        }
        fn get_buffer<'a>(
            &'a self,
            _: &'a Object,
            _: c_int,
            _: &'a mut xbuf_bufferinfo,
        ) -> Result<Response<'a>> {
            Ok(Response {
                buf: self.tables[0].as_ptr() as *mut u8,
                len: self.len,
                format: Some(c"B"),
                ndim: self.shape.len(),
                shape: Some(&self.shape),
                strides: Some(&self.strides),
                suboffsets: Some(&self.subs),
                ..Response::default()
            })
        }
        any_impl!();
    }

    /// 3 rows of 4 bytes, `data[4i..4i + 4] = 4i..4i + 4`, read backwards: item (i, j) is
    /// `4i + 3 - j`; row pointer i points at item (i, 0), the row's highest address.
    fn backward_rows() -> ObjRef {
        let mut data: Vec<u8> = (0..12).collect();
        let base = data.as_mut_ptr();
        let table: Box<[*mut u8]> = (0..3).map(|i| base.wrapping_add(4 * i + 3)).collect();
        let p = std::mem::size_of::<*mut u8>() as isize;
        ObjRef::new(Box::new(Rows {
            _data: data,
            tables: vec![table],
            shape: vec![3, 4],
            strides: vec![p, -1],
            subs: vec![0, -1],
            len: 12,
        }))
    }

    fn c_bytes(obj: &Object) -> Vec<u8> {
        with(obj, |v| {
            let mut out = vec![0u8; v.len() as usize];
            unsafe { tobytes(v, Order::C, out.as_mut_ptr(), out.len()) }?;
            Ok(out)
        })
        .unwrap()
    }

    fn range(start: isize, stop: isize, step: isize) -> SliceSpec {
        SliceSpec { start, stop, step }
    }
    const O: isize = XBUF_SLICE_OMIT;

    #[test]
    fn slices_needing_a_negative_suboffset_get_their_own_table() {
        let rows = backward_rows();
        let v = new(&rows, XBUF_FULL_RO).unwrap();
        assert_eq!(c_bytes(&v), [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
        // a[:, 1:] moves each row's start one byte down, below its row pointer.
        let s = slice(&v, &[range(O, O, O), range(1, O, O)]).unwrap();
        assert_eq!(c_bytes(&s), [2, 1, 0, 6, 5, 4, 10, 9, 8]);
        // Its layout: its own table, each pointer the lowest address of its row.
        let mut info = xbuf_bufferinfo::empty();
        unsafe { bufferinfo::get_buffer(&s, &mut info, XBUF_FULL_RO) }.unwrap();
        let p = std::mem::size_of::<*mut u8>() as isize;
        unsafe {
            assert_eq!(std::slice::from_raw_parts(info.shape, 2), [3, 3]);
            assert_eq!(std::slice::from_raw_parts(info.strides, 2), [p, -1]);
            assert_eq!(std::slice::from_raw_parts(info.suboffsets, 2), [2, -1]);
            let table = bufferinfo::owned_table(&info).expect("a table of the view's own");
            assert_eq!(table.len(), 3);
            assert_eq!(info.buf as *const *mut u8, table.as_ptr());
            assert_eq!(*table[1], 4);
        }
        // The export outlives both view objects: its table is its own copy.
        drop(s);
        drop(v);
        let l = unsafe { Layout::from_view(&info) }.unwrap();
        let mut out = [0u8; 9];
        unsafe { strided::to_contiguous(out.as_mut_ptr(), 9, &l, Order::C) }.unwrap();
        assert_eq!(out, [2, 1, 0, 6, 5, 4, 10, 9, 8]);
        unsafe { bufferinfo::release(&mut info) }.unwrap();
        assert_eq!(rows.exports(), 0);
    }

    #[test]
    fn views_of_a_rebased_view_keep_reading_the_right_items() {
        let rows = backward_rows();
        let v = new(&rows, XBUF_FULL_RO).unwrap();
        // a[::-1, 2:0:-1]: rows 2, 1, 0; items 1, 2 of each (stride +1 after the reversal).
        let s = slice(&v, &[range(O, O, -1), range(2, 0, -1)]).unwrap();
        assert_eq!(c_bytes(&s), [9, 10, 5, 6, 1, 2]);
        // Slices of it share nothing with it: a[1:, ::-1] of that is rows 1, 0 reversed.
        let t = slice(&s, &[range(1, O, O), range(O, O, -1)]).unwrap();
        assert_eq!(c_bytes(&t), [6, 5, 2, 1]);
        // The new row pointers are their rows' lowest addresses: slicing further only moves
        // suboffsets up. [:, 1:]:
        let u = slice(&t, &[range(O, O, O), range(1, O, O)]).unwrap();
        assert_eq!(c_bytes(&u), [5, 1]);
        // Indexing follows the table; a view of a view copies it.
        let w = index(&s, &[2]).unwrap();
        assert_eq!(c_bytes(&w), [1, 2]);
        let x = new(&s, XBUF_FULL_RO).unwrap();
        drop(s);
        assert_eq!(c_bytes(&x), [9, 10, 5, 6, 1, 2]);
        assert_eq!(item_pointer(&x, &[1, 1]).map(|p| unsafe { *p }).unwrap(), 6);
        assert_eq!(tolist(&x).unwrap(), "[[9, 10], [5, 6], [1, 2]]");
        // Empty results keep their start and need no table.
        let e = slice(&v, &[range(O, O, O), range(4, O, O)]).unwrap();
        assert_eq!(c_bytes(&e), []);
        drop((v, t, u, w, x, e));
        assert_eq!(rows.exports(), 0);
    }

    #[test]
    fn a_second_level_of_rows_is_rebased_through_the_first() {
        // 2 x 2 x 3 bytes with two levels of pointers: level 0 holds 2 pointers to level-1
        // tables of 2 pointers each, which point at the last byte of 3-byte rows (strides -1).
        let mut data: Vec<u8> = (0..12).collect();
        let base = data.as_mut_ptr();
        let level1: Vec<Box<[*mut u8]>> = (0..2)
            .map(|i| {
                (0..2)
                    .map(|j| base.wrapping_add(6 * i + 3 * j + 2))
                    .collect()
            })
            .collect();
        let level0: Box<[*mut u8]> = level1.iter().map(|t| t.as_ptr() as *mut u8).collect();
        let p = std::mem::size_of::<*mut u8>() as isize;
        let mut tables = vec![level0];
        tables.extend(level1);
        let rows = ObjRef::new(Box::new(Rows {
            _data: data,
            tables,
            shape: vec![2, 2, 3],
            strides: vec![p, p, -1],
            subs: vec![0, 0, -1],
            len: 12,
        }));
        let v = new(&rows, XBUF_FULL_RO).unwrap();
        assert_eq!(c_bytes(&v), [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
        // a[1:, ::-1, 1:]: dimension 2's start moves suboffsets[1] below 0; dimension 1's
        // reversal moves suboffsets[0] up, which stays valid.
        let s = slice(&v, &[range(1, O, O), range(O, O, -1), range(1, O, O)]).unwrap();
        assert_eq!(c_bytes(&s), [10, 9, 7, 6]);
        let mut info = xbuf_bufferinfo::empty();
        unsafe { bufferinfo::get_buffer(&s, &mut info, XBUF_FULL_RO) }.unwrap();
        unsafe {
            // Dimension 0 steps over the table, dimension 1 reads it.
            assert_eq!(std::slice::from_raw_parts(info.strides, 3), [2 * p, p, -1]);
            assert_eq!(std::slice::from_raw_parts(info.suboffsets, 3), [-1, 1, -1]);
            assert_eq!(bufferinfo::owned_table(&info).map(<[_]>::len), Some(2));
            bufferinfo::release(&mut info).unwrap();
        }
        // Requests without XBUF_INDIRECT are refused, as for any indirect layout.
        assert_eq!(
            unsafe { bufferinfo::get_buffer(&s, &mut info, XBUF_RECORDS_RO) }
                .unwrap_err()
                .status,
            crate::status::Status::Request
        );
        drop((s, v));
        assert_eq!(rows.exports(), 0);
    }

    fn indices(n: isize, start: isize, stop: isize, step: isize) -> Vec<isize> {
        let (s, st, c) = SliceSpec { start, stop, step }.resolve(n, 0).unwrap();
        (0..c).map(|k| s + k * st).collect()
    }

    #[test]
    fn python_slice_semantics() {
        assert_eq!(indices(5, O, O, O), [0, 1, 2, 3, 4]);
        assert_eq!(indices(5, 1, 4, 2), [1, 3]);
        assert_eq!(indices(5, O, O, -1), [4, 3, 2, 1, 0]);
        assert_eq!(indices(5, -2, O, O), [3, 4]);
        assert_eq!(indices(5, O, -6, -1), [4, 3, 2, 1, 0]);
        assert_eq!(indices(5, 10, O, -2), [4, 2, 0]);
        assert_eq!(indices(5, -100, 100, 3), [0, 3]);
        assert_eq!(indices(5, 3, 1, 1), Vec::<isize>::new());
        assert_eq!(indices(0, O, O, -1), Vec::<isize>::new());
        assert_eq!(indices(5, isize::MIN + 1, isize::MAX, isize::MAX), [0]);
        let e = SliceSpec {
            start: 0,
            stop: 1,
            step: 0,
        }
        .resolve(5, 2)
        .unwrap_err();
        assert_eq!(e.status, crate::status::Status::InvalidArgument);
        assert!(e.message.contains("dimension 2"));
    }
}
