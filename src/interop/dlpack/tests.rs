//! Unit tests of the DLPack structs, data types, export and import.

use super::dtype::{check_import_device, dtype_of_format, format_of_dtype};
use super::view_tests::device_tensor;
use super::*;
use crate::bufferinfo;
use crate::exporters::ndarray::NdArray;
use crate::layout::Order;
use crate::object::Object;
use crate::status::Status;
use std::ffi::{c_int, CStr};
use std::mem::{offset_of, size_of};
use std::ptr;

#[cfg(target_pointer_width = "64")]
#[test]
fn struct_layouts_are_the_specs() {
    assert_eq!(size_of::<DLDevice>(), 8);
    assert_eq!(size_of::<DLDataType>(), 4);
    assert_eq!(offset_of!(DLTensor, device), 8);
    assert_eq!(offset_of!(DLTensor, ndim), 16);
    assert_eq!(offset_of!(DLTensor, dtype), 20);
    assert_eq!(offset_of!(DLTensor, shape), 24);
    assert_eq!(offset_of!(DLTensor, strides), 32);
    assert_eq!(offset_of!(DLTensor, byte_offset), 40);
    assert_eq!(size_of::<DLTensor>(), 48);
    assert_eq!(offset_of!(DLManagedTensorVersioned, manager_ctx), 8);
    assert_eq!(offset_of!(DLManagedTensorVersioned, deleter), 16);
    assert_eq!(offset_of!(DLManagedTensorVersioned, flags), 24);
    assert_eq!(offset_of!(DLManagedTensorVersioned, dl_tensor), 32);
    assert_eq!(size_of::<DLManagedTensorVersioned>(), 80);
    assert_eq!(offset_of!(DLManagedTensor, manager_ctx), 48);
    assert_eq!(offset_of!(DLManagedTensor, deleter), 56);
    assert_eq!(size_of::<DLManagedTensor>(), 64);
}

#[test]
fn formats_map_to_dtypes_and_back() {
    let cases: &[(&[u8], isize, u8, u8)] = &[
        (b"b", 1, code::INT, 8),
        (b"<h", 2, code::INT, 16),
        (b"=i", 4, code::INT, 32),
        (b"l", 8, code::INT, 64),
        (b"q", 8, code::INT, 64),
        (b"n", 8, code::INT, 64),
        (b"B", 1, code::UINT, 8),
        (b"@Q", 8, code::UINT, 64),
        (b"N", 8, code::UINT, 64),
        (b"e", 2, code::FLOAT, 16),
        (b"f", 4, code::FLOAT, 32),
        (b"d", 8, code::FLOAT, 64),
        (b"Zf", 8, code::COMPLEX, 64),
        (b"Zd", 16, code::COMPLEX, 128),
        (b"?", 1, code::BOOL, 8),
    ];
    for &(fmt, size, c, bits) in cases {
        let t = dtype_of_format(fmt, size).unwrap();
        assert_eq!(
            t,
            DLDataType {
                code: c,
                bits,
                lanes: 1
            },
            "{fmt:?}"
        );
        let (back, s) = format_of_dtype(t).unwrap();
        assert_eq!(s, size);
        assert_eq!(
            crate::format::itemsize(back.to_bytes()).unwrap() as isize,
            size
        );
    }
}

#[test]
fn formats_without_a_dtype_are_refused_saying_why() {
    // '!' is big-endian: not native on little-endian machines.
    let (other, network) = if cfg!(target_endian = "little") {
        (">i", "!d")
    } else {
        ("<i", "<d")
    };
    for (fmt, why) in [
        (other.to_string(), "non-native byte order"),
        (network.into(), "non-native byte order"),
        ("T{i:a:}".into(), "struct"),
        ("i:x:".into(), "named fields"),
        ("(2)i".into(), "sub-array"),
        ("g".into(), "long double"),
        ("2i".into(), "repeat count"),
        ("ii".into(), "only the integer codes"),
        ("s".into(), "only the integer codes"),
        ("c".into(), "only the integer codes"),
        ("P".into(), "only the integer codes"),
    ] {
        let e = dtype_of_format(fmt.as_bytes(), 4).unwrap_err();
        assert_eq!(e.status, Status::Format, "{fmt}");
        assert!(e.message.contains(why), "{fmt}: {}", e.message);
    }
}

