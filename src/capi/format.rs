//! Formats: item sizes, parsed formats, field and leaf introspection, canonical text,
//! equivalence, decoding values and rendering items as JSON.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::mem::size_of;
use std::sync::Arc;

use super::format_structs::{decoded, element_at, field_info, leaf_info};
use super::{boundary, nonnull, write_out, write_text};
use crate::bail;
use crate::format::{self, Format};
use crate::status::Result;

/// A parsed item format: opaque, immutable, shareable between threads.
///
/// Made by `xbuf_format_parse`, released with `xbuf_format_free`. Every function taking a handle
/// refuses a pointer that is not one (`XBUF_ERR_INVALID_ARGUMENT`) after reading only the 8 bytes
/// it points at; anything else about such a pointer (a freed handle, fewer than 8 readable bytes)
/// is undefined, as with `free`.
pub struct xbuf_format {
    _opaque: [u8; 0],
}

/// `xbuf_value.kind`: a signed integer (`b h i l q n`) in `i` (and `u`, two's complement).
pub const XBUF_VALUE_INT: c_int = 1;
/// `xbuf_value.kind`: an unsigned integer (`B H I L Q N`) in `u` (and `i`, wrapped).
pub const XBUF_VALUE_UINT: c_int = 2;
/// `xbuf_value.kind`: a float in `real`.
///
/// `xbuf_value.kind`: a float (`e f d g`) in `real`, widened to double (`g`: see
/// `xbuf_format_decode`).
pub const XBUF_VALUE_FLOAT: c_int = 3;
/// `xbuf_value.kind`: a complex number (`Ze Zf Zd Zg`) in `real` and `imag`.
pub const XBUF_VALUE_COMPLEX: c_int = 4;
/// `xbuf_value.kind`: a bool (`?`): `u` is 0 or 1 (any non-zero byte is true).
pub const XBUF_VALUE_BOOL: c_int = 5;
/// `xbuf_value.kind`: one byte (`c`) in `u`.
pub const XBUF_VALUE_CHAR: c_int = 6;
/// `xbuf_value.kind`: bytes (`s`, and `p` after its length byte): `len` bytes at `data`.
pub const XBUF_VALUE_BYTES: c_int = 7;
/// `xbuf_value.kind`: text, `len` code units of `width` bytes at `data`.
///
/// `xbuf_value.kind`: text (`u`, `w`): `len` code units of `width` bytes (2 or 4) at `data`,
/// in `byteorder` (`'<'` or `'>'`), not necessarily aligned.
pub const XBUF_VALUE_TEXT: c_int = 8;
/// `xbuf_value.kind`: an address (`P`, `O`, `&`) in `u`.
pub const XBUF_VALUE_POINTER: c_int = 9;
/// `xbuf_value.kind`: a bit field (`t`): its bits, as an unsigned integer, in `u`.
pub const XBUF_VALUE_BITS: c_int = 10;

/// One field of a parsed format (filled by `xbuf_format_field`).
///
/// Set `structsize = sizeof(xbuf_format_field_info)` first. Pointers point into the format and stay
/// valid while the caller holds it.
#[repr(C)]
pub struct xbuf_format_field_info {
    /// Size of the caller's struct; set by the caller.
    pub structsize: usize,
    /// The field's name, or NULL for an unnamed field.
    pub name: *const c_char,
    /// Offset of the field's first element from the start of the item.
    pub offset: isize,
    /// Bytes from one element of the sub-array to the next.
    pub stride: isize,
    /// A format text for one element, starting with the mode prefix in effect (`"<i"`,
    /// `"@10s"`, `"@T{b i}"`); parse it to look inside a struct field.
    pub format: *const c_char,
    /// Number of sub-array dimensions (the `(d1,d2)` extents, then the repeat count when it
    /// is not 1); 0 for a single element.
    pub ndim: c_int,
    /// `ndim` extents, or NULL when `ndim` is 0.
    pub shape: *const isize,
}

