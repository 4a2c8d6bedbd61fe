//! Tensors of a lent view (`LentTensor`) against those of the general path of the same memory:
//! the same fields and refusals; the holder dropped exactly once, by the deleter (on the thread
//! that deletes the tensor) or before a failed call returns; no export counted.

use super::dtype::dtype_of_format;
use super::export::{export_general, Managed};
use super::lent::LentTensor;
use super::view_tests::{device_tensor, odd_strides, Read, Seen};
use super::*;
use crate::bufferinfo;
use crate::capi::XBUF_SLICE_OMIT;
use crate::capi::{XBUF_NDARRAY_PIL, XBUF_NDARRAY_READONLY};
use crate::exporters::ndarray::{NdArray, Spec};
use crate::format;
use crate::layout::Order;
use crate::object::Object;
use crate::status::{Result, Status};
use crate::view;
use crate::view::tests::slice_of as slice;
use std::ffi::{c_int, CStr};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A holder that counts its drops and records the thread that dropped it.
struct Counted {
    drops: Arc<AtomicUsize>,
    thread: Arc<Mutex<Option<std::thread::ThreadId>>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        *self.thread.lock().unwrap() = Some(std::thread::current().id());
    }
}

fn counted() -> (
    Counted,
    Arc<AtomicUsize>,
    Arc<Mutex<Option<std::thread::ThreadId>>>,
) {
    let drops = Arc::new(AtomicUsize::new(0));
    let thread = Arc::new(Mutex::new(None));
    (
        Counted {
            drops: drops.clone(),
            thread: thread.clone(),
        },
        drops,
        thread,
    )
}

/// A view of `obj` filled as the Python package fills its shared export.
fn filled(obj: &Object, flags: c_int) -> Result<Box<xbuf_bufferinfo>> {
    let mut b = Box::new(xbuf_bufferinfo::empty());
    unsafe { bufferinfo::get_buffer(obj, &mut *b, flags)? };
    Ok(b)
}

/// What the Python package does per exchange: a `LentTensor` of the view (made once), then a
/// tensor of it holding `holder` (dropped on failure).
unsafe fn export_lent<T: Lend, H: Send + 'static>(
    view: *const xbuf_bufferinfo,
    flags: c_int,
    _legacy: bool,
    holder: H,
) -> Result<*mut T> {
    let lent = match LentTensor::new(view) {
        Ok(l) => l,
        Err(e) => {
            drop(holder);
            return Err(internal(e));
        }
    };
    T::export(&lent, flags, holder).map_err(internal)
}

fn internal(e: crate::Error) -> crate::status::Error {
    crate::status::Error::new(
        Status::from_code(e.status().code()).unwrap(),
        e.message().to_owned(),
    )
}

/// The export of a `LentTensor` for each struct.
trait Lend: Sized {
    unsafe fn export<H: Send + 'static>(
        l: &LentTensor,
        flags: c_int,
        h: H,
    ) -> crate::Result<*mut Self>;
}
impl Lend for DLManagedTensorVersioned {
    unsafe fn export<H: Send + 'static>(
        l: &LentTensor,
        flags: c_int,
        h: H,
    ) -> crate::Result<*mut Self> {
        l.export(flags, h)
    }
}
impl Lend for DLManagedTensor {
    unsafe fn export<H: Send + 'static>(
        l: &LentTensor,
        flags: c_int,
        h: H,
    ) -> crate::Result<*mut Self> {
        l.export_unversioned(flags, h)
    }
}

/// Releases a view of [`filled`] (at the address it was filled at, hence the box).
#[allow(clippy::boxed_local)]
fn unfill(mut info: Box<xbuf_bufferinfo>) {
    unsafe { bufferinfo::release(&mut *info).unwrap() };
}

