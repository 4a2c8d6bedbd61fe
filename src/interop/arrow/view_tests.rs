//! The Arrow structs of a view object made straight from the view's layout against those made
//! through `get_buffer`: the same fields, the same errors, the same exports counted.

use super::export::*;
use super::metadata::*;
use super::*;
use crate::capi::XBUF_FULL_RO;
use crate::capi::XBUF_SLICE_OMIT;
use crate::capi::{XBUF_NDARRAY_PIL, XBUF_NDARRAY_READONLY};
use crate::exporters::ndarray::{NdArray, Spec};
use crate::layout::Order;
use crate::object::{ObjRef, Object};
use crate::status::Result;
use crate::status::Status;
use crate::view;
use crate::view::tests::slice_of as slice;
use std::ffi::CStr;

/// Everything a consumer reads of a schema.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SeenSchema {
    pub(super) format: Vec<u8>,
    pub(super) name: Option<Vec<u8>>,
    pub(super) metadata: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    pub(super) flags: i64,
    pub(super) children: Vec<SeenSchema>,
    pub(super) dictionary: bool,
}

/// Everything a consumer reads of an array.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SeenArray {
    pub(super) length: i64,
    pub(super) null_count: i64,
    pub(super) offset: i64,
    pub(super) buffers: Vec<usize>,
    pub(super) children: Vec<SeenArray>,
    pub(super) dictionary: bool,
}

unsafe fn seen_schema(s: &ArrowSchema) -> SeenSchema {
    let text = |p: *const c_char| (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes().to_vec());
    SeenSchema {
        format: text(s.format).unwrap(),
        name: text(s.name),
        metadata: (!s.metadata.is_null()).then(|| {
            decode_metadata(s.metadata)
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect()
        }),
        flags: s.flags,
        children: (0..s.n_children as usize)
            .map(|k| seen_schema(&**s.children.add(k)))
            .collect(),
        dictionary: !s.dictionary.is_null(),
    }
}

unsafe fn seen_array(a: &ArrowArray) -> SeenArray {
    SeenArray {
        length: a.length,
        null_count: a.null_count,
        offset: a.offset,
        buffers: (0..a.n_buffers as usize)
            .map(|k| *a.buffers.add(k) as usize)
            .collect(),
        children: (0..a.n_children as usize)
            .map(|k| seen_array(&**a.children.add(k)))
            .collect(),
        dictionary: !a.dictionary.is_null(),
    }
}

pub(super) type Seen = std::result::Result<(SeenSchema, SeenArray), (Status, String)>;

/// What a consumer reads of one export; the structs are released (the array first or the
/// schema first, as `array_first` says).
pub(super) fn take(r: Result<(ArrowSchema, ArrowArray)>, array_first: bool) -> Seen {
    match r {
        Ok((mut s, mut a)) => unsafe {
            let out = (seen_schema(&s), seen_array(&a));
            if array_first {
                (a.release.unwrap())(&mut a);
                (s.release.unwrap())(&mut s);
            } else {
                (s.release.unwrap())(&mut s);
                (a.release.unwrap())(&mut a);
            }
            Ok(out)
        },
        Err(e) => Err((e.status, e.message.clone())),
    }
}

/// Exports `obj` both ways and compares; returns whether the fast way was taken.
fn same(obj: &Object, owner: &Object) -> bool {
    let before = owner.exports();
    let general = take(build_general(obj), true);
    assert_eq!(owner.exports(), before);
    let fast = build_from_view(obj);
    let taken = matches!(fast, Ok(Some(_)));
    let fast = match fast {
        Ok(Some(made)) => {
            // The array holds one export of the memory's owner, as a filled view does.
            assert_eq!(owner.exports(), before + 1);
            take(Ok(made), false)
        }
        Ok(None) => take(build_general(obj), false),
        Err(e) => take(Err(e), false),
    };
    assert_eq!(owner.exports(), before, "the release hands the export back");
    assert_eq!(general, fast);
    // Every array the general path makes of a view object of memory on the CPU is made from
    // the view's layout.
    assert_eq!(taken, general.is_ok());
    // `export`, which takes the fast way where it can, gives the same again.
    let mut s = ArrowSchema::released();
    let mut a = ArrowArray::released();
    let r = unsafe { export(obj, &mut s, &mut a) }.map(|()| (s, a));
    assert_eq!(take(r, true), general);
    assert_eq!(owner.exports(), before);
    taken
}

