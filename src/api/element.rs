//! [`Element`]: the Rust types whose items a buffer can be read as.

/// A primitive type with a PEP 3118 format: what [`Buffer::as_slice`], [`Buffer::iter`] and
/// [`Object::from_vec`] check against a buffer's format.
///
/// # Safety
/// `FORMAT` must describe exactly `Self`'s size, alignment and representation, and every bit
/// pattern of that size must be a valid `Self` (or the format must make the others
/// impossible, as `?` holds only 0 and 1 in memory the library fills).
///
/// [`Buffer::as_slice`]: crate::Buffer::as_slice
/// [`Buffer::iter`]: crate::Buffer::iter
/// [`Object::from_vec`]: crate::Object::from_vec
pub unsafe trait Element: Copy + Send + Sync + 'static {
    /// The native-mode format of one item (`"f"` for `f32`).
    const FORMAT: &'static str;
}

macro_rules! element {
    ($($t:ty => $f:literal),* $(,)?) => {
        $(
            // SAFETY: the native struct code of the type, which has no invalid bit patterns.
            unsafe impl Element for $t {
                const FORMAT: &'static str = $f;
            }
        )*
    };
}

element! {
    i8 => "b", u8 => "B", i16 => "h", u16 => "H", i32 => "i", u32 => "I",
    i64 => "q", u64 => "Q", isize => "n", usize => "N", f32 => "f", f64 => "d",
}