/// What a consumer reads of a tensor, which is then deleted; the error's status and message.
fn read<T: Managed + Read>(r: Result<*mut T>) -> std::result::Result<Seen, (Status, String)> {
    match r {
        Ok(t) => unsafe {
            let seen = T::read(t);
            T::delete(t);
            Ok(seen)
        },
        Err(e) => Err((e.status, e.message.clone())),
    }
}

/// Exports the view `info` of `obj` (of `owner`'s memory) lent and through the general path
/// with `flags`, and compares; returns whether the lent tensor was made.
fn same<T: Managed + Read + Lend>(
    obj: &Object,
    owner: &Object,
    info: &xbuf_bufferinfo,
    flags: c_int,
    legacy: bool,
) -> bool {
    let own = if legacy { UNMARKED_READONLY } else { 0 };
    let general = read(export_general::<T>(obj, flags & !own, flags, legacy));
    let before = owner.exports();
    let (holder, drops, _) = counted();
    let lent = unsafe { export_lent::<T, Counted>(info, flags, legacy, holder) };
    if lent.is_ok() {
        // Nothing counted: the holder keeps the memory.
        assert_eq!(owner.exports(), before);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
    } else {
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "dropped by the failed call"
        );
    }
    let lent = read(lent);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped once, by the deleter"
    );
    assert_eq!(owner.exports(), before);
    let what = format!("flags {flags:#x} legacy {legacy}");
    match (&general, &lent) {
        (Ok(g), Ok(l)) => {
            assert_eq!(g, l, "{what}");
            true
        }
        (Err(g), Err(l)) => {
            // The general path's demand of writable memory is refused by `get_buffer`, in
            // its own words; every other refusal is worded by the same code.
            assert_eq!(g.0, l.0, "{what}: {g:?} against {l:?}");
            if flags & XBUF_WRITABLE == 0 {
                assert_eq!(g.1, l.1, "{what}");
            }
            false
        }
        _ => panic!("general {general:?} against lent {lent:?} ({what})"),
    }
}

/// Compares the requests the Python package makes of a view object `obj` of `owner`'s
/// memory (its shared export: `XBUF_FULL_RO`, and `XBUF_FULL` when writable); returns whether
/// the plain versioned export was made.
fn all_requests(obj: &Object, owner: &Object) -> bool {
    let mut made = None;
    for fill in [XBUF_FULL_RO, XBUF_FULL] {
        let Ok(info) = filled(obj, fill) else {
            continue;
        };
        let m = same::<DLManagedTensorVersioned>(obj, owner, &info, 0, false);
        same::<DLManagedTensorVersioned>(obj, owner, &info, XBUF_WRITABLE, false);
        same::<DLManagedTensor>(obj, owner, &info, 0, true);
        same::<DLManagedTensor>(obj, owner, &info, UNMARKED_READONLY, true);
        same::<DLManagedTensor>(obj, owner, &info, UNMARKED_READONLY | XBUF_WRITABLE, true);
        assert_eq!(*made.get_or_insert(m), m);
        unfill(info);
    }
    made.expect("an XBUF_FULL_RO view")
}