#[test]
fn view_arrays_are_those_of_the_general_path() {
    for (fmt, shape, order, flags) in [
        (&b"<f"[..], &[7isize][..], Order::C, 0),
        (b"d", &[5, 6], Order::F, 0),
        (b"<i", &[3, 4, 2], Order::C, XBUF_NDARRAY_READONLY),
        (b"?", &[7], Order::C, 0),
        (b"Zd", &[2, 3], Order::C, 0),
        (b">i", &[4], Order::C, 0),
        (b"T{i:a:h:b:}", &[3], Order::C, 0),
        (b"B", &[0], Order::C, 0),
        (b"q", &[], Order::C, 0),
    ] {
        let base = NdArray::zeros(fmt, shape, order, flags).unwrap();
        let v = view::new(&base, XBUF_FULL_RO).unwrap();
        same(&v, &base);
        let p = view::permute(&v, None).unwrap();
        same(&p, &base);
        if shape.iter().all(|&e| e > 0) && !shape.is_empty() {
            // Reversed: not contiguous for Arrow, refused alike.
            let r = slice(&v, &[(XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, -1)]);
            same(&r, &base);
            // The first rows, and one item.
            let s = slice(&v, &[(0, 1, 1)]);
            same(&s, &base);
            let item = view::index(&v, &vec![0; shape.len()]).unwrap();
            assert!(same(&item, &base));
            let vv = view::new(&s, XBUF_FULL_RO).unwrap();
            same(&vv, &base);
        }
        drop((v, p));
        assert_eq!(base.exports(), 0);
    }
}

#[test]
fn view_array_refusals_are_those_of_the_general_path() {
    let base = NdArray::zeros(b"<i", &[4, 6], Order::C, 0).unwrap();
    let v = view::new(&base, XBUF_FULL_RO).unwrap();
    // Strided: not contiguous.
    let rows = slice(&v, &[(XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 2)]);
    same(&rows, &base);
    drop(rows);
    let s = slice(&v, &[(XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 1), (0, 6, 2)]);
    same(&s, &base);
    let mut sc = ArrowSchema::released();
    let mut ar = ArrowArray::released();
    let e = unsafe { export(&s, &mut sc, &mut ar) }.unwrap_err();
    assert_eq!(e.status, Status::NotContiguous);
    assert!(sc.release.is_none() && ar.release.is_none());
    drop(s);
    // Indirect memory.
    let pil = NdArray::zeros(b"B", &[3, 4], Order::C, XBUF_NDARRAY_PIL).unwrap();
    let pv = view::new(&pil, XBUF_FULL_RO).unwrap();
    same(&pv, &pil);
    let e = unsafe { export(&pv, &mut sc, &mut ar) }.unwrap_err();
    assert_eq!(e.status, Status::NotContiguous);
    drop(pv);
    // A released view.
    let r = view::new(&base, XBUF_FULL_RO).unwrap();
    view::release(&r).unwrap();
    assert!(!same(&r, &base));
    let e = unsafe { export(&r, &mut sc, &mut ar) }.unwrap_err();
    assert_eq!(e.status, Status::Released);
    drop(r);
    // A view under exclusive access.
    v.begin_exclusive().unwrap();
    assert!(!same(&v, &base));
    let e = unsafe { export(&v, &mut sc, &mut ar) }.unwrap_err();
    assert_eq!(e.status, Status::Busy);
    v.end_exclusive().unwrap();
    drop(v);
    // Memory on a device: refused alike (the request has no XBUF_DEVICE).
    let mut shape = [3i64, 4];
    let mut t = crate::interop::dlpack::DLManagedTensorVersioned {
        version: crate::interop::dlpack::DLPackVersion { major: 1, minor: 1 },
        manager_ctx: std::ptr::null_mut(),
        deleter: None,
        flags: 0,
        dl_tensor: crate::interop::dlpack::DLTensor {
            data: 0x1000 as *mut c_void,
            device: crate::interop::dlpack::DLDevice {
                device_type: 2,
                device_id: 0,
            },
            ndim: 2,
            dtype: crate::interop::dlpack::DLDataType {
                code: 2,
                bits: 32,
                lanes: 1,
            },
            shape: shape.as_mut_ptr(),
            strides: std::ptr::null_mut(),
            byte_offset: 0,
        },
    };
    let dev = unsafe { crate::interop::dlpack::import(&mut t) }.unwrap();
    let dv = view::new(&dev, XBUF_FULL_RO | crate::capi::XBUF_DEVICE).unwrap();
    assert!(!same(&dv, &dev));
    drop(dv);
    assert_eq!((base.exports(), pil.exports(), dev.exports()), (0, 0, 0));
}

#[test]
fn a_view_array_keeps_the_memory_after_the_view_goes() {
    for shape in [&[6isize][..], &[2, 3]] {
        let data: Vec<u8> = (0..24).collect();
        let base = NdArray::new_object(&Spec {
            data: &data,
            format: b"<i",
            shape,
            strides: None,
            offset: 0,
            flags: 0,
        })
        .unwrap();
        let p = std::ptr::NonNull::new(base.as_ptr()).unwrap();
        let v = view::new(&base, XBUF_FULL_RO).unwrap();
        let (mut s, mut a) = build(&v).unwrap();
        drop((v, base));
        unsafe {
            assert_eq!(Object::check(p.cast()).unwrap().exports(), 1);
            // The data buffer (of the child, for a tensor) still reads the items.
            let arr = if a.n_children == 1 { &**a.children } else { &a };
            let items = std::slice::from_raw_parts(*arr.buffers.add(1) as *const i32, 6);
            assert_eq!(items[5], i32::from_le_bytes([20, 21, 22, 23]));
            // The schema goes first, then the array (the last owner of the export).
            (s.release.unwrap())(&mut s);
            (a.release.unwrap())(&mut a);
        }
    }
}
