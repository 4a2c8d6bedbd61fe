//! Library-owned, type-stable memory for objects.
//!
//! Every object lives in a slot of a chunk that the library never gives back: once memory is
//! an object slot it stays one, whether the object in it is alive, freed, or a later one. So a
//! pointer named by code outside the library (a C exporter's `releaser`) is recognised by its
//! address alone — inside a chunk, at a slot boundary — and only then read, through the
//! slot's atomic counts, which say whether an object lives there ([`find`]). Each thread keeps
//! a few free slots of its own, so making and freeing an object usually takes no atomic
//! operation at all; beyond those, one compare-and-swap on a lock-free shared list each.
//! Nothing is registered per object.
//!
//! Chunks are `CHUNK` bytes, aligned to their size, and hold slots of one size class; the
//! first slot of a chunk holds the chunk's class. A free slot's `link` names the next free
//! slot of its class. The head of each free list carries a tag in its top bits, bumped by
//! every change, so that a slot popped and pushed back between another thread's read and its
//! compare-and-swap is noticed (the slot's `link` is always readable: slots are never freed).

use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Object;
use crate::sync::RwLock;

/// Bytes per chunk, and the chunks' alignment.
const CHUNK: usize = 64 << 10;
/// Slot sizes: the object header plus room for its exporter.
pub(super) const CLASSES: [usize; 4] = [128, 256, 512, 1024];
/// Addresses fit in the low 48 bits on the 64-bit targets the library supports; the tag of a
/// free-list head lives above them.
const ADDR_BITS: u32 = 48;
const ADDR_MASK: u64 = (1 << ADDR_BITS) - 1;
const TAG_ONE: u64 = 1 << ADDR_BITS;

/// The heads of the free lists, one per class: a slot address and a tag.
static FREE: [AtomicU64; CLASSES.len()] = [const { AtomicU64::new(0) }; CLASSES.len()];

/// The base addresses of every chunk, for [`find`]. Written only when a chunk is added.
/// cbindgen:ignore
static CHUNKS: RwLock<Option<HashSet<usize>>> = RwLock::new(None);

/// What the first slot of a chunk holds.
#[repr(C)]
struct ChunkHeader {
    class: usize,
}

/// The smallest class whose slots hold `bytes`, if any.
pub(super) fn class_for(bytes: usize) -> Option<usize> {
    CLASSES.iter().position(|&c| c >= bytes)
}

/// How many free slots of each class a thread keeps for itself.
const CACHED: usize = 32;

/// A thread's own free slots, taken and given back without an atomic operation; what does not
/// fit, and what is left when the thread ends, goes to the shared lists.
struct Cache {
    slots: [[usize; CACHED]; CLASSES.len()],
    len: [usize; CLASSES.len()],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for class in 0..CLASSES.len() {
            for &slot in &self.slots[class][..self.len[class]] {
                // SAFETY: free slots this thread owned.
                unsafe { push(class, slot, slot) };
            }
        }
    }
}

thread_local! {
    /// Only [`alloc`] and [`free`] touch it, each in one short access that calls nothing, so
    /// no access is ever nested in another (no `RefCell` needed).
    static CACHE: std::cell::UnsafeCell<Cache> = const {
        std::cell::UnsafeCell::new(Cache {
            slots: [[0; CACHED]; CLASSES.len()],
            len: [0; CLASSES.len()],
        })
    };
}

/// A free slot of class `class` (no references: nothing finds an object there until its
/// count is set).
#[inline]
pub(super) fn alloc(class: usize) -> NonNull<Object> {
    let cached = CACHE
        .try_with(|c| {
            // SAFETY: this thread's cache, borrowed for this access alone (see `CACHE`).
            let c = unsafe { &mut *c.get() };
            let n = c.len[class].checked_sub(1)?;
            c.len[class] = n;
            Some(c.slots[class][n])
        })
        .ok()
        .flatten();
    match cached {
        Some(slot) => NonNull::new(slot as *mut Object).expect("a slot address"),
        None => alloc_shared(class),
    }
}

/// A free slot from the shared list of `class` (or a new chunk).
fn alloc_shared(class: usize) -> NonNull<Object> {
    let head = &FREE[class];
    let mut cur = head.load(Ordering::Acquire);
    loop {
        let slot = (cur & ADDR_MASK) as usize;
        if slot == 0 {
            return new_chunk(class);
        }
        // SAFETY: a slot of a chunk, which is never freed: its link is always readable. A stale
        // read (the slot was taken meanwhile) makes the compare-and-swap below fail.
        let next = unsafe { (*(slot as *const Object)).link.load(Ordering::Relaxed) } as u64;
        let new = next | (cur.wrapping_add(TAG_ONE) & !ADDR_MASK);
        match head.compare_exchange_weak(cur, new, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => return NonNull::new(slot as *mut Object).expect("a slot address"),
            Err(now) => cur = now,
        }
    }
}