#[test]
fn lent_tensors_are_those_of_the_general_path() {
    for (fmt, shape, order, flags) in [
        (&b"<i"[..], &[3isize, 4][..], Order::C, 0),
        (b"d", &[5, 6], Order::F, 0),
        (b"f", &[4, 3], Order::C, XBUF_NDARRAY_READONLY),
        (b"?", &[7], Order::C, 0),
        (b"Zd", &[2, 3], Order::C, 0),
        (b"Zf", &[3], Order::C, 0),
        (b"e", &[2, 2], Order::F, 0),
        (b"=H", &[4], Order::C, 0),
        (b"@q", &[0, 3], Order::C, 0),
        (b"B", &[2; 10], Order::C, 0),
        (b"b", &[], Order::C, 0),
        (b"g", &[3], Order::C, 0),
        (b"ii", &[3], Order::C, 0),
        (b"T{i:a:}", &[3], Order::C, 0),
        (b"(2)i", &[3], Order::C, 0),
        (b">i", &[3], Order::C, 0),
    ] {
        let what = std::str::from_utf8(fmt).unwrap();
        let base = NdArray::zeros(fmt, shape, order, flags).unwrap();
        let v = view::new(&base, XBUF_FULL_RO).unwrap();
        let has_dtype = dtype_of_format(fmt, format::itemsize(fmt).unwrap() as isize).is_ok();
        assert_eq!(all_requests(&v, &base), has_dtype, "{what}");
        // The base exporter itself, as well as views of it: reversed, strided, indexed down to
        // one item, permuted, cast, and a view of a view.
        assert_eq!(all_requests(&base, &base), has_dtype, "{what}");
        if !shape.is_empty() {
            let s = slice(&v, &[(XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, -2)]);
            assert_eq!(all_requests(&s, &base), has_dtype, "{what}");
            let vv = view::new(&s, XBUF_FULL_RO).unwrap();
            assert_eq!(all_requests(&vv, &base), has_dtype, "{what}");
            drop((s, vv));
        }
        if !shape.contains(&0) {
            let item = view::index(&v, &vec![0; shape.len()]).unwrap();
            assert_eq!(all_requests(&item, &base), has_dtype, "{what}");
        }
        let p = view::permute(&v, None).unwrap();
        assert_eq!(all_requests(&p, &base), has_dtype, "{what}");
        let c_order = if matches!(order, Order::C) { &v } else { &p };
        let bytes = view::cast(c_order, b"B", None).unwrap();
        assert!(all_requests(&bytes, &base), "{what}");
        drop((p, bytes, v));
        assert_eq!(base.exports(), 0, "{what}");
    }
}

#[test]
fn lent_refusals_are_those_of_the_general_path() {
    // Strides that are not a multiple of the item size.
    let odd = odd_strides();
    let v = view::new(&odd, XBUF_FULL_RO).unwrap();
    assert!(!all_requests(&v, &odd));
    drop(v);
    // Indirect memory (a view with suboffsets).
    let pil = NdArray::zeros(b"B", &[3, 4], Order::C, XBUF_NDARRAY_PIL).unwrap();
    let v = view::new(&pil, XBUF_FULL_RO).unwrap();
    assert!(!all_requests(&v, &pil));
    let info = filled(&v, XBUF_FULL_RO).unwrap();
    let (h, drops, _) = counted();
    let e = unsafe { export_lent::<DLManagedTensorVersioned, _>(&*info, 0, false, h) }.unwrap_err();
    assert_eq!(e.status, Status::Unsupported);
    assert!(e.message.contains("suboffsets"), "{}", e.message);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    unfill(info);
    drop(v);
    assert_eq!((odd.exports(), pil.exports()), (0, 0));
}

