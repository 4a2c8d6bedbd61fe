//! `Dims`: the per-dimension arrays of a layout (shape, strides, suboffsets), kept inline up to
//! [`INLINE`] dimensions so that making, copying and dropping a layout of the common ranks
//! allocates nothing; more dimensions (up to `XBUF_MAX_NDIM`) live on the heap.

use std::ops::{Deref, DerefMut};

/// How many entries a [`Dims`] holds without allocating.
/// cbindgen:ignore
pub const INLINE: usize = 8;

/// A short array of `isize`, one entry per dimension; reads and writes as a slice.
/// cbindgen:ignore
#[derive(Clone)]
pub enum Dims {
    Inline { len: u8, items: [isize; INLINE] },
    Heap(Vec<isize>),
}

impl Dims {
    /// `n` zeros.
    pub fn zeros(n: usize) -> Dims {
        if n <= INLINE {
            Dims::Inline {
                len: n as u8,
                items: [0; INLINE],
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
            // SAFETY: `len <= INLINE` always (set only by `zeros`, `remove` and `collect`,
            // which keep it so).
            Dims::Inline { len, items } => unsafe { items.get_unchecked(..*len as usize) },
            Dims::Heap(v) => v,
        }
    }
}

impl DerefMut for Dims {
    #[inline]
    fn deref_mut(&mut self) -> &mut [isize] {
        match self {
            // SAFETY: as in `deref`.
            Dims::Inline { len, items } => unsafe { items.get_unchecked_mut(..*len as usize) },
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
                    items[*len as usize] = x;
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
