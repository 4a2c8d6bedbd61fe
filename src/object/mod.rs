//! The object model: a reference-counted handle with an export count, an exclusive-access
//! state and an exporter behind it.
//!
//! One atomic word holds the reference count, the export count and the exclusive bit, so that
//! taking a view (one reference + one export) is a single atomic add, and so that "exclusive
//! access succeeds only while the count is zero and blocks new exports" is one compare-and-swap:
//!
//! ```text
//!  bit 63        bits 36..63          bits 0..36
//! [exclusive] [exports: 27 bits]  [references: 36 bits]
//! ```
//!
//! An object is freed (its exporter dropped, which runs a C exporter's `dealloc`) when the word
//! reaches zero: no references and no exports.

use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::status::Result;
use crate::{bail, err};

const REF_BITS: u32 = 36;
const EXPORT_BITS: u32 = 27;
const REF_ONE: u64 = 1;
const REF_MASK: u64 = (1 << REF_BITS) - 1;
const EXPORT_ONE: u64 = 1 << REF_BITS;
const EXPORT_MASK: u64 = ((1 << EXPORT_BITS) - 1) << REF_BITS;
const EXCLUSIVE: u64 = 1 << 63;
/// Saturation guards: refuse new references or exports well before a field could carry into
/// its neighbour (the margin covers concurrent increments that have not yet been undone).
/// Each is the top bit of its field, so that the checks after an export is counted and the
/// exclusive bit are one test of three bits.
const REF_LIMIT: u64 = 1 << (REF_BITS - 1);
const EXPORT_LIMIT: u64 = 1 << (EXPORT_BITS - 1);

/// Marks a live object; cleared when it is freed, so that many stale or foreign pointers are
/// caught with `XBUF_ERR_INVALID_ARGUMENT` instead of corrupting memory.
const MAGIC_LIVE: u64 = 0x7862_7566_4f42_4a31; // "xbufOBJ1"
const MAGIC_DEAD: u64 = 0x7862_7566_4445_4144; // "xbufDEAD"

mod exclusive;
mod exporter;
mod pin;
mod slab;

pub use exporter::{Exporter, FlatCell, Response};
pub use pin::{add_export_if_live, NotCounted, SlotPin};

/// A new reference to the object at `p` if an object lives there and is still referenced:
/// `p` is first recognised as an object slot by its address alone ([`slab::find`]), then its
/// count is raised from a non-zero value only, so that an object being freed is never
/// revived. Whatever object lives in the slot at that moment is the one found.
fn acquire_slot(p: *const Object) -> Option<ObjRef> {
    let slot = slab::find(p as usize)?;
    // SAFETY: a slot of a chunk the library never frees; only its atomic count is read until
    // the count shows a live object and is raised.
    let obj = unsafe { slot.as_ref() };
    let mut cur = obj.word.load(Ordering::Relaxed);
    loop {
        // No reference left: no object, or its last owner is freeing it.
        if cur & REF_MASK == 0 || cur & REF_MASK >= REF_LIMIT {
            return None;
        }
        match obj.word.compare_exchange_weak(
            cur,
            cur + REF_ONE,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Some(ObjRef(slot)),
            Err(now) => cur = now,
        }
    }
}

