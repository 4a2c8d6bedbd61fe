//! Import: a schema described in xbuf's terms, the array's levels checked against it, and
//! the object holding the array.

use std::borrow::Cow;
use std::ffi::{c_int, CStr, CString};

use crate::capi::{xbuf_bufferinfo, XBUF_MAX_NDIM};
use crate::exporters::any_impl;
use crate::format;
use crate::layout::Order;
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::{overflow, Result};
use crate::{bail, err};

use super::import_memo::{self, Answer, Fmt, DIMS_MAX, LISTS_MAX};
use super::metadata::{known_keys, read_tensor_meta, Axes};
use super::{ArrowArray, ArrowSchema, BOOL8, FORMAT_KEY, IGNORE_VALIDITY, IMPORT_FLAGS, TENSOR};

/// An imported item format: a static one, short text kept inline (no allocation), or longer
/// text on the heap.
enum ItemFormat {
    Static(&'static CStr),
    /// NUL-terminated within the array.
    Inline([u8; 23]),
    Heap(CString),
}

impl std::fmt::Debug for ItemFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_cstr().fmt(f)
    }
}

impl ItemFormat {
    /// `text` as a format (refused when it holds a NUL byte).
    fn new(text: &[u8]) -> Result<ItemFormat> {
        if text.contains(&0) {
            bail!(Format, "the format contains a NUL byte");
        }
        Ok(ItemFormat::new_clean(text))
    }

    /// `text`, which holds no NUL byte, as a format.
    fn new_clean(text: &[u8]) -> ItemFormat {
        debug_assert!(!text.contains(&0));
        if text.len() < 23 {
            let mut b = [0u8; 23];
            b[..text.len()].copy_from_slice(text);
            return ItemFormat::Inline(b);
        }
        ItemFormat::Heap(CString::new(text).expect("no NUL byte"))
    }

    fn as_cstr(&self) -> &CStr {
        match self {
            ItemFormat::Static(c) => c,
            ItemFormat::Inline(b) => CStr::from_bytes_until_nul(b).expect("NUL-terminated"),
            ItemFormat::Heap(c) => c,
        }
    }
}

/// What a schema describes, in xbuf's terms.
#[derive(Debug)]
struct Desc {
    /// The item format.
    format: ItemFormat,
    itemsize: isize,
    /// One entry per fixed-size list level, innermost first.
    levels: Levels,
}

/// The levels of nested fixed-size lists, innermost first: the first in place (one tensor
/// level, the common case, needs no allocation), the rest on the heap.
#[derive(Debug, Default)]
struct Levels {
    first: Option<Level>,
    more: Vec<Level>,
}

impl Levels {
    fn push(&mut self, level: Level) {
        if self.first.is_none() {
            self.first = Some(level);
        } else {
            self.more.push(level);
        }
    }
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }
    /// Innermost first.
    fn iter(&self) -> impl DoubleEndedIterator<Item = &Level> {
        self.first.iter().chain(self.more.iter())
    }
}

#[derive(Debug)]
struct Level {
    /// Items per list (the product of `physical`).
    size: isize,
    /// The tensor's physical (row-major) shape: `[size]` for a plain fixed-size list.
    physical: Axes<isize>,
    /// Logical axis `i` is physical axis `permutation[i]`; `None`: the identity.
    permutation: Option<Axes<usize>>,
}

fn type_name(format: &[u8]) -> String {
    String::from_utf8_lossy(format).into_owned()
}

