//! What a view offers on its items: pointer lookup, contiguous bytes, hex, equality, the
//! list text and the hash. Each runs with the view pinned ([`with`]).

use super::{with, View};
use crate::format;
use crate::format::list::{self, BoundedText};
use crate::kernels;
use crate::layout::{self, Order};
use crate::object::Object;
use crate::status::Result;
use crate::{bail, err};

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

/// Writes the view's items contiguously in `order` into the `len` bytes at `out` (exactly
/// the view's byte length). Call it inside [`with`], which pins the memory.
///
/// # Safety
/// `out` must point at `len` writable bytes (it may overlap the view's memory).
pub unsafe fn tobytes(v: &View, order: Order, out: *mut u8, len: usize) -> Result<()> {
    v.check_cpu("tobytes")?;
    kernels::to_contiguous(out, len, &v.layout, order)
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
            Ok(unsafe { kernels::equal(&va.layout, &fa, &vb.layout, &fb) })
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
        unsafe { list::write_list(&v.layout, &fmt, &mut out) }?;
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
        let mut out = BoundedText::new(dst, room);
        if let Some(n) = list::empty_list_len(&v.layout)? {
            if n <= room {
                // No item is read; the text is at most `room` bytes long.
                list::write_list(&v.layout, &fmt, &mut out)?;
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
        list::write_list(&v.layout, &fmt, &mut out)?;
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