/// cbindgen:ignore
/// The library-allocated object. C sees it as the opaque `xbuf_object`. `repr(C)` keeps
/// `magic` at offset 0, so checking a foreign pointer reads only its first 8 bytes.
#[repr(C)]
pub struct Object {
    magic: AtomicU64,
    /// References, exports and the exclusive bit (see the module docs).
    word: AtomicU64,
    /// How many of the exports are locks taken with `xbuf_lock` (so that an unlock without a
    /// lock is an error, not a stolen export).
    locks: AtomicUsize,
    /// The thread holding exclusive access ([`thread_token`]), 0 when none (or while the
    /// holder is still between taking the bit and writing its token).
    exclusive_owner: AtomicUsize,
    /// While the slot is free: the next free slot of its class (see [`slab`]).
    link: AtomicUsize,
    /// Whether the exporter lives in the slot after this header (else in a box of its own).
    inline: bool,
    /// The exporter's `release_ignores_views`, read once when the object is made, so that
    /// releasing a view of an exporter that does nothing with views calls nothing.
    release_ignores_views: bool,
    /// Whether the exporter's `flat_cell` (asked once, when the object is made) is the
    /// exporter's first field, so that it is found at the exporter's address without a call
    /// and without a field of its own here (the header stays 64 bytes).
    flat_first: bool,
    /// The exporter's `trusted`, read once when the object is made.
    trusted: bool,
    /// Pins on the slot (see [`SlotPin`]), one of them the object's own while it lives.
    slot_pins: std::sync::atomic::AtomicU32,
    /// The exporter: in the slot or boxed; set before the object's count is published.
    exporter: *mut dyn Exporter,
}

/// Bytes of a slot before an exporter kept in it.
const HEADER: usize = std::mem::size_of::<Object>().next_multiple_of(16);

// SAFETY: the counts are atomic, and the exporter (`Send + Sync`) is immutable once published.
unsafe impl Send for Object {}
unsafe impl Sync for Object {}

/// A non-zero number identifying the calling thread among the running ones.
fn thread_token() -> usize {
    thread_local! {
        static ANCHOR: u8 = const { 0 };
    }
    // A thread that is exiting has no storage left; it gets a token no thread has.
    ANCHOR
        .try_with(|a| a as *const u8 as usize)
        .unwrap_or(usize::MAX)
}

// `Object::check` relies on it.
const _: () = assert!(std::mem::offset_of!(Object, magic) == 0);

/// An owned reference to an object: dropping it drops the reference.
pub struct ObjRef(NonNull<Object>);

// SAFETY: the object's counts are atomic and every `Exporter` is `Send + Sync`.
unsafe impl Send for ObjRef {}
unsafe impl Sync for ObjRef {}

impl ObjRef {
    /// Makes an object with one reference, its exporter kept in the object's own slot when it
    /// fits (one allocation, from the library's object memory), else in a box.
    pub fn new<E: Exporter>(exporter: E) -> ObjRef {
        let fits = std::mem::align_of::<E>() <= 16;
        match slab::class_for(HEADER + std::mem::size_of::<E>()).filter(|_| fits) {
            Some(class) => {
                let slot = slab::alloc(class);
                // SAFETY: a free slot of at least HEADER + size_of::<E>() bytes, 16-aligned
                // after the header; nothing reads its exporter before the count is published.
                unsafe {
                    let at = (slot.as_ptr() as *mut u8).add(HEADER) as *mut E;
                    at.write(exporter);
                    ObjRef::publish(slot, at as *mut dyn Exporter, true)
                }
            }
            None => ObjRef::new_boxed(Box::new(exporter)),
        }
    }

    /// Makes an object with one reference whose exporter `init` writes straight into the
    /// object's slot (or a box when it does not fit one), so that a large exporter is not
    /// moved on its way there. On failure (or a panic) `init` must leave nothing to drop at the
    /// pointer; the slot is returned and its error passed on. Inlined, so that `init` becomes
    /// part of its caller (a view's making has no call of its own).
    #[inline(always)]
    pub fn new_in_place<E: Exporter>(init: impl FnOnce(*mut E) -> Result<()>) -> Result<ObjRef> {
        let fits = std::mem::align_of::<E>() <= 16;
        match slab::class_for(HEADER + std::mem::size_of::<E>()).filter(|_| fits) {
            Some(class) => {
                let slot = slab::alloc(class);
                /// Returns the slot unless the object was made.
                struct Unused(Option<NonNull<Object>>);
                impl Drop for Unused {
                    fn drop(&mut self) {
                        if let Some(p) = self.0 {
                            // SAFETY: a slot `alloc` gave out, never published.
                            unsafe { slab::free(p) };
                        }
                    }
                }
                let mut unused = Unused(Some(slot));
                // SAFETY: a free slot of at least HEADER + size_of::<E>() bytes, 16-aligned
                // after the header; nothing reads its exporter before the count is published.
                unsafe {
                    let at = (slot.as_ptr() as *mut u8).add(HEADER) as *mut E;
                    init(at)?;
                    unused.0 = None;
                    Ok(ObjRef::publish(slot, at as *mut dyn Exporter, true))
                }
            }
            None => {
                let mut b = Box::<E>::new_uninit();
                init(b.as_mut_ptr())?;
                // SAFETY: `init` succeeded, so it wrote the exporter.
                Ok(ObjRef::new_boxed(unsafe { b.assume_init() }))
            }
        }
    }

