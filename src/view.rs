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
    readonly: bool,
    /// `None`: the base gave no format and items are wider than one byte.
    format: Option<CString>,
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
            releaser: Some(NonNull::from(self.releaser()?)),
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

/// Gets a fresh export of `obj` for `flags`, lets `change` turn its layout into the new view's,
/// and wraps the result in a new view object. On failure the export is returned.
fn derive(
    obj: &Object,
    flags: c_int,
    change: impl FnOnce(Layout, &mut Option<CString>) -> Result<Layout>,
) -> Result<ObjRef> {
    let held = HeldView::get(obj, flags)?;
    // SAFETY: just filled by the library; read only here, before the view is shared.
    let base = unsafe { &*held.ptr() };
    // SAFETY: as above.
    let layout = unsafe { Layout::from_view(base) }?;
    let mut format = if base.format.is_null() {
        (layout.itemsize == 1).then(|| CString::from(c"B"))
    } else {
        // SAFETY: the library's copy, NUL-terminated.
        Some(unsafe { CStr::from_ptr(base.format) }.to_owned())
    };
    // On failure (or a panic) `held` returns the export when it is dropped.
    let layout = change(layout, &mut format)?;
    let readonly = base.readonly != 0;
    Ok(ObjRef::new(Box::new(View {
        base: held,
        released: AtomicBool::new(false),
        layout,
        readonly,
        format,
    })))
}

/// A new view derived from the view `obj`: a fresh export of it (so the new view pins the
/// memory on its own) whose layout `change` transforms.
fn derive_from(
    obj: &Object,
    change: impl FnOnce(Layout, &mut Option<CString>) -> Result<Layout>,
) -> Result<ObjRef> {
    with(obj, |v| {
        // A view without a format is re-exported without one.
        let flags = if v.format.is_some() {
            XBUF_FULL_RO
        } else {
            XBUF_INDIRECT
        };
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
pub fn slice(obj: &Object, slices: &[SliceSpec]) -> Result<ObjRef> {
    derive_from(obj, |mut l, _| {
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
        // A result without items addresses no memory: its start is left where it is.
        let empty = l
            .shape
            .iter()
            .enumerate()
            .any(|(d, &n)| resolved.get(d).map_or(n, |r| r.2) == 0);
        for (d, &(start, step, count)) in resolved.iter().enumerate() {
            if !empty {
                let offset = start.checked_mul(l.strides[d]).ok_or_else(|| {
                    overflow(format!(
                        "start {start} times stride {} in dimension {d}",
                        l.strides[d]
                    ))
                })?;
                shift_dimension(&mut l, d, offset)?;
            }
            l.shape[d] = count;
            // Python allows any step, so one far beyond the extent can overflow the new stride;
            // that happens only when fewer than two items remain, whose stride is never used.
            l.strides[d] = match l.strides[d].checked_mul(step) {
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
        Ok(l)
    })
}

/// Moves the start of dimension `d` by `offset` bytes: on `buf` when no earlier dimension is
/// indirect, else on the suboffset of the nearest earlier indirect dimension (where the
/// pointer to this dimension's data is read). A suboffset cannot become negative (that would
/// mean "no indirection"), so such a slice is refused.
fn shift_dimension(l: &mut Layout, d: usize, offset: isize) -> Result<()> {
    if let Some(subs) = &mut l.suboffsets {
        if let Some(k) = (0..d).rev().find(|&k| subs[k] >= 0) {
            match subs[k].checked_add(offset) {
                Some(s) if s >= 0 => subs[k] = s,
                _ => bail!(
                    Unsupported,
                    "slicing dimension {d} would move suboffsets[{k}] from {} to {}, below 0 (the exporter's row pointers do not point at the lowest address of their rows)",
                    subs[k],
                    subs[k] as i128 + offset as i128
                ),
            }
            return Ok(());
        }
    }
    l.buf = l.buf.wrapping_offset(offset);
    Ok(())
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
        derive(obj, XBUF_INDIRECT, |l, format| {
            *format = Some(text);
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

    fn indices(n: isize, start: isize, stop: isize, step: isize) -> Vec<isize> {
        let (s, st, c) = SliceSpec { start, stop, step }.resolve(n, 0).unwrap();
        (0..c).map(|k| s + k * st).collect()
    }

    #[test]
    fn python_slice_semantics() {
        const O: isize = XBUF_SLICE_OMIT;
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
