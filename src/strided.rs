//! Strided N-dimensional memory as the library works on it ([`Layout`]), walking it item by
//! item or run by run, and copying between two layouts — correct for overlapping memory and for
//! PIL-style suboffsets, fast for the common cases (contiguous runs become `memcpy`, adjacent
//! dimensions that are contiguous with each other are merged, inner loops are specialised by
//! item size).

use std::ptr;

use crate::abi::xbuf_bufferinfo;
use crate::bufferinfo;
use crate::layout::{self, Order};
use crate::status::Result;
use crate::{bail, err};

/// A strided layout over raw memory: item `(i0, i1, ...)` lies at
/// `buf + sum(ik * strides[k])`, following suboffsets as PEP 3118 defines them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub buf: *mut u8,
    pub itemsize: isize,
    pub shape: Vec<isize>,
    pub strides: Vec<isize>,
    /// Present only when some dimension really is indirect (an entry `>= 0`).
    pub suboffsets: Option<Vec<isize>>,
}

impl Layout {
    /// A contiguous layout of `shape` in `order` (`Any` means C) at `buf`.
    pub fn contiguous(
        buf: *mut u8,
        shape: &[isize],
        itemsize: isize,
        order: Order,
    ) -> Result<Layout> {
        let mut strides = vec![0; shape.len()];
        layout::contiguous_strides(shape, itemsize, order, &mut strides)?;
        Ok(Layout {
            buf,
            itemsize,
            shape: shape.to_vec(),
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
        let shape = v.shape().to_vec();
        let strides = match v.strides {
            Some(s) => s.to_vec(),
            None => {
                let mut s = vec![0; shape.len()];
                layout::contiguous_strides(&shape, v.itemsize, Order::C, &mut s)?;
                s
            }
        };
        let suboffsets = v
            .suboffsets
            .filter(|s| s.iter().any(|&x| x >= 0))
            .map(|s| s.to_vec());
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

    /// The address of the item at `indices` (already in range).
    ///
    /// # Safety
    /// The layout must describe readable memory (pointer tables included).
    pub unsafe fn item_ptr(&self, indices: &[usize]) -> *mut u8 {
        let mut p = self.buf;
        for (d, &i) in indices.iter().enumerate() {
            p = p.wrapping_offset(i as isize * self.strides[d]);
            if let Some(subs) = &self.suboffsets {
                if subs[d] >= 0 {
                    p = (p as *const *mut u8)
                        .read_unaligned()
                        .wrapping_offset(subs[d]);
                }
            }
        }
        p
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
                let mut q = p.wrapping_offset(i * strides[0]);
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
    // Indirect layouts: walk both in C order. `to` visits dst's items in the same order.
    let n = src.itemsize as usize;
    let mut addrs = Vec::with_capacity(dst.count());
    dst.for_each_item(|p| addrs.push(p));
    let mut it = addrs.into_iter();
    src.for_each_item(|p| {
        let q = it.next().expect("same shape");
        ptr::copy_nonoverlapping(p, q, n);
    });
}

/// The dimensions of a pair of layouts after dropping extent-1 dimensions and merging
/// neighbours that are contiguous with each other in both: `(shape, dst strides, src strides)`.
fn coalesce(shape: &[isize], ds: &[isize], ss: &[isize]) -> (Vec<isize>, Vec<isize>, Vec<isize>) {
    let (mut sh, mut d, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..shape.len() {
        if shape[k] == 1 {
            continue;
        }
        if let (Some(&dl), Some(&sl)) = (d.last(), s.last()) {
            // The previous (outer) dimension steps over exactly this whole dimension.
            if dl == ds[k] * shape[k] && sl == ss[k] * shape[k] {
                let last = sh.len() - 1;
                sh[last] *= shape[k];
                d[last] = ds[k];
                s[last] = ss[k];
                continue;
            }
        }
        sh.push(shape[k]);
        d.push(ds[k]);
        s.push(ss[k]);
    }
    (sh, d, s)
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

/// Copies between direct (no suboffsets), non-overlapping layouts of equal shape.
unsafe fn copy_direct(dst: &Layout, src: &Layout) {
    let (shape, ds, ss) = coalesce(&dst.shape, &dst.strides, &src.strides);
    let size = dst.itemsize;
    let Some(inner) = shape.len().checked_sub(1) else {
        ptr::copy_nonoverlapping(src.buf, dst.buf, size as usize);
        return;
    };
    let outer = &shape[..inner];
    let mut idx = vec![0isize; inner];
    let (mut dp, mut sp) = (dst.buf, src.buf as *const u8);
    loop {
        copy_run(dp, ds[inner], sp, ss[inner], shape[inner], size);
        // Odometer over the outer dimensions.
        let mut k = inner;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            dp = dp.wrapping_offset(ds[k]);
            sp = sp.wrapping_offset(ss[k]);
            if idx[k] < outer[k] {
                break;
            }
            dp = dp.wrapping_offset(-ds[k] * outer[k]);
            sp = sp.wrapping_offset(-ss[k] * outer[k]);
            idx[k] = 0;
        }
    }
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

/// Copies `src`'s items into `dst` (exactly `src.byte_len()` bytes) laid out contiguously in
/// `order`.
///
/// # Safety
/// `src` must describe readable memory.
pub unsafe fn to_contiguous(dst: &mut [u8], src: &Layout, order: Order) -> Result<()> {
    check_len(dst.len(), src)?;
    let order = resolve_order(src, order);
    let out = Layout::contiguous(dst.as_mut_ptr(), &src.shape, src.itemsize, order)?;
    copy(&out, src)
}

/// Copies `data` (exactly `dst.byte_len()` bytes, laid out contiguously in `order`) into the
/// items of `dst`.
///
/// # Safety
/// `dst` must describe writable memory.
pub unsafe fn from_contiguous(dst: &Layout, data: &[u8], order: Order) -> Result<()> {
    check_len(data.len(), dst)?;
    let order = resolve_order(dst, order);
    let inp = Layout::contiguous(data.as_ptr() as *mut u8, &dst.shape, dst.itemsize, order)?;
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
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            suboffsets: None,
        }
    }

    #[test]
    fn transpose_to_c_order() {
        let mut src: Vec<u8> = (0..6).collect(); // 2x3 C
        let s = lay(&mut src, &[3, 2], &[1, 3], 0, 1); // its transpose
        let mut out = [0u8; 6];
        unsafe { to_contiguous(&mut out, &s, Order::C) }.unwrap();
        assert_eq!(out, [0, 3, 1, 4, 2, 5]);
        unsafe { to_contiguous(&mut out, &s, Order::F) }.unwrap();
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        // 'A' on a Fortran-contiguous layout means F.
        unsafe { to_contiguous(&mut out, &s, Order::Any) }.unwrap();
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        assert!(unsafe { to_contiguous(&mut out[..5], &s, Order::C) }.is_err());
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
    fn coalescing_merges_contiguous_neighbours() {
        let (sh, d, s) = coalesce(&[2, 1, 3, 4], &[48, 7, 16, 4], &[12, 99, 4, 1]);
        // dst: 3x4 of 4 bytes is contiguous, and 2 steps 48 = 12 * 4 → all merge; src: 3x4
        // of stride 1 merges into 12, and 12 * 1 == 12 → merges too.
        assert_eq!((sh, d, s), (vec![24], vec![4], vec![1]));
        let (sh, _, _) = coalesce(&[2, 3], &[8, 1], &[3, 1]);
        assert_eq!(sh, vec![2, 3]);
    }

    #[test]
    fn indirect_copy() {
        let rows: [[u8; 3]; 2] = [[1, 2, 3], [4, 5, 6]];
        let ptrs: [*const u8; 2] = [rows[1].as_ptr(), rows[0].as_ptr()];
        let src = Layout {
            buf: ptrs.as_ptr() as *mut u8,
            itemsize: 1,
            shape: vec![2, 3],
            strides: vec![std::mem::size_of::<*const u8>() as isize, 1],
            suboffsets: Some(vec![0, -1]),
        };
        let mut out = [0u8; 6];
        unsafe { to_contiguous(&mut out, &src, Order::C) }.unwrap();
        assert_eq!(out, [4, 5, 6, 1, 2, 3]);
        unsafe { to_contiguous(&mut out, &src, Order::F) }.unwrap();
        assert_eq!(out, [4, 1, 5, 2, 6, 3]);
    }
}