    /// Makes an object with one reference around an exporter in a box.
    pub fn new_boxed(exporter: Box<dyn Exporter>) -> ObjRef {
        let slot = slab::alloc(0);
        // SAFETY: a free slot; nothing reads its exporter before the count is published.
        unsafe { ObjRef::publish(slot, Box::into_raw(exporter), false) }
    }

    /// Fills the header of a free slot and publishes the object (its count becomes one).
    ///
    /// # Safety
    /// `slot` must be a free slot given by `slab::alloc`; `exporter` must be valid (in the slot
    /// when `inline`, else a box's).
    #[inline(always)]
    unsafe fn publish(slot: NonNull<Object>, exporter: *mut dyn Exporter, inline: bool) -> ObjRef {
        let p = slot.as_ptr();
        std::ptr::addr_of_mut!((*p).exporter).write(exporter);
        std::ptr::addr_of_mut!((*p).inline).write(inline);
        std::ptr::addr_of_mut!((*p).release_ignores_views)
            .write((*exporter).release_ignores_views());
        let flat_first = (*exporter).flat_cell().is_some_and(|c| {
            std::ptr::eq(c as *const FlatCell as *const u8, exporter as *const u8)
        });
        std::ptr::addr_of_mut!((*p).flat_first).write(flat_first);
        std::ptr::addr_of_mut!((*p).trusted).write((*exporter).trusted());
        let obj = slot.as_ref();
        obj.locks.store(0, Ordering::Relaxed);
        obj.exclusive_owner.store(0, Ordering::Relaxed);
        obj.slot_pins.store(1, Ordering::Relaxed);
        obj.magic.store(MAGIC_LIVE, Ordering::Relaxed);
        // Publishes the fields above to whoever raises the count from here on (`acquire_slot`).
        obj.word.store(REF_ONE, Ordering::Release);
        ObjRef(slot)
    }

    /// A new reference to the object at `p` if `p` is a live object; `None` for anything else
    /// (a freed object, memory that never was one), recognised by its address before it is
    /// read. Costs a shared lock of the table of the library's object memory.
    pub fn acquire_live(p: NonNull<Object>) -> Option<ObjRef> {
        acquire_slot(p.as_ptr())
    }

    /// Gives the reference to the caller as a raw pointer (for C).
    pub fn into_raw(self) -> *mut Object {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Takes back a reference previously given away with [`ObjRef::into_raw`] or counted with
    /// [`Object::incref`].
    ///
    /// # Safety
    /// `p` must be a live object and the caller must own one of its references.
    pub unsafe fn from_raw(p: NonNull<Object>) -> ObjRef {
        ObjRef(p)
    }

    pub fn as_ptr(&self) -> *mut Object {
        self.0.as_ptr()
    }
}

impl std::fmt::Debug for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ObjRef({:p}, '{}')",
            self.0,
            self.type_name().to_string_lossy()
        )
    }
}

impl Clone for ObjRef {
    fn clone(&self) -> ObjRef {
        // A live ObjRef means at least one reference, so only saturation can fail; that takes
        // more than 2^35 live references and is treated as a bug.
        self.incref().expect("reference count saturated");
        ObjRef(self.0)
    }
}

