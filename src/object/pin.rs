//! Slot pins: keeping an object's memory from being reused without keeping the object alive.
//!
//! An object's slot normally goes back to the library's object memory when its count reaches
//! zero (see [`slab`](super::slab)). A [`SlotPin`] defers that: the object is still freed (its
//! exporter dropped, a C exporter's `dealloc` run) at the usual time, but its slot stays an
//! object header that nothing else moves into, whose count reads zero, until the last pin is
//! dropped. So a holder of a pin may always try [`add_export_if_live`] on the object:
//! it either counts an export on that same, still live object, or fails; it never touches
//! another object that came to live in the slot. Pins are not references: `xbuf_refcount` and
//! `xbuf_exports` do not show them.
//!
//! The slot's pin count holds one for the object itself while it lives, so an object with no
//! other pin frees its slot with a plain load and no read-modify-write. Its top bit
//! ([`PINNED`]) is set by the first pin and stays set while the object lives: an object that
//! was never pinned has had no holder that could count an export on it without a reference,
//! which lets `Object::decref` drop a sole reference without a read-modify-write
//! ([`never_pinned`]).

use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use super::{slab, Object, EXCLUSIVE, EXPORT_LIMIT, EXPORT_MASK, EXPORT_ONE, REF_BITS};
use super::{REF_LIMIT, REF_MASK, REF_ONE};

/// One pin on an object's slot (see the module docs); dropping it unpins.
pub struct SlotPin(NonNull<Object>);

/// Set in the pin count by the first pin of a live object; cleared only when the slot holds a
/// new object.
const PINNED: u32 = 1 << 31;
/// The count of pins, below [`PINNED`].
const PINS: u32 = PINNED - 1;

/// Whether no pin was ever taken on `obj`, a live object the caller holds a reference on.
///
/// A pin is taken only by a holder of an export of the object, and every holder of an export
/// holds a reference or a pin. So when a load of the object's count (with `Acquire`) shows
/// the caller's reference alone and no export, and this says no pin was ever taken after
/// that load, nobody else holds anything that could change the count: every export ever
/// counted was given back before that load (and a pin its holder took would have set
/// [`PINNED`] before it gave its export back, which the load would have made visible), and no
/// new one can be counted but by the caller.
#[inline(always)]
pub(super) fn never_pinned(obj: &Object) -> bool {
    obj.slot_pins.load(Ordering::Relaxed) == 1
}

// SAFETY: the pin count is atomic; the slot is only read through atomics.
unsafe impl Send for SlotPin {}
unsafe impl Sync for SlotPin {}

/// Why [`add_export_if_live`] counted nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum NotCounted {
    /// The object is gone (its count reached zero).
    Gone,
    /// A change holds exclusive access to it.
    Exclusive,
    /// Its export or reference count is saturated.
    Saturated,
}

