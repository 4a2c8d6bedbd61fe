//! Item format strings: the whole PEP 3118 grammar.
//!
//! A format string describes one item. [`parse`] turns it into a [`Format`] (cached per
//! process), [`parse_uncached`] does the same without the cache, and [`itemsize`] is the
//! shortcut the request checks use.
//!
//! # The grammar
//!
//! ```text
//! format  := item*
//! item    := prefix* [ '(' dim (',' dim)* ')' ] prefix* [count] type [ ':' name ':' ]
//! prefix  := '@' | '=' | '<' | '>' | '!' | '^'
//! type    := code | 'Z' ('e'|'f'|'d'|'g') | 'T{' item* '}' | '&' prefix* type
//! code    := 'x' 'c' 'b' 'B' '?' 'h' 'H' 'i' 'I' 'l' 'L' 'q' 'Q' 'n' 'N' 'e' 'f' 'd' 'g'
//!            's' 'p' 't' 'u' 'w' 'P' 'O'
//! ```
//!
//! Whitespace may separate items (as in the struct module), but not a count from its code.
//!
//! # Layout rules
//!
//! * A prefix changes the mode of every item that follows it in the text, inside or outside
//!   `T{...}` (PEP 3118: "byte-order specifiers ... change the byte order of subsequent
//!   types"; NumPy reads it the same way). `!` is `>`.
//! * `@` (the default): native sizes and alignment. Each item starts at a multiple of its
//!   alignment, as a C compiler places a struct member; an element repeated by a count or
//!   sub-array shape is padded to a multiple of its alignment. `^`: native sizes, no
//!   alignment. `=`, `<`, `>`: standard sizes, no alignment.
//! * A `T{...}` that ends in `@` mode is padded at its end to a multiple of its alignment
//!   (the least common multiple of the alignments of its `@` items), exactly as NumPy's
//!   PEP 3118 reader and a C compiler do. The top level is *not* padded at its end: the
//!   struct module's rule (`struct.calcsize("ib") == 5`), so that every struct-module format
//!   keeps its `struct.calcsize` size. NumPy pads the top level too when the format has
//!   items outside one `T{...}` (it reads `"T{i}b"` as 8 bytes, xbuf as 5); wrap the whole
//!   format in `T{...}` to get the C struct size.
//! * Counts: for `s`, `p` the count is the length in bytes; for `u`, `w` the length in
//!   characters (one text value, as NumPy reads `w`); for `t` the number of bits (1 to 64,
//!   stored in `ceil(bits / 8)` bytes, alignment 1); for `x` the number of pad bytes. For
//!   every other type a count other than 1 is one more (last) dimension of the field's
//!   sub-array shape, as NumPy reads it: `4i` is one field of shape `(4)`. (That is the
//!   field table's description; how the values of a struct-module format are grouped is
//!   the value rule's, below.)
//! * `x` is padding, never a field; a name on it is accepted and ignored.
//! * Standard sizes: `c b B ? x s p` 1, `h H e` 2, `i I l L f` 4, `q Q d` 8, `Ze` 4, `Zf` 8,
//!   `Zd` 16, `u` 2 per character, `w` 4 per character. `n N P g Zg` have no standard size
//!   and are refused outside `@` and `^` (the struct module refuses `n N P` the same way;
//!   neither it nor NumPy has a standard long double).
//! * `O` (an object pointer) and `&` (pointer to the type that follows it) are pointer sized
//!   in every mode (NumPy accepts `O` in standard mode), and, like `P`, always in native byte
//!   order: a pointer is only meaningful inside the process that wrote it.
//! * `g` is the C `long double` (16 bytes, alignment 16 on x86-64 and aarch64 Linux);
//!   `Zg` is two of them.
//!
//! # Values
//!
//! One rule says what values an item has and how they nest; every renderer follows it
//! ([`write_json`] for an item, `tolist` for a view, indexed items), through
//! [`item::walk`]:
//!
//! * **Where the struct module parses the format** ([`Format::struct_module`]: at most one
//!   prefix `@ = < > !`, as the first character, then only counts, the codes `x c b B ? h H
//!   i I l L q Q n N e f d s p P` and whitespace between items), an item's values are
//!   exactly `struct.unpack`'s tuple: repeat counts are flattened into it (`<2hi` has the
//!   values 1, 2, 3), a `0` count contributes nothing (`<ii0h` has two values, `0s` one
//!   empty string), padding is skipped wherever it stands (`xB` over `01 02` is 2); `s` is
//!   every byte (NULs included), `p` the bytes its length byte names, `c` one byte. A tuple
//!   of one value is that value (`xB` renders `2`, as `memoryview.tolist` gives a scalar for
//!   a one-value format); any other number of values is a list (`""`, `"3x"` and `"0i"` are
//!   `[]`).
//! * **Everywhere else** (`T{}`, names, `(shape)`, `^`, a prefix after the first character,
//!   and the codes struct lacks: `g Z u w t O &`), NumPy's reading:
//!   `np.frombuffer(data, np.dtype(<its PEP 3118 parse>)).tolist()`. The top level is one
//!   value only when it is one unnamed field at offset 0 spanning the whole item (then that
//!   field's value: `^i` a number, `^2i` a list of two, `T{i:a:}` the struct); with padding
//!   on either side of it, a name on it, or more fields, it is a struct (`^xB` is `[2]`;
//!   `2xT{i:a:}` and `T{i:a:}2x` are `[{"a": ...}]`). A field with a sub-array shape or a
//!   count is nested lists, one level per dimension, a zero extent an empty list (`^ii0h` is
//!   `[1, 2, []]`). `s`, `c`, `u` and `w` values end at their trailing NULs, as NumPy's `S`
//!   and `U` types read them (`T{4s}` over `ab\0\0` is `["ab"]`). A struct is a record with
//!   its field names when any field has a name (unnamed fields are called `f0`, `f1`, ... as
//!   NumPy names them), else a list of its fields' values. The types NumPy cannot read (`p u
//!   t & P n N O Ze`) have the values [`decode`] gives; a named `x` is still padding (NumPy
//!   would make it a field of raw bytes).
//!
//! Scalars are [`decode`]d; `e`, `f` and `g` are widened to double, as Python does. The
//! field table ([`Format::fields`]) describes the same layout with counts as sub-array
//! dimensions, and unwraps the top level exactly when NumPy does ([`Format::top_field`]).
//!
//! # Limits (hostile input)
//!
//! Nesting (`T{`, `&`) deeper than [`MAX_DEPTH`], structs and sub-arrays nested more than
//! [`MAX_RENDER_DEPTH`] levels in all, a sub-array of more than [`MAX_DIMS`]
//! dimensions, a format whose flattened description needs more than [`MAX_LEAF_RUNS`]
//! runs or a canonical text longer than [`MAX_CANONICAL_LEN`], and a `t` of more than 64
//! bits fail with `XBUF_ERR_FORMAT`; a count, extent or
//! size that does not fit `isize` fails with `XBUF_ERR_OVERFLOW`. Parsing is linear in the
//! text and never allocates more than a small multiple of the text plus the run limit.
//! [`write_json`] refuses (`XBUF_ERR_UNSUPPORTED`) an item that would render to more than
//! `16 * itemsize + JSON_NODE_SLACK` values and arrays (`(1000000000)0s`: a billion empty
//! strings from no bytes).

