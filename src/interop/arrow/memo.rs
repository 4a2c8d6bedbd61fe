//! What the export and the import last worked out of an item format, remembered per thread
//! and keyed by the format's exact bytes (and, for the export, the item size), so that a
//! steady stream of arrays of one struct type parses its format once. A miss, or a format
//! longer than a key holds, asks the format parser as before; only answers the parser gave
//! are remembered, so a hit is always the answer it would give again (and, for the import,
//! a text it already took as an item format: valid, without a NUL byte).

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

/// The last tensor metadata blob written on this thread and what it was written for: a head
/// word (the number of axes `n`, or `-(n + 1)` when a permutation follows), the physical
/// shape, then the permutation if any.
struct TensorBlob {
    key: Vec<isize>,
    blob: Vec<u8>,
}

thread_local! {
    static TENSOR: std::cell::RefCell<TensorBlob> = const {
        std::cell::RefCell::new(TensorBlob {
            key: Vec::new(),
            blob: Vec::new(),
        })
    };
}

/// Longest tensor blob kept.
const TENSOR_BLOB_MAX: usize = 1024;

/// Appends to `out` the tensor metadata blob `general` appends for `shape` and
/// `permutation`, remembered for the last ones asked on this thread.
pub fn tensor_metadata_into(
    out: &mut Vec<u8>,
    shape: &[isize],
    permutation: Option<&[usize]>,
    general: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let n = shape.len();
    let head = match permutation {
        None => n as isize,
        Some(_) => -(n as isize) - 1,
    };
    let same = |key: &[isize]| {
        key.len() == 1 + n + permutation.map_or(0, |p| p.len())
            && key[0] == head
            && key[1..=n] == *shape
            && permutation
                .is_none_or(|p| p.iter().zip(&key[1 + n..]).all(|(&a, &b)| a as isize == b))
    };
    let hit = TENSOR.try_with(|t| {
        let t = t.try_borrow().ok()?;
        same(&t.key).then(|| out.extend_from_slice(&t.blob))
    });
    if let Ok(Some(())) = hit {
        return Ok(());
    }
    let start = out.len();
    general(out)?;
    let blob = &out[start..];
    if blob.len() <= TENSOR_BLOB_MAX {
        let _ = TENSOR.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                t.key.clear();
                t.key.push(head);
                t.key.extend_from_slice(shape);
                if let Some(p) = permutation {
                    t.key.extend(p.iter().map(|&a| a as isize));
                }
                t.blob.clear();
                t.blob.extend_from_slice(blob);
            }
        });
    }
    Ok(())
}

/// Forgets the answers of this thread (for tests of misses).
#[cfg(test)]
pub fn forget() {
    EXPORT.with(|c| c.set(Entry::empty(ItemType::Bool8)));
    IMPORT.with(|c| c.set(Entry::empty(())));
    TENSOR.with(|t| {
        let mut t = t.borrow_mut();
        t.key.clear();
        t.blob.clear();
    });
}
