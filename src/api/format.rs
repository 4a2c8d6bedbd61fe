//! [`Format`]: a parsed PEP 3118 item format, its fields, scalars and values.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{self, NonNull};

use super::error::{check, Error, Result, Status};
use crate::ffi;

/// A parsed item format (`xbuf_format`): size, alignment, fields, scalar runs, canonical
/// text, and items decoded or rendered as JSON. Immutable; `Send` and `Sync`.
///
/// ```
/// let f = xbuf::Format::parse("T{<I:id:(3)<f:pos:4s:tag:}")?;
/// assert_eq!(f.itemsize(), 20);
/// let names: Vec<_> = f.fields()?.into_iter().map(|x| x.name.unwrap()).collect();
/// assert_eq!(names, ["id", "pos", "tag"]);
/// let mut item = Vec::new();
/// item.extend(7u32.to_le_bytes());
/// for v in [1.5f32, -2.0, 0.25] { item.extend(v.to_le_bytes()); }
/// item.extend(b"ab\0\0");
/// assert_eq!(f.to_json(&item)?, r#"{"id": 7, "pos": [1.5, -2.0, 0.25], "tag": "ab"}"#);
/// # Ok::<(), xbuf::Error>(())
/// ```
#[derive(Debug)]
pub struct Format {
    ptr: NonNull<ffi::xbuf_format>,
    text: String,
}

// SAFETY: a parsed format is immutable and shareable between threads (the header's rules).
unsafe impl Send for Format {}
// SAFETY: as above.
unsafe impl Sync for Format {}

/// One field of a format ([`Format::fields`]): for a struct format its named members, for any
/// other format its items in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name, `None` when it has none.
    pub name: Option<String>,
    /// Offset of the field's first element from the start of the item.
    pub offset: usize,
    /// Bytes from one element of a sub-array to the next.
    pub stride: usize,
    /// The format of one element, with its mode prefix (`"<f"`, `"@10s"`).
    pub format: String,
    /// The sub-array extents (empty for a single element).
    pub shape: Vec<usize>,
}

/// What a scalar holds ([`Leaf::kind`], [`Value`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// Signed integer.
    Int,
    /// Unsigned integer.
    UInt,
    /// Floating point.
    Float,
    /// Complex number.
    Complex,
    /// `?`.
    Bool,
    /// `c`.
    Char,
    /// `s`, `p`.
    Bytes,
    /// `u`, `w`.
    Text,
    /// `P`, `O`, `&`.
    Pointer,
    /// `t`.
    Bits,
    /// A kind this version does not know.
    Other,
}

impl ValueKind {
    fn from_c(kind: std::ffi::c_int) -> ValueKind {
        match kind {
            ffi::XBUF_VALUE_INT => ValueKind::Int,
            ffi::XBUF_VALUE_UINT => ValueKind::UInt,
            ffi::XBUF_VALUE_FLOAT => ValueKind::Float,
            ffi::XBUF_VALUE_COMPLEX => ValueKind::Complex,
            ffi::XBUF_VALUE_BOOL => ValueKind::Bool,
            ffi::XBUF_VALUE_CHAR => ValueKind::Char,
            ffi::XBUF_VALUE_BYTES => ValueKind::Bytes,
            ffi::XBUF_VALUE_TEXT => ValueKind::Text,
            ffi::XBUF_VALUE_POINTER => ValueKind::Pointer,
            ffi::XBUF_VALUE_BITS => ValueKind::Bits,
            _ => ValueKind::Other,
        }
    }

    /// Whether values of this kind are numbers (integers, floats, bools).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ValueKind::Int | ValueKind::UInt | ValueKind::Float | ValueKind::Bool
        )
    }
}

/// A run of scalars of a format ([`Format::leaves`]): `count` elements of `size` bytes back to
/// back from `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Offset of the first element from the start of the item.
    pub offset: usize,
    /// Number of elements.
    pub count: usize,
    /// Bytes of one element.
    pub size: usize,
    /// What the elements hold.
    pub kind: ValueKind,
    /// The canonical struct code (`'f'`, `'I'`, `'s'`, `'Z'` for complex, ...).
    pub code: char,
    /// `'<'` or `'>'`.
    pub byteorder: char,
}

