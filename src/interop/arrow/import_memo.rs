//! The last schemas the import described on this thread ([`ENTRIES`] of them), each keyed by
//! the exact bytes that describing it read, with everything the import works out of a schema
//! alone: the item format and size, the list size of each level and the shape and strides past
//! the first axis. A steady stream of arrays of a few types (batches of tensors of one shape,
//! the columns of a table) then compares the schema's bytes in place instead of describing it
//! again.
//!
//! What describing a schema reads, level by level from the top: that `release` is set, the
//! format string (up to its NUL), that `dictionary` is NULL, the metadata blob (NULL or every
//! pair of it), and for a fixed-size list level `n_children` (1), `children` and
//! `children[0]` (not NULL), then the child. Neither `name` nor `flags` is read. The key is
//! those bytes: per level the format with its NUL, whether there is a blob, and the blob (with
//! where its length words are). A schema matches when each of those reads gives the same
//! answer and the same bytes, compared in place and only as far as the schema's own earlier
//! bytes say it has bytes: the format byte by byte up to the first difference (the remembered
//! NUL ends it); the blob's length words in order (the pair count, then each key's and value's
//! length, each at a place the equal words before it fix), and only then the whole blob.
//!
//! Only schemas whose import succeeded are remembered, so a match is a schema the import
//! described and accepted, and its answer is the one describing it again would give. Schemas
//! whose key is longer than [`KEY_MAX`], with more than [`LISTS_MAX`] list levels, more than
//! [`DIMS_MAX`] dimensions, blobs with more than [`LENS_MAX`] length words in all, or an item
//! format longer than an inline one are not remembered.

use std::cell::RefCell;
use std::ffi::CStr;

use super::memo::Recent;
use super::ArrowSchema;

/// Longest key remembered, in bytes.
pub(super) const KEY_MAX: usize = 256;
/// Most fixed-size list levels remembered.
pub(super) const LISTS_MAX: usize = 4;
/// Most dimensions (the array's own axis included) remembered.
pub(super) const DIMS_MAX: usize = 4;

/// A remembered item format: a static one, or short text NUL-terminated within the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    Static(&'static CStr),
    Inline([u8; 23]),
}

/// What the import works out of a schema alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub format: Fmt,
    pub itemsize: isize,
    /// How many fixed-size list levels there are.
    pub lists: usize,
    /// The list size of each level, outermost first.
    pub sizes: [isize; LISTS_MAX],
    /// Dimensions, the array's own axis included.
    pub ndim: usize,
    /// The shape, then the strides, as the import makes them; `dims[0]` (the array's length)
    /// is the caller's to set.
    pub dims: [isize; 2 * DIMS_MAX],
}

/// Where one level's part of the key lies: the format (with its NUL) at `fmt..blob`, the
/// blob (if `has_blob`) at `blob..end`, whose length words (the pair count, then each key's and
/// each value's length, in order) are at the offsets `lens[first..last]` from its start.
#[derive(Clone, Copy)]
struct LevelKey {
    fmt: u16,
    blob: u16,
    end: u16,
    has_blob: bool,
    first: u8,
    last: u8,
}

/// Most length words in the blobs of one key.
const LENS_MAX: usize = 32;

/// How many schemas a thread remembers.
pub(super) const ENTRIES: usize = 4;

/// A remembered schema: `levels` levels of key (none while 0), where each lies in `key`,
/// where the length words of its blobs are, and the answer.
struct Memo {
    levels: usize,
    level: [LevelKey; LISTS_MAX + 1],
    lens: [u16; LENS_MAX],
    key: [u8; KEY_MAX],
    answer: Answer,
}

const NO_LEVEL: LevelKey = LevelKey {
    fmt: 0,
    blob: 0,
    end: 0,
    has_blob: false,
    first: 0,
    last: 0,
};

const EMPTY: Memo = Memo {
    levels: 0,
    level: [NO_LEVEL; LISTS_MAX + 1],
    lens: [0; LENS_MAX],
    key: [0; KEY_MAX],
    answer: Answer {
        format: Fmt::Static(c"B"),
        itemsize: 1,
        lists: 0,
        sizes: [0; LISTS_MAX],
        ndim: 1,
        dims: [0; 2 * DIMS_MAX],
    },
};