use std::sync::Arc;

use crate::status::Result;

mod cache;
mod canonical;
pub mod item;
pub mod json;
pub mod list;
mod parse;
pub mod value;

pub use cache::{cached_count, parse};
pub use canonical::canonical_code;
pub use json::write_json;
pub use parse::parse_uncached;
pub use value::{decode, items_equal, value_eq, Text, Value};

/// Deepest nesting of a rendered item, counting each struct and each sub-array dimension on
/// the way down (each is one level of recursion when the item is read or rendered).
/// cbindgen:ignore
pub const MAX_RENDER_DEPTH: usize = 256;

/// Deepest nesting of `T{...}` and `&` accepted.
/// cbindgen:ignore
pub const MAX_DEPTH: usize = 64;
/// Most dimensions in one sub-array shape (the same as a view's `ndim`).
/// cbindgen:ignore
pub const MAX_DIMS: usize = 64;
/// Most runs in a format's flattened leaf list ([`Format::leaves`]).
/// cbindgen:ignore
pub const MAX_LEAF_RUNS: usize = 65536;
/// Longest canonical text (counting 48 bytes per run plus each pointee's text).
/// cbindgen:ignore
pub const MAX_CANONICAL_LEN: usize = 1 << 22;
/// [`write_json`] refuses an item that renders to more than `16 * itemsize +
/// JSON_NODE_SLACK` values and arrays: a format such as `(1000000000)0s` would otherwise
/// write a billion empty strings from zero bytes.
/// cbindgen:ignore
pub const JSON_NODE_SLACK: usize = 1 << 20;

/// The item size of a format string (the whole grammar; `struct.calcsize` for every
/// struct-module format). Uses the per-process cache.
pub fn itemsize(fmt: &[u8]) -> Result<usize> {
    cache::with_format(fmt, |f| f.itemsize)
}