/// One decoded scalar ([`Format::decode`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer, a char's byte, an address or a bit field.
    UInt(u64),
    /// A float, widened to `f64`.
    Float(f64),
    /// A complex number (real, imaginary).
    Complex(f64, f64),
    /// A bool.
    Bool(bool),
    /// Bytes (`s`, `p`) or text code units (`u`, `w`), as stored.
    Bytes(Vec<u8>),
}

impl Value {
    /// The value as an `f64` when it is a number (integers rounded to the nearest `f64`,
    /// bools as 0 and 1).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            Value::Float(f) => Some(f),
            Value::Bool(b) => Some(b as u8 as f64),
            _ => None,
        }
    }
}

/// Calls a C function that writes text into a caller buffer: a size query, then the text.
pub(crate) fn read_text(
    mut f: impl FnMut(*mut c_char, usize, *mut usize) -> std::ffi::c_int,
) -> Result<String> {
    let mut needed = 0usize;
    let code = f(ptr::null_mut(), 0, &mut needed);
    if code != ffi::XBUF_OK && code != ffi::XBUF_ERR_BUFFER_TOO_SMALL {
        return Err(Error::last(code));
    }
    let mut buf = vec![0u8; needed.max(1)];
    check(f(buf.as_mut_ptr().cast(), buf.len(), &mut needed))?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    String::from_utf8(buf)
        .map_err(|_| Error::new(Status::Panic, "the library wrote text that is not UTF-8"))
}

impl Format {
    /// Parses a format in PEP 3118 struct syntax.
    pub fn parse(text: &str) -> Result<Format> {
        let c = CString::new(text).map_err(|_| {
            Error::new(
                Status::Format,
                format!("format {text:?} contains a NUL byte"),
            )
        })?;
        let mut out: *mut ffi::xbuf_format = ptr::null_mut();
        // SAFETY: `c` is NUL-terminated; `out` is writable.
        check(unsafe { ffi::xbuf_format_parse(c.as_ptr(), &mut out) })?;
        let ptr =
            NonNull::new(out).ok_or_else(|| Error::new(Status::Panic, "no format returned"))?;
        Ok(Format {
            ptr,
            text: text.to_string(),
        })
    }

    /// The text this format was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Bytes of one item (`struct.calcsize`).
    pub fn itemsize(&self) -> usize {
        // SAFETY: a live handle.
        (unsafe { ffi::xbuf_format_itemsize(self.ptr.as_ptr()) }).max(0) as usize
    }

    /// The alignment an item needs (1 when no type is in native `@` mode).
    pub fn alignment(&self) -> usize {
        // SAFETY: a live handle.
        (unsafe { ffi::xbuf_format_alignment(self.ptr.as_ptr()) }).max(1) as usize
    }

    /// The mode all the types use: `'@'`, `'^'`, `'='`, `'<'`, `'>'`, or `'*'` when mixed.
    pub fn byteorder(&self) -> char {
        // SAFETY: a live handle.
        (unsafe { ffi::xbuf_format_byteorder(self.ptr.as_ptr()) }) as u8 as char
    }

    /// The canonical text: one spelling per layout.
    pub fn canonical(&self) -> Result<String> {
        // SAFETY: a live handle; read_text passes a buffer of the capacity it names.
        read_text(|buf, cap, needed| unsafe {
            ffi::xbuf_format_canonical(self.ptr.as_ptr(), buf, cap, needed)
        })
    }

    /// Whether two formats have the same layout and item types (names and nesting aside).
    pub fn equivalent(&self, other: &Format) -> bool {
        // SAFETY: live handles.
        unsafe { ffi::xbuf_format_equivalent(self.ptr.as_ptr(), other.ptr.as_ptr()) == 1 }
    }

