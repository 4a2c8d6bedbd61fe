//! Small layouts: the copy paths instantiated for one and two dimensions. With the number of
//! dimensions known when the code is compiled, the planning of a copy (dropping extent-1
//! dimensions, flipping, sorting, merging), its overlap test and its contiguity tests unroll
//! into a few comparisons without loops or bounds checks, so that a 64-item copy or an 8x8
//! transpose costs little beyond moving its bytes. The code is the general code: only the
//! number of dimensions it sees is fixed.

use crate::layout::Strided;

/// Evaluates `$body` once for layouts (`Strided` values named by the identifiers) of one
/// dimension, once for two, once for any other number (or layouts whose numbers differ): in
/// the first two, each identifier is rebound to its layout with shape and strides borrowed as
/// arrays of that length ([`fixed`]), so the compiler sees the length. The values are the same
/// in all three; `?` and `return` in `$body` act on the enclosing function. With `N;` first,
/// the constant `N` holds the most dimensions the body can see (1, 2, else `XBUF_MAX_NDIM`),
/// for sizing what it keeps per dimension.
macro_rules! by_ndim {
    ($n:ident; $($l:ident),+ => $body:expr) => {{
        if $($l.shape.len() == 1 && $l.strides.len() == 1 &&)+ true {
            const $n: usize = 1;
            $(let $l = &$crate::kernels::small::fixed::<1>($l);)+
            $body
        } else if $($l.shape.len() == 2 && $l.strides.len() == 2 &&)+ true {
            const $n: usize = 2;
            $(let $l = &$crate::kernels::small::fixed::<2>($l);)+
            $body
        } else {
            const $n: usize = $crate::kernels::MAX_DIMS;
            $body
        }
    }};
    ($($l:ident),+ => $body:expr) => {
        $crate::kernels::small::by_ndim!(_N; $($l),+ => { $body })
    };
}
pub(crate) use by_ndim;

/// The layout with its shape and strides borrowed as arrays of `N` entries (a length the
/// compiler then knows). The caller has checked that both have `N` entries.
#[inline(always)]
pub(crate) fn fixed<'a, const N: usize>(l: &Strided<'a>) -> Strided<'a> {
    let shape: &'a [isize; N] = l.shape.try_into().expect("N dimensions");
    let strides: &'a [isize; N] = l.strides.try_into().expect("N strides");
    Strided {
        buf: l.buf,
        itemsize: l.itemsize,
        shape,
        strides,
        suboffsets: l.suboffsets,
    }
}