/// Byte order of a scalar in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The byte order of this machine.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };

    /// `'<'` or `'>'`.
    pub fn as_char(self) -> u8 {
        match self {
            ByteOrder::Little => b'<',
            ByteOrder::Big => b'>',
        }
    }
}

/// What a scalar holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Signed integer (`b h i l q n`).
    Int,
    /// Unsigned integer (`B H I L Q N`).
    UInt,
    /// Binary floating point (`e f d g`).
    Float,
    /// Two floats, real then imaginary (`Ze Zf Zd Zg`).
    Complex,
    /// `?`: any non-zero byte is true.
    Bool,
    /// `c`: one byte.
    Char,
    /// `s`: `len` bytes.
    Bytes,
    /// `p`: Pascal string: a length byte, then up to `len - 1` bytes.
    Pascal,
    /// `u`: `len` UCS-2 code units.
    Ucs2,
    /// `w`: `len` UCS-4 code points.
    Ucs4,
    /// `t`: `len` bits in `ceil(len / 8)` bytes.
    Bits,
    /// `P`: a `void *`.
    Pointer,
    /// `O`: an object pointer.
    Object,
    /// `&`: a pointer to the type in [`Scalar::pointee`].
    Ref,
}

/// One scalar type: what one element of a leaf field is.
#[derive(Clone, Debug)]
pub struct Scalar {
    /// The code as written (`'l'`, `'n'`, ...; `'Z'` for complex, `'&'` for pointers-to).
    pub code: u8,
    pub kind: Kind,
    /// Bytes of one element.
    pub size: usize,
    /// Characters for `s p u w`, bits for `t`, else 1.
    pub len: usize,
    pub order: ByteOrder,
    /// For `&`: the canonical text of the type pointed to.
    pub pointee: Option<Arc<str>>,
}

impl Scalar {
    /// Same item type: the same kind, size, length, byte order and pointee (the code as
    /// written does not matter: `<l` and `<i` are the same type).
    pub fn same_type(&self, other: &Scalar) -> bool {
        self.kind == other.kind
            && self.size == other.size
            && self.len == other.len
            && self.order == other.order
            && self.pointee == other.pointee
    }
}

/// A field's type: a scalar or a nested struct.
#[derive(Clone, Debug)]
pub enum FieldType {
    Scalar(Scalar),
    Struct(Struct),
}

/// A struct: the top level of a format, or a `T{...}`.
#[derive(Clone, Debug)]
pub struct Struct {
    pub fields: Vec<Field>,
    /// Size in bytes (with trailing padding for a `T{...}` ending in `@` mode).
    pub size: usize,
    /// Alignment: the least common multiple of the alignments of its `@` items (1 if none).
    pub align: usize,
    /// How many JSON values and arrays one element renders, not counting itself
    /// (saturating).
    pub(crate) nodes: usize,
    /// How deeply one element's JSON nests: one level for the struct, one per sub-array
    /// dimension and nested struct inside (bounded by [`MAX_RENDER_DEPTH`]).
    pub(crate) depth: usize,
}

/// One field (padding is not a field).
#[derive(Clone, Debug)]
pub struct Field {
    /// The element text, a NUL, then the name and a NUL if there is one (one allocation;
    /// NUL-terminated for the C API).
    strs: Box<str>,
    text_len: u32,
    named: bool,
    /// Offset from the start of the enclosing struct.
    pub offset: usize,
    /// Sub-array shape (extents from `(d1,d2)` then the repeat count when it is not 1);
    /// empty for one element.
    pub shape: Vec<usize>,
    /// Bytes from one element to the next (the element size, padded to its alignment in
    /// `@` mode).
    pub stride: usize,
    pub ty: FieldType,
}

