//! The tensor of a view object made straight from the view's layout against the one made
//! through `get_buffer`: the same fields, the same errors, the same exports counted.

use super::dtype::dtype_of_format;
use super::export::{export_general, Exported, Managed};
use super::*;
use crate::bufferinfo;
use crate::capi::XBUF_SLICE_OMIT;
use crate::capi::{XBUF_NDARRAY_PIL, XBUF_NDARRAY_READONLY};
use crate::exporters::ndarray::{NdArray, Spec};
use crate::format;
use crate::layout::Order;
use crate::object::{ObjRef, Object};
use crate::status::{Result, Status};
use crate::view;
use crate::view::tests::slice_of as slice;
use std::ffi::{c_int, CStr};
use std::ptr;
use std::ptr::NonNull;

/// Everything a consumer reads of a tensor.
#[derive(Debug, PartialEq)]
pub(super) struct Seen {
    version_flags: Option<(u32, u32, u64)>,
    data: usize,
    device: (i32, i32),
    dtype: (u8, u8, u16),
    shape: Option<Vec<i64>>,
    strides: Option<Vec<i64>>,
    byte_offset: u64,
}

unsafe fn seen(t: &DLTensor, version_flags: Option<(u32, u32, u64)>) -> Seen {
    let n = t.ndim as usize;
    let arr = |p: *mut i64| (!p.is_null()).then(|| std::slice::from_raw_parts(p, n).to_vec());
    Seen {
        version_flags,
        data: t.data as usize,
        device: (t.device.device_type, t.device.device_id),
        dtype: (t.dtype.code, t.dtype.bits, t.dtype.lanes),
        shape: arr(t.shape),
        strides: arr(t.strides),
        byte_offset: t.byte_offset,
    }
}

/// What a consumer reads of one export, and whether it was made from the view's layout;
/// the tensor is deleted.
fn take<T: Managed + Read>(
    r: Result<*mut T>,
) -> std::result::Result<(Seen, bool), (Status, String)> {
    match r {
        Ok(t) => unsafe {
            let out = (T::read(t), !(*t.cast::<Exported<T>>()).bare.is_null());
            T::delete(t);
            Ok(out)
        },
        Err(e) => Err((e.status, e.message.clone())),
    }
}

pub(super) trait Read {
    unsafe fn read(t: *mut Self) -> Seen;
    unsafe fn delete(t: *mut Self);
}
impl Read for DLManagedTensorVersioned {
    unsafe fn read(t: *mut Self) -> Seen {
        let m = &*t;
        seen(
            &m.dl_tensor,
            Some((m.version.major, m.version.minor, m.flags)),
        )
    }
    unsafe fn delete(t: *mut Self) {
        ((*t).deleter.unwrap())(t);
    }
}
impl Read for DLManagedTensor {
    unsafe fn read(t: *mut Self) -> Seen {
        seen(&(*t).dl_tensor, None)
    }
    unsafe fn delete(t: *mut Self) {
        ((*t).deleter.unwrap())(t);
    }
}

/// An exporter of four `<h` items whose strides (3) are not a multiple of the item size.
pub(super) fn odd_strides() -> ObjRef {
    static DATA: [u8; 64] = [0; 64];
    NdArray::new_object(&Spec {
        data: &DATA,
        format: b"<h",
        shape: &[4],
        strides: Some(&[3]),
        offset: 0,
        flags: 0,
    })
    .unwrap()
}

/// A tensor of float32 of `shape` on device (2, 5) at the address 0x1000, which nobody may
/// read (a test would crash, or a sanitizer report, if anything did); it borrows `shape`.
pub(super) fn device_tensor(
    shape: &mut [i64],
    flags: u64,
    byte_offset: u64,
) -> DLManagedTensorVersioned {
    DLManagedTensorVersioned {
        version: DLPackVersion { major: 1, minor: 1 },
        manager_ctx: ptr::null_mut(),
        deleter: None,
        flags,
        dl_tensor: DLTensor {
            data: 0x1000 as *mut c_void,
            device: DLDevice {
                device_type: 2,
                device_id: 5,
            },
            ndim: shape.len() as i32,
            dtype: DLDataType {
                code: code::FLOAT,
                bits: 32,
                lanes: 1,
            },
            shape: shape.as_mut_ptr(),
            strides: ptr::null_mut(),
            byte_offset,
        },
    }
}