/// Reads the type a schema describes into `desc` (made by [`Desc::new`]): its item format and
/// size, and its levels pushed innermost first. On failure `desc` holds part of it.
///
/// # Safety
/// `schema` must point at a valid schema (its strings NUL-terminated, its children valid).
unsafe fn describe(schema: *const ArrowSchema, dims: usize, desc: &mut Desc) -> Result<()> {
    let s = &*schema;
    if s.release.is_none() {
        bail!(Released, "the ArrowSchema is released");
    }
    if s.format.is_null() {
        bail!(InvalidArgument, "the ArrowSchema's format is NULL");
    }
    let f = CStr::from_ptr(s.format).to_bytes();
    if !s.dictionary.is_null() {
        bail!(
            Unsupported,
            "dictionary-encoded arrays (indices '{}') have no PEP 3118 layout; decode the \
             dictionary first",
            type_name(f)
        );
    }
    let meta = known_keys(s.metadata)?;
    let ext = meta.ext_name;
    let mut prim = |code: &'static CStr, size: isize| {
        desc.format = ItemFormat::Static(code);
        desc.itemsize = size;
    };
    match f {
        b"c" if ext == Some(BOOL8.as_bytes()) => prim(c"?", 1),
        b"c" => prim(c"b", 1),
        b"C" => prim(c"B", 1),
        b"s" => prim(c"h", 2),
        b"S" => prim(c"H", 2),
        b"i" => prim(c"i", 4),
        b"I" => prim(c"I", 4),
        b"l" => prim(c"q", 8),
        b"L" => prim(c"Q", 8),
        b"e" => prim(c"e", 2),
        b"f" => prim(c"f", 4),
        b"g" => prim(c"d", 8),
        _ if f.starts_with(b"w:") => {
            let n = parse_size(&f[2..], f)?;
            if n == 0 {
                bail!(Unsupported, "fixed-size binary of 0 bytes ('w:0') has no PEP 3118 item");
            }
            let format = match meta.format {
                Some(text) => {
                    let known = super::memo::item_size(text);
                    let size = match known {
                        Some(size) => size,
                        None => format::itemsize(text)?,
                    };
                    if size != n {
                        bail!(
                            Format,
                            "the '{FORMAT_KEY}' metadata '{}' has item size {size}, but the \
                             field is 'w:{n}'",
                            type_name(text)
                        );
                    }
                    match known {
                        // A text remembered once it was taken below: no NUL byte in it.
                        Some(_) => ItemFormat::new_clean(text),
                        None => {
                            let f = ItemFormat::new(text)?;
                            super::memo::remember_item_size(text, size);
                            f
                        }
                    }
                }
                None => {
                    let mut text = Vec::with_capacity(12);
                    super::metadata::push_uint(&mut text, n);
                    text.push(b's');
                    ItemFormat::new(&text)?
                }
            };
            desc.format = format;
            desc.itemsize = n as isize;
        }
        _ if f.starts_with(b"+w:") => {
            let n = parse_size(&f[3..], f)? as isize;
            if s.n_children != 1 {
                bail!(
                    InvalidArgument,
                    "the fixed-size list schema '{}' has {} children (1 expected)",
                    type_name(f),
                    s.n_children
                );
            }
            if s.children.is_null() || (*s.children).is_null() {
                bail!(
                    InvalidArgument,
                    "the fixed-size list schema '{}' has a NULL child schema",
                    type_name(f)
                );
            }
            let (physical, permutation) = if ext == Some(TENSOR.as_bytes()) {
                let (physical, permutation) = read_tensor_meta(meta.ext_meta.unwrap_or(b""))?;
                let count = crate::layout::item_count(&physical)?;
                if count != n {
                    bail!(
                        InvalidArgument,
                        "the arrow.fixed_shape_tensor shape {physical:?} has {count} items, \
                         but its storage is '{}'",
                        type_name(f)
                    );
                }
                (physical, permutation)
            } else {
                (Axes::from_slice(&[n]), None)
            };
            let dims = dims + physical.len();
            if dims + 1 > XBUF_MAX_NDIM as usize {
                bail!(
                    Unsupported,
                    "the nested fixed-size lists have more than {} dimensions",
                    XBUF_MAX_NDIM
                );
            }
            describe(*s.children, dims, desc)?;
            desc.levels.push(Level {
                size: n,
                physical,
                permutation,
            });
        }
        b"b" => bail!(
            Unsupported,
            "Arrow booleans ('b') are bit-packed; a PEP 3118 item is at least one byte (cast \
             to int8 or arrow.bool8 first)"
        ),
        b"u" | b"U" | b"z" | b"Z" | b"vu" | b"vz" | b"+l" | b"+L" | b"+vl" | b"+vL" => bail!(
            Unsupported,
            "the Arrow type '{}' has variable-length items; a PEP 3118 view needs a fixed item size",
            type_name(f)
        ),
        _ => bail!(
            Unsupported,
            "the Arrow type '{}' has no PEP 3118 format (supported: c C s S i I l L e f g, \
             w:N, +w:N, arrow.bool8, arrow.fixed_shape_tensor)",
            type_name(f)
        ),
    }
    Ok(())
}