thread_local! {
    static MEMO: RefCell<Recent<Memo, ENTRIES>> =
        const { RefCell::new(Recent::new([EMPTY; ENTRIES])) };
}

/// Whether the `n` bytes at `a` and at `b` are equal, read sixteen, eight or four bytes at a
/// time (the last read may overlap the one before it), never past `n`.
///
/// # Safety
/// `a` and `b` must be readable for `n` bytes.
#[inline(always)]
unsafe fn same_bytes(a: *const u8, b: *const u8, n: usize) -> bool {
    let w16 = |p: *const u8| p.cast::<u128>().read_unaligned();
    let w8 = |p: *const u8| p.cast::<u64>().read_unaligned();
    let w4 = |p: *const u8| p.cast::<u32>().read_unaligned();
    if n >= 16 {
        let mut i = 0;
        while i + 32 < n {
            let x = w16(a.add(i)) == w16(b.add(i));
            let y = w16(a.add(i + 16)) == w16(b.add(i + 16));
            if !(x & y) {
                return false;
            }
            i += 32;
        }
        if i + 16 < n && w16(a.add(i)) != w16(b.add(i)) {
            return false;
        }
        w16(a.add(n - 16)) == w16(b.add(n - 16))
    } else if n >= 8 {
        (w8(a) ^ w8(b)) | (w8(a.add(n - 8)) ^ w8(b.add(n - 8))) == 0
    } else if n >= 4 {
        (w4(a) ^ w4(b)) | (w4(a.add(n - 4)) ^ w4(b.add(n - 4))) == 0
    } else {
        (0..n).all(|i| *a.add(i) == *b.add(i))
    }
}

impl Memo {
    /// Whether `schema` reads as the remembered key (see the module docs).
    ///
    /// # Safety
    /// `schema` must point at a valid schema (its strings NUL-terminated, its blobs' lengths
    /// true, its children valid).
    #[inline(always)]
    unsafe fn matches(&self, schema: *const ArrowSchema) -> bool {
        // `record` keeps every offset within `key`, `first..last` within `lens`, each length
        // word's offset within its blob and `levels` within `level`: the reads of the key
        // below need no bounds checks.
        let key = self.key.as_ptr();
        debug_assert!(self.levels >= 1);
        let last = self.levels.min(self.level.len());
        let mut s = &*schema;
        let mut i = 0;
        loop {
            let l = self.level.get_unchecked(i);
            if s.release.is_none()
                | s.format.is_null()
                | !s.dictionary.is_null()
                | (s.metadata.is_null() == l.has_blob)
            {
                return false;
            }
            // The format up to the key's NUL: each equal byte that is not NUL says the
            // schema's string goes on.
            let mut f = s.format.cast::<u8>();
            let mut k = key.add(usize::from(l.fmt));
            let end = key.add(usize::from(l.blob));
            // Four at a time, each read after the equal byte before it.
            while k.add(4) <= end {
                if *f != *k
                    || *f.add(1) != *k.add(1)
                    || *f.add(2) != *k.add(2)
                    || *f.add(3) != *k.add(3)
                {
                    return false;
                }
                f = f.add(4);
                k = k.add(4);
            }
            while k < end {
                if *f != *k {
                    return false;
                }
                f = f.add(1);
                k = k.add(1);
            }
            if l.has_blob {
                // The length words first, in order: each one's place is known from the equal
                // words before it, which say the schema's blob has bytes up to it. Then the
                // whole blob, which they say it has.
                let p = s.metadata.cast::<u8>();
                let blob = key.add(usize::from(l.blob));
                let word = |q: *const u8| q.cast::<u32>().read_unaligned();
                for j in usize::from(l.first)..usize::from(l.last) {
                    let at = usize::from(*self.lens.get_unchecked(j));
                    if word(p.add(at)) != word(blob.add(at)) {
                        return false;
                    }
                }
                if !same_bytes(blob, p, usize::from(l.end - l.blob)) {
                    return false;
                }
            }
            i += 1;
            if i >= last {
                return true;
            }
            if s.n_children != 1 || s.children.is_null() || (*s.children).is_null() {
                return false;
            }
            s = &**s.children;
        }
    }