/// One run of scalars of a parsed format (filled by `xbuf_format_leaf`).
///
/// One run of scalars of a parsed format (filled by `xbuf_format_leaf`): `count` elements of
/// `size` bytes back to back from `offset`. Set `structsize` first.
#[repr(C)]
pub struct xbuf_format_leaf_info {
    /// Size of the caller's struct; set by the caller.
    pub structsize: usize,
    /// Offset of the first element from the start of the item.
    pub offset: isize,
    /// Number of elements.
    pub count: isize,
    /// Bytes of one element.
    pub size: isize,
    /// What the elements hold: an `XBUF_VALUE_*` kind.
    pub kind: c_int,
    /// The canonical code: `b B h H i I q Q e f d g ? c s p u w t P O &`, or `Z` for complex.
    pub code: c_char,
    /// `'<'` or `'>'`.
    pub byteorder: c_char,
}

/// One decoded scalar (filled by `xbuf_format_decode`).
///
/// Set `structsize` first; fields the kind does not use are zero.
#[repr(C)]
pub struct xbuf_value {
    /// Size of the caller's struct; set by the caller.
    pub structsize: usize,
    /// An `XBUF_VALUE_*` constant.
    pub kind: c_int,
    /// `XBUF_VALUE_TEXT`: bytes per code unit (2 or 4); else 0.
    pub width: c_int,
    /// Signed integers (also the wrapped value of unsigned ones).
    pub i: i64,
    /// Unsigned integers, bool, char, bit fields, addresses (also signed integers, two's
    /// complement).
    pub u: u64,
    /// Floats; the real part of complex numbers.
    pub real: f64,
    /// The imaginary part of complex numbers.
    pub imag: f64,
    /// Bytes and text: where they start, inside the item passed in.
    pub data: *const c_void,
    /// Bytes: their number; text: the number of code units.
    pub len: usize,
    /// Text: `'<'` or `'>'`; else 0.
    pub byteorder: c_char,
}

trait StructSized {
    const NAME: &'static str;
    fn set_structsize(&mut self, n: usize);
}
impl StructSized for xbuf_format_field_info {
    const NAME: &'static str = "xbuf_format_field_info";
    fn set_structsize(&mut self, n: usize) {
        self.structsize = n;
    }
}
impl StructSized for xbuf_format_leaf_info {
    const NAME: &'static str = "xbuf_format_leaf_info";
    fn set_structsize(&mut self, n: usize) {
        self.structsize = n;
    }
}
impl StructSized for xbuf_value {
    const NAME: &'static str = "xbuf_value";
    fn set_structsize(&mut self, n: usize) {
        self.structsize = n;
    }
}

/// Checks the caller's `structsize` of an output struct (before anything is computed).
unsafe fn out_struct<T: StructSized>(dst: *mut T, name: &str) -> Result<*mut T> {
    let p = nonnull(dst, name)?.as_ptr();
    crate::abi::check_structsize(T::NAME, p.cast::<usize>().read(), size_of::<T>())?;
    Ok(p)
}

/// Writes `value` into a checked output struct, keeping its `structsize` and zeroing the tail
/// a newer caller may have.
unsafe fn fill_struct<T: StructSized>(p: *mut T, mut value: T) {
    let size = p.cast::<usize>().read();
    value.set_structsize(size);
    p.write(value);
    std::ptr::write_bytes(p.cast::<u8>().add(size_of::<T>()), 0, size - size_of::<T>());
}

/// A format handle argument. Only the tag at offset 0 is read before the pointer is known to
/// be a format, so junk smaller than a format is refused without reading past its 8th byte.
unsafe fn format_ref<'a>(p: *const xbuf_format, name: &str) -> Result<&'a Format> {
    let f = nonnull(p, name)?.as_ptr().cast::<Format>();
    if !Format::is_format_ptr(f) {
        bail!(InvalidArgument, "argument '{name}' is not a parsed format");
    }
    Ok(&*f)
}

unsafe fn c_text<'a>(p: *const c_char, name: &str) -> Result<&'a [u8]> {
    Ok(CStr::from_ptr(nonnull(p, name)?.as_ptr()).to_bytes())
}

unsafe fn item_bytes<'a>(f: &Format, item: *const c_void, name: &str) -> Result<&'a [u8]> {
    if f.itemsize() == 0 {
        return Ok(&[]);
    }
    Ok(std::slice::from_raw_parts(
        nonnull(item, name)?.as_ptr().cast::<u8>(),
        f.itemsize(),
    ))
}

