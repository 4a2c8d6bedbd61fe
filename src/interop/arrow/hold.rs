//! What an exported array holds: the export (a filled view, or a bare export counted on the
//! object that owns the memory), in a block kept for reuse once released; and its release
//! callbacks.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::bufferinfo;
use crate::capi::xbuf_bufferinfo;
use crate::object::Object;

use super::ArrowArray;

/// A filled view an exported array holds, released when dropped.
pub(super) struct Shared {
    pub(super) view: UnsafeCell<xbuf_bufferinfo>,
}

// SAFETY: the view is written only by `get_buffer` before the array is published and by
// `Drop` after its last owner is gone; in between it is only read.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    pub(super) fn empty() -> Shared {
        Shared {
            view: UnsafeCell::new(xbuf_bufferinfo::empty()),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: filled by get_buffer (or empty, which release ignores); nobody else holds it.
        let _ = unsafe { bufferinfo::release(self.view.get()) };
    }
}

/// One export counted on an object by `Object::add_export` (NULL: none, or handed on),
/// handed back when dropped.
pub(super) struct BareExport(*mut Object);

// SAFETY: an export may be handed back from any thread (the count is atomic).
unsafe impl Send for BareExport {}
unsafe impl Sync for BareExport {}

impl BareExport {
    /// Takes over the export counted on `owner`.
    ///
    /// # Safety
    /// The caller owns one export counted on `owner` and gives it to the value.
    pub(super) unsafe fn new(owner: std::ptr::NonNull<Object>) -> BareExport {
        BareExport(owner.as_ptr())
    }
}

impl Drop for BareExport {
    fn drop(&mut self) {
        if let Some(owner) = std::ptr::NonNull::new(self.0) {
            // SAFETY: the export this value owns, handed back once.
            unsafe { Object::drop_export(owner) };
        }
    }
}

/// How an exported array holds the export: as a filled view or a bare export.
pub(super) enum Hold {
    Own(Shared),
    Bare(BareExport),
}

/// An exported array's `private_data`. A tensor array's child lives in the same block (its
/// `private_data` is the block too), so that the block holds the export for both and lives
/// until the last of the two is released: the consumer may move the child out and release it
/// on its own, before or after the parent, as the specification allows.
pub(super) struct ArrayPrivate {
    pub(super) hold: Hold,
    /// 0 for a block only its own array holds; else how many arrays (the tensor array and its
    /// child) still hold it: the block is disposed of when the count drops to zero.
    pub(super) owners: AtomicUsize,
    pub(super) buffers: [*const c_void; 2],
    pub(super) children: [*mut ArrowArray; 1],
    /// A tensor array's child (released when there is none; a consumer moving it out leaves a
    /// released struct here, which the parent's release skips).
    pub(super) child: ArrowArray,
    /// The child's buffers.
    pub(super) child_buffers: [*const c_void; 2],
}

/// Takes a spare block out of the first full slot of `slots` (NULL when all are empty). A slot
/// is only ever swapped out whole, so the block is this thread's alone.
#[inline]
pub(super) fn take_spare<T>(slots: &[AtomicPtr<T>]) -> *mut T {
    for slot in slots {
        let spare = slot.swap(std::ptr::null_mut(), Ordering::Acquire);
        if !spare.is_null() {
            return spare;
        }
    }
    std::ptr::null_mut()
}

/// Puts the block `raw` in the first empty slot of `slots`; `false` (the caller keeps it)
/// when all are full.
#[inline]
pub(super) fn keep_spare<T>(slots: &[AtomicPtr<T>], raw: *mut T) -> bool {
    slots.iter().any(|slot| {
        slot.compare_exchange(
            std::ptr::null_mut(),
            raw,
            Ordering::Release,
            Ordering::Relaxed,
        )
        .is_ok()
    })
}

/// Freed `ArrayPrivate` allocations kept for the next exports (NULL: none), so that a steady
/// export/release cycle costs no `malloc`/`free` (one block per export, a tensor's child in
/// it; two slots, for two exports alive at once). A slot is only ever swapped out whole or
/// filled when empty, so no thread can see an allocation another thread is using.
static SPARE_PRIVATE: [AtomicPtr<ArrayPrivate>; 2] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];

impl ArrayPrivate {
    /// An allocation for an `ArrayPrivate`, holding no value: a spare one when there is one.
    pub(super) fn block() -> *mut ArrayPrivate {
        let spare = take_spare(&SPARE_PRIVATE);
        if !spare.is_null() {
            // A block made by `Box` for an `ArrayPrivate` whose value was dropped (see
            // `unbox`), taken out of the slot by this thread alone.
            return spare;
        }
        Box::into_raw(Box::<std::mem::MaybeUninit<ArrayPrivate>>::new_uninit()).cast()
    }

    /// Gives up one of the holds `owners` counts on the block `p` (a block only its own
    /// array holds counts none); the last disposes of it.
    ///
    /// # Safety
    /// `p` is a block made by `Box::into_raw` holding a value, and the caller gives up one of
    /// the holds on it (its only one, for a block whose `owners` is 0).
    unsafe fn give_up(p: *mut ArrayPrivate) {
        // Release: what this owner did happens before the block is disposed of; Acquire: the
        // last owner sees what the others did.
        if (*p).owners.load(Ordering::Relaxed) == 0
            || (*p).owners.fetch_sub(1, Ordering::AcqRel) == 1
        {
            ArrayPrivate::unbox(p);
        }
    }