impl SlotPin {
    /// Pins the slot of `obj`, which is alive (the caller holds a reference or an export).
    pub fn new(obj: &Object) -> SlotPin {
        // A live object holds one pin of its own, so the count is not zero here; as for an
        // `Arc` clone, nothing needs ordering before the increment. The mark of a pinned
        // object is set with it (see `never_pinned`: the export this caller gives back later
        // publishes both).
        let mut cur = obj.slot_pins.load(Ordering::Relaxed);
        loop {
            match obj.slot_pins.compare_exchange_weak(
                cur,
                (cur + 1) | PINNED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        SlotPin(NonNull::from(obj))
    }

    /// Whether the pinned slot still holds the object it was pinned for.
    #[cfg(test)]
    fn is_live(&self) -> bool {
        // SAFETY: the pin keeps the slot; only its count is read.
        unsafe { self.0.as_ref() }.word.load(Ordering::Acquire) & REF_MASK != 0
    }

    #[cfg(test)]
    fn pins(&self) -> u32 {
        // SAFETY: as above.
        unsafe { self.0.as_ref() }.slot_pins.load(Ordering::Acquire) & PINS
    }
}

impl Drop for SlotPin {
    fn drop(&mut self) {
        // SAFETY: this pin keeps the slot.
        let pins = &unsafe { self.0.as_ref() }.slot_pins;
        // Release: what this holder did with the slot happens before its reuse; Acquire: the
        // object's own release (its exporter dropped) happens before the slot is given back.
        if pins.fetch_sub(1, Ordering::AcqRel) & PINS == 1 {
            // SAFETY: the last pin of a freed object (a live one holds a pin of its own).
            unsafe { slab::free(self.0) };
        }
    }
}

/// Counts one export and one reference on the object in the slot `p` if it is still live and
/// no change holds exclusive access to it; the caller then owns that export (returned with
/// `Object::drop_export`). Sequentially consistent, so that a caller who reads a flag (with
/// `SeqCst`) afterwards orders the two against a thread that sets the flag before it drops its
/// own export of the object.
///
/// # Safety
/// The slot must be kept from reuse for the whole call: by an export of the object, or a
/// [`SlotPin`], that some holder keeps meanwhile.
pub unsafe fn add_export_if_live<'a>(
    p: NonNull<Object>,
) -> std::result::Result<&'a Object, NotCounted> {
    // Only the atomic count is read until it shows a live object.
    let obj = p.as_ref();
    // Acquire: a count found at zero was left by the release of the last export, and whatever
    // that thread did before it (setting a flag) is seen after this call.
    let mut cur = obj.word.load(Ordering::Acquire);
    loop {
        if cur & REF_MASK == 0 {
            return Err(NotCounted::Gone);
        }
        if cur & EXCLUSIVE != 0 {
            return Err(NotCounted::Exclusive);
        }
        if (cur & EXPORT_MASK) >> REF_BITS >= EXPORT_LIMIT || cur & REF_MASK >= REF_LIMIT {
            return Err(NotCounted::Saturated);
        }
        match obj.word.compare_exchange_weak(
            cur,
            cur + (EXPORT_ONE | REF_ONE),
            Ordering::SeqCst,
            Ordering::Acquire,
        ) {
            Ok(_) => return Ok(obj),
            Err(now) => cur = now,
        }
    }
}

