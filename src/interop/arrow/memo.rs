//! What the export and the import last worked out, remembered per thread:
//!
//! * of an item format, keyed by the format's exact bytes (and, for the export, the item
//!   size), so that a steady stream of arrays of one struct type parses its format once. A
//!   miss, or a format longer than a key holds, asks the format parser as before; only
//!   answers the parser gave are remembered, so a hit is always the answer it would give again
//!   (and, for the import, a text it already took as an item format: valid, without a NUL
//!   byte);
//! * of a tensor layout (the export's last few): its plan, keyed by what the planner reads
//!   ([`tensor_plan`]), and the metadata blob of its tensor, keyed by the tensor
//!   ([`TensorKey`], [`tensor_metadata_into`]); only plans the planner accepted are kept.
//!
//! [`Recent`] is the ring of the last few entries these and the import's schema memory
//! (`import_memo`) keep.

use std::cell::Cell;

use crate::status::Result;

use super::plan::ItemType;

/// Longest format text remembered.
const KEY: usize = 32;

/// One remembered answer: `len` bytes of key (none while `len` is `usize::MAX`), the item
/// size it was asked with, and the answer.
#[derive(Clone, Copy)]
struct Entry<T: Copy> {
    len: usize,
    key: [u8; KEY],
    itemsize: usize,
    value: T,
}

impl<T: Copy> Entry<T> {
    const fn empty(value: T) -> Entry<T> {
        Entry {
            len: usize::MAX,
            key: [0; KEY],
            itemsize: 0,
            value,
        }
    }

    #[inline(always)]
    fn get(&self, text: &[u8], itemsize: usize) -> Option<T> {
        (self.len == text.len() && self.itemsize == itemsize && self.key[..self.len] == *text)
            .then_some(self.value)
    }

    #[inline(always)]
    fn set(cell: &Cell<Entry<T>>, text: &[u8], itemsize: usize, value: T) {
        if text.len() > KEY {
            return;
        }
        let mut e = Entry::empty(value);
        e.key[..text.len()].copy_from_slice(text);
        e.len = text.len();
        e.itemsize = itemsize;
        cell.set(e);
    }
}

thread_local! {
    static EXPORT: Cell<Entry<ItemType>> = const { Cell::new(Entry::empty(ItemType::Bool8)) };
    static IMPORT: Cell<Entry<()>> = const { Cell::new(Entry::empty(())) };
}

/// `general(text, itemsize)` (the Arrow type of items of this format and size), remembered
/// for the last format asked on this thread.
#[inline]
pub fn item_type(
    text: &[u8],
    itemsize: usize,
    general: impl FnOnce() -> Result<ItemType>,
) -> Result<ItemType> {
    if let Ok(Some(t)) = EXPORT.try_with(|c| c.get().get(text, itemsize)) {
        return Ok(t);
    }
    let t = general()?;
    let _ = EXPORT.try_with(|c| Entry::set(c, text, itemsize, t));
    Ok(t)
}

/// The item size of the format `text` if it is the last one [`remember_item_size`] kept on
/// this thread.
#[inline]
pub fn item_size(text: &[u8]) -> Option<usize> {
    IMPORT
        .try_with(|c| {
            let e = c.get();
            e.get(text, e.itemsize).map(|()| e.itemsize)
        })
        .ok()
        .flatten()
}

/// Keeps `size`, the item size the format parser gave for `text`, which the import took as
/// an item format (so it holds no NUL byte).
#[inline]
pub fn remember_item_size(text: &[u8], size: usize) {
    let _ = IMPORT.try_with(|c| Entry::set(c, text, size, ()));
}

/// The last `N` things a thread worked out, kept for the next asks: the one found last is
/// tried first; a new one takes the place of the one written longest ago.
pub(super) struct Recent<T, const N: usize> {
    entries: [T; N],
    /// The entry found or written last.
    last: usize,
    /// The entry written next.
    next: usize,
}

impl<T, const N: usize> Recent<T, N> {
    pub(super) const fn new(entries: [T; N]) -> Recent<T, N> {
        Recent {
            entries,
            last: 0,
            next: 0,
        }
    }

    /// The first entry `is` accepts, the one found or written last tried first.
    #[inline(always)]
    pub(super) fn find(&mut self, mut is: impl FnMut(&T) -> bool) -> Option<&mut T> {
        let last = self.last % N;
        let at = if is(&self.entries[last]) {
            last
        } else {
            (0..N).find(|&i| i != last && is(&self.entries[i]))?
        };
        self.last = at;
        Some(&mut self.entries[at])
    }