    /// Drops the value the block `p` holds and keeps its allocation as a spare if a slot is
    /// empty.
    ///
    /// # Safety
    /// `p` is a block made by [`ArrayPrivate::block`] holding a value that nothing else uses.
    unsafe fn unbox(p: *mut ArrayPrivate) {
        std::ptr::drop_in_place(p);
        if keep_spare(&SPARE_PRIVATE, p) {
            return;
        }
        // SAFETY: the allocation of a `Box<ArrayPrivate>`, its value already dropped.
        drop(Box::from_raw(
            p.cast::<std::mem::MaybeUninit<ArrayPrivate>>(),
        ));
    }
}

/// The release callback of an exported array. A tensor array's child still in place is
/// released with it; the block goes once the child, if moved out, is released too.
pub(super) unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    if a.is_null() || (*a).release.is_none() {
        return;
    }
    (*a).release = None;
    let p = (*a).private_data.cast::<ArrayPrivate>();
    if p.is_null() {
        return;
    }
    guarded(|| {
        // SAFETY: the block of an array this module exported, released once (its callback is
        // NULL now); the child in the block is read through the same pointer.
        if (*p).child.release.take().is_some() {
            // The child was still in place: no one else holds the block.
            return ArrayPrivate::unbox(p);
        }
        ArrayPrivate::give_up(p);
    });
}

/// The release callback of a tensor array's child, in place or moved out: gives up its hold
/// on its parent's block.
unsafe extern "C" fn release_child(a: *mut ArrowArray) {
    if a.is_null() || (*a).release.is_none() {
        return;
    }
    (*a).release = None;
    let p = (*a).private_data.cast::<ArrayPrivate>();
    // SAFETY: the parent's block, which lives while this hold is counted.
    guarded(|| ArrayPrivate::give_up(p));
}

/// Runs the body of a release callback: a panic cannot cross the C callback. A failure to
/// release is already swallowed by `Shared::drop`, so this only guards against a broken
/// invariant.
#[inline(always)]
pub(super) fn guarded(body: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
}

/// A new array's block, the export's until [`Top::into_raw`] hands it to the arrays made of
/// it (dropped before that, on failure, it hands back the export it holds). A raw pointer and
/// not a `Box`, so that the pointers those arrays keep into the block (their buffer lists, a
/// tensor's child and its list) stay valid after it is handed over.
pub(super) struct Top(std::ptr::NonNull<ArrayPrivate>);

impl Top {
    /// The block.
    pub(super) fn as_ptr(&self) -> *mut ArrayPrivate {
        self.0.as_ptr()
    }

    /// Hands the block over: the arrays made of it release it.
    pub(super) fn into_raw(self) -> *mut ArrayPrivate {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Drop for Top {
    fn drop(&mut self) {
        // SAFETY: a block holding a value that no array holds yet.
        unsafe { ArrayPrivate::unbox(self.0.as_ptr()) };
    }
}

/// A new top-level `ArrayPrivate` holding an empty view, written field by field into its
/// block (the struct is large: built elsewhere and moved, it would be copied).
pub(super) fn new_top() -> Top {
    let p = ArrayPrivate::block();
    // SAFETY: `p` is an allocation for an `ArrayPrivate` holding no value.
    unsafe {
        std::ptr::addr_of_mut!((*p).hold).write(Hold::Own(Shared::empty()));
        fill_top(p)
    }
}

/// A new top-level `ArrayPrivate` holding a bare export (only that word of the hold written).
pub(super) fn new_top_bare(export: BareExport) -> Top {
    let p = ArrayPrivate::block();
    // SAFETY: `p` is an allocation for an `ArrayPrivate` holding no value.
    unsafe {
        std::ptr::addr_of_mut!((*p).hold).write(Hold::Bare(export));
        fill_top(p)
    }
}

/// Makes the array of the block `p` a tensor array whose child, in the same block, is
/// `child_len` items at `data`: both arrays hold the block. Every pointer is taken from `p`
/// itself, with no reference in between.
///
/// # Safety
/// `p` is a block [`Top::into_raw`] just handed over, whose array is not made yet.
pub(super) unsafe fn add_child(p: *mut ArrayPrivate, child_len: i64, data: *const c_void) {
    use std::ptr::addr_of_mut;
    addr_of_mut!((*p).owners).write(AtomicUsize::new(2));
    addr_of_mut!((*p).child_buffers).write([std::ptr::null(), data]);
    addr_of_mut!((*p).child).write(ArrowArray {
        length: child_len,
        null_count: 0,
        offset: 0,
        n_buffers: 2,
        n_children: 0,
        buffers: addr_of_mut!((*p).child_buffers).cast(),
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_child),
        private_data: p.cast(),
    });
    addr_of_mut!((*p).children).write([addr_of_mut!((*p).child)]);
}

/// Writes every field of a new `ArrayPrivate` but its hold, already written.
///
/// # Safety
/// `p` is an allocation for an `ArrayPrivate` whose `hold` alone is written.
#[inline(always)]
unsafe fn fill_top(p: *mut ArrayPrivate) -> Top {
    std::ptr::addr_of_mut!((*p).owners).write(AtomicUsize::new(0));
    std::ptr::addr_of_mut!((*p).buffers).write([std::ptr::null(); 2]);
    std::ptr::addr_of_mut!((*p).children).write([std::ptr::null_mut()]);
    std::ptr::addr_of_mut!((*p).child).write(ArrowArray::released());
    std::ptr::addr_of_mut!((*p).child_buffers).write([std::ptr::null(); 2]);
    Top(std::ptr::NonNull::new_unchecked(p))
}