/// The item size of a format string.
///
/// The item size of a format string: `struct.calcsize` for every struct-module format,
/// NumPy's itemsize for `T{...}` formats; the whole PEP 3118 grammar (see README "Formats").
/// Repeated format strings are parsed once per process (a bounded cache).
///
/// Borrows: `fmt` (NUL-terminated). Writes `*itemsize` (left unchanged on failure).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_FORMAT` (the message names the offending
/// character and its offset, e.g. "unexpected 'k' at offset 2 in format '<2k'"; also nesting
/// deeper than 64, more than 64 sub-array dimensions, an item of more than 65536 separate
/// runs of scalars), `XBUF_ERR_OVERFLOW` (a count, extent or the size does not fit ptrdiff_t).
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a NUL-terminated string; `itemsize` is NULL or points at a writable
/// `ptrdiff_t`. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_size_from_format(fmt: *const c_char, itemsize: *mut isize) -> c_int {
    boundary!({
        let out = nonnull(itemsize, "itemsize")?;
        let size = format::itemsize(c_text(fmt, "fmt")?)?;
        write_out(out.as_ptr(), "itemsize", size as isize)
    })
}

/// Parses a format string into a format handle.
///
/// Parses are cached per process, so parsing the same text again usually returns the same handle
/// with one more reference; do not rely on it (long or very large formats are not cached, and the
/// bounded cache may be emptied).
///
/// Borrows: `fmt`. Returns owned: `*out`, to release with `xbuf_format_free` (NULL on
/// failure).
/// Errors: as `xbuf_size_from_format`.
/// Thread safety: any thread; a handle may be used from several threads at once.
///
/// # Safety
/// `fmt` is NULL or a NUL-terminated string; `out` is NULL or points at writable storage for one
/// pointer. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_parse(
    fmt: *const c_char,
    out: *mut *mut xbuf_format,
) -> c_int {
    boundary!({
        let out = nonnull(out, "out")?.as_ptr();
        out.write(std::ptr::null_mut());
        let f = format::parse(c_text(fmt, "fmt")?)?;
        out.write(Arc::into_raw(f) as *mut xbuf_format);
        Ok(())
    })
}

/// Releases a format handle from `xbuf_format_parse`. NULL is ignored.
///
/// Takes: the caller's reference; the handle must not be used afterwards (freeing it twice
/// is undefined behaviour, as with `free`).
/// Returns: nothing; never fails (a pointer that is not a live format handle is ignored when
/// it can be recognised, with the error recorded).
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused). Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_free(fmt: *mut xbuf_format) {
    boundary!({
        if !fmt.is_null() {
            format_ref(fmt, "fmt")?;
            drop(Arc::from_raw(fmt as *const Format));
        }
        Ok(())
    });
}

/// The item size in bytes.
///
/// Borrows: `fmt`. Returns: the size, or -1 if `fmt` is NULL or not a format (recorded for
/// `xbuf_last_error_message`).
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused). Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_itemsize(fmt: *const xbuf_format) -> isize {
    boundary!({ Ok(format_ref(fmt, "fmt")?.itemsize() as isize) })
}

/// The alignment an item of the format needs.
///
/// The alignment an item needs: the least common multiple of the alignments of its `@` mode
/// types (1 when none is in `@` mode).
///
/// Borrows: `fmt`. Returns: the alignment, or -1 if `fmt` is NULL or not a format.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused). Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_alignment(fmt: *const xbuf_format) -> isize {
    boundary!({ Ok(format_ref(fmt, "fmt")?.alignment() as isize) })
}

/// The byte-order mode all types of the format use.
///
/// The mode all types of the format use: `'@'`, `'^'`, `'='`, `'<'` or `'>'` (`'!'` reads
/// as `'>'`), or `'*'` when they use different ones; a format without types reports the
/// mode its text ends in.
///
/// Borrows: `fmt`. Returns: the character, or 0 if `fmt` is NULL or not a format.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused). Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_byteorder(fmt: *const xbuf_format) -> c_char {
    boundary!({ Ok(format_ref(fmt, "fmt")?.byteorder() as c_char) })
}

/// The number of fields of an item of the format.
///
/// The number of fields of the item: its top-level fields, or, when the whole format is one
/// unnamed `T{...}` at offset 0 spanning the whole item (no padding before or after it: the
/// case NumPy reads as that struct), that struct's fields. Padding `x` is not a field.
///
/// Borrows: `fmt`. Returns: the count, or -1 if `fmt` is NULL or not a format.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused). Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_field_count(fmt: *const xbuf_format) -> isize {
    boundary!({ Ok(format_ref(fmt, "fmt")?.fields().len() as isize) })
}

