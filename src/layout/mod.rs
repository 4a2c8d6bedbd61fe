//! Layout arithmetic on shapes, strides and suboffsets: sizes with overflow checks, contiguous
//! strides, contiguity tests, the byte range a layout reaches and pointer lookup. Written once
//! here and used by every request check and view operation.

mod dims;
mod owned;
mod strided;
pub use dims::{Dims, INLINE};
#[cfg(test)]
pub(crate) use owned::over_bytes;
pub use owned::{for_each_pair, Layout};
pub use strided::{StrideBuf, Strided};

use crate::status::{overflow, Result};
use crate::{bail, err};

/// Memory order of a contiguous layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Row-major: the last index varies fastest.
    C,
    /// Column-major: the first index varies fastest.
    F,
    /// Either of the two.
    Any,
}

impl Order {
    /// Reads the C API's order character: `'C'`, `'F'` or `'A'`.
    #[inline(always)]
    pub fn from_char(c: u8) -> Result<Order> {
        match c {
            b'C' => Ok(Order::C),
            b'F' => Ok(Order::F),
            b'A' => Ok(Order::Any),
            _ => Err(bad_order(c)),
        }
    }
}

/// The error of an order character other than `'C'`, `'F'` and `'A'`.
#[cold]
#[inline(never)]
fn bad_order(c: u8) -> crate::status::Error {
    err!(
        InvalidArgument,
        "order must be 'C', 'F' or 'A', got {}",
        describe_char(c)
    )
}

