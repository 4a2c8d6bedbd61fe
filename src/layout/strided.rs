//! The borrowed layout: shape, strides and suboffsets as slices of someone else's arrays (an
//! owned [`Layout`](super::Layout), a consumer's `xbuf_bufferinfo`, or a few words on the
//! caller's stack), so that a copy reads a consumer's view without building an owned layout.

use std::mem::MaybeUninit;

use crate::capi::XBUF_MAX_NDIM;
use crate::layout::{self, Order};
use crate::status::Result;

/// A strided layout over raw memory whose per-dimension arrays are borrowed: item
/// `(i0, i1, ...)` lies at `buf + sum(ik * strides[k])`, following suboffsets as PEP 3118
/// defines them. `shape` and `strides` have the same length; `suboffsets`, when present, too.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a> {
    pub buf: *mut u8,
    pub itemsize: isize,
    pub shape: &'a [isize],
    pub strides: &'a [isize],
    /// Present only when some dimension really is indirect (an entry `>= 0`).
    pub suboffsets: Option<&'a [isize]>,
}

/// Room on the stack for the strides a borrowed layout computes itself (a consumer's view
/// without strides, a contiguous destination), up to `XBUF_MAX_NDIM` dimensions; written only
/// as far as used.
pub struct StrideBuf {
    one: isize,
    words: [MaybeUninit<isize>; XBUF_MAX_NDIM as usize],
}

impl StrideBuf {
    #[inline]
    pub fn new() -> StrideBuf {
        StrideBuf {
            one: 0,
            words: [MaybeUninit::uninit(); XBUF_MAX_NDIM as usize],
        }
    }

    /// The strides of a contiguous layout of `shape` in `order`, written here.
    #[inline]
    pub fn contiguous(
        &mut self,
        shape: &[isize],
        itemsize: isize,
        order: Order,
    ) -> Result<&[isize]> {
        contiguous_into(&mut self.words, shape, itemsize, order)
    }

    /// A layout's shape and strides: `shape`, or when absent one dimension of `one` items kept
    /// here; `strides`, or when absent the C-contiguous ones made here.
    #[inline]
    pub fn complete<'s>(
        &'s mut self,
        shape: Option<&'s [isize]>,
        one: isize,
        strides: Option<&'s [isize]>,
        itemsize: isize,
    ) -> Result<(&'s [isize], &'s [isize])> {
        let StrideBuf { one: slot, words } = self;
        let shape: &'s [isize] = match shape {
            Some(s) => s,
            None => {
                *slot = one;
                let slot: &'s isize = slot;
                std::slice::from_ref(slot)
            }
        };
        let strides = match strides {
            Some(s) => s,
            None => contiguous_into(words, shape, itemsize, Order::C)?,
        };
        Ok((shape, strides))
    }
}

/// Writes the strides of a contiguous layout of `shape` into the first `shape.len()` words.
#[inline]
fn contiguous_into<'s>(
    words: &'s mut [MaybeUninit<isize>],
    shape: &[isize],
    itemsize: isize,
    order: Order,
) -> Result<&'s [isize]> {
    let n = shape.len();
    assert!(n <= words.len(), "more than XBUF_MAX_NDIM dimensions");
    let words = &mut words[..n];
    // Every word is written first; a step that overflows hands the whole job to
    // `layout::contiguous_strides`, which decides what such a layout gets.
    let mut step = itemsize;
    let mut overflowed = false;
    let mut set = |d: usize| {
        words[d].write(step);
        match step.checked_mul(shape[d].max(1)) {
            Some(s) => step = s,
            None => overflowed = true,
        }
    };
    match order {
        Order::C | Order::Any => (0..n).rev().for_each(&mut set),
        Order::F => (0..n).for_each(&mut set),
    }
    // SAFETY: the first `n` words were just written, and `isize` has no invalid values.
    let strides = unsafe { &mut *(words as *mut [MaybeUninit<isize>] as *mut [isize]) };
    if overflowed {
        layout::contiguous_strides(shape, itemsize, order, strides)?;
    }
    Ok(strides)
}

impl Default for StrideBuf {
    fn default() -> StrideBuf {
        StrideBuf::new()
    }
}

impl<'a> Strided<'a> {
    /// A contiguous layout of `shape` in `order` (`Any` means C) at `buf`, its strides kept in
    /// `room`.
    #[inline]
    pub fn contiguous(
        buf: *mut u8,
        shape: &'a [isize],
        itemsize: isize,
        order: Order,
        room: &'a mut StrideBuf,
    ) -> Result<Strided<'a>> {
        let strides = room.contiguous(shape, itemsize, order)?;
        Ok(Strided {
            buf,
            itemsize,
            shape,
            strides,
            suboffsets: None,
        })
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of items (the shape was checked when the layout was made).
    #[inline]
    pub fn count(&self) -> usize {
        let mut n: isize = 1;
        for &s in self.shape {
            n = n.wrapping_mul(s);
        }
        n as usize
    }

    /// `count * itemsize` in bytes.
    #[inline]
    pub fn byte_len(&self) -> usize {
        self.count().wrapping_mul(self.itemsize as usize)
    }

    #[inline(always)]
    pub fn is_contiguous(&self, order: Order) -> bool {
        layout::is_contiguous(
            self.shape,
            Some(self.strides),
            self.suboffsets.is_some(),
            self.itemsize,
            order,
        )
    }

    /// The address range `[lo, hi)` the items occupy, for a layout with items and without
    /// suboffsets; `None` otherwise, and when the range does not fit the address space.
    #[inline(always)]
    pub fn span(&self) -> Option<(usize, usize)> {
        if self.suboffsets.is_some() {
            return None;
        }
        let (mut lo, mut hi) = (0isize, 0isize);
        for (&n, &s) in self.shape.iter().zip(self.strides) {
            if n == 0 {
                return None;
            }
            let reach = (n - 1).checked_mul(s)?;
            if reach < 0 {
                lo = lo.checked_add(reach)?;
            } else {
                hi = hi.checked_add(reach)?;
            }
        }
        let hi = hi.checked_add(self.itemsize)?;
        let base = self.buf as usize;
        Some((base.checked_add_signed(lo)?, base.checked_add_signed(hi)?))
    }
}