/// Describes field `index` (of the fields `xbuf_format_field_count` counts).
///
/// Borrows: `fmt`, `info` (set `info->structsize` first). The strings and shape written into
/// `info` point into `fmt` and stay valid while the caller holds `fmt`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT` (not a format; implausible
/// structsize), `XBUF_ERR_STRUCT_TOO_OLD`, `XBUF_ERR_OUT_OF_BOUNDS` (index >= field count).
/// On failure `info` is unchanged.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `info` is NULL or points at an `xbuf_format_field_info` with
/// `structsize` set and that many writable bytes. Each must stay valid during the call (and longer
/// where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_field(
    fmt: *const xbuf_format,
    index: usize,
    info: *mut xbuf_format_field_info,
) -> c_int {
    boundary!({
        let f = format_ref(fmt, "fmt")?;
        let out = out_struct(info, "info")?;
        fill_struct(out, field_info(f, index)?);
        Ok(())
    })
}

/// The number of leaf runs (runs of scalars) of an item of the format.
///
/// The number of leaf runs: the item's scalars in memory order, adjacent runs of the same
/// type merged (what copy and compare loops iterate).
///
/// Borrows: `fmt`. Returns: the count, or -1 if `fmt` is NULL or not a format.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused). Each must stay valid during the call (and longer where stated
/// above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_leaf_count(fmt: *const xbuf_format) -> isize {
    boundary!({ Ok(format_ref(fmt, "fmt")?.leaves().len() as isize) })
}

/// Describes leaf run `index`.
///
/// Borrows: `fmt`, `info` (set `info->structsize` first).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_STRUCT_TOO_OLD`,
/// `XBUF_ERR_OUT_OF_BOUNDS` (index >= leaf count). On failure `info` is unchanged.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `info` is NULL or points at an `xbuf_format_leaf_info` with
/// `structsize` set and that many writable bytes. Each must stay valid during the call (and longer
/// where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_leaf(
    fmt: *const xbuf_format,
    index: usize,
    info: *mut xbuf_format_leaf_info,
) -> c_int {
    boundary!({
        let f = format_ref(fmt, "fmt")?;
        let out = out_struct(info, "info")?;
        fill_struct(out, leaf_info(f, index)?);
        Ok(())
    })
}

/// The canonical text of the format: one spelling per layout.
///
/// The canonical text of the format: one spelling per layout (explicit `<`/`>` and standard
/// codes, `^` for the native-only `g Zg P O &`, padding as `x`, runs merged, names and
/// nesting dropped). Two formats have equal canonical texts exactly when
/// `xbuf_format_equivalent` says so, and the text parses to an equivalent format.
///
/// Borrows: `fmt`, `buf` (`cap` bytes, written), `needed` (may be NULL). Writes into
/// `*needed` the bytes the text takes with its NUL. `buf == NULL` with `cap == 0` is a pure
/// size query (then `needed` must not be NULL).
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_BUFFER_TOO_SMALL`
/// (`cap < *needed`; `buf` then holds an empty string if `cap > 0`).
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `buf` is NULL or points at `cap` writable bytes; `needed` is
/// NULL or points at a writable `size_t`. Each must stay valid during the call (and longer where
/// stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_canonical(
    fmt: *const xbuf_format,
    buf: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> c_int {
    boundary!({
        let f = format_ref(fmt, "fmt")?;
        write_text(
            f.canonical().as_bytes(),
            (buf, "buf"),
            cap,
            needed,
            "the canonical text",
        )
    })
}

/// Whether two formats have the same layout and the same item types.
///
/// Whether two formats have the same layout and the same item types: equal item sizes and
/// the same scalars (type, size, byte order) at the same offsets. Names, nesting and how
/// elements are grouped do not matter; `<l` and `<i` are the same type.
///
/// Borrows: `a`, `b`. Returns: 1 or 0; 0 also when an argument is NULL or not a format
/// (recorded for `xbuf_last_error_message`).
/// Thread safety: any thread.
///
/// # Safety
/// `a` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `b` is NULL or a handle from `xbuf_format_parse` not yet freed
/// (any other pointer must have 8 readable bytes, and is refused). Each must stay valid during the
/// call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_equivalent(
    a: *const xbuf_format,
    b: *const xbuf_format,
) -> c_int {
    boundary!({
        let a = format_ref(a, "a")?;
        let b = format_ref(b, "b")?;
        Ok(a.equivalent(b))
    })
}

/// Decodes one scalar of the item at `item`.
///
/// Decodes element `element_index` of leaf run `leaf_index` of the item at `item`, which may
/// have any alignment; the byte order is the format's. `g` (long double) is read into the
/// nearest double: on x86-64 from the x87 80-bit format (the encodings the x87 refuses,
/// unnormals, pseudo-infinities and pseudo-NaNs, are NaN, as the hardware converts them), on
/// aarch64 from IEEE binary128. Leaf elements are the item's scalars in memory order, as
/// stored; how they group into values is `xbuf_format_to_json`'s rule.
///
/// Borrows: `fmt`, `item` (`xbuf_format_itemsize(fmt)` readable bytes; may be NULL when that
/// is 0), `out` (set `out->structsize` first). Bytes and text in `*out` point into `item`.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`, `XBUF_ERR_STRUCT_TOO_OLD`,
/// `XBUF_ERR_OUT_OF_BOUNDS` (leaf or element index too large). On failure `out` is
/// unchanged.
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `item` is NULL or points at as many readable bytes as stated
/// above; `out` is NULL or points at an `xbuf_value` with `structsize` set and that many writable
/// bytes. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_decode(
    fmt: *const xbuf_format,
    leaf_index: usize,
    element_index: usize,
    item: *const c_void,
    out: *mut xbuf_value,
) -> c_int {
    boundary!({
        let f = format_ref(fmt, "fmt")?;
        let dst = out_struct(out, "out")?;
        let (scalar, at) = element_at(f, leaf_index, element_index)?;
        let bytes = item_bytes(f, item, "item")?;
        fill_struct(dst, decoded(scalar, &bytes[at..])?);
        Ok(())
    })
}