impl Field {
    pub(crate) fn new(
        text: (u8, &str),
        name: Option<&str>,
        offset: usize,
        shape: Vec<usize>,
        stride: usize,
        ty: FieldType,
    ) -> Field {
        let mut strs = String::with_capacity(text.1.len() + 3 + name.map_or(0, |n| n.len() + 1));
        strs.push(text.0 as char);
        strs.push_str(text.1);
        let text_len = strs.len() as u32;
        strs.push('\0');
        if let Some(n) = name {
            strs.push_str(n);
            strs.push('\0');
        }
        Field {
            strs: strs.into_boxed_str(),
            text_len,
            named: name.is_some(),
            offset,
            shape,
            stride,
            ty,
        }
    }
    /// The field's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.named
            .then(|| &self.strs[self.text_len as usize + 1..self.strs.len() - 1])
    }
    pub(crate) fn name_c(&self) -> Option<&str> {
        self.named.then(|| &self.strs[self.text_len as usize + 1..])
    }
    /// A format text for one element (without the sub-array shape), starting with the mode
    /// prefix in effect: `"<i"`, `"@10s"`, `"@T{b i}"`.
    pub fn text(&self) -> &str {
        &self.strs[..self.text_len as usize]
    }
    pub(crate) fn text_c(&self) -> &str {
        &self.strs[..self.text_len as usize + 1]
    }
    /// Number of elements (the product of the shape).
    pub fn count(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A run of `count` elements of one scalar type, back to back from `offset` (stride
/// `scalar.size`). [`Format::leaves`] lists them in memory order, adjacent equal runs merged.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub offset: usize,
    pub count: usize,
    pub scalar: Scalar,
}

impl Leaf {
    /// Bytes this run covers.
    pub fn bytes(&self) -> usize {
        self.scalar.size * self.count
    }
}

const FORMAT_MAGIC: u64 = 0x7862_7566_464d_5431; // "xbufFMT1"

/// A parsed format. `repr(C)` keeps `magic` at offset 0, so checking whether a foreign
/// pointer is a format handle reads only its first 8 bytes ([`Format::is_format_ptr`]).
#[derive(Debug)]
#[repr(C)]
pub struct Format {
    magic: u64,
    pub(crate) root: Struct,
    pub(crate) itemsize: usize,
    pub(crate) alignment: usize,
    pub(crate) byteorder: u8,
    pub(crate) leaves: Vec<Leaf>,
    /// NUL-terminated.
    canonical: Box<str>,
    /// Approximate memory weight, for the cache's bound.
    pub(crate) weight: usize,
    /// Whether Python's struct module parses the text (see [`Format::struct_module`]).
    pub(crate) struct_module: bool,
}

// The handle check relies on it.
const _: () = assert!(std::mem::offset_of!(Format, magic) == 0);

impl Format {
    pub(crate) fn new(root: Struct, byteorder: u8, leaves: Vec<Leaf>, weight: usize) -> Format {
        let mut canonical = canonical::canonical_text(&leaves, root.size);
        canonical.push('\0');
        let canonical: Box<str> = canonical.into();
        Format {
            magic: FORMAT_MAGIC,
            itemsize: root.size,
            alignment: root.align,
            byteorder,
            leaves,
            weight: weight + canonical.len() / 16,
            canonical,
            root,
            struct_module: false,
        }
    }

    /// Whether `p` points at a format: reads the 8 bytes at `p` and nothing else.
    ///
    /// # Safety
    /// `p` must point at 8 readable bytes (any alignment).
    pub(crate) unsafe fn is_format_ptr(p: *const Format) -> bool {
        p.cast::<u64>().read_unaligned() == FORMAT_MAGIC
    }

    /// Size of one item in bytes.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }
    /// The alignment the item needs in `@` mode (1 when no item is in `@` mode).
    pub fn alignment(&self) -> usize {
        self.alignment
    }
    /// The mode of every type in the format: `'@'`, `'^'`, `'='`, `'<'` or `'>'` (`'!'` is
    /// reported as `'>'`), or `'*'` when types use different modes. A format without types
    /// reports the mode its text ends in.
    pub fn byteorder(&self) -> u8 {
        self.byteorder
    }
    /// Whether Python's struct module parses the format's text: at most one prefix
    /// (`@ = < > !`) as its first character, then only counts, the codes `x c b B ? h H i I
    /// l L q Q n N e f d s p P` and whitespace between items. For these formats an item's
    /// values are `struct.unpack`'s tuple; for all others NumPy's reading (see "Values" in
    /// the [module docs](crate::format)).
    pub fn struct_module(&self) -> bool {
        self.struct_module
    }
    /// The item's fields: those of the top level, or, when NumPy's PEP 3118 reader unwraps
    /// the top level to one unnamed `T{...}` (see [`top_field`](Format::top_field)), that
    /// struct's fields.
    pub fn fields(&self) -> &[Field] {
        &self.item_struct().fields
    }
    /// The struct [`fields`](Format::fields) lists.
    pub fn item_struct(&self) -> &Struct {
        match self.top_field() {
            Some(Field {
                ty: FieldType::Struct(st),
                shape,
                ..
            }) if shape.is_empty() => st,
            _ => &self.root,
        }
    }
    /// The top level's one field, when NumPy's PEP 3118 reader unwraps it: the top level
    /// has exactly one field, without a name, at offset 0, spanning the whole item (no
    /// padding before or after it). NumPy then reads the item as that field's type rather
    /// than as a struct of one field.
    pub fn top_field(&self) -> Option<&Field> {
        match self.root.fields.as_slice() {
            [f] if !f.named
                && f.offset == 0
                && f.stride.checked_mul(f.count()) == Some(self.itemsize) =>
            {
                Some(f)
            }
            _ => None,
        }
    }
    /// The top-level struct.
    pub fn root(&self) -> &Struct {
        &self.root
    }
    /// Every scalar in memory order as runs of equal adjacent elements.
    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }
    /// Number of scalar values in one item (the sum of the leaves' counts).
    pub fn value_count(&self) -> usize {
        self.leaves.iter().map(|l| l.count).sum()
    }
    /// The canonical text: one spelling per layout. Every scalar with an explicit `<` or `>`
    /// and its standard code (`q` for an 8-byte `l`, `n` or `q`), `^` for the native-only
    /// types (`g`, `Zg`, `P`, `O`, `&`), padding written as `x`, runs merged into counts or
    /// sub-array shapes; names and nesting are not part of it. Two formats have the same
    /// canonical text exactly when they are [`equivalent`](Format::equivalent).
    pub fn canonical(&self) -> &str {
        &self.canonical[..self.canonical.len() - 1]
    }
    /// Same layout and the same item types: equal item sizes and equal leaf lists (offset,
    /// count, type, byte order). Names, nesting and how elements are grouped into sub-arrays
    /// do not matter (`"ii"`, `"2i"`, `"T{i:a: i:b:}"` and `"<l<i"` on x86-64 Linux with
    /// `"@"` sizes are all the same two 4-byte integers).
    pub fn equivalent(&self, other: &Format) -> bool {
        self.itemsize == other.itemsize
            && self.leaves.len() == other.leaves.len()
            && self.leaves.iter().zip(&other.leaves).all(|(a, b)| {
                a.offset == b.offset && a.count == b.count && a.scalar.same_type(&b.scalar)
            })
    }
}