#[test]
fn dtypes_without_a_format_are_refused() {
    let t = |code, bits, lanes| DLDataType { code, bits, lanes };
    for (d, why) in [
        (t(code::FLOAT, 32, 4), "lanes"),
        (t(code::INT, 4, 1), "sub-byte"),
        (t(code::UINT, 0, 1), "sub-byte"),
        (t(code::BFLOAT, 16, 1), "bfloat"),
        (t(code::OPAQUE_HANDLE, 64, 1), "opaque handle"),
        (t(code::FLOAT, 128, 1), "float"),
        (t(code::BOOL, 16, 1), "bool"),
        (t(9, 8, 1), "unknown"),
    ] {
        let e = format_of_dtype(d).unwrap_err();
        assert_eq!(e.status, Status::Unsupported);
        assert!(e.message.contains(why), "{d:?}: {}", e.message);
    }
}

#[test]
fn devices_with_opaque_handles_or_unknown_codes_are_refused() {
    for ok in [1, 2, 3, 9, 10, 11, 13, 14, 16, 17] {
        check_import_device(DLDevice {
            device_type: ok,
            device_id: 0,
        })
        .unwrap();
    }
    for bad in [0, -1, 4, 5, 6, 7, 8, 12, 15, 18, 1000] {
        let e = check_import_device(DLDevice {
            device_type: bad,
            device_id: 0,
        })
        .unwrap_err();
        assert_eq!(e.status, Status::Unsupported, "{bad}");
    }
}

#[test]
fn export_then_import_reads_the_same_memory_and_hands_everything_back() {
    let obj = NdArray::zeros(b"<i", &[3, 4], Order::F, 0).unwrap();
    let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
    assert_eq!(obj.exports(), 1);
    unsafe {
        let m = &*t;
        assert_eq!((m.version.major, m.version.minor), (1, 1));
        assert_eq!(m.flags, 0);
        let d = &m.dl_tensor;
        assert_eq!(d.ndim, 2);
        assert_eq!(std::slice::from_raw_parts(d.shape, 2), &[3, 4]);
        assert_eq!(std::slice::from_raw_parts(d.strides, 2), &[1, 3]);
        assert_eq!(
            d.dtype,
            DLDataType {
                code: code::INT,
                bits: 32,
                lanes: 1
            }
        );
        let back = import(t).unwrap();
        let mut v = xbuf_bufferinfo::empty();
        bufferinfo::get_buffer(&back, &mut v, XBUF_FULL_RO).unwrap();
        assert_eq!(v.buf, d.data);
        assert_eq!(std::slice::from_raw_parts(v.strides, 2), &[4, 12]);
        bufferinfo::release(&mut v).unwrap();
        drop(back);
    }
    assert_eq!(obj.exports(), 0);
}

