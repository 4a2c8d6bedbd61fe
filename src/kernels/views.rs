//! Copies between consumers' views (`xbuf_copy`, `xbuf_to_contiguous`,
//! `xbuf_from_contiguous`): every check those calls promise, made here, on layouts that borrow
//! the views' own arrays (nothing is copied into an owned layout first).

use std::ffi::{c_char, CStr};

use super::copy_equal_shapes;
use crate::bail;
use crate::bufferinfo::{check_cpu, read_view, ViewLayout};
use crate::capi::xbuf_bufferinfo;
use crate::layout::{StrideBuf, Strided};
use crate::request::format_text;
use crate::status::Result;

/// The format of a consumer's view (see [`format_text`]).
///
/// # Safety
/// `format` must be NULL or point at a NUL-terminated string that outlives `'a`.
#[inline]
pub(crate) unsafe fn view_format<'a>(format: *const c_char) -> &'a [u8] {
    format_text((!format.is_null()).then(|| CStr::from_ptr(format)))
}

/// Reads a consumer's view that a copy reads from: its layout (in `room` what the view lacks)
/// and the refusal of memory on another device.
///
/// # Safety
/// As [`read_view`].
#[inline]
pub(crate) unsafe fn read_source<'s>(
    view: *const xbuf_bufferinfo,
    room: &'s mut StrideBuf,
    what: &str,
) -> Result<Strided<'s>> {
    let v = read_view(view)?;
    let l = v.strided(room)?;
    check_cpu(v.device, what)?;
    Ok(l)
}

/// As [`read_source`], for a view a copy writes into: also refuses a read-only view.
///
/// # Safety
/// As [`read_view`].
#[inline]
pub(crate) unsafe fn read_destination<'s>(
    view: *const xbuf_bufferinfo,
    room: &'s mut StrideBuf,
    what: &str,
) -> Result<Strided<'s>> {
    let v = read_view(view)?;
    let l = v.strided(room)?;
    check_cpu(v.device, what)?;
    check_writable(&v)?;
    Ok(l)
}

fn check_writable(v: &ViewLayout<'_>) -> Result<()> {
    if v.readonly {
        bail!(ReadOnly, "the destination view is read-only");
    }
    Ok(())
}

/// `xbuf_copy`: copies the items of `src` into `dst` at the same indices, after checking both
/// views, that `dst` is writable, that the shapes are equal and that the formats describe the
/// same item layout. Overlap-safe (see [`copy_strided`](super::copy_strided)).
///
/// # Safety
/// Both must point at views as [`read_view`] requires, describing readable (`src`) and
/// writable (`dst`) memory.
pub(crate) unsafe fn copy_views(
    dst: *const xbuf_bufferinfo,
    src: *const xbuf_bufferinfo,
) -> Result<()> {
    let (mut droom, mut sroom) = (StrideBuf::new(), StrideBuf::new());
    let dv = read_view(dst)?;
    let dl = dv.strided(&mut droom)?;
    let sv = read_view(src)?;
    let sl = sv.strided(&mut sroom)?;
    check_cpu(dv.device, "xbuf_copy")?;
    check_cpu(sv.device, "xbuf_copy")?;
    check_writable(&dv)?;
    if !same_extents(dl.shape, sl.shape) {
        bail!(
            InvalidArgument,
            "shapes differ: destination {:?}, source {:?}",
            dl.shape,
            sl.shape
        );
    }
    let (df, sf) = ((*dst).format, (*src).format);
    if !same_plain_code(df, sf) {
        check_same_format(view_format(df), view_format(sf))?;
    }
    copy_equal_shapes(&dl, &sl)
}

/// Whether two shapes are equal (a loop: they are short).
#[inline]
fn same_extents(a: &[isize], b: &[isize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Whether two format strings are the same one-character plain code (see [`is_plain_code`]),
/// read without measuring them; `false` leaves the decision to [`check_same_format`].
///
/// # Safety
/// Each must be NULL or point at a NUL-terminated string.
#[inline]
unsafe fn same_plain_code(a: *const c_char, b: *const c_char) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    let c = *a as u8;
    // The second byte is read only after the first was not the terminator.
    c != 0 && *b as u8 == c && is_plain_code(&[c]) && *a.add(1) == 0 && *b.add(1) == 0
}

/// Refuses two formats that do not describe the same item layout and types (with
/// `XBUF_ERR_FORMAT`), or that do not parse.
pub(crate) fn check_same_format(df: &[u8], sf: &[u8]) -> Result<()> {
    // The same text of one native standard code: valid, and the same layout.
    if df == sf && is_plain_code(df) {
        return Ok(());
    }
    let same = crate::format::parse(df)?.equivalent(&*crate::format::parse(sf)?);
    if !same {
        bail!(
            Format,
            "formats differ: destination '{}', source '{}'",
            String::from_utf8_lossy(df),
            String::from_utf8_lossy(sf)
        );
    }
    Ok(())
}

/// Formats of one native-mode code that always parse: the integers, `?`, `c`, `e`, `f`, `d`.
#[inline]
fn is_plain_code(f: &[u8]) -> bool {
    matches!(
        f,
        [b'?'
            | b'c'
            | b'b'
            | b'B'
            | b'h'
            | b'H'
            | b'i'
            | b'I'
            | b'l'
            | b'L'
            | b'q'
            | b'Q'
            | b'n'
            | b'N'
            | b'e'
            | b'f'
            | b'd']
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    #[test]
    fn plain_codes_parse_and_match_themselves() {
        for &c in b"?cbBhHiIlLqQnNefd" {
            let f = [c];
            assert!(is_plain_code(&f));
            // The shortcut agrees with the parser on every code it takes.
            let p = crate::format::parse_uncached(&f).unwrap();
            assert!(p.equivalent(&p));
            check_same_format(&f, &f).unwrap();
        }
        for f in [&b"ff"[..], b"<f", b"@f", b"", b"g", b"Z"] {
            assert!(!is_plain_code(f), "{f:?}");
        }
    }

    #[test]
    fn formats_are_compared_by_layout() {
        check_same_format(b"B", b"B").unwrap();
        check_same_format(b"@i", b"i").unwrap();
        assert_eq!(
            check_same_format(b"f", b"i").unwrap_err().status,
            Status::Format
        );
        unsafe {
            assert!(same_plain_code(c"f".as_ptr(), c"f".as_ptr()));
            assert!(!same_plain_code(c"f".as_ptr(), c"d".as_ptr()));
            assert!(!same_plain_code(c"ff".as_ptr(), c"ff".as_ptr()));
            assert!(!same_plain_code(c"f".as_ptr(), c"ff".as_ptr()));
            assert!(!same_plain_code(c"".as_ptr(), c"".as_ptr()));
            assert!(!same_plain_code(c"Z".as_ptr(), c"Z".as_ptr()));
            assert!(!same_plain_code(std::ptr::null(), c"B".as_ptr()));
        }
        assert!(same_extents(&[2, 3], &[2, 3]));
        assert!(!same_extents(&[2, 3], &[2]));
        assert!(!same_extents(&[2, 3], &[3, 2]));
        // Equal texts still have to parse.
        assert!(check_same_format(b"(", b"(").is_err());
        assert_eq!(format_text(None), b"B");
        assert_eq!(format_text(Some(c"<d")), b"<d");
    }
}
