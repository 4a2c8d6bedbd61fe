//! The short path of get and release against the general one ([`get_checked`],
//! [`release_checked`]): the same view field by field, the same refusals, the same counts,
//! for every named request, built-in and user exporters, struct sizes and starting contents.

use super::*;
use crate::bufferinfo::trusted::tests::{fresh, seen};
use crate::exporters::bytearray::ByteArray;
use crate::exporters::bytes::Bytes;
use crate::exporters::ndarray::NdArray;
use crate::exporters::slice::Slice;
use crate::exporters::wrap::Wrap;
use crate::object::{Exporter, Response};
use crate::request::tests::NAMED_REQUESTS;
use crate::status::Status;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes that count the views handed back to them (so their releases must call them).
struct Tally {
    data: Vec<u8>,
    released: AtomicUsize,
}
impl Exporter for Tally {
    fn type_name(&self) -> &CStr {
        c"tally"
    }
    fn flat_bytes(&self) -> Option<(*mut u8, usize, bool)> {
        Some((self.data.as_ptr() as *mut u8, self.data.len(), true))
    }
    fn release_buffer(&self, _: &Object, view: *mut xbuf_bufferinfo) {
        if !view.is_null() {
            self.released.fetch_add(1, Ordering::SeqCst);
        }
    }
    crate::exporters::any_impl!();
}

/// A 2x3 grid answered as a `Response` by an untrusted exporter (the general checks).
struct Grid(Vec<u8>);
impl Exporter for Grid {
    fn type_name(&self) -> &CStr {
        c"grid"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        Ok(Response {
            buf: self.0.as_ptr() as *mut u8,
            len: 6,
            format: Some(c"B"),
            ndim: 2,
            shape: Some(&[2, 3]),
            strides: Some(&[3, 1]),
            readonly: true,
            ..Response::default()
        })
    }
    crate::exporters::any_impl!();
}

static WRAPPED: [u8; 5] = [1, 2, 3, 4, 5];

fn exporters() -> Vec<ObjRef> {
    let ba = ByteArray::new_object(b"0123456789").unwrap();
    let nd = NdArray::zeros(b"d", &[4, 6], Order::C, 0).unwrap();
    let f_ro = NdArray::zeros(b"<h", &[2, 3], Order::F, XBUF_NDARRAY_READONLY).unwrap();
    // Resized: its cell holds the new memory.
    let grown = ByteArray::new_object(b"ab").unwrap();
    ByteArray::resize(&grown, 300).unwrap();
    vec![
        grown,
        Slice::new_object(&ba, 2, 5).unwrap(),
        ba,
        ByteArray::zeroed_object(0).unwrap(),
        Bytes::new_object(b"abc").unwrap(),
        Wrap::new_object(WRAPPED.as_ptr() as *mut u8, 5, true, None, ptr::null_mut()).unwrap(),
        ObjRef::new(Tally {
            data: vec![7; 3],
            released: AtomicUsize::new(0),
        }),
        ObjRef::new(Grid(vec![9; 6])),
        crate::view::new(&nd, XBUF_FULL_RO).unwrap(),
        nd,
        f_ro,
    ]
}

/// A struct of `size` bytes, empty (`releaser` NULL), all zeros or every other byte `0xa5`.
fn start(size: usize, garbage: bool) -> Box<[u64]> {
    let mut b = fresh(size);
    if garbage {
        for w in &mut b[1..size.div_ceil(8)] {
            *w = 0xa5a5_a5a5_a5a5_a5a5;
        }
        b[2] = 0; // releaser
    }
    b
}

fn tally_releases(obj: &Object) -> usize {
    obj.downcast::<Tally>("tally")
        .map_or(0, |t| t.released.load(Ordering::SeqCst))
}