/// Gives a freed object's slot back, unless pins hold it (then the last pin does).
///
/// # Safety
/// `p`'s object must have just been freed (its count zero, its exporter dropped).
pub(super) unsafe fn release_slot(p: NonNull<Object>) {
    let pins = &p.as_ref().slot_pins;
    // No pin can be taken any more (that needs the object alive), so 1 is final.
    if pins.load(Ordering::Acquire) == 1 || pins.fetch_sub(1, Ordering::AcqRel) & PINS == 1 {
        slab::free(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::tests::probe;

    /// A pin is no reference: the object goes at the usual time, its slot stays out of use
    /// until the last pin goes, and counting an export there fails once the object is gone.
    #[test]
    fn pins_keep_the_slot_not_the_object() {
        let (obj, dropped) = probe();
        let at = NonNull::new(obj.as_ptr()).unwrap();
        let a = SlotPin::new(&obj);
        let b = SlotPin::new(&obj);
        assert_eq!(a.pins(), 3);
        assert_eq!((obj.refcount(), obj.exports()), (1, 0));
        // SAFETY: the pins keep the slot.
        let counted = unsafe { add_export_if_live(at) }.unwrap();
        assert_eq!((counted.refcount(), counted.exports()), (2, 1));
        // SAFETY: the export just counted.
        unsafe { Object::drop_export(at) };
        obj.begin_exclusive().unwrap();
        // SAFETY: as above.
        assert_eq!(
            unsafe { add_export_if_live(at) }.err(),
            Some(NotCounted::Exclusive)
        );
        obj.end_exclusive().unwrap();
        drop(obj);
        assert!(dropped.load(Ordering::SeqCst));
        assert!(!a.is_live());
        assert_eq!(a.pins(), 2);
        // SAFETY: as above.
        assert_eq!(
            unsafe { add_export_if_live(at) }.err(),
            Some(NotCounted::Gone)
        );
        // The slot is not handed out while pinned (freed slots come back last in, first out).
        let (other, _) = probe();
        assert_ne!(other.as_ptr(), at.as_ptr());
        drop(other);
        drop(a);
        let (other, _) = probe();
        assert_ne!(other.as_ptr(), at.as_ptr());
        drop(other);
        drop(b);
        let (again, _) = probe();
        assert_eq!(again.as_ptr(), at.as_ptr());
        assert_eq!(again.refcount(), 1);
    }

    /// The mark of a pinned object: absent on a new object, set by its first pin and kept
    /// after the pin goes (so a sole reference is then dropped with a read-modify-write,
    /// since the pin's holder may have counted an export meanwhile), and gone when the slot
    /// holds a new object. Either way the object goes once, when its count says so.
    #[test]
    fn a_pin_marks_the_object_for_good() {
        let (obj, dropped) = probe();
        assert!(never_pinned(&obj));
        let pin = SlotPin::new(&obj);
        assert!(!never_pinned(&obj));
        assert_eq!(pin.pins(), 2);
        let at = NonNull::new(obj.as_ptr()).unwrap();
        // SAFETY: the pin keeps the slot.
        let counted = unsafe { add_export_if_live(at) }.unwrap();
        assert_eq!((counted.refcount(), counted.exports()), (2, 1));
        drop(pin);
        assert!(!never_pinned(&obj));
        // SAFETY: the export counted above.
        unsafe { Object::drop_export(at) };
        assert_eq!((obj.refcount(), obj.exports()), (1, 0));
        // The sole reference of a once pinned object, dropped as C drops it.
        // SAFETY: the reference is the caller's.
        unsafe { Object::decref(NonNull::new(obj.into_raw()).unwrap()) }.unwrap();
        assert!(dropped.load(Ordering::SeqCst));
        // SAFETY: the slot is never freed; its count reads zero (no object).
        assert_eq!(
            unsafe { add_export_if_live(at) }.err(),
            Some(NotCounted::Gone)
        );
        // Freed slots come back last in, first out: the next object here is unmarked.
        let (again, again_dropped) = probe();
        assert_eq!(again.as_ptr(), at.as_ptr());
        assert!(never_pinned(&again));
        // SAFETY: as above.
        unsafe { Object::decref(NonNull::new(again.into_raw()).unwrap()) }.unwrap();
        assert!(again_dropped.load(Ordering::SeqCst));
    }

    /// A sole reference dropped (without a read-modify-write when the object was never
    /// pinned) while other threads, each holding references of their own, take and drop
    /// references and exports: every count stays exact and the object goes exactly once.
    #[test]
    fn sole_drops_race_with_holders_of_their_own_references() {
        use std::sync::atomic::AtomicUsize;
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl crate::object::Exporter for Counted {
            fn type_name(&self) -> &std::ffi::CStr {
                c"counted"
            }
            fn get_buffer<'a>(
                &'a self,
                _: &'a Object,
                _: std::ffi::c_int,
                _: &'a mut crate::capi::xbuf_bufferinfo,
            ) -> crate::status::Result<crate::object::Response<'a>> {
                Err(crate::err!(Unsupported, "no memory"))
            }
            crate::exporters::any_impl!();
        }
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        for round in 0..300 {
            let obj = crate::object::ObjRef::new(Counted);
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    // Each thread's own reference, taken before it starts.
                    let mine = obj.clone();
                    std::thread::spawn(move || {
                        for _ in 0..50 {
                            let p = NonNull::new(mine.as_ptr()).unwrap();
                            mine.incref().unwrap();
                            mine.add_export().unwrap();
                            // SAFETY: the export and the reference just counted.
                            unsafe { Object::drop_export(p) };
                            unsafe { Object::decref(p) }.unwrap();
                        }
                        let p = NonNull::new(mine.into_raw()).unwrap();
                        // SAFETY: this thread's reference.
                        unsafe { Object::decref(p) }.unwrap();
                    })
                })
                .collect();
            let p = NonNull::new(obj.into_raw()).unwrap();
            // SAFETY: the test's reference.
            unsafe { Object::decref(p) }.unwrap();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(DROPS.load(Ordering::SeqCst), round + 1);
        }
    }
}
