//! The per-thread memory of item formats checked against the format parser it stands in
//! for: hits and misses, formats of the same length with other layouts, the same text with
//! another item size, texts too long to keep, and refused input (never kept).

use super::export::*;
use super::import::*;
use super::memo;
use super::metadata::encode_metadata;
use super::plan::parsed_item_type;
use super::*;
use crate::bufferinfo;
use crate::capi::XBUF_FULL_RO;
use crate::exporters::ndarray::{NdArray, Spec};
use crate::status::Status;
use std::ffi::CStr;

#[test]
fn export_item_types_are_the_parsers() {
    let long: String = format!(
        "T{{{}}}",
        (0..12).map(|i| format!("i:x{i}:")).collect::<String>()
    );
    let cases: Vec<(&[u8], usize)> = vec![
        (b"<f", 4),
        (b"<f", 4),
        (b">f", 4),
        (b">f", 4),
        (b"<f", 4),
        (b"<d", 8),
        (b"<q", 8),
        (b"<d", 8),
        (b"T{i:a:f:b:}", 8),
        (b"T{f:a:i:b:}", 8),
        (b"T{i:a:f:b:}", 8),
        (b"T{i:a:f:b:}", 16),
        (b"T{i:a:f:b:}", 8),
        (b"=?", 1),
        (b"<?", 1),
        (b"Zf", 8),
        (b"2f", 8),
        (b"Zf", 8),
        (long.as_bytes(), 48),
        (long.as_bytes(), 48),
        (b"T{i:", 4),
        (b"<f", 4),
        (b"T{i:", 4),
        (b"4s", 4),
        (b"4s", 4),
    ];
    for forget in [false, true] {
        memo::forget();
        for &(fmt, size) in &cases {
            if forget {
                memo::forget();
            }
            let want = parsed_item_type(fmt, size).map_err(|e| e.status);
            let got = item_type(Some(fmt), size).map_err(|e| e.status);
            assert_eq!(got, want, "{} {size}", String::from_utf8_lossy(fmt));
            // Asked again straight away (a hit when it was kept).
            let again = item_type(Some(fmt), size).map_err(|e| e.status);
            assert_eq!(again, want, "{} {size} again", String::from_utf8_lossy(fmt));
        }
    }
    assert_eq!(
        item_type(Some(b">f"), 4).unwrap(),
        ItemType::Binary(4),
        "a foreign byte order"
    );
    assert_eq!(
        item_type(Some(b"<f"), 4).unwrap(),
        ItemType::Primitive(c"f")
    );
}

/// A C-order array of two `fmt` items over `data`.
fn pair_of(fmt: &[u8], data: &[u8]) -> crate::object::ObjRef {
    NdArray::new_object(&Spec {
        data,
        format: fmt,
        shape: &[2],
        strides: None,
        offset: 0,
        flags: 0,
    })
    .unwrap()
}

/// Exports an array of `fmt` items, imports it back and returns the object's format.
fn round_trip_format(fmt: &[u8], data: &[u8]) -> String {
    let obj = pair_of(fmt, data);
    let mut s = ArrowSchema::released();
    let mut a = ArrowArray::released();
    unsafe { export(&obj, &mut s, &mut a) }.unwrap();
    let back = unsafe { import(&s, &mut a, 0) }.unwrap();
    unsafe { (s.release.unwrap())(&mut s) };
    let v = bufferinfo::HeldView::get(&back, XBUF_FULL_RO).unwrap();
    let f = unsafe { CStr::from_ptr((*v.ptr()).format) };
    f.to_str().unwrap().to_string()
}

#[test]
fn import_item_formats_are_the_parsers() {
    let data = [0u8; 64];
    let long: String = format!(
        "T{{{}}}",
        (0..32).map(|i| format!("B:x{i}:")).collect::<String>()
    );
    let cases: [&[u8]; 10] = [
        b"T{i:a:f:b:}",
        b"T{i:a:f:b:}",
        b"T{f:a:i:b:}",
        b"T{i:a:f:b:}",
        b"2i",
        b"2h",
        b"(2)i",
        b"2i",
        long.as_bytes(),
        long.as_bytes(),
    ];
    for forget in [false, true] {
        memo::forget();
        for fmt in cases {
            if forget {
                memo::forget();
            }
            let text = String::from_utf8_lossy(fmt);
            assert_eq!(round_trip_format(fmt, &data), text);
        }
    }
}

#[test]
fn import_memory_keeps_the_size_check_and_refusals() {
    let data = [0u8; 64];
    let obj = pair_of(b"T{i:a:f:b:}", &data);
    let mut s = ArrowSchema::released();
    let mut a = ArrowArray::released();
    unsafe { export(&obj, &mut s, &mut a) }.unwrap();
    // Imported once: the text is kept.
    let first = unsafe { import(&s, &mut a, 0) }.unwrap();
    drop(first);
    unsafe { (s.release.unwrap())(&mut s) };
    unsafe { export(&obj, &mut s, &mut a) }.unwrap();
    // The same text (a hit) on a field of another size: still refused, nothing moved.
    let format = s.format;
    s.format = c"w:16".as_ptr();
    let e = unsafe { import(&s, &mut a, 0) }.unwrap_err();
    assert_eq!(e.status, Status::Format);
    assert!(e.message.contains("has item size 8"), "{}", e.message);
    assert!(a.release.is_some());
    // A metadata text with a NUL byte is refused, hit or miss.
    s.format = format;
    let mut text = b"T{i:a:f:b:}".to_vec();
    text[3] = 0;
    let blob = encode_metadata(&[(FORMAT_KEY, &text)]).unwrap();
    let meta = s.metadata;
    s.metadata = blob.as_ptr().cast();
    let e = unsafe { import(&s, &mut a, 0) }.unwrap_err();
    assert!(matches!(e.status, Status::Format), "{e:?}");
    assert!(a.release.is_some());
    // And the kept text still imports.
    s.metadata = meta;
    let back = unsafe { import(&s, &mut a, 0) }.unwrap();
    assert!(a.release.is_none());
    unsafe { (s.release.unwrap())(&mut s) };
    assert_eq!(back.exports(), 0);
}
