//! Rendering a layout's items as JSON nested lists (tolist), into a `String` or a caller's
//! buffer.

use std::ptr;

use crate::err;
use crate::format::Format;
use crate::layout::Layout;
use crate::status::Result;

/// Where [`write_list`] puts its text: a growing `String`, a counter, or a caller's buffer.
pub trait TextSink {
    /// Appends `text`.
    fn put(&mut self, text: &str) -> Result<()>;
}

impl TextSink for String {
    /// Fails with `NoMemory` instead of aborting when the text cannot grow.
    fn put(&mut self, text: &str) -> Result<()> {
        self.try_reserve(text.len())
            .map_err(|_| err!(NoMemory, "cannot grow the text beyond {} bytes", self.len()))?;
        self.push_str(text);
        Ok(())
    }
}

/// A sink that writes the first `cap` bytes of the text at `dst` and counts all of it: one
/// pass renders into a caller's buffer when the text fits and measures it when it does not.
pub struct BoundedText {
    dst: *mut u8,
    cap: usize,
    /// Bytes of text so far (only the first `cap` of them written).
    pub len: usize,
}

impl BoundedText {
    /// A sink over the `cap` writable bytes at `dst` (`cap` 0: a counter; `dst` may then be
    /// NULL).
    ///
    /// # Safety
    /// `dst` must point at `cap` writable bytes for as long as the sink is used.
    pub unsafe fn new(dst: *mut u8, cap: usize) -> BoundedText {
        BoundedText { dst, cap, len: 0 }
    }

    /// Whether every byte of the text so far was written.
    pub fn fits(&self) -> bool {
        self.len <= self.cap
    }
}

impl TextSink for BoundedText {
    fn put(&mut self, text: &str) -> Result<()> {
        let at = self.len;
        self.len = at
            .checked_add(text.len())
            .ok_or_else(|| crate::status::overflow("the length of the text"))?;
        if self.len <= self.cap {
            // SAFETY: `at + text.len() <= cap` bytes at `dst` are writable (see `new`).
            unsafe { ptr::copy_nonoverlapping(text.as_ptr(), self.dst.add(at), text.len()) };
        }
        Ok(())
    }
}

/// The length of the text [`write_list`] writes for a layout without items, from its shape
/// alone: nested lists down to the first extent 0, which is `[]`. `None` when the layout has
/// items.
pub fn empty_list_len(l: &Layout) -> Result<Option<usize>> {
    let Some(k) = l.shape.iter().position(|&n| n == 0) else {
        return Ok(None);
    };
    let too_long = || crate::status::overflow("the length of the view's list text");
    // "[" + n texts joined by ", " + "]", from the innermost list outwards.
    let mut len = 2usize;
    for &n in l.shape[..k].iter().rev() {
        let n = n as usize;
        len = n
            .checked_mul(len)
            .and_then(|t| t.checked_add(2 * (n - 1) + 2))
            .ok_or_else(too_long)?;
    }
    Ok(Some(len))
}

/// Writes the view's items as JSON nested lists to `out` (one level per dimension; a
/// zero-dimensional view is its item), each item rendered by `format::write_json`. Only one
/// item's text is held at a time.
///
/// # Safety
/// The layout must describe readable memory holding items of `fmt`.
pub unsafe fn write_list(l: &Layout, fmt: &Format, out: &mut impl TextSink) -> Result<()> {
    /// Writes the list of the dimensions in `shape` whose first item is at `p`; pointers are
    /// followed only when the layout has items (`items`).
    #[allow(clippy::too_many_arguments)]
    unsafe fn walk(
        p: *mut u8,
        shape: &[isize],
        strides: &[isize],
        subs: Option<&[isize]>,
        items: bool,
        fmt: &Format,
        text: &mut String,
        out: &mut impl TextSink,
    ) -> Result<()> {
        let Some((&n, rest)) = shape.split_first() else {
            let item = std::slice::from_raw_parts(p, fmt.itemsize());
            text.clear();
            crate::format::write_json(fmt, item, text)?;
            return out.put(text);
        };
        out.put("[")?;
        for i in 0..n {
            if i > 0 {
                out.put(", ")?;
            }
            let mut q = p.wrapping_offset(i.wrapping_mul(strides[0]));
            if let Some(s) = subs {
                if s[0] >= 0 && items {
                    q = (q as *const *mut u8).read_unaligned().wrapping_offset(s[0]);
                }
            }
            walk(
                q,
                rest,
                &strides[1..],
                subs.map(|s| &s[1..]),
                items,
                fmt,
                text,
                out,
            )?;
        }
        out.put("]")
    }
    let items = l.count() > 0;
    let subs = l.suboffsets.as_deref();
    let mut text = String::new();
    walk(
        l.buf, &l.shape, &l.strides, subs, items, fmt, &mut text, out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::over_bytes as lay;

    #[test]
    fn list_lengths_of_layouts_without_items_match_their_text() {
        let fmt = crate::format::parse(b"<d").unwrap();
        let mut none: [u8; 0] = [];
        let shapes: &[&[isize]] = &[
            &[0],
            &[1, 0],
            &[5, 0],
            &[0, 9],
            &[2, 3, 0],
            &[3, 1, 0, 4],
            &[1, 1, 1, 0],
            &[4, 0, 0],
            &[7, 2, 3, 0, 2],
        ];
        for &shape in shapes {
            let l = lay(&mut none, shape, &vec![8; shape.len()], 0, 8);
            let mut text = String::new();
            unsafe { write_list(&l, &fmt, &mut text) }.unwrap();
            assert_eq!(empty_list_len(&l).unwrap(), Some(text.len()), "{shape:?}");
            // Measured by the bounded sink without room: the same length, nothing written.
            let mut counter = unsafe { BoundedText::new(std::ptr::null_mut(), 0) };
            unsafe { write_list(&l, &fmt, &mut counter) }.unwrap();
            assert_eq!(counter.len, text.len());
            assert!(!counter.fits());
        }
        let mut one = [0u8; 8];
        let l = lay(&mut one, &[1], &[8], 0, 8);
        assert_eq!(empty_list_len(&l).unwrap(), None);
        let l = lay(&mut none, &[isize::MAX, 0], &[0, 0], 0, 8);
        assert_eq!(
            empty_list_len(&l).unwrap_err().status,
            crate::status::Status::Overflow
        );
    }

    #[test]
    fn bounded_text_writes_what_fits_and_counts_all() {
        let mut buf = [b'x'; 8];
        let mut out = unsafe { BoundedText::new(buf.as_mut_ptr(), 5) };
        out.put("abc").unwrap();
        out.put("de").unwrap();
        assert!(out.fits());
        out.put("fgh").unwrap();
        assert_eq!(out.len, 8);
        assert!(!out.fits());
        assert_eq!(&buf, b"abcdexxx");
    }
}