/// Exports `obj` both ways with `flags` and compares; returns whether the fast way was taken.
fn same<T: Managed + Read>(obj: &Object, owner: &Object, flags: c_int, legacy: bool) -> bool {
    let own = if legacy { UNMARKED_READONLY } else { 0 };
    let request = flags & !own;
    let before = owner.exports();
    let general = take(export_general::<T>(obj, request, flags, legacy));
    assert_eq!(owner.exports(), before);
    let fast = export::<T>(obj, flags, legacy);
    if let Ok(t) = fast {
        // The tensor holds one export of the memory's owner, as a filled view does.
        assert_eq!(owner.exports(), before + 1);
        let _ = t;
    }
    let fast = take(fast);
    assert_eq!(owner.exports(), before, "the deleter hands the export back");
    match (&general, &fast) {
        (Ok((g, false)), Ok((f, taken))) => {
            assert_eq!(g, f, "flags {flags:#x} legacy {legacy}");
            *taken
        }
        (Err(g), Err(f)) => {
            assert_eq!(g, f, "flags {flags:#x} legacy {legacy}");
            false
        }
        _ => panic!("general {general:?} against {fast:?} (flags {flags:#x} legacy {legacy})"),
    }
}

/// Compares every request of `obj` (a view of `owner`'s memory); returns whether the
/// plain versioned export took the fast way.
fn all_requests(obj: &Object, owner: &Object) -> bool {
    let taken = same::<DLManagedTensorVersioned>(obj, owner, 0, false);
    same::<DLManagedTensorVersioned>(obj, owner, XBUF_WRITABLE, false);
    same::<DLManagedTensorVersioned>(obj, owner, XBUF_C_CONTIGUOUS, false);
    same::<DLManagedTensorVersioned>(obj, owner, XBUF_DEVICE, false);
    same::<DLManagedTensor>(obj, owner, 0, true);
    same::<DLManagedTensor>(obj, owner, UNMARKED_READONLY, true);
    same::<DLManagedTensor>(obj, owner, UNMARKED_READONLY | XBUF_WRITABLE, true);
    taken
}

#[test]
fn view_tensors_are_those_of_the_general_path() {
    for (fmt, shape, order, flags) in [
        (&b"<i"[..], &[3isize, 4][..], Order::C, 0),
        (b"d", &[5, 6], Order::F, 0),
        (b"f", &[4, 3], Order::C, XBUF_NDARRAY_READONLY),
        (b"?", &[7], Order::C, 0),
        (b"Zd", &[2, 3], Order::C, 0),
        (b"B", &[2; 10], Order::C, 0),
        (b"g", &[3], Order::C, 0),
        (b"ii", &[3], Order::C, 0),
        (b">i", &[3], Order::C, 0),
    ] {
        let base = NdArray::zeros(fmt, shape, order, flags).unwrap();
        let v = view::new(&base, XBUF_FULL_RO).unwrap();
        let taken = all_requests(&v, &base);
        let has_dtype = dtype_of_format(fmt, format::itemsize(fmt).unwrap() as isize).is_ok();
        assert_eq!(taken, has_dtype, "{:?}", std::str::from_utf8(fmt));
        // Reversed, strided, indexed down to one item, permuted, cast.
        let s = slice(&v, &[(XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, -2)]);
        assert_eq!(all_requests(&s, &base), has_dtype);
        let item = view::index(&v, &vec![0; shape.len()]).unwrap();
        assert_eq!(all_requests(&item, &base), has_dtype);
        let p = view::permute(&v, None).unwrap();
        assert_eq!(all_requests(&p, &base), has_dtype);
        let c_order = if matches!(order, Order::C) { &v } else { &p };
        let bytes = view::cast(c_order, b"B", None).unwrap();
        assert!(all_requests(&bytes, &base));
        // A view of a view object (its views name the memory's owner).
        let vv = view::new(&s, XBUF_FULL_RO).unwrap();
        assert_eq!(all_requests(&vv, &base), has_dtype);
        drop((s, item, p, bytes, vv));
        // A view that cannot be written: the fast way refuses nothing the general way gives.
        let w = view::new(&base, XBUF_FULL_RO).unwrap();
        same::<DLManagedTensorVersioned>(&w, &base, XBUF_WRITABLE, false);
        drop((v, w));
        assert_eq!(base.exports(), 0);
    }
}

#[test]
fn view_tensor_refusals_are_those_of_the_general_path() {
    // Strides that are not a multiple of the item size.
    let odd = odd_strides();
    let v = view::new(&odd, XBUF_FULL_RO).unwrap();
    assert!(!all_requests(&v, &odd));
    let e = export::<DLManagedTensorVersioned>(&v, 0, false).unwrap_err();
    assert_eq!(e.status, Status::Unsupported);
    assert!(
        e.message.contains("not a multiple of the item size"),
        "{}",
        e.message
    );
    drop(v);
    // Indirect memory.
    let pil = NdArray::zeros(b"B", &[3, 4], Order::C, XBUF_NDARRAY_PIL).unwrap();
    let v = view::new(&pil, XBUF_FULL_RO).unwrap();
    assert!(!all_requests(&v, &pil));
    drop(v);
    // A released view.
    let base = NdArray::zeros(b"d", &[4], Order::C, 0).unwrap();
    let v = view::new(&base, XBUF_FULL_RO).unwrap();
    view::release(&v).unwrap();
    assert!(!all_requests(&v, &base));
    let e = export::<DLManagedTensorVersioned>(&v, 0, false).unwrap_err();
    assert_eq!(e.status, Status::Released);
    drop(v);
    // A view under exclusive access.
    let v = view::new(&base, XBUF_FULL_RO).unwrap();
    v.begin_exclusive().unwrap();
    assert!(!all_requests(&v, &base));
    let e = export::<DLManagedTensorVersioned>(&v, 0, false).unwrap_err();
    assert_eq!(e.status, Status::Busy);
    v.end_exclusive().unwrap();
    // Unknown flag bits.
    let e = export::<DLManagedTensorVersioned>(&v, 1 << 30, false).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    drop(v);
    assert_eq!((base.exports(), odd.exports(), pil.exports()), (0, 0, 0));
}