    /// The fields: a struct's members, or the items of any other format.
    pub fn fields(&self) -> Result<Vec<Field>> {
        // SAFETY: a live handle.
        let n = unsafe { ffi::xbuf_format_field_count(self.ptr.as_ptr()) };
        if n < 0 {
            return Err(Error::last(ffi::xbuf_last_error_status()));
        }
        let mut fields = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            // SAFETY: an all-zero info with its structsize set.
            let mut info: ffi::xbuf_format_field_info = unsafe { std::mem::zeroed() };
            info.structsize = std::mem::size_of::<ffi::xbuf_format_field_info>();
            // SAFETY: a live handle, an index below the count, a writable info.
            check(unsafe { ffi::xbuf_format_field(self.ptr.as_ptr(), i, &mut info) })?;
            // SAFETY: the info's pointers point into the format, alive while self is.
            let text =
                |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
            let shape = if info.shape.is_null() || info.ndim <= 0 {
                Vec::new()
            } else {
                // SAFETY: `ndim` extents.
                unsafe { std::slice::from_raw_parts(info.shape, info.ndim as usize) }
                    .iter()
                    .map(|&n| n as usize)
                    .collect()
            };
            fields.push(Field {
                name: (!info.name.is_null()).then(|| text(info.name)),
                offset: info.offset as usize,
                stride: info.stride as usize,
                format: if info.format.is_null() {
                    String::new()
                } else {
                    text(info.format)
                },
                shape,
            });
        }
        Ok(fields)
    }

    /// The runs of scalars, in memory order.
    pub fn leaves(&self) -> Result<Vec<Leaf>> {
        // SAFETY: a live handle.
        let n = unsafe { ffi::xbuf_format_leaf_count(self.ptr.as_ptr()) };
        if n < 0 {
            return Err(Error::last(ffi::xbuf_last_error_status()));
        }
        let mut leaves = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            // SAFETY: an all-zero info with its structsize set.
            let mut info: ffi::xbuf_format_leaf_info = unsafe { std::mem::zeroed() };
            info.structsize = std::mem::size_of::<ffi::xbuf_format_leaf_info>();
            // SAFETY: a live handle, an index below the count, a writable info.
            check(unsafe { ffi::xbuf_format_leaf(self.ptr.as_ptr(), i, &mut info) })?;
            leaves.push(Leaf {
                offset: info.offset as usize,
                count: info.count as usize,
                size: info.size as usize,
                kind: ValueKind::from_c(info.kind),
                code: info.code as u8 as char,
                byteorder: info.byteorder as u8 as char,
            });
        }
        Ok(leaves)
    }

    fn check_item(&self, item: &[u8]) -> Result<()> {
        if item.len() != self.itemsize() {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "an item of format '{}' has {} bytes, not {}",
                    self.text,
                    self.itemsize(),
                    item.len()
                ),
            ));
        }
        Ok(())
    }

    /// Element `element` of leaf `leaf` of `item` (exactly [`Format::itemsize`] bytes).
    pub fn decode(&self, leaf: usize, element: usize, item: &[u8]) -> Result<Value> {
        self.check_item(item)?;
        // SAFETY: an all-zero value with its structsize set.
        let mut v: ffi::xbuf_value = unsafe { std::mem::zeroed() };
        v.structsize = std::mem::size_of::<ffi::xbuf_value>();
        // SAFETY: a live handle; `item` has itemsize readable bytes.
        check(unsafe {
            ffi::xbuf_format_decode(
                self.ptr.as_ptr(),
                leaf,
                element,
                item.as_ptr().cast(),
                &mut v,
            )
        })?;
        Ok(match v.kind {
            ffi::XBUF_VALUE_INT => Value::Int(v.i),
            ffi::XBUF_VALUE_FLOAT => Value::Float(v.real),
            ffi::XBUF_VALUE_COMPLEX => Value::Complex(v.real, v.imag),
            ffi::XBUF_VALUE_BOOL => Value::Bool(v.u != 0),
            ffi::XBUF_VALUE_BYTES | ffi::XBUF_VALUE_TEXT => {
                let n = v.len * (v.width.max(1) as usize);
                let start = (v.data as usize).wrapping_sub(item.as_ptr() as usize);
                Value::Bytes(item.get(start..start + n).unwrap_or_default().to_vec())
            }
            _ => Value::UInt(v.u),
        })
    }

    /// One item (exactly [`Format::itemsize`] bytes) as JSON, as `json.dumps` writes
    /// `struct.unpack`'s values (NumPy's reading for structs and sub-arrays).
    pub fn to_json(&self, item: &[u8]) -> Result<String> {
        self.check_item(item)?;
        // SAFETY: a live handle; `item` has itemsize readable bytes.
        read_text(|buf, cap, needed| unsafe {
            ffi::xbuf_format_to_json(self.ptr.as_ptr(), item.as_ptr().cast(), buf, cap, needed)
        })
    }
}

impl Drop for Format {
    fn drop(&mut self) {
        // SAFETY: self owns the handle.
        unsafe { ffi::xbuf_format_free(self.ptr.as_ptr()) };
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
