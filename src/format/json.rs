//! Items as JSON text: the values the value rule gives (see "Values" in the [module
//! docs](super): `struct.unpack`'s tuple where the struct module parses the format, a single
//! value unwrapped; NumPy's reading elsewhere), written exactly as Python's `json.dumps`
//! writes them, with its default `ensure_ascii=True`, so the output is ASCII:
//!
//! * integers in decimal; `?` as `true`/`false`; pointers as their address in decimal;
//! * floats exactly as Python's `repr` writes them (the shortest text that reads back to the
//!   same double, a tie between two such texts going to the even last digit: `0.1`,
//!   `1e+16`, `-0.0`, `1.5e-07`, `1957509573526577.2`), and `NaN`, `Infinity`, `-Infinity`
//!   as Python's json module writes them (not strict JSON, as there); `e`, `f` and `g`
//!   values are first widened to double, as Python does;
//! * complex values as `[real, imag]` (Python's json has no complex);
//! * `c`, `s`, `p` as strings with one character per byte, the byte's value as its code point
//!   (Latin-1), so non-ASCII bytes come out as `\u00XX` (NULs as `\u0000`);
//! * `u` as one `\uXXXX` per non-ASCII code unit, `w` as characters (non-BMP ones as a
//!   surrogate pair, as Python writes them); a `w` value above U+10FFFF, which is no
//!   character, is written as U+FFFD;
//! * lists as arrays, records (structs with names) as objects.

use std::fmt::Write;

use super::item::{walk, Visit};
use super::{Format, Value};
use crate::bail;
use crate::status::Result;

/// Appends the JSON text of the item `item` (at least `fmt.itemsize()` bytes) to `out`.
/// Fails with `XBUF_ERR_OUT_OF_BOUNDS` when `item` is too short, and with
/// `XBUF_ERR_UNSUPPORTED` when the format renders more than `16 * itemsize +`
/// [`JSON_NODE_SLACK`](super::JSON_NODE_SLACK) values and arrays.
pub fn write_json(fmt: &Format, item: &[u8], out: &mut String) -> Result<()> {
    let root = fmt.root();
    let limit = fmt
        .itemsize()
        .saturating_mul(16)
        .saturating_add(super::JSON_NODE_SLACK);
    if root.nodes > limit {
        bail!(
            Unsupported,
            "format '{}' renders {} values and arrays from {} bytes, more than the limit {limit}",
            fmt.canonical(),
            root.nodes,
            fmt.itemsize()
        );
    }
    walk(fmt, item, &mut Json { out, first: true })
}

/// The JSON writer: `first` is true right after an opening bracket or a key, where the next
/// element takes no separator.
struct Json<'o> {
    out: &'o mut String,
    first: bool,
}

impl Json<'_> {
    fn sep(&mut self) {
        if !self.first {
            self.out.push_str(", ");
        }
    }
}

impl<'a> Visit<'a> for Json<'_> {
    fn value(&mut self, v: Value<'a>) -> Result<()> {
        self.sep();
        write_value(&v, self.out);
        self.first = false;
        Ok(())
    }
    fn begin_list(&mut self) -> Result<()> {
        self.sep();
        self.out.push('[');
        self.first = true;
        Ok(())
    }
    fn end_list(&mut self) -> Result<()> {
        self.out.push(']');
        self.first = false;
        Ok(())
    }
    fn begin_record(&mut self) -> Result<()> {
        self.sep();
        self.out.push('{');
        self.first = true;
        Ok(())
    }
    fn key(&mut self, name: &str) -> Result<()> {
        self.sep();
        write_str_chars(name.chars().map(|c| c as u32), self.out);
        self.out.push_str(": ");
        self.first = true;
        Ok(())
    }
    fn end_record(&mut self) -> Result<()> {
        self.out.push('}');
        self.first = false;
        Ok(())
    }
}