impl std::ops::Deref for ObjRef {
    type Target = Object;
    fn deref(&self) -> &Object {
        // SAFETY: an ObjRef owns a reference, so the object is alive.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for ObjRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { Object::sub(self.0, REF_ONE) };
    }
}

/// The error for a pointer that is not a live object.
#[cold]
#[inline(never)]
fn not_live(p: *const Object) -> crate::status::Error {
    err!(InvalidArgument, "pointer {p:p} is not a live xbuf object")
}

impl Object {
    /// Checks that `p` points at a live object and borrows it.
    ///
    /// # Safety
    /// `p` must be NULL-checked and point at readable memory of at least an object's size;
    /// the caller must hold a reference (or export) for the borrow's duration.
    #[inline]
    pub unsafe fn check<'a>(p: NonNull<Object>) -> Result<&'a Object> {
        Object::live(p).ok_or_else(|| not_live(p.as_ptr()))
    }

    /// [`Object::check`] without its error: the object if `p` points at a live one.
    ///
    /// # Safety
    /// As [`Object::check`].
    #[inline(always)]
    pub unsafe fn live<'a>(p: NonNull<Object>) -> Option<&'a Object> {
        // Only the tag at offset 0 is read before the pointer is known to be an object.
        let aligned = p.as_ptr() as usize % std::mem::align_of::<Object>() == 0;
        if !aligned || p.cast::<AtomicU64>().as_ref().load(Ordering::Relaxed) != MAGIC_LIVE {
            return None;
        }
        Some(p.as_ref())
    }

    pub fn exporter(&self) -> &dyn Exporter {
        // SAFETY: set before the object was published, valid until it is freed.
        unsafe { &*self.exporter }
    }

    pub fn type_name(&self) -> &CStr {
        self.exporter().type_name()
    }

    /// The exporter as a concrete built-in type, or `InvalidArgument` naming what it is.
    pub fn downcast<T: Exporter>(&self, wanted: &str) -> Result<&T> {
        self.exporter().as_any().downcast_ref::<T>().ok_or_else(|| {
            err!(
                InvalidArgument,
                "object is a '{}', not a '{}'",
                self.type_name().to_string_lossy(),
                wanted
            )
        })
    }

    pub fn as_ptr(&self) -> *mut Object {
        self as *const Object as *mut Object
    }

    /// Current reference count.
    pub fn refcount(&self) -> u64 {
        self.word.load(Ordering::Acquire) & REF_MASK
    }

    /// Current export count (views whose releaser this is, plus locks).
    pub fn exports(&self) -> u64 {
        (self.word.load(Ordering::Acquire) & EXPORT_MASK) >> REF_BITS
    }

    /// Whether some export is a view's, not a lock's. The export and lock counts live in two
    /// atomics that a concurrent lock or unlock changes one after the other, so they are read
    /// as a pair only when the export word did not change around the lock count: a lock or
    /// unlock in between could otherwise make the views look gone.
    pub fn holds_view_export(&self) -> bool {
        loop {
            let before = self.word.load(Ordering::Acquire);
            let locks = self.locks.load(Ordering::Acquire) as u64;
            let after = self.word.load(Ordering::Acquire);
            if before == after {
                return (after & EXPORT_MASK) >> REF_BITS > locks;
            }
            std::hint::spin_loop();
        }
    }

    /// Whether the exporter's `release_buffer` does nothing with a view
    /// (`Exporter::release_ignores_views`), so that a release need not call it.
    #[inline(always)]
    pub fn release_ignores_views(&self) -> bool {
        self.release_ignores_views
    }

    /// Whether the exporter answers with a layout the library made (`Exporter::trusted`).
    #[inline(always)]
    pub fn trusted(&self) -> bool {
        self.trusted
    }