impl Desc {
    fn new() -> Desc {
        Desc {
            format: ItemFormat::Static(c"B"),
            itemsize: 1,
            levels: Levels::default(),
        }
    }
}

pub(super) fn parse_size(digits: &[u8], whole: &[u8]) -> Result<usize> {
    let mut n: usize = 0;
    let valid = !digits.is_empty()
        && digits.iter().all(|&c| {
            let d = c.wrapping_sub(b'0');
            n = n.saturating_mul(10).saturating_add(usize::from(d));
            d < 10
        });
    if !valid || n > i32::MAX as usize {
        bail!(
            InvalidArgument,
            "the Arrow format '{}' has no valid size",
            type_name(whole)
        );
    }
    Ok(n)
}

/// An object whose views read an imported Arrow array.
pub struct ArrowImport {
    array: ArrowArray,
    buf: *mut u8,
    len: isize,
    itemsize: isize,
    format: ItemFormat,
    /// The shape, then the strides.
    dims: Dims,
}

/// Shape and strides: inline up to four dimensions (no allocation), else on the heap.
enum Dims {
    Inline(usize, [isize; 8]),
    Heap(Vec<isize>),
}

impl Dims {
    fn new(shape: &[isize], strides: &[isize]) -> Dims {
        let n = shape.len();
        if n <= 4 {
            let mut a = [0isize; 8];
            a[..n].copy_from_slice(shape);
            a[n..2 * n].copy_from_slice(strides);
            Dims::Inline(n, a)
        } else {
            Dims::Heap([shape, strides].concat())
        }
    }
    fn all(&self) -> &[isize] {
        match self {
            Dims::Inline(n, a) => &a[..2 * n],
            Dims::Heap(v) => v,
        }
    }
    fn shape(&self) -> &[isize] {
        let a = self.all();
        &a[..a.len() / 2]
    }
    fn strides(&self) -> &[isize] {
        let a = self.all();
        &a[a.len() / 2..]
    }
}

// SAFETY: the array's memory is immutable while the object lives (Arrow arrays are); its
// release callback may be called from any thread (the specification requires it of
// producers whose arrays cross threads, and the caller of `xbuf_arrow_import` accepts that).
unsafe impl Send for ArrowImport {}
unsafe impl Sync for ArrowImport {}

impl Exporter for ArrowImport {
    fn type_name(&self) -> &CStr {
        c"arrow"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        Ok(Response {
            buf: self.buf,
            len: self.len,
            itemsize: self.itemsize,
            readonly: true,
            format: Some(self.format.as_cstr()),
            ndim: self.dims.shape().len(),
            shape: Some(self.dims.shape()),
            strides: Some(self.dims.strides()),
            ..Response::default()
        })
    }
    any_impl!();
}

impl Drop for ArrowImport {
    fn drop(&mut self) {
        if let Some(r) = self.array.release {
            // SAFETY: the array was moved in by `import`; this is its one release.
            unsafe { r(&mut self.array) };
        }
    }
}

/// Counts the zero bits of `bitmap` (least significant bit first, as Arrow numbers them) in
/// `[start, start + count)`: the head and tail bit by bit, whole bytes in between.
///
/// # Safety
/// The bitmap must cover those bits.
pub(crate) unsafe fn count_nulls(bitmap: *const u8, start: usize, count: usize) -> usize {
    let end = start + count;
    let bit = |i: usize| *bitmap.add(i / 8) >> (i % 8) & 1;
    let mut nulls = 0;
    let mut i = start;
    while i < end && i % 8 != 0 {
        nulls += usize::from(bit(i) == 0);
        i += 1;
    }
    while i + 8 <= end {
        nulls += (*bitmap.add(i / 8)).count_zeros() as usize;
        i += 8;
    }
    while i < end {
        nulls += usize::from(bit(i) == 0);
        i += 1;
    }
    nulls
}

