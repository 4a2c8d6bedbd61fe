//! Item format strings (PEP 3118 struct syntax).
//!
//! This module currently understands the `struct`-module subset: an optional byte-order
//! prefix (`@ = < > !`), then codes with optional repeat counts. Native mode (`@`, the
//! default) uses native sizes and alignment; the other prefixes use standard sizes without
//! padding.

use crate::layout::describe_char;
use crate::status::{overflow, Result};
use crate::{bail, err};

/// Size and alignment of one code in native mode, or `None` if the code is not known.
fn native(code: u8) -> Option<(usize, usize)> {
    use std::mem::{align_of, size_of};
    use std::os::raw::*;
    Some(match code {
        b'x' | b'c' | b'b' | b'B' | b'?' | b's' | b'p' => (1, 1),
        b'h' | b'H' => (size_of::<c_short>(), align_of::<c_short>()),
        b'i' | b'I' => (size_of::<c_int>(), align_of::<c_int>()),
        b'l' | b'L' => (size_of::<c_long>(), align_of::<c_long>()),
        b'q' | b'Q' => (size_of::<c_longlong>(), align_of::<c_longlong>()),
        b'n' | b'N' => (size_of::<isize>(), align_of::<isize>()),
        b'e' => (2, 2),
        b'f' => (4, 4),
        b'd' => (8, 8),
        b'P' => (size_of::<*const u8>(), align_of::<*const u8>()),
        _ => return None,
    })
}

/// Size of one code in standard mode, or `None` if the code has no standard size.
fn standard(code: u8) -> Option<usize> {
    Some(match code {
        b'x' | b'c' | b'b' | b'B' | b'?' | b's' | b'p' => 1,
        b'h' | b'H' | b'e' => 2,
        b'i' | b'I' | b'l' | b'L' | b'f' => 4,
        b'q' | b'Q' | b'd' => 8,
        _ => return None,
    })
}

/// The item size of a format string, as Python's `struct.calcsize` computes it.
pub fn itemsize(fmt: &[u8]) -> Result<usize> {
    let text = String::from_utf8_lossy(fmt);
    let (native_mode, mut pos) = match fmt.first() {
        Some(b'@') => (true, 1),
        Some(b'=' | b'<' | b'>' | b'!') => (false, 1),
        _ => (true, 0),
    };
    let mut size: usize = 0;
    while pos < fmt.len() {
        let c = fmt[pos];
        if c.is_ascii_whitespace() {
            pos += 1;
            continue;
        }
        let start = pos;
        let mut count: Option<usize> = None;
        while pos < fmt.len() && fmt[pos].is_ascii_digit() {
            let digit = (fmt[pos] - b'0') as usize;
            count = Some(
                count
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(digit))
                    .ok_or_else(|| {
                        overflow(format!(
                            "the repeat count at offset {start} in format '{text}'"
                        ))
                    })?,
            );
            pos += 1;
        }
        let Some(&code) = fmt.get(pos) else {
            bail!(
                Format,
                "repeat count without a code at offset {start} in format '{text}'"
            );
        };
        let n = count.unwrap_or(1);
        let (unit, align) = if native_mode {
            native(code)
        } else {
            standard(code).map(|s| (s, 1))
        }
        .ok_or_else(|| {
            err!(
                Format,
                "unexpected {} at offset {pos} in format '{text}'",
                describe_char(code)
            )
        })?;
        if native_mode && align > 1 {
            size = size
                .checked_next_multiple_of(align)
                .ok_or_else(|| overflow(format!("the size of format '{text}'")))?;
        }
        let add = if code == b's' || code == b'p' {
            n
        } else {
            unit.checked_mul(n)
                .ok_or_else(|| overflow(format!("the size of format '{text}'")))?
        };
        size = size
            .checked_add(add)
            .ok_or_else(|| overflow(format!("the size of format '{text}'")))?;
        pos += 1;
    }
    if size > isize::MAX as usize {
        bail!(Overflow, "the size of format '{text}' overflows");
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    #[test]
    fn struct_module_sizes() {
        for (f, n) in [
            ("B", 1),
            ("d", 8),
            ("<i", 4),
            ("@bi", 8),
            ("=bi", 5),
            ("3h", 6),
            ("10s", 10),
            ("", 0),
            ("@ci?", 9),
        ] {
            assert_eq!(itemsize(f.as_bytes()).unwrap(), n, "{f}");
        }
        let e = itemsize(b"<2k").unwrap_err();
        assert_eq!(e.status, Status::Format);
        assert_eq!(e.message, "unexpected 'k' at offset 2 in format '<2k'");
        assert_eq!(
            itemsize(b"99999999999999999999999b").unwrap_err().status,
            Status::Overflow
        );
    }
}