    /// The exporter's [`FlatCell`], if it has one as its first field (`Exporter::flat_cell`).
    #[inline(always)]
    pub fn flat_cell(&self) -> Option<&FlatCell> {
        // SAFETY: `flat_first` says the cell is at the exporter's address; the exporter lives
        // as long as the object.
        self.flat_first
            .then(|| unsafe { &*(self.exporter as *const u8 as *const FlatCell) })
    }

    /// Drops the export and the reference of a view being released if the object holds a
    /// view's export ([`Object::holds_view_export`], decided on the same count the drop
    /// changes); `None`, changing nothing, when it holds none. `Some(true)`: that was the
    /// object's last reference, and the caller must free it with [`Object::free_dropped`]
    /// (after whatever else it does, so that the common path calls nothing).
    ///
    /// # Safety
    /// `p` must be live; after a `Some` answer the object may be freed by another thread.
    #[inline(always)]
    pub unsafe fn drop_held_view_export(p: NonNull<Object>) -> Option<bool> {
        let obj = p.as_ref();
        let mut cur = obj.word.load(Ordering::Acquire);
        loop {
            let locks = obj.locks.load(Ordering::Acquire) as u64;
            if (cur & EXPORT_MASK) >> REF_BITS <= locks {
                return None;
            }
            // Fails, and reads again, if the count changed since it was read.
            match obj.word.compare_exchange_weak(
                cur,
                cur - (EXPORT_ONE | REF_ONE),
                Ordering::Release,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        Some(cur - (EXPORT_ONE | REF_ONE) == 0)
    }

    /// Frees an object whose last reference [`Object::drop_held_view_export`] dropped.
    ///
    /// # Safety
    /// Only after a `Some(true)` answer of that function, once.
    #[cold]
    pub unsafe fn free_dropped(p: NonNull<Object>) {
        Object::free(p);
    }

    /// How many of the exports are locks.
    pub fn locks(&self) -> usize {
        self.locks.load(Ordering::Acquire)
    }

    /// True while a change holds exclusive access.
    pub fn is_exclusive(&self) -> bool {
        self.word.load(Ordering::Acquire) & EXCLUSIVE != 0
    }

    /// Adds a reference and returns it as an owned handle.
    pub fn new_ref(&self) -> Result<ObjRef> {
        self.incref()?;
        Ok(ObjRef(NonNull::from(self)))
    }

    /// Adds a reference.
    pub fn incref(&self) -> Result<()> {
        let old = self.word.fetch_add(REF_ONE, Ordering::Relaxed);
        if old & REF_MASK >= REF_LIMIT {
            self.word.fetch_sub(REF_ONE, Ordering::Relaxed);
            bail!(
                Overflow,
                "reference count of '{}' is saturated",
                self.type_name().to_string_lossy()
            );
        }
        Ok(())
    }

    /// Drops a reference that the caller owns, refusing an underflow.
    ///
    /// # Safety
    /// `p` must be a live object; after the call it may be freed.
    #[inline]
    pub unsafe fn decref(p: NonNull<Object>) -> Result<()> {
        let obj = p.as_ref();
        // Acquire: a count that shows the caller's reference alone orders every earlier
        // release of the others' before the object is freed (as `free`'s load does).
        let mut cur = obj.word.load(Ordering::Acquire);
        // The sole reference, no export and never pinned: nobody else can change the count
        // (see `pin::never_pinned`), so it is freed without a read-modify-write. (Looking an
        // object up by its address, `ObjRef::acquire_live`, is for a releaser a C exporter
        // names, which it holds meanwhile: then the count is not one.)
        if cur == REF_ONE && pin::never_pinned(obj) {
            // Zero before the slot can be reused: a lookup by address finds no object here.
            obj.word.store(0, Ordering::Relaxed);
            Object::free(p);
            return Ok(());
        }
        loop {
            // Each export holds one of the references; taking one of those would be a double
            // decref by the caller.
            let exports = (cur & EXPORT_MASK) >> REF_BITS;
            if cur & REF_MASK <= exports {
                bail!(
                    InvalidArgument,
                    "xbuf_decref on a '{}' that has no reference left to drop (only the {} held by its exports)",
                    obj.type_name().to_string_lossy(),
                    exports
                );
            }
            match obj.word.compare_exchange_weak(
                cur,
                cur - REF_ONE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if cur - REF_ONE == 0 {
            Object::free(p);
        }
        Ok(())
    }

    /// Counts one export and one reference, unless a change holds exclusive access.
    #[inline(always)]
    pub fn add_export(&self) -> Result<()> {
        let old = self.word.fetch_add(EXPORT_ONE | REF_ONE, Ordering::Acquire);
        if old & EXCLUSIVE != 0
            || (old & EXPORT_MASK) >> REF_BITS >= EXPORT_LIMIT
            || old & REF_MASK >= REF_LIMIT
        {
            return Err(self.undo_export(old));
        }
        Ok(())
    }

    /// Takes back the export [`Object::add_export`] counted on a word that was `old`, and
    /// says why it is refused.
    #[cold]
    #[inline(never)]
    fn undo_export(&self, old: u64) -> crate::status::Error {
        self.word.fetch_sub(EXPORT_ONE | REF_ONE, Ordering::Relaxed);
        if old & EXCLUSIVE != 0 {
            err!(
                Busy,
                "'{}' is being changed (exclusive access is held); no export can start now",
                self.type_name().to_string_lossy()
            )
        } else {
            err!(
                Overflow,
                "export count of '{}' is saturated",
                self.type_name().to_string_lossy()
            )
        }
    }

    /// Drops one export and one reference counted by [`Object::add_export`].
    ///
    /// # Safety
    /// The caller must own that export; after the call the object may be freed.
    #[inline]
    pub unsafe fn drop_export(p: NonNull<Object>) {
        Object::sub(p, EXPORT_ONE | REF_ONE);
    }

    /// Drops the export and the reference of a view being released, unless the object holds
    /// no export at all: then nothing changes and the answer is `false` (the count never
    /// wraps, whatever a caller does with copies of a view).
    ///
    /// # Safety
    /// `p` must be live; after a `true` answer the object may be freed.
    #[inline(always)]
    pub unsafe fn drop_view_export(p: NonNull<Object>) -> bool {
        let word = &p.as_ref().word;
        let mut cur = word.load(Ordering::Relaxed);
        loop {
            if cur & EXPORT_MASK == 0 {
                return false;
            }
            match word.compare_exchange_weak(
                cur,
                cur - (EXPORT_ONE | REF_ONE),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if cur - (EXPORT_ONE | REF_ONE) == 0 {
            Object::free(p);
        }
        true
    }

    #[inline]
    unsafe fn sub(p: NonNull<Object>, amount: u64) {
        let old = p.as_ref().word.fetch_sub(amount, Ordering::Release);
        debug_assert!(old & REF_MASK >= amount & REF_MASK);
        if old - amount == 0 {
            Object::free(p);
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn free(p: NonNull<Object>) {
        // Pairs with the Release decrements: everything other threads did before dropping
        // their last reference happens before the exporter is dropped.
        // (An acquire load rather than a fence: ThreadSanitizer understands loads, not fences.)
        let obj = p.as_ref();
        obj.word.load(Ordering::Acquire);
        obj.magic.store(MAGIC_DEAD, Ordering::Relaxed);
        /// Returns the slot when the exporter is gone, also if its drop unwinds.
        struct Slot(NonNull<Object>);
        impl Drop for Slot {
            fn drop(&mut self) {
                // SAFETY: the object's count is zero and its exporter dropped.
                unsafe { pin::release_slot(self.0) };
            }
        }
        let _slot = Slot(p);
        if obj.inline {
            std::ptr::drop_in_place(obj.exporter);
        } else {
            drop(Box::from_raw(obj.exporter));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