#[test]
fn lent_bad_arguments_are_refused_and_drop_the_holder() {
    let base = NdArray::zeros(b"<d", &[4], Order::C, 0).unwrap();
    let info = filled(&base, XBUF_FULL_RO).unwrap();
    let refused = |view: *const xbuf_bufferinfo, flags: c_int, legacy: bool| {
        let (h, drops, _) = counted();
        let e = if legacy {
            unsafe { export_lent::<DLManagedTensor, _>(view, flags, true, h) }.unwrap_err()
        } else {
            unsafe { export_lent::<DLManagedTensorVersioned, _>(view, flags, false, h) }
                .unwrap_err()
        };
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        (e.status, e.message.clone())
    };
    // Request flags other than XBUF_WRITABLE; the legacy flag on the versioned struct.
    for flags in [
        XBUF_C_CONTIGUOUS,
        XBUF_FORMAT,
        XBUF_DEVICE,
        1 << 30,
        UNMARKED_READONLY,
    ] {
        let (s, m) = refused(&*info, flags, false);
        assert_eq!(s, Status::InvalidArgument, "{flags:#x}");
        assert!(m.contains("only XBUF_WRITABLE"), "{m}");
    }
    assert_eq!(
        refused(&*info, XBUF_STRIDES, true).0,
        Status::InvalidArgument
    );
    assert_eq!(refused(ptr::null(), 0, false).0, Status::NullArgument);
    // Views not filled with the whole layout.
    for flags in [XBUF_SIMPLE, XBUF_STRIDES, XBUF_ND] {
        let mut part = Box::new(xbuf_bufferinfo::empty());
        unsafe { bufferinfo::get_buffer(&base, &mut *part, flags).unwrap() };
        let (s, m) = refused(&*part, 0, false);
        assert_eq!(s, Status::InvalidArgument, "{flags:#x}");
        assert!(m.contains("XBUF_FULL_RO"), "{m}");
        unsafe { bufferinfo::release(&mut *part).unwrap() };
    }
    // Read-only memory: writable memory demanded; the legacy struct without the flag.
    let ro = NdArray::zeros(b"<d", &[4], Order::C, XBUF_NDARRAY_READONLY).unwrap();
    let ro_info = filled(&ro, XBUF_FULL_RO).unwrap();
    assert_eq!(refused(&*ro_info, XBUF_WRITABLE, false).0, Status::ReadOnly);
    let (s, m) = refused(&*ro_info, 0, true);
    assert_eq!(s, Status::ReadOnly);
    assert!(m.contains("cannot mark it so"), "{m}");
    unfill(info);
    unfill(ro_info);
    assert_eq!((base.exports(), ro.exports()), (0, 0));
}

