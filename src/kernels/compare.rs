//! Value comparison of two layouts, item by item, for every format (memoryview's `==`).

use super::{
    for_each_outer, in_parallel, max_threads, plan_dims, Dim, DimList, BYTES_PER_THREAD, MAX_DIMS,
};
use crate::format::Format;
use crate::layout::{for_each_pair, Layout};

/// How the items of two views compare, chosen once per comparison from their formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    /// Equal values exactly when the bytes are equal: integers, characters, byte strings and
    /// pointers filling the whole item, in formats of the same layout.
    Bytes,
    /// One native-order 4-byte float per item in both (NaN never equal, -0.0 == 0.0).
    F32,
    /// One native-order 8-byte float per item in both.
    F64,
    /// Value by value (`format::items_equal`).
    Values,
}

pub(crate) fn compare_kind(fa: &Format, fb: &Format) -> Compare {
    use crate::format::{ByteOrder, Kind};
    let single = |f: &Format, size: usize| {
        matches!(f.leaves(), [l] if l.count == 1
            && l.scalar.kind == Kind::Float
            && l.scalar.size == size
            && l.scalar.order == ByteOrder::NATIVE
            && f.itemsize() == size)
    };
    if single(fa, 4) && single(fb, 4) {
        return Compare::F32;
    }
    if single(fa, 8) && single(fb, 8) {
        return Compare::F64;
    }
    let covered: usize = fa.leaves().iter().map(|l| l.bytes()).sum();
    let bytewise = fa.leaves().iter().all(|l| {
        matches!(
            l.scalar.kind,
            Kind::Int
                | Kind::UInt
                | Kind::Char
                | Kind::Bytes
                | Kind::Pointer
                | Kind::Object
                | Kind::Ref
        )
    });
    if fa.equivalent(fb) && bytewise && covered == fa.itemsize() {
        Compare::Bytes
    } else {
        Compare::Values
    }
}

/// Whether `n` items at `pa` (step `sa`) equal `n` items at `pb` (step `sb`).
#[inline(always)]
pub(crate) unsafe fn run_equal(
    pa: *const u8,
    sa: isize,
    pb: *const u8,
    sb: isize,
    n: isize,
    how: Compare,
    (fa, fb): (&Format, &Format),
) -> bool {
    /// Compares in chunks without an exit per item, so that the loop vectorises; unit
    /// strides get a loop of their own (the compiler then knows the step).
    #[inline(always)]
    unsafe fn floats<T: Copy + PartialEq>(
        pa: *const u8,
        sa: isize,
        pb: *const u8,
        sb: isize,
        n: isize,
    ) -> bool {
        const CHUNK: isize = 256;
        let unit = std::mem::size_of::<T>() as isize;
        let mut k = 0;
        while k < n {
            let end = (k + CHUNK).min(n);
            let mut eq = true;
            if sa == unit && sb == unit {
                let (a, b) = (pa as *const T, pb as *const T);
                for i in k..end {
                    eq &= a.offset(i).read_unaligned() == b.offset(i).read_unaligned();
                }
            } else {
                for i in k..end {
                    let x = (pa.wrapping_offset(i * sa) as *const T).read_unaligned();
                    let y = (pb.wrapping_offset(i * sb) as *const T).read_unaligned();
                    eq &= x == y;
                }
            }
            if !eq {
                return false;
            }
            k = end;
        }
        true
    }
    let size = fa.itemsize() as isize;
    match how {
        Compare::F32 => floats::<f32>(pa, sa, pb, sb, n),
        Compare::F64 => floats::<f64>(pa, sa, pb, sb, n),
        Compare::Bytes if sa == size && sb == size => {
            let len = (n * size) as usize;
            std::slice::from_raw_parts(pa, len) == std::slice::from_raw_parts(pb, len)
        }
        Compare::Bytes => (0..n).all(|i| {
            std::slice::from_raw_parts(pa.wrapping_offset(i * sa), size as usize)
                == std::slice::from_raw_parts(pb.wrapping_offset(i * sb), size as usize)
        }),
        Compare::Values => (0..n).all(|i| {
            let x = std::slice::from_raw_parts(pa.wrapping_offset(i * sa), fa.itemsize());
            let y = std::slice::from_raw_parts(pb.wrapping_offset(i * sb), fb.itemsize());
            crate::format::items_equal(fa, x, fb, y)
        }),
    }
}

/// Whether two views are equal as memoryview's `==` defines it: the same shape, and every pair
/// of items at the same indices equal by value (`1 == 1.0`, NaN never equal, `-0.0 == 0.0`),
/// for any two formats.
///
/// # Safety
/// Both layouts must describe readable memory (pointer tables included) holding items of
/// their formats.
pub unsafe fn equal(a: &Layout, fa: &Format, b: &Layout, fb: &Format) -> bool {
    if a.shape != b.shape {
        return false;
    }
    let how = compare_kind(fa, fb);
    if a.suboffsets.is_some() || b.suboffsets.is_some() {
        // Indirect layouts: item by item in C order.
        let mut eq = true;
        for_each_pair(&a.strided(), &b.strided(), |p, q| {
            eq = eq && run_equal(p, 0, q, 0, 1, how, (fa, fb));
        });
        return eq;
    }
    if a.count() == 0 {
        return true;
    }
    let (mut pa, mut pb) = (a.buf, b.buf as *const u8);
    let mut dims = DimList::<MAX_DIMS>::new();
    plan_dims(
        &a.shape, &a.strides, &b.strides, &mut pa, &mut pb, &mut dims,
    );
    if dims.is_empty() {
        return run_equal(pa, 0, pb, 0, 1, how, (fa, fb));
    }
    let rows = |dims: &[Dim], pa: *mut u8, pb: *const u8| -> bool {
        let (inner, outer) = dims.split_last().expect("at least one dimension");
        let mut eq = true;
        for_each_outer(outer, pa, pb, |x, y| {
            eq = eq && run_equal(x, inner.d, y, inner.s, inner.n, how, (fa, fb));
        });
        eq
    };
    let bytes = a.byte_len();
    if bytes >= 2 * BYTES_PER_THREAD {
        if let Some(pieces) = in_parallel(&dims, pa, pb, bytes, max_threads(), rows) {
            return pieces.into_iter().all(|eq| eq);
        }
    }
    rows(&dims, pa, pb)
}
