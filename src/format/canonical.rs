//! Canonical text: one spelling per layout, written from the leaf list.

use std::fmt::Write;

use super::{Kind, Leaf, Scalar};

/// The mode prefix a scalar is written with: `<` or `>` for types with a standard size,
/// `^` for the native-only ones.
fn prefix(s: &Scalar) -> u8 {
    let native_only = match s.kind {
        Kind::Pointer | Kind::Object | Kind::Ref => true,
        Kind::Float => s.size > 8,
        Kind::Complex => s.size > 16,
        _ => false,
    };
    if native_only {
        b'^'
    } else {
        s.order.as_char()
    }
}

/// Writes `count` elements of `s` without the prefix: `4i`, `10s`, `(3)10s`, `Zd`.
fn write_code(s: &Scalar, count: usize, out: &mut String) {
    let code: &str = match s.kind {
        Kind::Int | Kind::UInt => {
            let signed = s.kind == Kind::Int;
            match (s.size, signed) {
                (1, true) => "b",
                (1, false) => "B",
                (2, true) => "h",
                (2, false) => "H",
                (4, true) => "i",
                (4, false) => "I",
                (_, true) => "q",
                (_, false) => "Q",
            }
        }
        Kind::Float => match s.size {
            2 => "e",
            4 => "f",
            8 => "d",
            _ => "g",
        },
        Kind::Complex => match s.size {
            4 => "Ze",
            8 => "Zf",
            16 => "Zd",
            _ => "Zg",
        },
        Kind::Bool => "?",
        Kind::Char => "c",
        Kind::Bytes => "s",
        Kind::Pascal => "p",
        Kind::Ucs2 => "u",
        Kind::Ucs4 => "w",
        Kind::Bits => "t",
        Kind::Pointer => "P",
        Kind::Object => "O",
        Kind::Ref => "&",
    };
    let has_len = matches!(
        s.kind,
        Kind::Bytes | Kind::Pascal | Kind::Ucs2 | Kind::Ucs4 | Kind::Bits
    );
    if has_len {
        if count != 1 {
            let _ = write!(out, "({count})");
        }
        if s.len != 1 {
            let _ = write!(out, "{}", s.len);
        }
    } else if count != 1 {
        let _ = write!(out, "{count}");
    }
    out.push_str(code);
    if let Some(p) = &s.pointee {
        out.push_str(p);
    }
}

/// The canonical code character of `s` (`'Z'` for complex).
pub fn canonical_code(s: &Scalar) -> u8 {
    let mut t = String::new();
    write_code(s, 1, &mut t);
    t.bytes().find(|c| !c.is_ascii_digit()).unwrap_or(b'?')
}

/// `count` elements of `s` with their prefix.
pub(super) fn scalar_text(s: &Scalar, count: usize) -> String {
    let mut out = String::new();
    out.push(prefix(s) as char);
    write_code(s, count, &mut out);
    out
}

/// The canonical text of an item of `size` bytes with these leaves.
pub(super) fn canonical_text(leaves: &[Leaf], size: usize) -> String {
    let mut out = String::with_capacity(leaves.len() * 3 + 4);
    let mut pos = 0usize;
    let mut mode = 0u8;
    for l in leaves {
        if l.offset > pos {
            let pad = l.offset - pos;
            if pad == 1 {
                out.push('x');
            } else {
                let _ = write!(out, "{pad}x");
            }
        }
        let p = prefix(&l.scalar);
        if p != mode {
            out.push(p as char);
            mode = p;
        }
        write_code(&l.scalar, l.count, &mut out);
        pos = l.offset + l.bytes();
    }
    if size > pos {
        let pad = size - pos;
        if pad == 1 {
            out.push('x');
        } else {
            let _ = write!(out, "{pad}x");
        }
    }
    out
}
