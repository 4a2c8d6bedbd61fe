//! Random layouts over memory the harness owns, with a model of where every item is.
//!
//! A layout has 0 to 4 dimensions of extent 0 to 4, items of 1 to 16 bytes, strides of either
//! sign with gaps, in C, Fortran or any nesting order, and any dimension may be indirect
//! (PIL-style): the pointer read there leads, after its suboffset, to the next dimensions' row.
//! Row pointers point at their row's lowest address, at its first item, or a random distance
//! below the first item, so that slices need suboffsets below 0. Everything lies in one arena
//! of exactly the bytes the layout reaches (so that AddressSanitizer sees a read outside it),
//! filled with bytes that say where they are; pointer slots hold real pointers.
//!
//! The model of a layout is the byte offset in the arena of each item, in C order.

use super::input::Input;

pub const PTR: isize = std::mem::size_of::<*mut u8>() as isize;

/// Formats and their item sizes.
pub const FORMATS: &[(&str, isize)] = &[
    ("B", 1),
    ("<h", 2),
    ("<i", 4),
    ("<q", 8),
    ("<d", 8),
    ("e", 2),
    ("3s", 3),
    ("2i", 8),
    ("?", 1),
    ("<Q", 8),
    ("16s", 16),
    ("T{<h:a:B:b:}", 3),
    ("<Zf", 8),
];

/// Memory owned by the harness, at a fixed address, written by the library through pointers.
pub struct Arena {
    ptr: *mut u8,
    len: usize,
}

impl Arena {
    pub fn new(len: usize) -> Arena {
        let bytes: Box<[u8]> = (0..len).map(pattern).collect();
        Arena {
            len,
            ptr: Box::into_raw(bytes) as *mut u8,
        }
    }
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }
    pub fn len(&self) -> usize {
        self.len
    }
    /// A copy of the bytes as they are now.
    pub fn snapshot(&self) -> Vec<u8> {
        // SAFETY: `len` bytes owned by the arena; nobody writes them during the copy.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }.to_vec()
    }
    pub fn write_ptr(&self, at: usize, p: *mut u8) {
        assert!(at + PTR as usize <= self.len);
        // SAFETY: inside the arena (checked).
        unsafe { (self.ptr.add(at) as *mut *mut u8).write_unaligned(p) };
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: made by Box::into_raw in `new`.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr, self.len)) });
    }
}

/// The byte at offset `k` of a fresh arena.
pub fn pattern(k: usize) -> u8 {
    (k.wrapping_mul(7) + (k >> 8) * 13 + 1) as u8
}

/// A layout over its own arena.
pub struct Honest {
    pub arena: Arena,
    pub format: &'static str,
    pub itemsize: isize,
    pub shape: Vec<isize>,
    pub strides: Vec<isize>,
    /// `Some` when some dimension is indirect.
    pub suboffsets: Option<Vec<isize>>,
    /// Offset of `buf` in the arena.
    pub buf_at: usize,
    /// Arena offset of each item, in C order.
    pub items: Vec<usize>,
}

impl Honest {
    /// Fills `v` with this layout as a C exporter answers it (writable, `format` as given).
    pub fn fill(&self, v: &mut xbuf::ffi::xbuf_bufferinfo, format: *const std::ffi::c_char) {
        v.buf = self.buf().cast();
        v.len = self.len();
        v.itemsize = self.itemsize;
        v.readonly = 0;
        v.ndim = self.shape.len() as std::ffi::c_int;
        v.format = format;
        v.shape = self.shape.as_ptr() as *mut isize;
        v.strides = self.strides.as_ptr() as *mut isize;
        v.suboffsets = self
            .suboffsets
            .as_ref()
            .map_or(std::ptr::null_mut(), |s| s.as_ptr() as *mut isize);
    }

    pub fn buf(&self) -> *mut u8 {
        self.arena.ptr().wrapping_add(self.buf_at)
    }
    pub fn len(&self) -> isize {
        self.items.len() as isize * self.itemsize
    }
    pub fn model(&self) -> Model {
        Model {
            shape: self.shape.clone(),
            items: self.items.clone(),
            itemsize: self.itemsize,
            format: self.format.to_string(),
            indirect: match &self.suboffsets {
                Some(s) => s.iter().map(|&x| x >= 0).collect(),
                None => vec![false; self.shape.len()],
            },
        }
    }
}

/// The lowest and one past the highest offset reached by `shape` x `strides` with `unit`-byte
/// elements, relative to index 0; `(0, 0)` without elements.
pub fn extent(shape: &[isize], strides: &[isize], unit: isize) -> (isize, isize) {
    if shape.contains(&0) {
        return (0, 0);
    }
    let (mut lo, mut hi) = (0, unit);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = (n - 1) * s;
        if reach < 0 {
            lo += reach;
        } else {
            hi += reach;
        }
    }
    (lo, hi)
}

