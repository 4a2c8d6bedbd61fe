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

/// Forgets both answers of this thread (for tests of misses).
#[cfg(test)]
pub fn forget() {
    EXPORT.with(|c| c.set(Entry::empty(ItemType::Bool8)));
    IMPORT.with(|c| c.set(Entry::empty(())));
}
