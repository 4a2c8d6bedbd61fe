//! `Dims`: the per-dimension arrays of a layout (shape, strides, suboffsets), kept inline up to
//! [`INLINE`] dimensions so that making, copying and dropping a layout of the common ranks
//! allocates nothing; more dimensions (up to `XBUF_MAX_NDIM`) live on the heap.

use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

/// How many entries a [`Dims`] holds without allocating.
/// cbindgen:ignore
pub const INLINE: usize = 8;

/// A short array of `isize`, one entry per dimension; reads and writes as a slice.
/// cbindgen:ignore
#[derive(Clone)]
pub enum Dims {
    /// The first `len` items are initialized; the rest are never read.
    Inline {
        len: u8,
        items: [MaybeUninit<isize>; INLINE],
    },
    Heap(Vec<isize>),
}

impl Dims {
    /// `n` zeros.
    pub fn zeros(n: usize) -> Dims {
        if n <= INLINE {
            let mut items = [MaybeUninit::uninit(); INLINE];
            items[..n].fill(MaybeUninit::new(0));
            Dims::Inline {
                len: n as u8,
                items,
            }
        } else {
            Dims::Heap(vec![0; n])
        }
    }

    /// A copy of `s`.
    pub fn from_slice(s: &[isize]) -> Dims {
        let mut d = Dims::zeros(s.len());
        d.copy_from_slice(s);
        d
    }

    /// Whether the entries are kept inline (nothing on the heap).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self, Dims::Inline { .. })
    }

    /// Writes a copy of `self` to `dst`, copying only the entries in use when they are inline;
    /// returns the copy's entries.
    ///
    /// # Safety
    /// `dst` must be valid for writes and not overlap `self`; what it held is overwritten, not
    /// dropped. The slice returned borrows `*dst`: it must not outlive it, and `*dst` may not
    /// be used otherwise meanwhile.
    #[inline(always)]
    pub unsafe fn write_copy<'a>(&self, dst: *mut Dims) -> &'a mut [isize] {
        match self {
            Dims::Inline { len, items } => {
                dst.write(Dims::Inline {
                    len: *len,
                    items: [MaybeUninit::uninit(); INLINE],
                });
                // SAFETY: just written as `Inline`, whose array is found through the match
                // below; the two arrays are distinct objects. A fixed-size block (half the
                // array for the lower ranks) copies in a few moves, where an exact length
                // would be a call; the entries beyond `len` it carries are never read.
                let Dims::Inline { items: to, .. } = &mut *dst else {
                    std::hint::unreachable_unchecked()
                };
                const HALF: usize = INLINE / 2;
                let n = *len as usize;
                if n <= HALF {
                    std::ptr::copy_nonoverlapping(
                        items.as_ptr().cast::<[MaybeUninit<isize>; HALF]>(),
                        to.as_mut_ptr().cast::<[MaybeUninit<isize>; HALF]>(),
                        1,
                    );
                } else {
                    *to = *items;
                }
                std::slice::from_raw_parts_mut(to.as_mut_ptr().cast::<isize>(), n)
            }
            Dims::Heap(v) => {
                dst.write(Dims::Heap(v.clone()));
                let Dims::Heap(w) = &mut *dst else {
                    std::hint::unreachable_unchecked()
                };
                w
            }
        }
    }

    /// Removes the entry at `i`, moving the later ones down.
    pub fn remove(&mut self, i: usize) {
        match self {
            Dims::Inline { len, items } => {
                let n = *len as usize;
                items.copy_within(i + 1..n, i);
                *len -= 1;
            }
            Dims::Heap(v) => {
                v.remove(i);
            }
        }
    }
}

impl Deref for Dims {
    type Target = [isize];
    #[inline]
    fn deref(&self) -> &[isize] {
        match self {
            // SAFETY: `len <= INLINE` always and the first `len` items are initialized (set
            // only by `zeros`, `write_copy`, `remove` and `collect`, which keep it so).
            Dims::Inline { len, items } => unsafe {
                std::slice::from_raw_parts(items.as_ptr().cast::<isize>(), *len as usize)
            },
            Dims::Heap(v) => v,
        }
    }
}

impl DerefMut for Dims {
    #[inline]
    fn deref_mut(&mut self) -> &mut [isize] {
        match self {
            // SAFETY: as in `deref`.
            Dims::Inline { len, items } => unsafe {
                std::slice::from_raw_parts_mut(items.as_mut_ptr().cast::<isize>(), *len as usize)
            },
            Dims::Heap(v) => v,
        }
    }
}

impl PartialEq for Dims {
    fn eq(&self, other: &Dims) -> bool {
        **self == **other
    }
}

impl Eq for Dims {}

impl PartialEq<[isize]> for Dims {
    fn eq(&self, other: &[isize]) -> bool {
        **self == *other
    }
}

impl std::fmt::Debug for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl FromIterator<isize> for Dims {
    fn from_iter<I: IntoIterator<Item = isize>>(iter: I) -> Dims {
        let mut d = Dims::zeros(0);
        for x in iter {
            match &mut d {
                Dims::Inline { len, items } if (*len as usize) < INLINE => {
                    items[*len as usize] = MaybeUninit::new(x);
                    *len += 1;
                }
                Dims::Inline { .. } => {
                    let mut v = d.to_vec();
                    v.push(x);
                    d = Dims::Heap(v);
                }
                Dims::Heap(v) => v.push(x),
            }
        }
        d
    }
}

impl From<Vec<isize>> for Dims {
    fn from(v: Vec<isize>) -> Dims {
        if v.len() <= INLINE {
            Dims::from_slice(&v)
        } else {
            Dims::Heap(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_read_the_same() {
        for n in [0usize, 1, 3, INLINE, INLINE + 1, 64] {
            let src: Vec<isize> = (0..n as isize).map(|x| x * 3 - 5).collect();
            let a = Dims::from_slice(&src);
            let b: Dims = src.iter().copied().collect();
            let c = Dims::from(src.clone());
            assert_eq!(&*a, &src[..]);
            assert_eq!(a, b);
            assert_eq!(b, c);
            assert_eq!(matches!(a, Dims::Inline { .. }), n <= INLINE);
            // A copy written in place reads the same, whichever block size it took.
            let mut slot = std::mem::MaybeUninit::<Dims>::uninit();
            // SAFETY: `slot` is writable and distinct from `a`; read only once written.
            let w = unsafe {
                a.write_copy(slot.as_mut_ptr());
                slot.assume_init()
            };
            assert_eq!(&*w, &src[..]);
            assert_eq!(w.is_inline(), n <= INLINE);
            if n > 0 {
                let mut r = a.clone();
                r.remove(0);
                assert_eq!(&*r, &src[1..]);
                let mut w = a.clone();
                w[n - 1] = 99;
                assert_eq!(w[n - 1], 99);
                assert_ne!(w, a);
            }
        }
    }
}