#[test]
fn the_public_type_reports_as_the_c_functions_do() {
    let base = NdArray::zeros(b"<i", &[2, 3], Order::C, XBUF_NDARRAY_READONLY).unwrap();
    let info = filled(&base, XBUF_FULL_RO).unwrap();
    unsafe {
        let lent = LentTensor::new(&*info).unwrap();
        assert!(lent.readonly());
        // Many tensors of one LentTensor, each its own.
        let mut made = Vec::new();
        for _ in 0..3 {
            let (h, drops, _) = counted();
            let t = lent.export(0, h).unwrap();
            assert_eq!((*t).flags, FLAG_READ_ONLY);
            assert_eq!((*t).manager_ctx, t.cast());
            assert_eq!((*t).version.major, 1);
            assert_eq!(std::slice::from_raw_parts((*t).dl_tensor.shape, 2), &[2, 3]);
            assert_eq!(
                std::slice::from_raw_parts((*t).dl_tensor.strides, 2),
                &[3, 1]
            );
            made.push((t, drops));
        }
        assert!(made[0].0 != made[1].0 && made[1].0 != made[2].0);
        for (t, drops) in made {
            ((*t).deleter.unwrap())(t);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }
        // Refused: the public status and the library's words; the holder dropped.
        let (h, drops, _) = counted();
        let e = lent.export_unversioned(0, h).unwrap_err();
        assert_eq!(e.status(), crate::Status::Readonly);
        assert!(e.message().contains("cannot mark it so"), "{}", e.message());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let (h, drops, _) = counted();
        let l = lent.export_unversioned(UNMARKED_READONLY, h).unwrap();
        assert!((*l).manager_ctx == l.cast());
        ((*l).deleter.unwrap())(l);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let e = LentTensor::new(ptr::null()).err().unwrap();
        assert_eq!(e.status(), crate::Status::NullArgument);
        drop(lent);
        unfill(info);
    }
    assert_eq!(base.exports(), 0);
    // A LentTensor outlives the view it was made of (it holds no pointer into it); its
    // tensors are made of the memory's address alone.
    let base = NdArray::zeros(b"d", &[4], Order::C, 0).unwrap();
    let info = filled(&base, XBUF_FULL).unwrap();
    let lent = unsafe { LentTensor::new(&*info) }.unwrap();
    let buf = info.buf as usize;
    unfill(info);
    let (h, drops, _) = counted();
    let t = unsafe { lent.export(XBUF_WRITABLE, h) }.unwrap();
    unsafe {
        assert_eq!(((*t).dl_tensor.data as usize, (*t).flags), (buf, 0));
        ((*t).deleter.unwrap())(t);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn lent_tensors_of_many_dimensions_and_of_device_memory() {
    // More dimensions than the block holds inline.
    let base = NdArray::zeros(b"f", &[1, 2, 1, 2, 1, 2, 1, 2, 1, 3], Order::F, 0).unwrap();
    let info = filled(&base, XBUF_FULL).unwrap();
    assert!(same::<DLManagedTensorVersioned>(
        &base, &base, &info, 0, false
    ));
    assert!(same::<DLManagedTensor>(
        &base,
        &base,
        &info,
        XBUF_WRITABLE,
        true
    ));
    unfill(info);
    // Device memory (an address nobody reads), filled with XBUF_DEVICE.
    let mut shape = [3i64, 4];
    let mut t = device_tensor(&mut shape, 0, 0);
    let obj = unsafe { import(&mut t) }.unwrap();
    let v = view::new(&obj, XBUF_FULL_RO | XBUF_DEVICE).unwrap();
    let s = slice(&v, &[(1, 3, 1)]);
    let info = filled(&s, XBUF_FULL_RO | XBUF_DEVICE).unwrap();
    assert!(same::<DLManagedTensorVersioned>(&s, &obj, &info, 0, false));
    let (h, _, _) = counted();
    let t = unsafe { export_lent::<DLManagedTensorVersioned, _>(&*info, 0, false, h) }.unwrap();
    unsafe {
        let d = (*t).dl_tensor.device;
        assert_eq!((d.device_type, d.device_id), (2, 5));
        assert_eq!((*t).dl_tensor.data as usize, 0x1000 + 16);
        ((*t).deleter.unwrap())(t);
        unfill(info);
    }
    drop((s, v));
    assert_eq!(obj.exports(), 0);
}

#[test]
fn lent_tensors_deleted_on_other_threads_drop_their_holders_there() {
    let base = NdArray::zeros(b"<i", &[4, 5], Order::C, 0).unwrap();
    let info = filled(&base, XBUF_FULL).unwrap();
    let info_p = &*info as *const xbuf_bufferinfo as usize;
    let total = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let total = total.clone();
            std::thread::spawn(move || {
                let mut made = Vec::new();
                for _ in 0..500 {
                    let (h, drops, thread) = counted();
                    // SAFETY: the view stays filled until every thread is joined.
                    let t = unsafe {
                        export_lent::<DLManagedTensorVersioned, _>(
                            info_p as *const xbuf_bufferinfo,
                            0,
                            false,
                            h,
                        )
                    }
                    .unwrap();
                    made.push((t as usize, drops, thread));
                }
                // Handed to another thread, which deletes them.
                let deleter = std::thread::spawn(move || {
                    let me = std::thread::current().id();
                    for (t, drops, thread) in made {
                        let t = t as *mut DLManagedTensorVersioned;
                        unsafe {
                            assert_eq!(
                                std::slice::from_raw_parts((*t).dl_tensor.shape, 2),
                                &[4, 5]
                            );
                            ((*t).deleter.unwrap())(t);
                        }
                        assert_eq!(drops.load(Ordering::SeqCst), 1);
                        assert_eq!(*thread.lock().unwrap(), Some(me));
                        total.fetch_add(1, Ordering::SeqCst);
                    }
                });
                deleter.join().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(total.load(Ordering::SeqCst), 2000);
    // Only the filled view's export was ever counted.
    assert_eq!(base.exports(), 1);
    unfill(info);
    assert_eq!(base.exports(), 0);
}