#[test]
fn the_short_path_agrees_with_the_general_one() {
    let mut requests = NAMED_REQUESTS.to_vec();
    requests.extend([
        XBUF_SIMPLE | XBUF_DEVICE,
        XBUF_WRITABLE | XBUF_DEVICE,
        XBUF_FULL_RO | XBUF_DEVICE,
        0x10,       // STRIDES' own bit without ND
        0x20 | 0x8, // C_CONTIGUOUS' own bit without STRIDES
        1 << 30,    // unknown
    ]);
    let sizes = [
        XBUF_BUFFERINFO_SIZE_MIN,
        XBUF_BUFFERINFO_SIZE_NODEVICE,
        XBUF_BUFFERINFO_SIZE,
        XBUF_BUFFERINFO_SIZE + 24,
    ];
    let (mut short, mut agreed, mut refused) = (0, 0, 0);
    for obj in exporters() {
        let exports = obj.exports();
        for &flags in &requests {
            for size in sizes {
                for garbage in [false, true] {
                    let (mut a, mut b) = (start(size, garbage), start(size, garbage));
                    let (pa, pb) = (
                        a.as_mut_ptr() as *mut xbuf_bufferinfo,
                        b.as_mut_ptr() as *mut xbuf_bufferinfo,
                    );
                    let what = format!(
                        "'{}' flags 0x{flags:x} size {size} garbage {garbage}",
                        obj.type_name().to_string_lossy()
                    );
                    unsafe {
                        let got = get_buffer(&obj, pa, flags);
                        let want = get_checked(&obj, pb, flags);
                        match (got, want) {
                            (Ok(()), Ok(())) => {
                                assert!(is_filled(pa) && is_filled(pb), "{what}");
                                assert_eq!(seen(pa), seen(pb), "{what}");
                                if size == XBUF_BUFFERINFO_SIZE {
                                    short += 1;
                                }
                                let before = tally_releases(&obj);
                                let ra = release(pa);
                                let rb = release_checked(pb);
                                assert!(ra.is_ok() && rb.is_ok(), "{what}: {ra:?} {rb:?}");
                                // Both handed the view back to an exporter that wants it.
                                let calls = if obj.type_name() == c"tally" { 2 } else { 0 };
                                assert_eq!(tally_releases(&obj), before + calls, "{what}");
                                // Both empty: every byte zero but structsize.
                                assert_eq!(a, b, "{what}");
                                assert!(a[1..size / 8].iter().all(|&w| w == 0), "{what}");
                                agreed += 1;
                            }
                            (Err(e), Err(f)) => {
                                assert_eq!(e.status, f.status, "{what}: {e:?} / {f:?}");
                                assert_eq!(e.message, f.message, "{what}");
                                assert!(!is_filled(pa), "{what}");
                                assert_eq!(a, b, "{what}");
                                refused += 1;
                            }
                            (g, w) => panic!("{what}: short {g:?}, general {w:?}"),
                        }
                    }
                    assert_eq!(obj.exports(), exports, "{what}");
                }
            }
        }
    }
    assert!(
        short > 300 && agreed > short && refused > 300,
        "{short} {agreed} {refused}"
    );
}

/// A release function: the short path's or the general one.
type ReleaseFn = unsafe fn(*mut xbuf_bufferinfo) -> Result<()>;

/// What the general release refuses, the short one refuses too, with the same status and
/// without touching a count: a view written back after its release (with and without a lock
/// on the releaser), a view copied to another address, a view still held when asked again.
#[test]
fn the_short_release_refuses_what_the_general_one_refuses() {
    for obj in exporters() {
        let name = obj.type_name().to_string_lossy().into_owned();
        let mut probe = start(XBUF_BUFFERINFO_SIZE, false);
        let pp = probe.as_mut_ptr() as *mut xbuf_bufferinfo;
        if unsafe { get_buffer(&obj, pp, XBUF_SIMPLE) }.is_err() {
            continue;
        }
        // The object that counts the view's export (a slice's or a view's base).
        let rel = unsafe { Object::check(NonNull::new((*pp).releaser).unwrap().cast()) }.unwrap();
        unsafe { release(pp) }.unwrap();
        let base = rel.exports();
        let paths: [(&str, ReleaseFn); 2] = [("short", release), ("general", release_checked)];
        for (path, rel_fn) in paths {
            unsafe {
                // A view written back after its release, with no other export and with a lock
                // (only where no other view is counted on the releaser: such an image cannot
                // be told from a real view, as the header says).
                let images: &[bool] = if rel.holds_view_export() {
                    &[]
                } else {
                    &[false, true]
                };
                for &lock in images {
                    if lock {
                        rel.lock().unwrap();
                    }
                    let mut v = start(XBUF_BUFFERINFO_SIZE, false);
                    let p = v.as_mut_ptr() as *mut xbuf_bufferinfo;
                    get_buffer(&obj, p, XBUF_SIMPLE).unwrap();
                    let image = v.clone();
                    rel_fn(p).unwrap();
                    let released = tally_releases(&obj);
                    v.copy_from_slice(&image);
                    let e = rel_fn(p).unwrap_err();
                    assert_eq!(
                        e.status,
                        Status::InvalidArgument,
                        "{name} {path} lock {lock}"
                    );
                    assert_eq!(tally_releases(&obj), released, "{name} {path}");
                    assert_eq!(rel.exports(), base + u64::from(lock), "{name} {path}");
                    if lock {
                        Object::unlock(NonNull::from(rel)).unwrap();
                    }
                }
                // A view copied to another address is refused there; the original still releases.
                let mut v = start(XBUF_BUFFERINFO_SIZE, false);
                let p = v.as_mut_ptr() as *mut xbuf_bufferinfo;
                get_buffer(&obj, p, XBUF_SIMPLE).unwrap();
                let mut copy = v.clone();
                let e = rel_fn(copy.as_mut_ptr() as *mut xbuf_bufferinfo).unwrap_err();
                assert_eq!(e.status, Status::InvalidArgument, "{name} {path}");
                assert_eq!(rel.exports(), base + 1, "{name} {path}");
                // A struct that still holds a view is refused as it is, its export kept.
                let e = get_buffer(&obj, p, XBUF_SIMPLE).unwrap_err();
                assert_eq!(e.status, Status::InvalidArgument, "{name} {path}");
                assert!(is_filled(p));
                rel_fn(p).unwrap();
                assert_eq!(rel.exports(), base, "{name} {path}");
                // Releasing an empty view is a no-op.
                rel_fn(p).unwrap();
                assert!(v[1..].iter().all(|&w| w == 0));
            }
        }
    }
}

