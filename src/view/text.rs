//! The format text a view keeps: copied into every view derived from it, inline when short
//! (the usual case: copying it costs no allocation and no atomic count), else shared by count.

use std::ffi::CStr;
use std::sync::Arc;

/// Bytes of text, with its NUL, kept inline (one more byte holds the length).
const INLINE: usize = 23;

/// Short text with its NUL, its length in the last byte. Aligned, so that a copy moves whole
/// words (no narrow stores that a wide load right after could not take over).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub struct Inline([u8; INLINE + 1]);

/// A view's format text, or none (a base that gave no format for items wider than a byte).
#[derive(Clone)]
pub enum FormatText {
    None,
    Inline(Inline),
    Shared(Arc<CStr>),
}

impl FormatText {
    pub fn new(text: Option<&CStr>) -> FormatText {
        let Some(text) = text else {
            return FormatText::None;
        };
        let with_nul = text.to_bytes_with_nul();
        if with_nul.len() <= INLINE {
            let mut bytes = [0u8; INLINE + 1];
            bytes[..with_nul.len()].copy_from_slice(with_nul);
            bytes[INLINE] = with_nul.len() as u8;
            FormatText::Inline(Inline(bytes))
        } else {
            FormatText::Shared(Arc::from(text))
        }
    }

    /// The text (the name follows `Option<CString>::as_deref`).
    #[inline]
    pub fn as_deref(&self) -> Option<&CStr> {
        match self {
            FormatText::None => None,
            // SAFETY: made in `new` from a `CStr`'s bytes with their NUL, which has no other,
            // and their length.
            FormatText::Inline(Inline(bytes)) => Some(unsafe {
                CStr::from_bytes_with_nul_unchecked(&bytes[..bytes[INLINE] as usize])
            }),
            FormatText::Shared(t) => Some(t),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, FormatText::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn short_and_long_texts_read_back() {
        assert!(FormatText::new(None).as_deref().is_none());
        assert!(FormatText::new(None).is_none());
        for text in [
            "",
            "d",
            "<f4",
            "T{<d:x:<d:y:}",
            // 22 bytes: the longest kept inline, then one more.
            "T{<d:a:<d:b:<d:c:<dd:}",
            "T{<d:a:<d:b:<d:c:<ddd:}",
            "T{(2,3)<q:values:<d:weights:=e:half:}",
        ] {
            let c = CString::new(text).unwrap();
            let f = FormatText::new(Some(&c));
            assert_eq!(f.as_deref(), Some(c.as_c_str()), "{text}");
            assert_eq!(
                matches!(f, FormatText::Inline(_)),
                text.len() < INLINE,
                "{text}"
            );
            let copy = f.clone();
            assert_eq!(copy.as_deref(), Some(c.as_c_str()), "{text}");
            assert!(!copy.is_none());
        }
    }
}