    /// The entry a new one is written to: the one written longest ago.
    pub(super) fn next(&mut self) -> &mut T {
        let at = self.next % N;
        self.next = (at + 1) % N;
        self.last = at;
        &mut self.entries[at]
    }

    /// Every entry (for tests).
    #[cfg(test)]
    pub(super) fn entries(&mut self) -> &mut [T; N] {
        &mut self.entries
    }
}

/// How many tensor plans and tensor metadata blobs a thread remembers.
const TENSORS: usize = 4;

/// Most tensor axes a [`TensorKey`] holds.
pub(super) const KEY_AXES: usize = 8;

/// What an `arrow.fixed_shape_tensor` schema is written for, as words: a head (the number of
/// axes `n`, or `-(n + 1)` when a permutation follows), the physical shape, then the
/// permutation if any (unused words are 0).
#[derive(Clone, Copy, Debug)]
pub struct TensorKey {
    words: [isize; 1 + 2 * KEY_AXES],
}

/// Whether `a` and `b` hold the same words: a plain loop over the few words in use, cheaper
/// than a call comparing bytes.
#[inline(always)]
fn same_words(a: &[isize], b: &[isize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl PartialEq for TensorKey {
    /// The words in use, the head first (which says how many follow).
    #[inline]
    fn eq(&self, other: &TensorKey) -> bool {
        let used = 1 + self.axes() * if self.words[0] < 0 { 2 } else { 1 };
        self.words[0] == other.words[0] && same_words(&self.words[1..used], &other.words[1..used])
    }
}

impl Eq for TensorKey {}

impl TensorKey {
    /// The key of a physical shape and a permutation (`None`: more than [`KEY_AXES`] axes).
    pub fn new(shape: &[isize], permutation: Option<&[usize]>) -> Option<TensorKey> {
        let n = shape.len();
        if n > KEY_AXES || permutation.is_some_and(|p| p.len() != n) {
            return None;
        }
        let mut words = [0isize; 1 + 2 * KEY_AXES];
        words[0] = match permutation {
            None => n as isize,
            Some(_) => -(n as isize) - 1,
        };
        words[1..=n].copy_from_slice(shape);
        if let Some(p) = permutation {
            for (w, &a) in words[1 + n..=2 * n].iter_mut().zip(p) {
                *w = a as isize;
            }
        }
        Some(TensorKey { words })
    }

    fn axes(&self) -> usize {
        match self.words[0] {
            n if n >= 0 => n as usize,
            n => (-n - 1) as usize,
        }
    }

    /// The physical shape.
    pub fn shape(&self) -> &[isize] {
        &self.words[1..=self.axes()]
    }

    /// The permutation, if any.
    pub fn permutation(&self) -> Option<super::metadata::Axes<usize>> {
        let n = self.axes();
        (self.words[0] < 0).then(|| {
            let mut p = super::metadata::Axes::new();
            for &a in &self.words[1 + n..=2 * n] {
                p.push(a as usize);
            }
            p
        })
    }
}

/// A tensor metadata blob written on this thread and the tensor it was written for.
struct TensorBlob {
    key: Option<TensorKey>,
    blob: Vec<u8>,
}

const NO_BLOB: TensorBlob = TensorBlob {
    key: None,
    blob: Vec::new(),
};

thread_local! {
    static TENSOR: std::cell::RefCell<Recent<TensorBlob, TENSORS>> =
        const { std::cell::RefCell::new(Recent::new([NO_BLOB; TENSORS])) };
}

/// Appends to `out` the tensor metadata blob `general` appends for the tensor `key`,
/// remembered for the last tensors asked on this thread.
pub fn tensor_metadata_into(
    out: &mut Vec<u8>,
    key: &TensorKey,
    general: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let hit = TENSOR.try_with(|t| {
        let mut t = t.try_borrow_mut().ok()?;
        let b = t.find(|b| b.key.as_ref() == Some(key))?;
        out.extend_from_slice(&b.blob);
        Some(())
    });
    if let Ok(Some(())) = hit {
        return Ok(());
    }
    let start = out.len();
    general(out)?;
    // At most `KEY_AXES` axes: the blob is short.
    let blob = &out[start..];
    let _ = TENSOR.try_with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            let b = t.next();
            b.key = Some(*key);
            b.blob.clear();
            b.blob.extend_from_slice(blob);
        }
    });
    Ok(())
}