/// Names an array level in messages: the top array (depth 0) or a child.
#[derive(Clone, Copy)]
struct Slot(usize);

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => f.write_str("ArrowArray"),
            d => write!(f, "child array at depth {d}"),
        }
    }
}

/// Checks one array level against what its schema level expects and returns its physical
/// start (in its own slots) after applying its `offset`.
///
/// # Safety
/// `a` must point at a valid array.
#[inline(always)]
unsafe fn check_level(
    a: &ArrowArray,
    what: Slot,
    n_buffers: i64,
    n_children: i64,
    start: usize,
    count: usize,
    flags: c_int,
) -> Result<usize> {
    // The common case first: no nulls, the expected buffers and children, the slots in range;
    // anything else is checked (and refused, or counted) in order below.
    if a.null_count == 0
        && a.release.is_some()
        && (a.length | a.offset) >= 0
        && a.n_buffers == n_buffers
        && a.n_children == n_children
        && !a.buffers.is_null()
        && (n_children == 0 || !a.children.is_null())
        && a.dictionary.is_null()
    {
        let end = start.checked_add(count);
        let phys = start.checked_add(a.offset as usize);
        if let (Some(end), Some(phys)) = (end, phys) {
            if end <= a.length as usize {
                return Ok(phys);
            }
        }
    }
    check_level_in_full(a, what, n_buffers, n_children, start, count, flags)
}

/// [`check_level`], every check in order.
///
/// # Safety
/// As for [`check_level`].
#[inline(never)]
unsafe fn check_level_in_full(
    a: &ArrowArray,
    what: Slot,
    n_buffers: i64,
    n_children: i64,
    start: usize,
    count: usize,
    flags: c_int,
) -> Result<usize> {
    if a.release.is_none() {
        bail!(Released, "the {what} is released");
    }
    if a.length < 0 || a.offset < 0 {
        bail!(
            InvalidArgument,
            "the {what} has length {} and offset {}",
            a.length,
            a.offset
        );
    }
    if a.n_buffers != n_buffers || a.n_children != n_children {
        bail!(
            InvalidArgument,
            "the {what} has {} buffers and {} children ({n_buffers} and {n_children} expected \
             for its type)",
            a.n_buffers,
            a.n_children
        );
    }
    if a.buffers.is_null() || (n_children > 0 && a.children.is_null()) {
        bail!(InvalidArgument, "the {what} has NULL buffers or children");
    }
    if !a.dictionary.is_null() {
        bail!(
            InvalidArgument,
            "the {what} has a dictionary its schema does not describe"
        );
    }
    let length = a.length as usize;
    if start.checked_add(count).is_none_or(|end| end > length) {
        bail!(
            InvalidArgument,
            "the {what} has {length} slots, fewer than the {} its parent uses",
            start as u128 + count as u128
        );
    }
    let phys = start
        .checked_add(a.offset as usize)
        .ok_or_else(|| overflow("the array offset"))?;
    let validity = *a.buffers;
    let nulls = match a.null_count {
        0 => 0,
        n if n < -1 => bail!(InvalidArgument, "the {what} has null_count {n}"),
        -1 if validity.is_null() => 0,
        n if validity.is_null() => bail!(
            InvalidArgument,
            "the {what} has null_count {n} but no validity bitmap"
        ),
        n if n > 0 && start == 0 && count == length => n as usize,
        _ => count_nulls(validity.cast(), phys, count),
    };
    if nulls > 0 && flags & IGNORE_VALIDITY == 0 {
        bail!(
            InvalidArgument,
            "the {what} has {nulls} null slot(s): a PEP 3118 view cannot mark them (pass \
             XBUF_ARROW_IGNORE_VALIDITY to read the values under them as they lie)"
        );
    }
    Ok(phys)
}

