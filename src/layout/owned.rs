//! The owned layout: strided N-dimensional memory as the library works on it ([`Layout`]),
//! its shape, strides and suboffsets kept inline for the common ranks ([`Dims`]), and walks
//! over its items.

use crate::bufferinfo;
use crate::capi::xbuf_bufferinfo;
use crate::layout::{self, Dims, Order, Strided};
use crate::status::Result;

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

    /// Writes a copy of the layout to `dst`: its fields one by one, of the inline arrays only
    /// the entries in use (no call for the common ranks, absent suboffsets not copied at all).
    /// Returns the copy's shape and strides.
    ///
    /// # Safety
    /// `dst` must be valid for writes and not overlap `self`; what it held is overwritten, not
    /// dropped. The slices returned borrow `*dst`'s arrays: they must not outlive it, and those
    /// arrays may not be used otherwise meanwhile.
    #[inline(always)]
    pub unsafe fn write_copy<'a>(&self, dst: *mut Layout) -> (&'a mut [isize], &'a mut [isize]) {
        use std::ptr::addr_of_mut;
        addr_of_mut!((*dst).buf).write(self.buf);
        addr_of_mut!((*dst).itemsize).write(self.itemsize);
        let shape = self.shape.write_copy(addr_of_mut!((*dst).shape));
        let strides = self.strides.write_copy(addr_of_mut!((*dst).strides));
        match &self.suboffsets {
            None => addr_of_mut!((*dst).suboffsets).write(None),
            Some(s) => addr_of_mut!((*dst).suboffsets).write(Some(s.clone())),
        }
        (shape, strides)
    }

    /// The layout with its arrays borrowed, as the kernels take it.
    #[inline]
    pub fn strided(&self) -> Strided<'_> {
        Strided {
            buf: self.buf,
            itemsize: self.itemsize,
            shape: &self.shape,
            strides: &self.strides,
            suboffsets: self.suboffsets.as_deref(),
        }
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
pub unsafe fn for_each_pair(a: &Strided<'_>, b: &Strided<'_>, mut f: impl FnMut(*mut u8, *mut u8)) {
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
        strides: a.strides,
        subs: a.suboffsets,
    };
    let sb = Side {
        strides: b.strides,
        subs: b.suboffsets,
    };
    walk(a.buf, b.buf, a.shape, 0, (&sa, &sb), &mut f);
}

/// A direct layout over `buf` (test helper): items of `itemsize` bytes in `shape` with
/// `strides`, the first at byte `offset`.
#[cfg(test)]
pub(crate) fn over_bytes(
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