/// One group of dimensions: those from `first` up to and including the next indirect one (or
/// the last). Its elements are pointers when it ends with an indirect dimension, else items.
struct Group {
    dims: std::ops::Range<usize>,
    pointers: bool,
    /// The suboffset of its last (indirect) dimension.
    sub: isize,
    pad: usize,
}

/// Draws a layout.
pub fn generate(inp: &mut Input<'_>) -> Honest {
    let (format, itemsize) = inp.pick(FORMATS);
    let ndim = inp.range(0, 4) as usize;
    let shape: Vec<isize> = (0..ndim)
        .map(|_| if inp.one_in(10) { 0 } else { inp.range(1, 4) })
        .collect();
    let indirect: Vec<bool> = (0..ndim).map(|_| inp.one_in(3)).collect();
    let mut groups = Vec::new();
    let mut first = 0;
    for d in 0..ndim {
        if indirect[d] {
            groups.push(Group {
                dims: first..d + 1,
                pointers: true,
                sub: 0,
                pad: 0,
            });
            first = d + 1;
        }
    }
    groups.push(Group {
        dims: first..ndim,
        pointers: false,
        sub: 0,
        pad: 0,
    });
    // Strides, group by group: the group's dimensions nested in a random order, with gaps and
    // signs; pointer slots never overlap; items may (rarely).
    let mut strides = vec![0isize; ndim];
    let mut overlap_at = None;
    for g in &groups {
        let dims: Vec<usize> = g.dims.clone().collect();
        let mut order = dims.clone();
        match inp.below(3) {
            0 => {
                for k in (1..order.len()).rev() {
                    let j = inp.below(k + 1);
                    order.swap(k, j);
                }
            }
            1 => order.reverse(),
            _ => {}
        }
        let unit = if g.pointers { PTR } else { itemsize };
        let mut step = unit * inp.range(1, 2);
        for &d in order.iter().rev() {
            strides[d] = if inp.one_in(4) { -step } else { step };
            step *= shape[d].max(1) * inp.range(1, 2);
        }
        if !g.pointers && !dims.is_empty() && inp.one_in(12) {
            let d = dims[inp.below(dims.len())];
            strides[d] = inp.range(-itemsize, itemsize);
            overlap_at = Some(d);
        }
    }
    let _ = overlap_at;
    // Suboffsets and padding.
    let ngroups = groups.len();
    for gi in 0..ngroups {
        groups[gi].pad = inp.below(4);
        if groups[gi].pointers {
            let next = &groups[gi + 1];
            let unit = if next.pointers { PTR } else { itemsize };
            let (lo, _) = extent(&shape[next.dims.clone()], &strides[next.dims.clone()], unit);
            groups[gi].sub = match inp.below(3) {
                0 => -lo,
                1 => 0,
                _ => inp.range(0, 24),
            };
        }
    }
    // Arena size: each group has one instance per index of the dimensions before it.
    let mut total = 0usize;
    let mut instances = 1usize;
    for g in &groups {
        let unit = if g.pointers { PTR } else { itemsize };
        let (lo, hi) = extent(&shape[g.dims.clone()], &strides[g.dims.clone()], unit);
        total += instances * ((hi - lo) as usize + g.pad);
        instances *= shape[g.dims.clone()].iter().product::<isize>() as usize;
    }
    let arena = Arena::new(total.max(1));
    let count: usize = shape.iter().product::<isize>() as usize;
    let mut items = vec![0usize; count];
    let mut next = 0usize;
    let buf_at = build(
        &arena, &groups, 0, &shape, &strides, itemsize, 0, &mut next, &mut items,
    );
    assert!(next <= arena.len());
    let suboffsets = groups.iter().any(|g| g.pointers).then(|| {
        let mut s = vec![-1isize; ndim];
        for g in &groups {
            if g.pointers {
                s[g.dims.end - 1] = g.sub;
            }
        }
        s
    });
    Honest {
        arena,
        format,
        itemsize,
        shape,
        strides,
        suboffsets,
        buf_at,
        items,
    }
}

