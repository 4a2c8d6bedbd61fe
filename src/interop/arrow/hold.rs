//! What an exported array holds: the export (a filled view, or a bare export counted on the
//! object that owns the memory), in a block kept for reuse once released; and the release
//! callbacks' common body.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use crate::bufferinfo;
use crate::capi::xbuf_bufferinfo;
use crate::object::Object;

use super::{ArrowArray, ArrowSchema};

/// The export an exported array holds, returned when dropped: a filled view, or (for an array
/// made straight from a view object's layout) one export counted on the object that owns the
/// memory, the view left empty.
pub(super) struct Shared {
    pub(super) view: UnsafeCell<xbuf_bufferinfo>,
    /// The owner holding that bare export, or NULL.
    pub(super) bare: *mut Object,
}

// SAFETY: the view is written only by `get_buffer`/`move_view` before the value is shared and
// by `Drop` after the last owner is gone; in between it is only read.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    pub(super) fn empty() -> Shared {
        Shared {
            view: UnsafeCell::new(xbuf_bufferinfo::empty()),
            bare: std::ptr::null_mut(),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: filled by get_buffer (or empty, which release ignores); nobody else holds it.
        let _ = unsafe { bufferinfo::release(self.view.get()) };
        if let Some(owner) = std::ptr::NonNull::new(self.bare) {
            // SAFETY: the export counted by `View::add_owner_export`, returned only here.
            unsafe { Object::drop_export(owner) };
        }
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

    /// The owner, leaving the value empty: the export is the caller's to hand back.
    pub(super) fn take(&mut self) -> *mut Object {
        std::mem::replace(&mut self.0, std::ptr::null_mut())
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

/// How an exported array holds the export: a flat array alone, in its own `private_data`
/// (one block per export), as a filled view or a bare export; a tensor array and its child
/// together, so that either may be released first.
pub(super) enum Hold {
    Own(Shared),
    Bare(BareExport),
    Shared(#[allow(dead_code)] Arc<Shared>),
}

/// An exported array's `private_data`.
pub(super) struct ArrayPrivate {
    pub(super) hold: Hold,
    pub(super) buffers: [*const c_void; 2],
    pub(super) children: [*mut ArrowArray; 1],
    /// A tensor array's child, in the same block (a consumer moving it out leaves a released
    /// struct here, which the parent's release skips).
    pub(super) child: Option<ArrowArray>,
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
/// export/release cycle costs no `malloc`/`free`: two, for the two blocks of a tensor array
/// (the array and its child). A slot is only ever swapped out whole or filled when empty, so
/// no thread can see an allocation another thread is using.
static SPARE_PRIVATE: [AtomicPtr<ArrayPrivate>; 2] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];

impl ArrayPrivate {
    /// `self` on the heap, in a spare allocation when there is one.
    pub(super) fn boxed(self) -> Box<ArrayPrivate> {
        let p = ArrayPrivate::block();
        // SAFETY: an allocation for an `ArrayPrivate` holding no value.
        unsafe {
            p.write(self);
            Box::from_raw(p)
        }
    }

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

    /// Drops the value `p` holds and keeps its allocation as a spare if a slot is empty.
    pub(super) fn unbox(p: Box<ArrayPrivate>) {
        let raw = Box::into_raw(p);
        // SAFETY: from `Box::into_raw` just above; the value is dropped once.
        unsafe { std::ptr::drop_in_place(raw) };
        if keep_spare(&SPARE_PRIVATE, raw) {
            return;
        }
        // SAFETY: the allocation of a `Box<ArrayPrivate>`, its value already dropped.
        drop(unsafe { Box::from_raw(raw.cast::<std::mem::MaybeUninit<ArrayPrivate>>()) });
    }
}

/// What the two release callbacks need of an Arrow struct: its callback slot and its
/// producer's block.
pub(super) trait Releasable: Sized {
    fn release_slot(&mut self) -> &mut Option<unsafe extern "C" fn(*mut Self)>;
    fn private_data(&self) -> *mut c_void;
}

impl Releasable for ArrowArray {
    fn release_slot(&mut self) -> &mut Option<unsafe extern "C" fn(*mut Self)> {
        &mut self.release
    }
    fn private_data(&self) -> *mut c_void {
        self.private_data
    }
}

impl Releasable for ArrowSchema {
    fn release_slot(&mut self) -> &mut Option<unsafe extern "C" fn(*mut Self)> {
        &mut self.release
    }
    fn private_data(&self) -> *mut c_void {
        self.private_data
    }
}

/// The body of both release callbacks: releases `s` once (its callback set to NULL first), the
/// child its block holds before the block (unless the consumer moved the child out, which
/// released it there), then hands the block to `dispose`. A NULL or already released struct
/// is left alone.
///
/// # Safety
/// `s` is NULL or a struct this module exported, whose `private_data` is a `Box<P>`'s, and
/// `child` finds the child struct `P` holds.
pub(super) unsafe fn release_once<S: Releasable, P>(
    s: *mut S,
    child: impl FnOnce(&mut P) -> Option<&mut S>,
    dispose: impl FnOnce(Box<P>),
) {
    if s.is_null() || (*s).release_slot().is_none() {
        return;
    }
    let private = (*s).private_data().cast::<P>();
    *(*s).release_slot() = None;
    if !private.is_null() {
        // A panic cannot cross this C callback: a failure to release is already swallowed by
        // `Shared::drop`, so catching here only guards against a broken invariant.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: made by Box::into_raw when exported, released once (the callback is
            // NULL now).
            let mut p = Box::from_raw(private);
            if let Some(c) = child(&mut p) {
                if let Some(r) = *c.release_slot() {
                    r(c);
                }
            }
            dispose(p);
        }));
    }
}

pub(super) unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    release_once(
        a,
        |p: &mut ArrayPrivate| p.child.as_mut(),
        ArrayPrivate::unbox,
    );
}

/// A new top-level `ArrayPrivate` holding an empty view, written field by field into its
/// block (the struct is large: built elsewhere and moved, it would be copied).
pub(super) fn new_top() -> Box<ArrayPrivate> {
    let p = ArrayPrivate::block();
    // SAFETY: `p` is an allocation for an `ArrayPrivate` holding no value.
    unsafe {
        std::ptr::addr_of_mut!((*p).hold).write(Hold::Own(Shared::empty()));
        fill_top(p)
    }
}

/// A new top-level `ArrayPrivate` holding a bare export (only that word of the hold written).
pub(super) fn new_top_bare(export: BareExport) -> Box<ArrayPrivate> {
    let p = ArrayPrivate::block();
    // SAFETY: `p` is an allocation for an `ArrayPrivate` holding no value.
    unsafe {
        std::ptr::addr_of_mut!((*p).hold).write(Hold::Bare(export));
        fill_top(p)
    }
}

/// Writes every field of a new `ArrayPrivate` but its hold, already written, and boxes it.
///
/// # Safety
/// `p` is an allocation for an `ArrayPrivate` whose `hold` alone is written.
#[inline(always)]
unsafe fn fill_top(p: *mut ArrayPrivate) -> Box<ArrayPrivate> {
    {
        std::ptr::addr_of_mut!((*p).buffers).write([std::ptr::null(); 2]);
        std::ptr::addr_of_mut!((*p).children).write([std::ptr::null_mut()]);
        std::ptr::addr_of_mut!((*p).child).write(None);
        Box::from_raw(p)
    }
}
