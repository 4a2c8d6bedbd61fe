//! The Arrow structs of a built-in array made straight from its exporter's answer against
//! those made through `get_buffer`: the same fields, the same errors, the same exports
//! counted, and every refusal of the general path kept.

use super::export::*;
use super::view_tests::{take, Seen};
use crate::capi::{XBUF_NDARRAY_PIL, XBUF_NDARRAY_READONLY};
use crate::exporters::ndarray::{NdArray, Spec};
use crate::layout::Order;
use crate::object::Object;
use crate::status::Status;

/// Exports `obj` both ways and compares; returns whether the fast way answered (with arrays
/// or a refusal) rather than leaving it to the general path.
fn same(obj: &Object) -> bool {
    let before = obj.exports();
    let general: Seen = take(build_general(obj), true);
    assert_eq!(obj.exports(), before);
    let fast = build_trusted(obj);
    let taken = !matches!(fast, Ok(None));
    let fast = match fast {
        Ok(Some(made)) => {
            // The array holds one export of the object, as a filled view does.
            assert_eq!(obj.exports(), before + 1);
            take(Ok(made), false)
        }
        Ok(None) => {
            assert_eq!(obj.exports(), before, "a declined fast way holds nothing");
            take(build_general(obj), false)
        }
        Err(e) => take(Err(e), false),
    };
    assert_eq!(obj.exports(), before, "the release hands the export back");
    assert_eq!(general, fast);
    // `build` (which tries the fast ways first) gives the same again.
    assert_eq!(take(build(obj), true), general);
    assert_eq!(obj.exports(), before);
    taken
}

#[test]
fn built_in_arrays_are_those_of_the_general_path() {
    for (fmt, shape, order, flags) in [
        (&b"<f"[..], &[7isize][..], Order::C, 0),
        (b"f", &[4096], Order::C, 0),
        (b"d", &[5, 6], Order::F, 0),
        (b"<i", &[3, 4, 2], Order::C, XBUF_NDARRAY_READONLY),
        (b"<i", &[3, 4, 2], Order::F, 0),
        (b"?", &[7], Order::C, 0),
        (b"Zd", &[2, 3], Order::C, 0),
        (b">i", &[4], Order::C, 0),
        (b"T{i:a:h:b:}", &[3], Order::C, 0),
        (b"T{i:a:f:b:}", &[2, 2], Order::C, 0),
        (b"4s", &[3], Order::C, 0),
        (b"B", &[0], Order::C, 0),
        (b"i", &[2, 0, 3], Order::C, 0),
        (b"q", &[], Order::C, 0),
        (b"e", &[1, 1, 5], Order::F, 0),
    ] {
        let a = NdArray::zeros(fmt, shape, order, flags).unwrap();
        assert!(same(&a), "{:?} {shape:?}", String::from_utf8_lossy(fmt));
        assert_eq!(a.exports(), 0);
    }
}

#[test]
fn built_in_array_refusals_are_those_of_the_general_path() {
    let data: Vec<u8> = (0..96).collect();
    let spec = |shape: &'static [isize], strides: Option<&'static [isize]>, offset| Spec {
        data: &data,
        format: b"<i",
        shape,
        strides,
        offset,
        flags: 0,
    };
    // Strided, reversed, axis 0 not the outermost: refused alike (NotContiguous).
    for (shape, strides, offset) in [
        (&[4isize][..], &[8isize][..], 0),
        (&[4], &[-4], 12),
        (&[4, 3], &[4, 16], 0),
        (&[2, 3], &[24, 8], 0),
    ] {
        let a = NdArray::new_object(&spec(shape, Some(strides), offset)).unwrap();
        assert!(same(&a));
        let e = take(build(&a), true).unwrap_err();
        assert_eq!(e.0, Status::NotContiguous, "{shape:?} {strides:?}");
        assert_eq!(a.exports(), 0);
    }
    // Indirect memory: the fast way declines, the general path refuses.
    let pil = NdArray::zeros(b"B", &[3, 4], Order::C, XBUF_NDARRAY_PIL).unwrap();
    assert!(!same(&pil));
    assert_eq!(
        take(build(&pil), true).unwrap_err().0,
        Status::NotContiguous
    );
    // Under exclusive access: the fast way declines, the general path says Busy.
    let a = NdArray::zeros(b"f", &[5], Order::C, 0).unwrap();
    a.begin_exclusive().unwrap();
    assert!(!same(&a));
    assert_eq!(take(build(&a), true).unwrap_err().0, Status::Busy);
    a.end_exclusive().unwrap();
    assert!(same(&a));
    assert_eq!((a.exports(), pil.exports()), (0, 0));
}

#[test]
fn a_built_in_array_keeps_its_memory_after_the_last_reference() {
    for shape in [&[6isize][..], &[2, 3]] {
        let a = NdArray::zeros(b"<i", shape, Order::C, 0).unwrap();
        let p = std::ptr::NonNull::new(a.as_ptr()).unwrap();
        let (mut s, mut arr) = build_trusted(&a).unwrap().unwrap();
        drop(a);
        unsafe {
            assert_eq!(Object::check(p.cast()).unwrap().exports(), 1);
            let data = if arr.n_children == 1 {
                &**arr.children
            } else {
                &arr
            };
            let items = std::slice::from_raw_parts(*data.buffers.add(1) as *const i32, 6);
            assert_eq!(items, [0; 6]);
            (s.release.unwrap())(&mut s);
            (arr.release.unwrap())(&mut arr);
        }
    }
}