/// Renders the item at `item` as JSON text, as Python's `json.dumps` would.
///
/// Renders the item at `item` as JSON text, exactly as Python's `json.dumps` writes its
/// values. The values (the one rule every renderer of items follows, `xbuf_view_tolist`
/// too):
/// - where Python's struct module parses the format (at most one prefix `@ = < > !`, as the
///   first character, then only counts, the codes `x c b B ? h H i I l L q Q n N e f d s p
///   P` and whitespace), exactly `struct.unpack`'s tuple: counts flattened (`"<2hi"` gives
///   `[1, 2, 3]`), a `0` count contributing nothing (`"<ii0h"` gives `[131073, 3]`), padding
///   skipped wherever it is; a tuple of one value is that value (`"xB"` over `01 02` gives
///   `2`), any other a list (`""` gives `[]`); `s` keeps every byte, NULs included;
/// - elsewhere (`T{...}`, names, `(shape)`, `^`, a prefix after the first character, `g Z u
///   w t O &`), NumPy's reading, `np.frombuffer(data, <its PEP 3118 dtype>).tolist()`: the
///   top level is one value only when it is one unnamed field at offset 0 spanning the whole
///   item (else a struct: `"2xT{i:a:}"` gives `[{"a": ...}]`); sub-array dimensions and
///   counts are nested lists (a zero extent `[]`); `s c u w` values end at their trailing
///   NULs (NumPy's `S` and `U`); a struct is an object when any field has a name (unnamed
///   fields called `f0`, `f1`, ... as NumPy names them), else an array; the codes NumPy
///   lacks (`p u t & P n N O Ze`) keep the values `xbuf_format_decode` gives, and a named `x`
///   is still padding.
///
/// The text: integers in decimal; floats exactly as Python's `repr` (shortest round trip, a
/// tie between two shortest texts to the even digit; `e f g` widened to double; `NaN`,
/// `Infinity`, `-Infinity`); `true`/`false` for `?`; pointers as integers; strings for `c s
/// p u w` (bytes as the characters U+0000 to U+00FF, escaped; output is ASCII); `[real,
/// imag]` for complex.
///
/// Borrows: `fmt`, `item` (`xbuf_format_itemsize(fmt)` readable bytes; may be NULL when that
/// is 0), `buf` (`cap` bytes, written), `needed` (may be NULL; receives the bytes the text
/// takes with its NUL). `buf == NULL` with `cap == 0` is a pure size query.
/// Errors: `XBUF_ERR_NULL_ARGUMENT`, `XBUF_ERR_INVALID_ARGUMENT`,
/// `XBUF_ERR_BUFFER_TOO_SMALL` (`buf` then holds an empty string if `cap > 0`),
/// `XBUF_ERR_UNSUPPORTED` (the item would render more than `16 * itemsize + 2^20` values and
/// arrays, as `"(1000000000)0s"` would: refused rather than writing gigabytes).
/// Thread safety: any thread.
///
/// # Safety
/// `fmt` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `item` is NULL or points at as many readable bytes as stated
/// above; `buf` is NULL or points at `cap` writable bytes; `needed` is NULL or points at a writable
/// `size_t`. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_to_json(
    fmt: *const xbuf_format,
    item: *const c_void,
    buf: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> c_int {
    boundary!({
        let f = format_ref(fmt, "fmt")?;
        let bytes = item_bytes(f, item, "item")?;
        let mut text = String::new();
        format::write_json(f, bytes, &mut text)?;
        write_text(text.as_bytes(), (buf, "buf"), cap, needed, "the JSON text")
    })
}