/// Lays out one instance of group `gi` (the row reached with the C index `prefix` of the
/// dimensions before it) at the arena's next free byte; returns the offset of its element with
/// all indices 0. Pointer elements lead to instances of the next group.
#[allow(clippy::too_many_arguments)]
fn build(
    arena: &Arena,
    groups: &[Group],
    gi: usize,
    shape: &[isize],
    strides: &[isize],
    itemsize: isize,
    prefix: usize,
    next: &mut usize,
    items: &mut [usize],
) -> usize {
    let g = &groups[gi];
    let unit = if g.pointers { PTR } else { itemsize };
    let gshape = &shape[g.dims.clone()];
    let gstrides = &strides[g.dims.clone()];
    let (lo, hi) = extent(gshape, gstrides, unit);
    let start = *next + g.pad;
    *next = start + (hi - lo) as usize;
    let base = (start as isize - lo) as usize;
    if gshape.contains(&0) {
        return base;
    }
    let mut idx = vec![0isize; gshape.len()];
    loop {
        let at =
            (base as isize + idx.iter().zip(gstrides).map(|(i, s)| i * s).sum::<isize>()) as usize;
        let c = idx
            .iter()
            .zip(gshape)
            .fold(prefix, |acc, (&i, &n)| acc * n as usize + i as usize);
        if g.pointers {
            let child = build(
                arena,
                groups,
                gi + 1,
                shape,
                strides,
                itemsize,
                c,
                next,
                items,
            );
            let p = arena.ptr().wrapping_add(child).wrapping_offset(-g.sub);
            arena.write_ptr(at, p);
        } else {
            items[c] = at;
        }
        if !next_index(&mut idx, gshape) {
            return base;
        }
    }
}

/// Advances a multi-index in C order; false after the last.
pub fn next_index(idx: &mut [isize], shape: &[isize]) -> bool {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        if idx[d] < shape[d] {
            return true;
        }
        idx[d] = 0;
    }
    false
}

/// Advances a multi-index in Fortran order.
pub fn next_index_f(idx: &mut [isize], shape: &[isize]) -> bool {
    for d in 0..idx.len() {
        idx[d] += 1;
        if idx[d] < shape[d] {
            return true;
        }
        idx[d] = 0;
    }
    false
}

/// Row-major position of `idx` in `shape`.
pub fn c_index(idx: &[isize], shape: &[isize]) -> usize {
    idx.iter()
        .zip(shape)
        .fold(0usize, |acc, (&i, &n)| acc * n as usize + i as usize)
}

/// The model of a view: its shape, the arena offset of each item in C order, its format and
/// which of its dimensions are indirect.
#[derive(Clone, Debug)]
pub struct Model {
    pub shape: Vec<isize>,
    pub items: Vec<usize>,
    pub itemsize: isize,
    pub format: String,
    pub indirect: Vec<bool>,
}

impl Model {
    pub fn count(&self) -> usize {
        self.items.len()
    }
    pub fn len(&self) -> usize {
        self.items.len() * self.itemsize as usize
    }
    pub fn has_suboffsets(&self) -> bool {
        self.indirect.iter().any(|&x| x)
    }

    /// The items' offsets in C or Fortran order.
    pub fn offsets(&self, fortran: bool) -> Vec<usize> {
        if !fortran || self.count() == 0 {
            return self.items.clone();
        }
        let mut out = Vec::with_capacity(self.count());
        let mut idx = vec![0isize; self.shape.len()];
        loop {
            out.push(self.items[c_index(&idx, &self.shape)]);
            if !next_index_f(&mut idx, &self.shape) {
                return out;
            }
        }
    }

    /// Contiguity by definition: the items, in that order, lie one after another. A layout
    /// with suboffsets never is (the protocol's rule); one without items always is.
    pub fn contiguous(&self, fortran: bool) -> bool {
        if self.has_suboffsets() {
            return false;
        }
        let offs = self.offsets(fortran);
        offs.iter()
            .enumerate()
            .all(|(k, &o)| o == offs[0] + k * self.itemsize as usize)
    }

    /// The order `'A'` means for this view.
    pub fn order_a_is_f(&self) -> bool {
        self.contiguous(true) && !self.contiguous(false)
    }

    /// The bytes of the items in C or Fortran order, read from `mem`.
    pub fn bytes(&self, mem: &[u8], fortran: bool) -> Vec<u8> {
        let n = self.itemsize as usize;
        let mut out = Vec::with_capacity(self.len());
        for o in self.offsets(fortran) {
            out.extend_from_slice(&mem[o..o + n]);
        }
        out
    }

    /// Whether two items share a byte.
    pub fn items_overlap(&self) -> bool {
        let mut offs = self.items.clone();
        offs.sort_unstable();
        offs.windows(2)
            .any(|w| w[1] - w[0] < self.itemsize as usize)
    }

    /// Writes `data` (the items in C or Fortran order) into `mem` where the items are.
    pub fn scatter(&self, mem: &mut [u8], data: &[u8], fortran: bool) {
        let n = self.itemsize as usize;
        for (k, o) in self.offsets(fortran).into_iter().enumerate() {
            mem[o..o + n].copy_from_slice(&data[k * n..(k + 1) * n]);
        }
    }
}