#[test]
fn a_view_tensor_keeps_the_memory_after_the_view_goes_and_imports_back() {
    let base = NdArray::zeros(b"<q", &[3, 4], Order::C, 0).unwrap();
    let p = NonNull::new(base.as_ptr()).unwrap();
    let v = view::new(&base, XBUF_FULL_RO).unwrap();
    let s = slice(&v, &[(1, 3, 1), (XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 2)]);
    let t: *mut DLManagedTensorVersioned = export(&s, 0, false).unwrap();
    unsafe {
        assert!(!(*t.cast::<Exported<DLManagedTensorVersioned>>())
            .bare
            .is_null())
    };
    // The views and the base's own reference go; the tensor's export keeps the memory.
    drop((s, v, base));
    unsafe {
        let owner = Object::check(p.cast()).unwrap();
        assert_eq!(owner.exports(), 1);
        // An own tensor without a filled view is read as any producer's.
        let back = import(t).unwrap();
        let mut b = xbuf_bufferinfo::empty();
        bufferinfo::get_buffer(&back, &mut b, XBUF_FULL_RO).unwrap();
        assert_eq!(std::slice::from_raw_parts(b.shape, 2), &[2, 2]);
        assert_eq!(std::slice::from_raw_parts(b.strides, 2), &[32, 16]);
        assert_eq!(CStr::from_ptr(b.format).to_bytes(), b"q");
        bufferinfo::release(&mut b).unwrap();
        drop(back);
    }
}

#[test]
fn a_view_of_device_memory_gives_a_tensor_on_that_device() {
    let mut shape = [3i64, 4];
    let mut t = device_tensor(&mut shape, 0, 0);
    let obj = unsafe { import(&mut t) }.unwrap();
    let v = view::new(&obj, XBUF_FULL_RO | XBUF_DEVICE).unwrap();
    let s = slice(&v, &[(1, 3, 1)]);
    assert!(all_requests(&s, &obj));
    let t: *mut DLManagedTensorVersioned = export(&s, 0, false).unwrap();
    unsafe {
        assert_eq!(
            (
                (*t).dl_tensor.device.device_type,
                (*t).dl_tensor.device.device_id
            ),
            (2, 5)
        );
        assert_eq!((*t).dl_tensor.data as usize, 0x1000 + 16);
        ((*t).deleter.unwrap())(t);
    }
    drop((s, v));
    assert_eq!(obj.exports(), 0);
}

#[test]
fn tensors_made_and_deleted_on_many_threads_reuse_blocks_safely() {
    let base = NdArray::zeros(b"<i", &[4, 5], Order::C, 0).unwrap();
    let v = view::new(&base, XBUF_FULL_RO).unwrap();
    let (base_p, v_p) = (base.as_ptr() as usize, v.as_ptr() as usize);
    let threads: Vec<_> = (0..4)
        .map(|k| {
            std::thread::spawn(move || {
                // SAFETY: both objects outlive the threads (joined below).
                let (base, v) = unsafe { (&*(base_p as *const Object), &*(v_p as *const Object)) };
                let mut held = Vec::new();
                for i in 0..2000 {
                    let obj = if (i + k) % 2 == 0 { base } else { v };
                    let t: *mut DLManagedTensorVersioned = export(obj, 0, false).unwrap();
                    let l: *mut DLManagedTensor = export(obj, 0, true).unwrap();
                    unsafe {
                        assert_eq!(std::slice::from_raw_parts((*t).dl_tensor.shape, 2), &[4, 5]);
                        assert_eq!(
                            std::slice::from_raw_parts((*l).dl_tensor.strides, 2),
                            &[5, 1]
                        );
                        ((*l).deleter.unwrap())(l);
                    }
                    // Some tensors live a while, so that deletes and exports interleave.
                    held.push(t as usize);
                    if held.len() > 3 {
                        let t = held.remove(0) as *mut DLManagedTensorVersioned;
                        unsafe { ((*t).deleter.unwrap())(t) };
                    }
                }
                for t in held {
                    let t = t as *mut DLManagedTensorVersioned;
                    unsafe { ((*t).deleter.unwrap())(t) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // The view's own export is the only one left.
    assert_eq!(base.exports(), 1);
    drop(v);
    assert_eq!(base.exports(), 0);
}