/// A tensor this library exported is imported from the view its block holds while it
/// still says what the export wrote; a tensor changed since is read and checked as any
/// producer's (so a bad change is refused and a good one is honoured).
#[test]
fn own_tensors_are_imported_from_their_view_unless_changed() {
    fn layout(obj: &Object) -> (usize, Vec<isize>, Vec<isize>, isize, c_int) {
        let mut v = xbuf_bufferinfo::empty();
        unsafe {
            bufferinfo::get_buffer(obj, &mut v, XBUF_FULL_RO).unwrap();
            let n = v.ndim as usize;
            let out = (
                v.buf as usize,
                std::slice::from_raw_parts(v.shape, n).to_vec(),
                std::slice::from_raw_parts(v.strides, n).to_vec(),
                v.len,
                v.readonly,
            );
            bufferinfo::release(&mut v).unwrap();
            out
        }
    }
    let obj = NdArray::zeros(b"d", &[3, 4], Order::F, 0).unwrap();
    let (buf, ..) = layout(&obj);
    // Unchanged, versioned and legacy, and with more dimensions than are kept inline.
    let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
    let back = unsafe { import(t) }.unwrap();
    assert_eq!(layout(&back), (buf, vec![3, 4], vec![8, 24], 96, 0));
    drop(back);
    let t: *mut DLManagedTensor = export(&obj, 0, true).unwrap();
    let back = unsafe { import_unversioned(t) }.unwrap();
    assert_eq!(layout(&back), (buf, vec![3, 4], vec![8, 24], 96, 1));
    drop(back);
    let many = NdArray::zeros(b"B", &[2; 10], Order::C, 0).unwrap();
    let t: *mut DLManagedTensorVersioned = export(&many, 0, false).unwrap();
    let back = unsafe { import(t) }.unwrap();
    let strides: Vec<isize> = (0..10).map(|k| 1 << (9 - k)).collect();
    assert_eq!(layout(&back).1, vec![2; 10]);
    assert_eq!(layout(&back).2, strides);
    drop(back);
    assert_eq!(many.exports(), 0);
    unsafe {
        // A changed extent and stride are honoured (checked as any tensor's).
        let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
        *(*t).dl_tensor.shape.add(1) = 2;
        *(*t).dl_tensor.strides.add(1) = 6;
        let back = import(t).unwrap();
        assert_eq!(layout(&back), (buf, vec![3, 2], vec![8, 48], 48, 0));
        drop(back);
        // An offset moves the data.
        let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
        (*t).dl_tensor.byte_offset = 8;
        *(*t).dl_tensor.shape = 2;
        let back = import(t).unwrap();
        assert_eq!(layout(&back).0, buf + 8);
        drop(back);
        // A negative extent is refused, the tensor left to its owner.
        let t: *mut DLManagedTensorVersioned = export(&obj, 0, false).unwrap();
        *(*t).dl_tensor.shape = -1;
        let e = import(t).unwrap_err();
        assert_eq!(e.status, Status::InvalidArgument);
        assert!(e.message.contains("shape[0] is -1"), "{}", e.message);
        // A changed data type is read as the new one; an unknown one refused.
        (*t).dl_tensor.dtype.bits = 12;
        let e = import(t).unwrap_err();
        assert_eq!(e.status, Status::Unsupported);
        *(*t).dl_tensor.shape = 3;
        (*t).dl_tensor.dtype = DLDataType {
            code: code::INT,
            bits: 64,
            lanes: 1,
        };
        let back = import(t).unwrap();
        let mut v = xbuf_bufferinfo::empty();
        bufferinfo::get_buffer(&back, &mut v, XBUF_FULL_RO).unwrap();
        assert_eq!(CStr::from_ptr(v.format).to_bytes(), b"q");
        bufferinfo::release(&mut v).unwrap();
        drop(back);
    }
    assert_eq!(obj.exports(), 0);
}

#[test]
fn imported_device_memory_reaches_only_device_requests_and_views_keep_it() {
    // An address nobody reads: the test would crash (or a sanitizer report) if anything did.
    let mut shape = [3i64, 4];
    let mut t = device_tensor(&mut shape, FLAG_READ_ONLY, 16);
    let obj = unsafe { import(&mut t) }.unwrap();
    let mut v = xbuf_bufferinfo::empty();
    let e = unsafe { bufferinfo::get_buffer(&obj, &mut v, XBUF_FULL_RO) }.unwrap_err();
    assert_eq!(e.status, Status::Request);
    assert!(e.message.contains("lacks XBUF_DEVICE"), "{}", e.message);
    unsafe { bufferinfo::get_buffer(&obj, &mut v, XBUF_FULL_RO | XBUF_DEVICE) }.unwrap();
    assert_eq!((v.device_type, v.device_id), (2, 5));
    assert_eq!(v.buf as usize, 0x1010);
    unsafe { bufferinfo::release(&mut v) }.unwrap();

    let view = crate::view::new(&obj, XBUF_FULL_RO | XBUF_DEVICE).unwrap();
    let spec = crate::view::SliceSpec {
        start: 1,
        stop: 3,
        step: 1,
    };
    let sliced = crate::view::slice(&view, &[spec]).unwrap();
    crate::view::with(&sliced, |s| {
        assert_eq!(s.device(), (2, 5));
        Ok(())
    })
    .unwrap();
    let e = crate::view::tolist(&sliced).unwrap_err();
    assert_eq!(e.status, Status::Unsupported);
    let e = crate::view::hash(&sliced).unwrap_err();
    assert_eq!(e.status, Status::Unsupported);
    assert!(e.message.contains("not the CPU"), "{}", e.message);
    // And out again, device and all.
    let back: *mut DLManagedTensorVersioned = export(&sliced, 0, false).unwrap();
    unsafe {
        assert_eq!((*back).dl_tensor.device.device_type, 2);
        assert_eq!((*back).dl_tensor.device.device_id, 5);
        assert_eq!((*back).dl_tensor.data as usize, 0x1010 + 16);
        ((*back).deleter.unwrap())(back);
    }
}
