//! Item values: decoding a scalar from bytes (any alignment, either byte order) and Python's
//! equality between values.

use super::{ByteOrder, Format, Kind, Leaf, Scalar};
use crate::bail;
use crate::status::Result;

/// UCS-2 or UCS-4 text as stored: `units.len() / width` code units in `order`.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a> {
    pub units: &'a [u8],
    /// 2 (`u`) or 4 (`w`).
    pub width: usize,
    pub order: ByteOrder,
}

impl<'a> Text<'a> {
    /// The code units (UCS-2) or code points (UCS-4), as stored (not validated).
    pub fn chars(&self) -> impl Iterator<Item = u32> + 'a {
        let (w, o) = (self.width, self.order);
        self.units
            .chunks_exact(w)
            .map(move |c| read_uint(c, o) as u32)
    }
}

/// One decoded scalar.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// Every integer code (`b B h H i I l L q Q n N`) and `t` bit fields.
    Int(i128),
    /// `e f d g`. `g` (long double) is read into the nearest `f64`: on x86-64 from the x87
    /// 80-bit extended format (the low 10 of its 16 bytes; the encodings the x87 refuses,
    /// unnormals, pseudo-infinities and pseudo-NaNs, are NaN, as the hardware converts
    /// them), on aarch64 from IEEE binary128; values outside `f64`'s range become
    /// infinities, precision beyond 53 bits is rounded.
    Float(f64),
    /// `Ze Zf Zd Zg`: real, imaginary.
    Complex(f64, f64),
    /// `?`.
    Bool(bool),
    /// `c`.
    Char(u8),
    /// `s` (all its bytes, NULs included, as `struct.unpack` gives them) and `p` (the bytes its
    /// length byte names, at most `len - 1`).
    Bytes(&'a [u8]),
    /// `u`, `w`.
    Text(Text<'a>),
    /// `P`, `O`, `&`: the address.
    Pointer(usize),
}

fn read_uint(b: &[u8], order: ByteOrder) -> u64 {
    let mut v: u64 = 0;
    match order {
        ByteOrder::Little => {
            for &x in b.iter().rev() {
                v = (v << 8) | x as u64;
            }
        }
        ByteOrder::Big => {
            for &x in b {
                v = (v << 8) | x as u64;
            }
        }
    }
    v
}

/// Half precision to f64 (exact).
pub(crate) fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// x87 80-bit extended (sign+exponent in bits 64..80, explicit integer bit) to the nearest
/// f64, as the x87 converts it: the encodings it refuses as operands (an exponent other
/// than 0 with the integer bit clear: unnormals, pseudo-infinities, pseudo-NaNs) are NaN;
/// pseudo-denormals (exponent 0, integer bit set) are the tiny numbers they encode.
pub(crate) fn x87_to_f64(b: &[u8; 10]) -> f64 {
    let mant = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let se = u16::from_le_bytes([b[8], b[9]]);
    let neg = se & 0x8000 != 0;
    let exp = (se & 0x7fff) as i32;
    let v = if exp != 0 && mant >> 63 == 0 {
        f64::NAN
    } else if exp == 0x7fff {
        if mant << 1 == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if mant == 0 {
        0.0
    } else {
        // value = mant * 2^(exp - 16383 - 63), exponent 0 read as 1 (denormals).
        scale(mant, exp.max(1) - 16383 - 63)
    };
    if neg {
        -v
    } else {
        v
    }
}

/// IEEE binary128 (little-endian bytes) to the nearest f64.
#[cfg_attr(not(any(test, target_arch = "aarch64")), allow(dead_code))]
pub(crate) fn quad_to_f64(b: &[u8; 16]) -> f64 {
    let bits = u128::from_le_bytes(*b);
    let neg = bits >> 127 != 0;
    let exp = ((bits >> 112) & 0x7fff) as i32;
    let frac = bits & ((1u128 << 112) - 1);
    let v = if exp == 0x7fff {
        if frac == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else {
        let (m, e) = if exp == 0 {
            (frac, -16382 - 112)
        } else {
            (frac | (1u128 << 112), exp - 16383 - 112)
        };
        // Keep the top 64 significant bits with a sticky bit, so one rounding happens later.
        let lz = m.leading_zeros() as i32;
        if m == 0 {
            0.0
        } else {
            let shift = (128 - lz - 64).max(0);
            let top = (m >> shift) as u64;
            let sticky = (m & ((1u128 << shift) - 1) != 0) as u64;
            scale(top | sticky, e + shift)
        }
    };
    if neg {
        -v
    } else {
        v
    }
}

/// `m * 2^e` rounded to nearest f64 (one rounding).
fn scale(m: u64, e: i32) -> f64 {
    if m == 0 {
        return 0.0;
    }
    // Normalise to 64 significant bits, then round to 53 (or fewer when subnormal) by hand.
    let lz = m.leading_zeros() as i32;
    let m = m << lz;
    let e = e - lz; // value = m * 2^e, m in [2^63, 2^64)
    let top_exp = e + 63; // unbiased exponent of the leading bit
    if top_exp > 1023 {
        return f64::INFINITY;
    }
    // Number of mantissa bits kept: 53 for normal results, fewer for subnormal ones.
    let keep = if top_exp >= -1022 {
        53
    } else {
        53 - (-1022 - top_exp)
    };
    if keep <= 0 {
        // Below half the smallest subnormal (or exactly half: ties to even gives 0).
        if keep == 0 && m > (1u64 << 63) {
            return f64::from_bits(1);
        }
        return 0.0;
    }
    let drop = 64 - keep;
    let mut q = m >> drop;
    let rem = m & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q += 1;
    }
    // q * 2^(e + drop), with q < 2^54: exact conversions and power-of-two scaling.
    let mut v = q as f64;
    let mut k = e + drop;
    while k > 0 {
        let s = k.min(1000);
        v *= 2f64.powi(s);
        k -= s;
    }
    // Steps of at most 2^-900 keep every intermediate value normal until the last step,
    // which lands on the (representable) result, so every step is exact.
    while k < 0 {
        let step = (-k).min(900);
        v *= 2f64.powi(-step);
        k += step;
    }
    v
}

fn long_double(b: &[u8]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut a = [0u8; 10];
        a.copy_from_slice(&b[..10]);
        x87_to_f64(&a)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[..16]);
        quad_to_f64(&a)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        f64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]))
    }
}