/// `'x'` for printable ASCII, else the byte's value.
pub fn describe_char(c: u8) -> String {
    if c.is_ascii_graphic() || c == b' ' {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

/// The number of items in `shape` (1 for zero dimensions), refusing negative extents and
/// overflow.
pub fn item_count(shape: &[isize]) -> Result<isize> {
    let mut n: isize = 1;
    for (d, &s) in shape.iter().enumerate() {
        if s < 0 {
            bail!(
                InvalidArgument,
                "shape[{d}] is {s}; extents must not be negative"
            );
        }
        n = n
            .checked_mul(s)
            .ok_or_else(|| overflow(format!("the item count of shape {shape:?}")))?;
    }
    Ok(n)
}

/// `product(shape) * itemsize`, with overflow checks.
pub fn byte_len(shape: &[isize], itemsize: isize) -> Result<isize> {
    item_count(shape)?.checked_mul(itemsize).ok_or_else(|| {
        overflow(format!(
            "the byte size of shape {shape:?} with itemsize {itemsize}"
        ))
    })
}

/// Writes the strides of a contiguous layout of `shape` in `order` (`Any` means C).
/// Fails on overflow, which only a shape with items can meet: the strides of a layout without
/// items are never used, so beside a zero extent a step that would overflow stays at
/// `isize::MAX` (the layout `(0, isize::MAX, 1)` of 8-byte items is valid and has no items).
pub fn contiguous_strides(
    shape: &[isize],
    itemsize: isize,
    order: Order,
    strides: &mut [isize],
) -> Result<()> {
    debug_assert_eq!(shape.len(), strides.len());
    let mut step = itemsize;
    let empty = shape.contains(&0);
    let mut set = |d: usize, step: &mut isize| -> Result<()> {
        strides[d] = *step;
        // A zero extent makes every later stride irrelevant; keep them finite anyway.
        *step = match step.checked_mul(shape[d].max(1)) {
            Some(s) => s,
            None if empty => isize::MAX,
            None => return Err(overflow(format!("the strides of shape {shape:?}"))),
        };
        Ok(())
    };
    match order {
        Order::C | Order::Any => {
            for d in (0..shape.len()).rev() {
                set(d, &mut step)?;
            }
        }
        Order::F => {
            for d in 0..shape.len() {
                set(d, &mut step)?;
            }
        }
    }
    Ok(())
}

/// Whether a layout is contiguous in `order`, following CPython's rules: a layout with
/// suboffsets never is; a layout with no items always is; a dimension of extent 1 may have
/// any stride. `strides == None` means C-contiguous.
#[inline(always)]
pub fn is_contiguous(
    shape: &[isize],
    strides: Option<&[isize]>,
    has_suboffsets: bool,
    itemsize: isize,
    order: Order,
) -> bool {
    if has_suboffsets {
        return false;
    }
    if shape.contains(&0) {
        return true;
    }
    let Some(strides) = strides else {
        // Implicitly C-contiguous; also Fortran-contiguous when at most one extent exceeds 1.
        return match order {
            Order::C | Order::Any => true,
            Order::F => shape.iter().filter(|&&s| s > 1).count() <= 1,
        };
    };
    match order {
        Order::C => steps_match(shape, strides, itemsize, true),
        Order::F => steps_match(shape, strides, itemsize, false),
        Order::Any => {
            steps_match(shape, strides, itemsize, true)
                || steps_match(shape, strides, itemsize, false)
        }
    }
}

/// Whether every dimension of extent above 1 has the stride of a contiguous layout whose
/// fastest-varying dimension is the last (`from_last`, C order) or the first (F order).
#[inline(always)]
fn steps_match(shape: &[isize], strides: &[isize], itemsize: isize, from_last: bool) -> bool {
    let n = shape.len();
    let mut step = itemsize;
    for k in 0..n {
        let d = if from_last { n - 1 - k } else { k };
        if shape[d] > 1 && strides[d] != step {
            return false;
        }
        match step.checked_mul(shape[d]) {
            Some(s) => step = s,
            None => return false,
        }
    }
    true
}

/// The byte offsets, relative to `buf`, of the lowest and one past the highest byte a
/// strided layout without suboffsets reaches: `(lo, hi)`. `(0, 0)` when there are no items.
pub fn extent(shape: &[isize], strides: &[isize], itemsize: isize) -> Result<(isize, isize)> {
    if shape.contains(&0) {
        return Ok((0, 0));
    }
    let (mut lo, mut hi) = (0isize, 0isize);
    for (d, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        let reach = (n - 1)
            .checked_mul(s)
            .ok_or_else(|| overflow(format!("stride {s} times extent {n} in dimension {d}")))?;
        if reach < 0 {
            lo = lo
                .checked_add(reach)
                .ok_or_else(|| overflow("the layout's lowest offset"))?;
        } else {
            hi = hi
                .checked_add(reach)
                .ok_or_else(|| overflow("the layout's highest offset"))?;
        }
    }
    let hi = hi
        .checked_add(itemsize)
        .ok_or_else(|| overflow("the layout's highest offset"))?;
    Ok((lo, hi))
}

/// Checks that `[buf + lo, buf + hi)` does not wrap around the address space.
pub fn check_address_range(buf: usize, lo: isize, hi: isize) -> Result<()> {
    let start = buf.checked_add_signed(lo);
    let end = buf.checked_add_signed(hi);
    match (start, end) {
        (Some(_), Some(_)) => Ok(()),
        _ => Err(err!(
            BadExporter,
            "the layout reaches bytes {lo}..{hi} around address {buf:#x}, outside the address space"
        )),
    }
}

/// Normalises Python-style index `i` (negative counts from the end) into `0..n`.
pub fn normalize_index(i: isize, n: isize, dim: usize) -> Result<isize> {
    let j = if i < 0 { i.checked_add(n) } else { Some(i) };
    match j {
        Some(j) if (0..n).contains(&j) => Ok(j),
        _ => Err(err!(
            OutOfBounds,
            "index {i} is out of bounds for dimension {dim} of extent {n}"
        )),
    }
}

/// The address of the item at `indices`, following suboffsets as PEP 3118 defines them: in a
/// dimension with a non-negative suboffset, the address reached so far holds a pointer, which
/// is read and then advanced by the suboffset.
///
/// # Safety
/// When suboffsets are given, `buf` and the strides must describe readable pointer storage.
pub unsafe fn pointer_at(
    buf: *mut u8,
    shape: &[isize],
    strides: &[isize],
    suboffsets: Option<&[isize]>,
    indices: &[isize],
) -> Result<*mut u8> {
    if indices.len() != shape.len() {
        bail!(
            InvalidArgument,
            "{} indices given for a view of {} dimensions",
            indices.len(),
            shape.len()
        );
    }
    // Every index is checked before any pointer is followed: a layout with an empty
    // dimension has no items, and its pointer tables may be absent.
    for d in 0..shape.len() {
        normalize_index(indices[d], shape[d], d)?;
    }
    let mut p = buf;
    for d in 0..shape.len() {
        let i = normalize_index(indices[d], shape[d], d)?;
        p = p.wrapping_offset(i.wrapping_mul(strides[d]));
        if let Some(subs) = suboffsets {
            if subs[d] >= 0 {
                p = (p as *const *mut u8)
                    .read_unaligned()
                    .wrapping_offset(subs[d]);
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    #[test]
    fn sizes_and_overflow() {
        assert_eq!(item_count(&[]).unwrap(), 1);
        assert_eq!(item_count(&[2, 3, 4]).unwrap(), 24);
        assert_eq!(item_count(&[2, 0, 4]).unwrap(), 0);
        assert_eq!(
            item_count(&[-1]).unwrap_err().status,
            Status::InvalidArgument
        );
        assert_eq!(
            byte_len(&[isize::MAX / 2, 3], 1).unwrap_err().status,
            Status::Overflow
        );
        assert_eq!(
            byte_len(&[isize::MAX / 2], 3).unwrap_err().status,
            Status::Overflow
        );
        assert_eq!(byte_len(&[3, 5], 8).unwrap(), 120);
    }

    #[test]
    fn strides_in_both_orders() {
        let mut s = [0; 3];
        contiguous_strides(&[2, 3, 4], 8, Order::C, &mut s).unwrap();
        assert_eq!(s, [96, 32, 8]);
        contiguous_strides(&[2, 3, 4], 8, Order::F, &mut s).unwrap();
        assert_eq!(s, [8, 16, 48]);
        contiguous_strides(&[2, 0, 4], 1, Order::C, &mut s).unwrap();
        assert_eq!(s, [4, 4, 1]);
        let mut s2 = [0; 2];
        assert_eq!(
            contiguous_strides(&[isize::MAX, 4], 8, Order::C, &mut s2)
                .unwrap_err()
                .status,
            Status::Overflow
        );
        // Without items the strides are never used: they stay finite instead of failing.
        contiguous_strides(&[0, isize::MAX, 1], 8, Order::C, &mut s).unwrap();
        assert_eq!(s, [isize::MAX, 8, 8]);
        contiguous_strides(&[3, isize::MAX, 0], 8, Order::F, &mut s).unwrap();
        assert_eq!(s, [8, 24, isize::MAX]);
    }

    #[test]
    fn contiguity_rules() {
        // C layout 2x3 of 4-byte items.
        assert!(is_contiguous(&[2, 3], Some(&[12, 4]), false, 4, Order::C));
        assert!(!is_contiguous(&[2, 3], Some(&[12, 4]), false, 4, Order::F));
        assert!(is_contiguous(&[2, 3], Some(&[12, 4]), false, 4, Order::Any));
        assert!(is_contiguous(&[2, 3], Some(&[4, 8]), false, 4, Order::F));
        assert!(!is_contiguous(&[2, 3], Some(&[4, 8]), false, 4, Order::C));
        // Extent-1 dimensions ignore their stride.
        assert!(is_contiguous(&[1, 3], Some(&[999, 4]), false, 4, Order::C));
        assert!(is_contiguous(&[1, 3], Some(&[999, 4]), false, 4, Order::F));
        // Empty layouts are contiguous; suboffsets never are.
        assert!(is_contiguous(&[0, 3], Some(&[-5, 77]), false, 4, Order::C));
        assert!(!is_contiguous(&[2], Some(&[4]), true, 4, Order::Any));
        // Negative or gapped strides are not contiguous.
        assert!(!is_contiguous(&[3], Some(&[-4]), false, 4, Order::Any));
        assert!(!is_contiguous(&[3], Some(&[8]), false, 4, Order::Any));
        // Implicit C strides.
        assert!(is_contiguous(&[2, 3], None, false, 4, Order::C));
        assert!(!is_contiguous(&[2, 3], None, false, 4, Order::F));
        assert!(is_contiguous(&[1, 3], None, false, 4, Order::F));
        assert!(is_contiguous(&[], Some(&[]), false, 4, Order::F));
    }

    #[test]
    fn extents() {
        assert_eq!(extent(&[3, 4], &[16, 4], 4).unwrap(), (0, 48));
        assert_eq!(extent(&[3, 4], &[-16, 4], 4).unwrap(), (-32, 16));
        assert_eq!(extent(&[0, 4], &[-16, 4], 4).unwrap(), (0, 0));
        assert_eq!(extent(&[], &[], 8).unwrap(), (0, 8));
        assert_eq!(
            extent(&[3], &[isize::MAX], 1).unwrap_err().status,
            Status::Overflow
        );
        assert!(check_address_range(100, -100, 10).is_ok());
        assert_eq!(
            check_address_range(100, -101, 10).unwrap_err().status,
            Status::BadExporter
        );
        assert_eq!(
            check_address_range(usize::MAX - 5, 0, 10)
                .unwrap_err()
                .status,
            Status::BadExporter
        );
    }

    #[test]
    fn pointers_follow_suboffsets() {
        let rows: [[u8; 3]; 2] = [[1, 2, 3], [4, 5, 6]];
        let ptrs: [*const u8; 2] = [rows[1].as_ptr(), rows[0].as_ptr()];
        let buf = ptrs.as_ptr() as *mut u8;
        let stride = std::mem::size_of::<*const u8>() as isize;
        unsafe {
            let p = pointer_at(buf, &[2, 3], &[stride, 1], Some(&[0, -1]), &[0, 2]).unwrap();
            assert_eq!(*p, 6);
            let p = pointer_at(buf, &[2, 3], &[stride, 1], Some(&[0, -1]), &[-1, -3]).unwrap();
            assert_eq!(*p, 1);
            let e = pointer_at(buf, &[2, 3], &[stride, 1], None, &[2, 0]).unwrap_err();
            assert_eq!(e.status, Status::OutOfBounds);
            let e = pointer_at(buf, &[2, 3], &[stride, 1], None, &[0]).unwrap_err();
            assert_eq!(e.status, Status::InvalidArgument);
        }
        assert_eq!(Order::from_char(b'A').unwrap(), Order::Any);
        assert!(Order::from_char(b'x').unwrap_err().message.contains("'x'"));
    }
}