/// Puts the slot of a freed object (its exporter already dropped, its count zero) back on its
/// class's free list.
///
/// # Safety
/// `p` must be a slot [`alloc`] gave out, whose object is gone; nobody may use it afterwards
/// but through [`find`] (which sees a zero count).
#[inline]
pub(super) unsafe fn free(p: NonNull<Object>) {
    let base = p.as_ptr() as usize & !(CHUNK - 1);
    let class = (*(base as *const ChunkHeader)).class;
    let slot = p.as_ptr() as usize;
    let kept = CACHE
        .try_with(|c| {
            // SAFETY: this thread's cache, borrowed for this access alone (see `CACHE`).
            let c = unsafe { &mut *c.get() };
            let n = c.len[class];
            if n == CACHED {
                return false;
            }
            c.slots[class][n] = slot;
            c.len[class] = n + 1;
            true
        })
        .unwrap_or(false);
    if !kept {
        push(class, slot, slot);
    }
}

/// Pushes the chain of free slots `first ..= last` (linked through `link`) on a free list.
///
/// # Safety
/// The slots must be free slots of class `class`, owned by the caller.
unsafe fn push(class: usize, first: usize, last: usize) {
    let head = &FREE[class];
    let mut cur = head.load(Ordering::Relaxed);
    loop {
        (*(last as *const Object))
            .link
            .store((cur & ADDR_MASK) as usize, Ordering::Relaxed);
        let new = first as u64 | (cur.wrapping_add(TAG_ONE) & !ADDR_MASK);
        match head.compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => cur = now,
        }
    }
}

/// A new chunk of class `class`: its first object slot is returned, the others go on the free
/// list. Aborts like `Box::new` when memory is exhausted.
#[cold]
fn new_chunk(class: usize) -> NonNull<Object> {
    let layout = Layout::from_size_align(CHUNK, CHUNK).expect("a valid chunk layout");
    // SAFETY: a non-zero size. Zeroed: every slot's count reads zero (no object) from the start.
    let base = unsafe { alloc_zeroed(layout) };
    if base.is_null() || base as u64 & !ADDR_MASK != 0 {
        handle_alloc_error(layout);
    }
    let size = CLASSES[class];
    // SAFETY: the chunk is ours; its first slot holds the header.
    unsafe { (base as *mut ChunkHeader).write(ChunkHeader { class }) };
    CHUNKS
        .write()
        .get_or_insert_with(HashSet::new)
        .insert(base as usize);
    let slots = CHUNK / size;
    let first = base as usize + size;
    if slots > 2 {
        // Slots 2.. are linked in order and pushed at once.
        for k in 2..slots - 1 {
            let slot = base as usize + k * size;
            // SAFETY: slots of the new chunk, not yet shared.
            unsafe {
                (*(slot as *const Object))
                    .link
                    .store(slot + size, Ordering::Relaxed)
            };
        }
        // SAFETY: as above.
        unsafe { push(class, first + size, base as usize + (slots - 1) * size) };
    }
    NonNull::new(first as *mut Object).expect("a slot address")
}

/// The slot at `p` if `p` is the address of an object slot (live or not), recognised without
/// reading `p`; `None` for any other address.
pub(super) fn find(p: usize) -> Option<NonNull<Object>> {
    let base = p & !(CHUNK - 1);
    if !CHUNKS
        .read()
        .as_ref()
        .is_some_and(|chunks| chunks.contains(&base))
    {
        return None;
    }
    // SAFETY: a chunk's header, written before the chunk was registered.
    let size = CLASSES[unsafe { (*(base as *const ChunkHeader)).class }];
    let offset = p - base;
    if offset < size || offset % size != 0 {
        return None;
    }
    NonNull::new(p as *mut Object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_recognised() {
        let class = class_for(200).unwrap();
        assert_eq!(CLASSES[class], 256);
        assert_eq!(class_for(CLASSES[CLASSES.len() - 1] + 1), None);
        let a = alloc(class);
        let b = alloc(class);
        assert_ne!(a, b);
        assert_eq!(find(a.as_ptr() as usize), Some(a));
        // Inside a slot, or the chunk's header, or memory that is no chunk: not a slot.
        assert_eq!(find(a.as_ptr() as usize + 8), None);
        assert_eq!(find(a.as_ptr() as usize & !(CHUNK - 1)), None);
        let elsewhere = Box::new([0u64; 16]);
        assert_eq!(find(elsewhere.as_ptr() as usize), None);
        unsafe {
            free(b);
            free(a);
        }
        // A freed slot is still recognised as a slot (its count says whether it lives).
        assert_eq!(find(a.as_ptr() as usize), Some(a));
        // Last in, first out: the thread's own cache.
        let c = alloc(class);
        assert_eq!(c, a);
        unsafe { free(c) };
    }

    #[test]
    fn threads_share_the_free_lists() {
        let class = class_for(100).unwrap();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        // More than a thread caches: the shared list is used too.
                        let held: Vec<_> = (0..CACHED + 9).map(|_| alloc(class)).collect();
                        let mut sorted: Vec<_> = held.iter().map(|p| p.as_ptr() as usize).collect();
                        sorted.sort();
                        sorted.dedup();
                        assert_eq!(sorted.len(), held.len(), "a slot was handed out twice");
                        for p in held {
                            unsafe { free(p) };
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