    /// Records the key of `schema` (`levels` levels deep); false (with nothing kept) when it
    /// does not fit.
    ///
    /// # Safety
    /// `schema` must be a schema the import just described and accepted, `levels` its levels.
    unsafe fn record(&mut self, schema: *const ArrowSchema, levels: usize) -> bool {
        self.levels = 0;
        if levels > self.level.len() {
            return false;
        }
        let mut s = &*schema;
        let mut at = 0usize;
        let mut lens = 0usize;
        for i in 0..levels {
            // The format with its NUL, byte by byte (it is short).
            let fmt = at;
            let mut f = s.format.cast::<u8>();
            loop {
                let Some(k) = self.key.get_mut(at) else {
                    return false;
                };
                *k = *f;
                at += 1;
                if *f == 0 {
                    break;
                }
                f = f.add(1);
            }
            let blob = at;
            let first = lens;
            let has_blob = !s.metadata.is_null();
            if has_blob {
                let p = s.metadata.cast::<u8>();
                let word =
                    |at: usize| i32::from_ne_bytes(p.add(at).cast::<[u8; 4]>().read_unaligned());
                // The pair count, then each key's and value's length, each followed by the
                // bytes it counts (not negative: describing took the blob).
                if lens == LENS_MAX {
                    return false;
                }
                self.lens[lens] = 0;
                lens += 1;
                let mut n = 4usize;
                for _ in 0..(word(0) as usize).saturating_mul(2) {
                    if lens == LENS_MAX || blob + n + 4 > KEY_MAX {
                        return false;
                    }
                    self.lens[lens] = n as u16;
                    lens += 1;
                    n += 4 + word(n) as usize;
                }
                if blob + n > KEY_MAX {
                    return false;
                }
                std::ptr::copy_nonoverlapping(p, self.key.as_mut_ptr().add(blob), n);
                at = blob + n;
            }
            self.level[i] = LevelKey {
                fmt: fmt as u16,
                blob: blob as u16,
                end: at as u16,
                has_blob,
                first: first as u8,
                last: lens as u8,
            };
            if i + 1 < levels {
                s = &**s.children;
            }
        }
        self.levels = levels;
        true
    }
}

/// `hit(answer)` if `schema` is one remembered on this thread; `None` (calling nothing) if
/// not.
///
/// # Safety
/// As for [`Memo::matches`].
#[inline(always)]
pub unsafe fn with_answer<R>(
    schema: *const ArrowSchema,
    hit: impl FnOnce(&Answer) -> R,
) -> Option<R> {
    MEMO.try_with(|m| {
        let mut m = m.try_borrow_mut().ok()?;
        let found = m.find(|e| e.levels != 0 && e.matches(schema))?;
        #[cfg(test)]
        HITS.with(|h| h.set(h.get() + 1));
        Some(hit(&found.answer))
    })
    .ok()
    .flatten()
}

/// Remembers `answer` for `schema`, which the import just described and accepted with that
/// answer, in place of the schema remembered longest ago (unless its key is too long to keep:
/// then that entry is left empty).
///
/// # Safety
/// As for [`Memo::record`], with `answer.lists + 1` levels.
pub unsafe fn remember(schema: *const ArrowSchema, answer: &Answer) {
    let _ = MEMO.try_with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return;
        };
        let e = m.next();
        if e.record(schema, answer.lists + 1) {
            e.answer = *answer;
        }
    });
}

#[cfg(test)]
thread_local! {
    static HITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many imports on this thread took the remembered answer (for tests).
#[cfg(test)]
pub fn hits() -> usize {
    HITS.with(|h| h.get())
}

/// Forgets the remembered schemas of this thread (for tests of misses).
#[cfg(test)]
pub fn forget() {
    MEMO.with(|m| {
        for e in m.borrow_mut().entries() {
            e.levels = 0;
        }
    });
}

/// Whether a schema is remembered on this thread (for tests).
#[cfg(test)]
pub fn remembered() -> bool {
    MEMO.with(|m| m.borrow_mut().entries().iter().any(|e| e.levels != 0))
}