/// Shape and strides of nested fixed-size lists: the length, then each level's logical axes,
/// built inside out.
fn tensor_dims(desc: &Desc, count: usize, itemsize: isize) -> Result<Dims> {
    const MAX: usize = XBUF_MAX_NDIM as usize;
    let ndim = 1 + desc.levels.iter().map(|l| l.physical.len()).sum::<usize>();
    if ndim > MAX {
        bail!(
            Unsupported,
            "the nested fixed-size lists have more than {MAX} dimensions"
        );
    }
    // Shape then strides, written straight into their final place.
    let mut dims = if ndim <= 4 {
        Dims::Inline(ndim, [0isize; 8])
    } else {
        Dims::Heap(vec![0isize; 2 * ndim])
    };
    let all = match &mut dims {
        Dims::Inline(n, a) => &mut a[..2 * *n],
        Dims::Heap(v) => &mut v[..],
    };
    let (shape, strides) = all.split_at_mut(ndim);
    let mut inner = itemsize;
    let mut end = ndim;
    let mut small = [0isize; 8];
    let mut large = Vec::new();
    for level in desc.levels.iter() {
        let n = level.physical.len();
        let phys = if n <= small.len() {
            &mut small[..n]
        } else {
            large.resize(n, 0);
            &mut large[..]
        };
        crate::layout::contiguous_strides(&level.physical, inner, Order::C, phys)?;
        for i in 0..n {
            let p = level.permutation.as_ref().map_or(i, |perm| perm[i]);
            shape[end - n + i] = level.physical[p];
            strides[end - n + i] = phys[p];
        }
        end -= n;
        inner = inner
            .checked_mul(level.size)
            .ok_or_else(|| overflow("the tensor byte size"))?;
    }
    shape[0] = count as isize;
    strides[0] = inner;
    Ok(dims)
}

/// Where the array's items are: the number of slots of the top array, the first item's
/// address and the byte length of the items in use.
struct Items {
    count: usize,
    buf: *mut u8,
    len: isize,
}

/// Walks the array's levels down to its items: `sizes` are the list sizes of the schema's
/// levels, outermost first.
///
/// # Safety
/// `array` must point at a valid array.
#[inline(always)]
unsafe fn walk(
    array: *const ArrowArray,
    sizes: impl Iterator<Item = isize>,
    itemsize: isize,
    flags: c_int,
) -> Result<Items> {
    let top = &*array;
    // `start`/`items` are slots of the current level.
    let count = usize::try_from(top.length)
        .map_err(|_| err!(InvalidArgument, "the ArrowArray has length {}", top.length))?;
    let mut a = top;
    let mut start = 0usize;
    let mut items = count;
    let mut depth = 0;
    for size in sizes {
        let what = Slot(depth);
        let phys = check_level(a, what, 1, 1, start, items, flags)?;
        let size = size as usize;
        start = phys
            .checked_mul(size)
            .ok_or_else(|| overflow("the child slot"))?;
        items = items
            .checked_mul(size)
            .ok_or_else(|| overflow("the item count"))?;
        let child = *a.children;
        if child.is_null() {
            bail!(InvalidArgument, "the {what} has a NULL child");
        }
        a = &*child;
        depth += 1;
    }
    let what = Slot(depth);
    let phys = check_level(a, what, 2, 0, start, items, flags)?;
    let data = *a.buffers.add(1);
    let byte_off = phys
        .checked_mul(itemsize as usize)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| overflow("the data offset"))?;
    let len = items
        .checked_mul(itemsize as usize)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| overflow("the array's byte size"))? as isize;
    if data.is_null() && items > 0 {
        bail!(
            InvalidArgument,
            "the {what}'s data buffer is NULL but it has {items} items"
        );
    }
    let buf = if data.is_null() {
        std::ptr::null_mut()
    } else {
        data.cast::<u8>().cast_mut().wrapping_add(byte_off)
    };
    Ok(Items { count, buf, len })
}

/// Moves the array into a new object with that layout; `(*array).release` is set to NULL.
///
/// # Safety
/// `array` must point at a valid array, the one the layout was read from.
#[inline(always)]
unsafe fn make(
    array: *mut ArrowArray,
    items: &Items,
    itemsize: isize,
    format: ItemFormat,
    dims: impl FnOnce(*mut Dims),
) -> ObjRef {
    let made = ObjRef::new_in_place(|p: *mut ArrowImport| {
        // SAFETY: `p` is the object's place for its exporter, written once here.
        unsafe {
            std::ptr::addr_of_mut!((*p).array).copy_from_nonoverlapping(array, 1);
            std::ptr::addr_of_mut!((*p).buf).write(items.buf);
            std::ptr::addr_of_mut!((*p).len).write(items.len);
            std::ptr::addr_of_mut!((*p).itemsize).write(itemsize);
            std::ptr::addr_of_mut!((*p).format).write(format);
            dims(std::ptr::addr_of_mut!((*p).dims));
        }
        Ok(())
    });
    let obj = match made {
        Ok(obj) => obj,
        Err(_) => unreachable!("the exporter's writing does not fail"),
    };
    (*array).release = None;
    obj
}