/// A bytearray's views on the short path describe its memory after every resize.
#[test]
fn flat_views_follow_a_resize() {
    let obj = ByteArray::new_object(b"ab").unwrap();
    for len in [300usize, 5, 0] {
        ByteArray::resize(&obj, len).unwrap();
        let mut v = start(XBUF_BUFFERINFO_SIZE, true);
        let p = v.as_mut_ptr() as *mut xbuf_bufferinfo;
        unsafe {
            get_buffer(&obj, p, XBUF_WRITABLE).unwrap();
            assert_eq!((*p).len as usize, len);
            assert_eq!((*p).readonly, 0);
            let bytes = std::slice::from_raw_parts((*p).buf as *const u8, len);
            let want: Vec<u8> = b"ab"
                .iter()
                .copied()
                .chain(std::iter::repeat(0))
                .take(len)
                .collect();
            assert_eq!(bytes, &want[..]);
            release(p).unwrap();
        }
    }
    assert_eq!(obj.exports(), 0);
}

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_free(_: *mut std::ffi::c_void, _: usize, _: *mut std::ffi::c_void) {
    FREED.fetch_add(1, Ordering::SeqCst);
}

/// A view that outlives every reference to its object frees the object when it is released,
/// on the short path as on the general one.
#[test]
fn the_last_release_frees_the_object() {
    let paths: [ReleaseFn; 2] = [release, release_checked];
    for (k, rel_fn) in paths.into_iter().enumerate() {
        let obj = Wrap::new_object(
            WRAPPED.as_ptr() as *mut u8,
            5,
            true,
            Some(count_free),
            ptr::null_mut(),
        )
        .unwrap();
        let mut v = start(XBUF_BUFFERINFO_SIZE, false);
        let p = v.as_mut_ptr() as *mut xbuf_bufferinfo;
        unsafe { get_buffer(&obj, p, XBUF_SIMPLE) }.unwrap();
        drop(obj);
        assert_eq!(FREED.load(Ordering::SeqCst), k);
        unsafe { rel_fn(p) }.unwrap();
        assert_eq!(FREED.load(Ordering::SeqCst), k + 1);
    }
}

/// The built-in flat exporters keep their cell where the object finds it without a call (an
/// exporter that only answers `flat_bytes` has none), and the object knows which exporters
/// are trusted without asking them.
#[test]
fn built_in_flat_exporters_are_read_without_a_call() {
    for obj in exporters() {
        let name = obj.type_name().to_string_lossy().into_owned();
        let cell = matches!(name.as_str(), "bytearray" | "bytes" | "wrap");
        assert_eq!(obj.flat_cell().is_some(), cell, "{name}");
        let trusted = matches!(name.as_str(), "ndarray" | "view");
        assert_eq!(obj.trusted(), trusted, "{name}");
        if let Some(c) = obj.flat_cell() {
            assert_eq!(Some(c.get()), obj.exporter().flat_bytes(), "{name}");
        }
    }
}