/// A tensor layout the planner was asked for: the item size, the number of dimensions, the
/// first axis's extent class (0, 1 or more) and its stride (0 unless the extent is more than
/// 1: the planner's answer depends on it only then), and the other axes' extents then
/// strides. The planner's answer depends on nothing else (unused words are 0).
#[derive(Clone, Copy)]
struct PlanInput {
    itemsize: isize,
    ndim: usize,
    first: [isize; 2],
    dims: [isize; 2 * KEY_AXES],
}

impl PlanInput {
    /// The first axis as the planner reads it: its extent class, and its stride when the
    /// extent is more than 1.
    #[inline(always)]
    fn first(shape: &[isize], strides: &[isize]) -> [isize; 2] {
        match shape[0] {
            e if e > 1 => [2, strides[0]],
            e => [e, 0],
        }
    }

    fn new(shape: &[isize], strides: &[isize], itemsize: isize) -> Option<PlanInput> {
        let n = shape.len();
        if !(2..=KEY_AXES + 1).contains(&n) || strides.len() != n {
            return None;
        }
        let mut dims = [0isize; 2 * KEY_AXES];
        dims[..n - 1].copy_from_slice(&shape[1..]);
        dims[KEY_AXES..KEY_AXES + n - 1].copy_from_slice(&strides[1..]);
        Some(PlanInput {
            itemsize,
            ndim: n,
            first: PlanInput::first(shape, strides),
            dims,
        })
    }

    /// Whether this is the input of the layout `shape`, `strides` (as many entries each),
    /// compared where it lies.
    #[inline]
    fn is(&self, shape: &[isize], strides: &[isize], itemsize: isize) -> bool {
        let n = self.ndim - 1;
        self.ndim == shape.len()
            && self.itemsize == itemsize
            && self.first == PlanInput::first(shape, strides)
            && same_words(&self.dims[..n], &shape[1..])
            && same_words(&self.dims[KEY_AXES..KEY_AXES + n], &strides[1..])
    }
}

/// A tensor plan: the tensor's key and its item count.
pub type TensorPlan = (TensorKey, isize);

thread_local! {
    static PLAN: std::cell::RefCell<Recent<Option<(PlanInput, TensorPlan)>, TENSORS>> =
        const { std::cell::RefCell::new(Recent::new([None; TENSORS])) };
}

/// `general()` (the tensor plan of a layout of two or more dimensions, `None` when it is not
/// one of this module's keys), remembered for the last layouts asked on this thread.
#[inline]
pub fn tensor_plan(
    shape: &[isize],
    strides: &[isize],
    itemsize: isize,
    general: impl FnOnce() -> Result<Option<TensorPlan>>,
) -> Result<Option<TensorPlan>> {
    if shape.len() == strides.len() && !shape.is_empty() {
        if let Ok(Some(plan)) = PLAN.try_with(|c| {
            let mut c = c.try_borrow_mut().ok()?;
            let found = c.find(|e| {
                e.as_ref()
                    .is_some_and(|(i, _)| i.is(shape, strides, itemsize))
            });
            found
                .as_ref()
                .and_then(|e| e.as_ref())
                .map(|(_, plan)| *plan)
        }) {
            #[cfg(test)]
            PLAN_HITS.with(|h| h.set(h.get() + 1));
            return Ok(Some(plan));
        }
    }
    let input = PlanInput::new(shape, strides, itemsize);
    let plan = general()?;
    if let (Some(input), Some(plan)) = (input, plan) {
        let _ = PLAN.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                *c.next() = Some((input, plan));
            }
        });
    }
    Ok(plan)
}

#[cfg(test)]
thread_local! {
    static PLAN_HITS: Cell<usize> = const { Cell::new(0) };
}

/// How many tensor plans this thread took from its memory (for tests).
#[cfg(test)]
pub fn plan_hits() -> usize {
    PLAN_HITS.with(Cell::get)
}

/// Forgets the answers of this thread (for tests of misses).
#[cfg(test)]
pub fn forget() {
    EXPORT.with(|c| c.set(Entry::empty(ItemType::Bool8)));
    IMPORT.with(|c| c.set(Entry::empty(())));
    TENSOR.with(|t| {
        for b in t.borrow_mut().entries() {
            b.key = None;
            b.blob.clear();
        }
    });
    PLAN.with(|c| *c.borrow_mut().entries() = [None; TENSORS]);
}