/// Whether two items are equal value by value.
///
/// Whether two items are equal value by value, as Python compares the tuples `struct.unpack`
/// gives: scalars in memory order, `1 == 1.0 == True`, NaN never equal, padding ignored;
/// items with different numbers of values are unequal.
///
/// Borrows: the formats and items (each `itemsize` readable bytes; NULL allowed when 0).
/// Returns: 1 or 0; 0 also on a NULL or invalid argument (recorded for
/// `xbuf_last_error_message`).
/// Thread safety: any thread.
///
/// # Safety
/// `a` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must have 8
/// readable bytes, and is refused); `item_a` is NULL or points at as many readable bytes as stated
/// above; `b` is NULL or a handle from `xbuf_format_parse` not yet freed (any other pointer must
/// have 8 readable bytes, and is refused); `item_b` is NULL or points at as many readable bytes as
/// stated above. Each must stay valid during the call (and longer where stated above).
#[no_mangle]
pub unsafe extern "C" fn xbuf_format_items_equal(
    a: *const xbuf_format,
    item_a: *const c_void,
    b: *const xbuf_format,
    item_b: *const c_void,
) -> c_int {
    boundary!({
        let fa = format_ref(a, "a")?;
        let fb = format_ref(b, "b")?;
        let ia = item_bytes(fa, item_a, "item_a")?;
        let ib = item_bytes(fb, item_b, "item_b")?;
        Ok(format::items_equal(fa, ia, fb, ib))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn published_layouts() {
        assert_eq!(offset_of!(xbuf_format_field_info, structsize), 0);
        assert_eq!(offset_of!(xbuf_format_field_info, name), 8);
        assert_eq!(offset_of!(xbuf_format_field_info, offset), 16);
        assert_eq!(offset_of!(xbuf_format_field_info, stride), 24);
        assert_eq!(offset_of!(xbuf_format_field_info, format), 32);
        assert_eq!(offset_of!(xbuf_format_field_info, ndim), 40);
        assert_eq!(offset_of!(xbuf_format_field_info, shape), 48);
        assert_eq!(size_of::<xbuf_format_field_info>(), 56);

        assert_eq!(offset_of!(xbuf_format_leaf_info, offset), 8);
        assert_eq!(offset_of!(xbuf_format_leaf_info, count), 16);
        assert_eq!(offset_of!(xbuf_format_leaf_info, size), 24);
        assert_eq!(offset_of!(xbuf_format_leaf_info, kind), 32);
        assert_eq!(offset_of!(xbuf_format_leaf_info, code), 36);
        assert_eq!(offset_of!(xbuf_format_leaf_info, byteorder), 37);
        assert_eq!(size_of::<xbuf_format_leaf_info>(), 40);

        assert_eq!(offset_of!(xbuf_value, kind), 8);
        assert_eq!(offset_of!(xbuf_value, width), 12);
        assert_eq!(offset_of!(xbuf_value, i), 16);
        assert_eq!(offset_of!(xbuf_value, u), 24);
        assert_eq!(offset_of!(xbuf_value, real), 32);
        assert_eq!(offset_of!(xbuf_value, imag), 40);
        assert_eq!(offset_of!(xbuf_value, data), 48);
        assert_eq!(offset_of!(xbuf_value, len), 56);
        assert_eq!(offset_of!(xbuf_value, byteorder), 64);
        assert_eq!(size_of::<xbuf_value>(), 72);
    }
}