fn float(b: &[u8], order: ByteOrder) -> f64 {
    match b.len() {
        2 => half_to_f64(read_uint(b, order) as u16),
        4 => f32::from_bits(read_uint(b, order) as u32) as f64,
        8 => f64::from_bits(read_uint(b, order)),
        _ => long_double(b),
    }
}

/// Decodes one element of `s` from the start of `bytes` (which may have any alignment).
/// Fails with `XBUF_ERR_OUT_OF_BOUNDS` when `bytes` is shorter than the element.
pub fn decode<'a>(s: &Scalar, bytes: &'a [u8]) -> Result<Value<'a>> {
    if bytes.len() < s.size {
        bail!(
            OutOfBounds,
            "an element of {} bytes does not fit in the {} bytes given",
            s.size,
            bytes.len()
        );
    }
    let b = &bytes[..s.size];
    Ok(match s.kind {
        Kind::Int => {
            let v = read_uint(b, s.order);
            let shift = 64 - 8 * s.size as u32;
            Value::Int((((v << shift) as i64) >> shift) as i128)
        }
        Kind::UInt => Value::Int(read_uint(b, s.order) as i128),
        Kind::Bits => {
            let v = read_uint(b, s.order);
            let mask = if s.len >= 64 {
                u64::MAX
            } else {
                (1u64 << s.len) - 1
            };
            Value::Int((v & mask) as i128)
        }
        Kind::Float => Value::Float(float(b, s.order)),
        Kind::Complex => {
            let h = s.size / 2;
            Value::Complex(float(&b[..h], s.order), float(&b[h..], s.order))
        }
        Kind::Bool => Value::Bool(b[0] != 0),
        Kind::Char => Value::Char(b[0]),
        Kind::Bytes => Value::Bytes(b),
        Kind::Pascal => {
            if b.is_empty() {
                Value::Bytes(b)
            } else {
                let n = (b[0] as usize).min(b.len() - 1);
                Value::Bytes(&b[1..1 + n])
            }
        }
        Kind::Ucs2 | Kind::Ucs4 => Value::Text(Text {
            units: b,
            width: if s.kind == Kind::Ucs2 { 2 } else { 4 },
            order: s.order,
        }),
        Kind::Pointer | Kind::Object | Kind::Ref => {
            Value::Pointer(read_uint(b, ByteOrder::NATIVE) as usize)
        }
    })
}