/// Makes an object of an Arrow array (see the module docs). On success the array is moved in
/// (`(*array).release` is set to NULL); on failure nothing is changed.
///
/// # Safety
/// `schema` and `array` must point at valid, matching structs of the C Data Interface.
pub unsafe fn import(
    schema: *const ArrowSchema,
    array: *mut ArrowArray,
    flags: c_int,
) -> Result<ObjRef> {
    if flags & !IMPORT_FLAGS != 0 {
        bail!(
            InvalidArgument,
            "import flags 0x{flags:x} contain unknown bits 0x{:x}",
            flags & !IMPORT_FLAGS
        );
    }
    // The schema remembered on this thread: its answer, and the array's checks as below.
    let hit = import_memo::with_answer(schema, |m| {
        let sizes = m.sizes[..m.lists].iter().copied();
        let items = walk(array, sizes, m.itemsize, flags)?;
        let format = match m.format {
            Fmt::Static(c) => ItemFormat::Static(c),
            Fmt::Inline(b) => ItemFormat::Inline(b),
        };
        let count = items.count as isize;
        Ok(make(array, &items, m.itemsize, format, |d| {
            // SAFETY: `d` is the new object's place for its dims.
            unsafe {
                d.write(Dims::Inline(m.ndim, m.dims));
                if let Dims::Inline(_, a) = &mut *d {
                    a[0] = count;
                }
            }
        }))
    });
    match hit {
        Some(done) => done,
        None => import_described(schema, array, flags),
    }
}

/// [`import`] of a schema described afresh (and remembered when it is taken).
///
/// # Safety
/// As for [`import`].
unsafe fn import_described(
    schema: *const ArrowSchema,
    array: *mut ArrowArray,
    flags: c_int,
) -> Result<ObjRef> {
    let mut desc = Desc::new();
    describe(schema, 0, &mut desc)?;
    let itemsize = desc.itemsize;
    let sizes = desc.levels.iter().rev().map(|l| l.size);
    let items = walk(array, sizes, itemsize, flags)?;
    let dims = if desc.levels.is_empty() {
        let mut a = [0isize; 8];
        a[0] = items.count as isize;
        a[1] = itemsize;
        Dims::Inline(1, a)
    } else {
        tensor_dims(&desc, items.count, itemsize)?
    };
    let answer = answer_of(&desc, &dims);
    let obj = make(array, &items, itemsize, desc.format, |d| {
        // SAFETY: `d` is the new object's place for its dims.
        unsafe { d.write(dims) }
    });
    if let Some(answer) = answer {
        import_memo::remember(schema, &answer);
    }
    Ok(obj)
}

/// What the memo keeps of an accepted schema's description and layout, when it fits.
fn answer_of(desc: &Desc, dims: &Dims) -> Option<Answer> {
    let format = match desc.format {
        ItemFormat::Static(c) => Fmt::Static(c),
        ItemFormat::Inline(b) => Fmt::Inline(b),
        ItemFormat::Heap(_) => return None,
    };
    let Dims::Inline(ndim, a) = *dims else {
        return None;
    };
    let lists = desc.levels.len();
    if ndim > DIMS_MAX || lists > LISTS_MAX {
        return None;
    }
    let mut sizes = [0isize; LISTS_MAX];
    for (s, l) in sizes.iter_mut().zip(desc.levels.iter().rev()) {
        *s = l.size;
    }
    let mut d = [0isize; 2 * DIMS_MAX];
    d[..2 * ndim].copy_from_slice(&a[..2 * ndim]);
    Some(Answer {
        format,
        itemsize: desc.itemsize,
        lists,
        sizes,
        ndim,
        dims: d,
    })
}