/// The short path reads the inline storage and writes it only when it is not zero: a single
/// byte left anywhere in it (or in the device fields) is cleared by a get, as the general path
/// clears it, and a view whose layout was kept inline leaves it zero when released.
#[test]
fn every_byte_after_the_published_prefix_is_cleared() {
    let ba = ByteArray::new_object(b"0123456789").unwrap();
    let nd = NdArray::zeros(b"<h", &[2, 3], Order::F, 0).unwrap();
    for (obj, flags) in [(&ba, XBUF_SIMPLE), (&ba, XBUF_FULL_RO), (&nd, XBUF_FULL_RO)] {
        for at in XBUF_BUFFERINFO_SIZE_MIN..XBUF_BUFFERINFO_SIZE {
            let (mut a, mut b) = (
                start(XBUF_BUFFERINFO_SIZE, false),
                start(XBUF_BUFFERINFO_SIZE, false),
            );
            let what = format!("flags 0x{flags:x} byte {at}");
            unsafe {
                let (pa, pb) = (
                    a.as_mut_ptr() as *mut xbuf_bufferinfo,
                    b.as_mut_ptr() as *mut xbuf_bufferinfo,
                );
                *(pa as *mut u8).add(at) = 0x5a;
                *(pb as *mut u8).add(at) = 0x5a;
                get_buffer(obj, pa, flags).unwrap();
                get_checked(obj, pb, flags).unwrap();
                assert_eq!(seen(pa), seen(pb), "{what}");
                if obj.flat_cell().is_some() {
                    // Nothing of a flat view lives after the published prefix but the device.
                    let tail = &a[XBUF_BUFFERINFO_SIZE_MIN / 8..XBUF_BUFFERINFO_SIZE / 8 - 1];
                    assert!(tail.iter().all(|&w| w == 0), "{what}");
                }
                assert_eq!((*pa).device_type, XBUF_DEVICE_CPU, "{what}");
                assert_eq!((*pa).device_id, 0, "{what}");
                release(pa).unwrap();
                release_checked(pb).unwrap();
            }
            assert_eq!(a, b, "{what}");
            assert!(
                a[1..XBUF_BUFFERINFO_SIZE / 8].iter().all(|&w| w == 0),
                "{what}"
            );
        }
    }
    assert_eq!((ba.exports(), nd.exports()), (0, 0));
}

/// Views of one bytearray got and released on the short path by several threads at once,
/// while another thread takes and returns locks and another resizes it whenever nothing is
/// exported: every view sees memory of one of the two lengths, the old bytes kept and the new
/// ones zero, and the counts end where they started.
#[test]
fn short_path_round_trips_race_with_locks_and_resizes() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    const ROUNDS: usize = 4000;
    let obj = Arc::new(ByteArray::new_object(&[7; 64]).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|k| {
            let obj = Arc::clone(&obj);
            std::thread::spawn(move || {
                let mut v = start(XBUF_BUFFERINFO_SIZE, k == 1);
                let p = v.as_mut_ptr() as *mut xbuf_bufferinfo;
                let mut got = 0;
                for _ in 0..ROUNDS {
                    unsafe {
                        if let Err(e) = get_buffer(&obj, p, XBUF_SIMPLE) {
                            // A resize holds exclusive access: no export starts meanwhile.
                            assert_eq!(e.status, Status::Busy);
                            assert!(v[1..].iter().all(|&w| w == 0));
                            continue;
                        }
                        got += 1;
                        let len = (*p).len as usize;
                        assert!(len == 64 || len == 96, "{len}");
                        let bytes = std::slice::from_raw_parts((*p).buf as *const u8, len);
                        assert!(bytes[..64].iter().all(|&b| b == 7));
                        assert!(bytes[64..].iter().all(|&b| b == 0));
                        assert!(obj.exports() >= 1);
                        release(p).unwrap();
                        assert!(v[1..].iter().all(|&w| w == 0));
                    }
                }
                assert!(got > 0);
            })
        })
        .collect();
    let locker = {
        let (obj, done) = (Arc::clone(&obj), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match obj.lock() {
                    Ok(()) => {
                        assert!(obj.exports() >= 1 && obj.locks() >= 1);
                        unsafe { Object::unlock(NonNull::from(&**obj)) }.unwrap();
                    }
                    Err(e) => assert_eq!(e.status, Status::Busy),
                }
            }
        })
    };
    let resizer = {
        let (obj, done) = (Arc::clone(&obj), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut resized = 0usize;
            let mut len = 64;
            while !done.load(Ordering::Relaxed) {
                len = if len == 64 { 96 } else { 64 };
                match ByteArray::resize(&obj, len) {
                    Ok(()) => resized += 1,
                    Err(e) => assert_eq!(e.status, Status::Busy),
                }
                std::thread::yield_now();
            }
            resized
        })
    };
    for r in readers {
        r.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    locker.join().unwrap();
    resizer.join().unwrap();
    assert_eq!(obj.exports(), 0);
    assert_eq!(obj.locks(), 0);
    assert_eq!(obj.refcount(), 1);
}
