//! Unit tests of the object model (counts keeping an object alive, finding live objects,
//! exclusive access, and their races), and the `Probe` exporter other unit tests use.

use super::*;
use crate::capi::xbuf_bufferinfo;
use std::any::Any;
use std::ffi::c_int;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A minimal exporter for unit tests: reports drops through a flag.
pub struct Probe {
    pub dropped: Arc<AtomicBool>,
    pub data: Vec<u8>,
}

impl Exporter for Probe {
    fn type_name(&self) -> &CStr {
        c"probe"
    }
    fn get_buffer<'a>(
        &'a self,
        _this: &'a Object,
        _flags: c_int,
        _scratch: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        Ok(Response::bytes(
            self.data.as_ptr() as *mut u8,
            self.data.len(),
            true,
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

pub fn probe() -> (ObjRef, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicBool::new(false));
    let obj = ObjRef::new(Probe {
        dropped: dropped.clone(),
        data: vec![1, 2, 3],
    });
    (obj, dropped)
}

#[test]
fn refs_and_exports_keep_the_object_alive() {
    let (obj, dropped) = probe();
    assert_eq!(obj.refcount(), 1);
    obj.add_export().unwrap();
    assert_eq!((obj.refcount(), obj.exports()), (2, 1));
    let p = NonNull::new(obj.as_ptr()).unwrap();
    drop(obj);
    assert!(!dropped.load(Ordering::SeqCst));
    unsafe {
        assert_eq!(Object::check(p).unwrap().exports(), 1);
        Object::drop_export(p);
    }
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn decref_refuses_underflow_while_exports_keep_it_alive() {
    let (obj, dropped) = probe();
    obj.add_export().unwrap();
    let p = NonNull::new(obj.into_raw()).unwrap();
    unsafe {
        Object::decref(p).unwrap();
        // Only the export's own reference remains: a second decref is refused.
        let e = Object::decref(p).unwrap_err();
        assert_eq!(e.status, crate::status::Status::InvalidArgument);
        assert!(!dropped.load(Ordering::SeqCst));
        assert_eq!(Object::check(p).unwrap().exports(), 1);
        Object::drop_export(p);
    }
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn live_objects_are_found_and_others_are_not() {
    let (obj, dropped) = probe();
    let p = NonNull::new(obj.as_ptr()).unwrap();
    let held = ObjRef::acquire_live(p).unwrap();
    assert_eq!(held.as_ptr(), obj.as_ptr());
    assert_eq!(obj.refcount(), 2);
    drop(obj);
    assert!(!dropped.load(Ordering::SeqCst));
    drop(held);
    assert!(dropped.load(Ordering::SeqCst));
    // Freed: its slot holds no object (only the slot's count is read).
    assert!(ObjRef::acquire_live(p).is_none());
    // Memory that never was an object, even with the right tag at offset 0.
    let fake = Box::new([MAGIC_LIVE, REF_ONE, 0, 0, 0, 0]);
    assert!(ObjRef::acquire_live(NonNull::from(&*fake).cast()).is_none());
    // The cheap check of an argument sees only the tag.
    assert!(unsafe { Object::check(NonNull::from(&*fake).cast()) }.is_ok());
}

#[test]
fn acquiring_races_with_freeing() {
    use std::sync::atomic::AtomicPtr;
    let slot = Arc::new(AtomicPtr::new(std::ptr::null_mut::<Object>()));
    let stop = Arc::new(AtomicBool::new(false));
    let found = Arc::new(AtomicUsize::new(0));
    let finder = {
        let (slot, stop, found) = (slot.clone(), stop.clone(), found.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(p) = NonNull::new(slot.load(Ordering::Relaxed)) {
                    if let Some(o) = ObjRef::acquire_live(p) {
                        // Whatever object lives there now, it is alive and whole.
                        assert!(o.refcount() >= 1);
                        assert_eq!(o.type_name(), c"probe");
                        found.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    for _ in 0..20000 {
        let (obj, _) = probe();
        slot.store(obj.as_ptr(), Ordering::Relaxed);
        drop(obj);
    }
    stop.store(true, Ordering::Relaxed);
    finder.join().unwrap();
    // The last one was freed: nothing is found any more.
    let p = NonNull::new(slot.load(Ordering::Relaxed)).unwrap();
    assert!(ObjRef::acquire_live(p).is_none());
}

#[test]
fn exclusive_excludes_exports_and_vice_versa() {
    let (obj, _) = probe();
    obj.begin_exclusive().unwrap();
    assert!(obj.is_exclusive());
    assert_eq!(
        obj.add_export().unwrap_err().status,
        crate::status::Status::Busy
    );
    assert_eq!(
        obj.begin_exclusive().unwrap_err().status,
        crate::status::Status::Busy
    );
    assert_eq!(obj.exports(), 0);
    obj.end_exclusive().unwrap();
    assert_eq!(
        obj.end_exclusive().unwrap_err().status,
        crate::status::Status::InvalidArgument
    );
    obj.lock().unwrap();
    let e = obj.begin_exclusive().unwrap_err();
    assert_eq!(e.status, crate::status::Status::Busy);
    assert!(e.message.contains("1 export"), "{}", e.message);
    let p = NonNull::new(obj.as_ptr()).unwrap();
    unsafe { Object::unlock(p).unwrap() };
    assert_eq!(
        unsafe { Object::unlock(p) }.unwrap_err().status,
        crate::status::Status::InvalidArgument
    );
    assert_eq!(obj.refcount(), 1);
    obj.with_exclusive(|| Ok(())).unwrap();
    assert!(!obj.is_exclusive());
}

#[test]
fn exclusive_races_with_exports() {
    let (obj, _) = probe();
    let obj = Arc::new(obj);
    let stop = Arc::new(AtomicBool::new(false));
    let inside = Arc::new(AtomicUsize::new(0));
    let mut handles = vec![];
    for _ in 0..2 {
        let (o, s, inside) = (obj.clone(), stop.clone(), inside.clone());
        handles.push(std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if o.add_export().is_ok() {
                    inside.fetch_add(1, Ordering::SeqCst);
                    assert!(!o.is_exclusive());
                    inside.fetch_sub(1, Ordering::SeqCst);
                    unsafe { Object::drop_export(NonNull::new(o.as_ptr()).unwrap()) };
                }
            }
        }));
    }
    for _ in 0..20000 {
        if obj.begin_exclusive().is_ok() {
            assert_eq!(inside.load(Ordering::SeqCst), 0);
            obj.end_exclusive().unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(obj.exports(), 0);
    assert_eq!(obj.refcount(), 1);
}

/// An export is refused, and the count left as it was, while exclusive access is held, and
/// when the export or the reference field has reached its saturation limit (its top bit);
/// one below either limit it is counted.
#[test]
fn add_export_refuses_exclusive_access_and_saturated_counts() {
    use crate::status::Status;
    let obj = ObjRef::new(Probe {
        dropped: Arc::new(AtomicBool::new(false)),
        data: vec![1, 2, 3],
    });
    let start = obj.word.load(Ordering::Relaxed);
    let cases = [
        (start | EXCLUSIVE, Some(Status::Busy)),
        (start + EXPORT_LIMIT * EXPORT_ONE, Some(Status::Overflow)),
        (start + REF_LIMIT - 1, Some(Status::Overflow)),
        (start + (EXPORT_LIMIT - 1) * EXPORT_ONE, None),
        (start + REF_LIMIT - 2, None),
    ];
    for (word, refused) in cases {
        obj.word.store(word, Ordering::Relaxed);
        match (obj.add_export(), refused) {
            (Err(e), Some(status)) => {
                assert_eq!(e.status, status, "0x{word:x}");
                assert_eq!(obj.word.load(Ordering::Relaxed), word, "0x{word:x}");
            }
            (Ok(()), None) => {
                assert_eq!(
                    obj.word.load(Ordering::Relaxed),
                    word + EXPORT_ONE + REF_ONE,
                    "0x{word:x}"
                );
            }
            (got, want) => panic!("0x{word:x}: {got:?}, expected refusal {want:?}"),
        }
    }
    obj.word.store(start, Ordering::Relaxed);
}
