//! Moving filled views between structs.

use super::*;
use crate::exporters::ndarray::NdArray;
use crate::status::Status;
use std::ffi::CStr;

fn addr_in(p: *const u8, v: *const xbuf_bufferinfo) -> bool {
    let (p, v) = (p as usize, v as usize);
    (v..v + XBUF_BUFFERINFO_SIZE).contains(&p)
}

#[test]
fn move_relocates_inline_layout_and_keeps_the_export() {
    let obj = NdArray::zeros(b"<h", &[2, 3], Order::C, 0).unwrap();
    let mut a = Box::new(xbuf_bufferinfo::empty());
    let mut b = Box::new(xbuf_bufferinfo::empty());
    let (pa, pb): (*mut xbuf_bufferinfo, *mut xbuf_bufferinfo) = (&mut *a, &mut *b);
    unsafe {
        get_buffer(&obj, pa, XBUF_FULL_RO).unwrap();
        assert!(addr_in(a.shape.cast(), pa) && addr_in(a.format.cast(), pa));
        move_view(pb, pa).unwrap();
        assert_eq!(obj.exports(), 1);
        assert!(is_filled(pb) && !is_filled(pa));
        assert!(addr_in(b.shape.cast(), pb) && addr_in(b.strides.cast(), pb));
        assert!(addr_in(b.format.cast(), pb));
        assert_eq!(std::slice::from_raw_parts(b.shape, 2), &[2, 3]);
        assert_eq!(std::slice::from_raw_parts(b.strides, 2), &[6, 2]);
        assert_eq!(CStr::from_ptr(b.format).to_bytes(), b"<h");
        // The source is all zeros but its structsize.
        let bytes = std::slice::from_raw_parts(pa as *const u8, XBUF_BUFFERINFO_SIZE);
        assert!(bytes[8..].iter().all(|&x| x == 0));
        release(pb).unwrap();
    }
    assert_eq!(obj.exports(), 0);
}

#[test]
fn move_refuses_a_short_dst_for_inline_layout_and_changes_nothing() {
    let obj = NdArray::zeros(b"<h", &[2, 3], Order::C, 0).unwrap();
    let mut a = Box::new(xbuf_bufferinfo::empty());
    let mut b = Box::new(xbuf_bufferinfo::empty());
    b.structsize = XBUF_BUFFERINFO_SIZE_MIN;
    let (pa, pb): (*mut xbuf_bufferinfo, *mut xbuf_bufferinfo) = (&mut *a, &mut *b);
    unsafe {
        get_buffer(&obj, pa, XBUF_FULL_RO).unwrap();
        let e = move_view(pb, pa).unwrap_err();
        assert_eq!(e.status, Status::StructTooOld);
        assert!(is_filled(pa) && b.releaser.is_null());
        // Moving it back and forth between full-size structs still works afterwards.
        b.structsize = XBUF_BUFFERINFO_SIZE;
        move_view(pb, pa).unwrap();
        move_view(pa, pb).unwrap();
        release(pa).unwrap();
    }
    assert_eq!(obj.exports(), 0);
}