/// Appends one value's JSON text.
pub fn write_value(v: &Value, out: &mut String) {
    match *v {
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Pointer(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Float(f) => write_float(f, out),
        Value::Complex(r, i) => {
            out.push('[');
            write_float(r, out);
            out.push_str(", ");
            write_float(i, out);
            out.push(']');
        }
        Value::Char(c) => write_str_chars(std::iter::once(c as u32), out),
        Value::Bytes(b) => write_str_chars(b.iter().map(|&c| c as u32), out),
        Value::Text(t) => {
            if t.width == 2 {
                write_str_units(t.chars(), out)
            } else {
                write_str_chars(t.chars(), out)
            }
        }
    }
}

/// A JSON string of UTF-16 code units, escaped as Python's json does with `ensure_ascii`.
fn write_str_units(units: impl Iterator<Item = u32>, out: &mut String) {
    out.push('"');
    for u in units {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(u as u8 as char),
            _ => {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out.push('"');
}

/// A JSON string of code points (split into surrogate pairs above U+FFFF).
fn write_str_chars(chars: impl Iterator<Item = u32>, out: &mut String) {
    write_str_units(
        chars
            .flat_map(|c| {
                let c = if c > 0x10ffff { 0xfffd } else { c };
                if c > 0xffff {
                    let v = c - 0x10000;
                    [Some(0xd800 | (v >> 10)), Some(0xdc00 | (v & 0x3ff))]
                } else {
                    [Some(c), None]
                }
            })
            .flatten(),
        out,
    )
}

/// Python's `repr(float)`: the shortest digits that read back to `x` (of two such digit
/// strings equally close to `x`, the one ending in an even digit, as Python's correctly
/// rounded conversion chooses), positional for exponents from -4 to 15, else scientific
/// with a signed, at least two-digit exponent.
pub fn write_float(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    let (neg, digits, exp) = shortest_digits(x);
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
}

/// Splits Rust's `{:e}` text (`"-1.2345e-7"`) into the sign, the digits and the exponent.
fn split_sci(sci: &str) -> (bool, String, i32) {
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    (neg, mant.chars().filter(|c| *c != '.').collect(), exp)
}

/// The sign, the shortest round-trip digits and the decimal exponent of the first digit of
/// the finite, non-zero `x`, ties between two shortest candidates going to the even one.
///
/// Rust's `{:e}` gives the shortest digit count and, among the candidates of that length
/// that read back to `x`, the nearest one; but when two are equally near it takes the upper
/// one, where Python takes the even one. Two candidates of `n` digits are equally near only
/// when `x` itself is exactly `n + 1` significant digits ending in 5; only then is `x` also
/// rounded to `n` digits with `{:.N e}` (exact, half to even), and that text is used when it
/// reads back to `x`.
fn shortest_digits(x: f64) -> (bool, String, i32) {
    let short = split_sci(&format!("{x:e}"));
    if exact_digits(x) == Some((short.1.len() + 1, 5)) {
        let even = format!("{:.*e}", short.1.len() - 1, x);
        if even.parse::<f64>() == Ok(x) {
            return split_sci(&even);
        }
    }
    short
}

/// The number of significant decimal digits of the finite, non-zero `x`'s exact value and
/// its last significant digit; `None` for some values that have more than 19 significant
/// digits or end in an even digit (neither can be such a tie).
fn exact_digits(x: f64) -> Option<(usize, u8)> {
    let bits = x.abs().to_bits();
    let (biased, frac) = ((bits >> 52) as i32, bits & ((1u64 << 52) - 1));
    let (mut m, mut e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return None;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    e += tz as i32;
    // |x| = m * 2^e with m odd (m < 2^53).
    let mut d: u128 = if e >= 0 {
        // m * 2^e ends in an even digit unless e is at most the number of fives in m (< 23).
        if e > 64 {
            return None;
        }
        u128::from(m) << e
    } else {
        // m * 2^e = m * 5^-e / 10^-e; from 5^28 on that has more than 19 digits.
        if -e > 27 {
            return None;
        }
        u128::from(m) * 5u128.pow((-e) as u32)
    };
    while d % 10 == 0 {
        d /= 10;
    }
    let last = (d % 10) as u8;
    let mut n = 0;
    while d > 0 {
        d /= 10;
        n += 1;
    }
    Some((n, last))
}