/// A number as Python sees it, for comparisons.
enum Num {
    Int(i128),
    Float(f64),
    Complex(f64, f64),
}

fn num(v: &Value) -> Option<Num> {
    Some(match *v {
        Value::Int(i) => Num::Int(i),
        Value::Bool(b) => Num::Int(b as i128),
        Value::Pointer(p) => Num::Int(p as i128),
        Value::Float(f) => Num::Float(f),
        Value::Complex(r, i) => Num::Complex(r, i),
        _ => return None,
    })
}

/// Python's `int == float`: exact.
fn int_eq_float(i: i128, f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38 && f as i128 == i
}

fn real_eq(a: &Num, b: &Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x == y,
        (Num::Int(x), Num::Float(y)) | (Num::Float(y), Num::Int(x)) => int_eq_float(*x, *y),
        (Num::Float(x), Num::Float(y)) => x == y,
        _ => false,
    }
}

/// Equality with Python's semantics: numbers compare by value across types (`1 == 1.0 ==
/// True == 1+0j`), NaN equals nothing, `-0.0 == 0.0`; `c` and `s`/`p` values are bytes (`b"a"
/// == b"a"`); text equals text with the same code points; bytes never equal text.
pub fn value_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return match (&x, &y) {
            (Num::Complex(r1, i1), Num::Complex(r2, i2)) => r1 == r2 && i1 == i2,
            (Num::Complex(r, i), other) | (other, Num::Complex(r, i)) => {
                *i == 0.0 && real_eq(&Num::Float(*r), other)
            }
            _ => real_eq(&x, &y),
        };
    }
    match (a, b) {
        (Value::Char(x), Value::Char(y)) => x == y,
        (Value::Char(x), Value::Bytes(y)) | (Value::Bytes(y), Value::Char(x)) => {
            y.len() == 1 && y[0] == *x
        }
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Text(x), Value::Text(y)) => {
            x.units.len() / x.width == y.units.len() / y.width && x.chars().eq(y.chars())
        }
        _ => false,
    }
}

/// Every value of an item in memory order, leaf by leaf.
pub(crate) fn values<'a>(
    leaves: &'a [Leaf],
    item: &'a [u8],
) -> impl Iterator<Item = Result<Value<'a>>> + 'a {
    leaves.iter().flat_map(move |l| {
        (0..l.count).map(move |k| {
            let at = l.offset + k * l.scalar.size;
            match item.get(at..) {
                Some(b) => decode(&l.scalar, b),
                None => Err(crate::err!(
                    OutOfBounds,
                    "offset {at} lies outside the {} bytes given",
                    item.len()
                )),
            }
        })
    })
}

/// Whether two items are equal value by value, as Python compares the tuples
/// `struct.unpack` gives: both items' scalars are taken in memory order (names, nesting and
/// sub-array grouping do not matter; padding is ignored) and compared with [`value_eq`];
/// items with different numbers of values are unequal. An item slice shorter than its
/// format's itemsize compares unequal.
pub fn items_equal(fmt_a: &Format, item_a: &[u8], fmt_b: &Format, item_b: &[u8]) -> bool {
    if item_a.len() < fmt_a.itemsize() || item_b.len() < fmt_b.itemsize() {
        return false;
    }
    if fmt_a.value_count() != fmt_b.value_count() {
        return false;
    }
    values(fmt_a.leaves(), item_a)
        .zip(values(fmt_b.leaves(), item_b))
        .all(|(x, y)| match (x, y) {
            (Ok(x), Ok(y)) => value_eq(&x, &y),
            _ => false,
        })
}