/// Checks every invariant the fuzz target checks, for one input; panics when one breaks.
/// (Used by the fuzz target in `fuzz/` and by the tests on the kept regression inputs.)
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    use crate::status::Status;
    let f = match parse_uncached(data) {
        Ok(f) => f,
        Err(e) => {
            assert!(
                matches!(e.status, Status::Format | Status::Overflow),
                "status {:?}",
                e.status
            );
            assert!(!e.message.is_empty());
            let again = parse(data).expect_err("the cache agrees");
            assert_eq!(again.message, e.message);
            return;
        }
    };
    assert!(f.itemsize() <= isize::MAX as usize);
    assert!(f.alignment().is_power_of_two());
    let cached = parse(data).expect("the cache agrees");
    assert!(cached.equivalent(&f) && cached.canonical() == f.canonical());
    // The canonical text reads back to the same layout.
    let c = parse_uncached(f.canonical().as_bytes())
        .unwrap_or_else(|e| panic!("canonical '{}' fails: {}", f.canonical(), e.message));
    assert_eq!(c.canonical(), f.canonical());
    assert!(c.equivalent(&f) && f.equivalent(&c));
    assert_eq!(c.itemsize(), f.itemsize());
    // Leaves are in order, disjoint and inside the item.
    let mut end = 0;
    for l in f.leaves() {
        assert!(l.offset >= end && l.count > 0 && l.bytes() > 0);
        end = l.offset + l.bytes();
    }
    assert!(end <= f.itemsize());
    fn check_struct(st: &Struct) {
        for fl in &st.fields {
            assert!(fl.offset + fl.stride * fl.count() <= st.size);
            if let FieldType::Struct(inner) = &fl.ty {
                check_struct(inner);
            }
        }
    }
    check_struct(f.root());
    // Render and compare an item made of the input's bytes.
    if f.itemsize() <= 1 << 16 {
        let item: Vec<u8> = if data.is_empty() {
            vec![0; f.itemsize()]
        } else {
            data.iter().copied().cycle().take(f.itemsize()).collect()
        };
        let mut out = String::new();
        match write_json(&f, &item, &mut out) {
            Ok(()) => assert!(out.is_ascii()),
            Err(e) => assert_eq!(e.status, Status::Unsupported, "json: {}", e.message),
        }
        let _ = items_equal(&f, &item, &c, &item);
        for l in f.leaves().iter().take(64) {
            decode(&l.scalar, &item[l.offset..]).expect("decode");
        }
    }
}

#[cfg(test)]
mod tests;
