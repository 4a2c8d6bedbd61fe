//! The Arrow structs of a built-in array made straight from its exporter's answer against
//! those made through `get_buffer`: the same fields, the same errors, the same exports
//! counted, and every refusal of the general path kept.

use super::export::*;
use super::view_tests::{take, Seen};
use super::ArrowArray;
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

/// A tensor array whose child the consumer moved out (or released in place): the export stays
/// until both are released, in either order or at once on two threads, for arrays holding a
/// filled view and arrays holding a bare export alike.
#[test]
fn a_moved_out_child_and_its_parent_release_in_any_order() {
    struct Sent(ArrowArray);
    // SAFETY (test): the release callbacks may run on any thread.
    unsafe impl Send for Sent {}
    let data: Vec<u8> = (0..96).collect();
    let obj = NdArray::new_object(&Spec {
        data: &data,
        format: b"<i",
        shape: &[2, 3, 4],
        strides: None,
        offset: 0,
        flags: 0,
    })
    .unwrap();
    for general in [false, true] {
        for order in 0..4 {
            let (mut s, mut a) = if general {
                build_general(&obj).unwrap()
            } else {
                build_trusted(&obj).unwrap().unwrap()
            };
            unsafe { (s.release.unwrap())(&mut s) };
            assert_eq!(obj.exports(), 1);
            if order == 3 {
                // The child released where it is, then the parent.
                unsafe {
                    let child = &mut **a.children;
                    (child.release.unwrap())(child);
                    assert!(child.release.is_none());
                    assert_eq!(obj.exports(), 1, "the parent still holds the export");
                    (a.release.unwrap())(&mut a);
                }
                assert_eq!(obj.exports(), 0);
                continue;
            }
            // Move the child out: copy the struct, mark the source released.
            let slot = unsafe { &mut **a.children };
            let mut child = std::mem::replace(slot, ArrowArray::released());
            let items = unsafe { *child.buffers.add(1) } as *const u8;
            match order {
                0 => unsafe {
                    (a.release.unwrap())(&mut a);
                    assert_eq!(obj.exports(), 1, "the child still holds the export");
                    assert_eq!(*items.add(95), 95);
                    (child.release.unwrap())(&mut child);
                },
                1 => unsafe {
                    (child.release.unwrap())(&mut child);
                    assert_eq!(obj.exports(), 1, "the parent still holds the export");
                    (a.release.unwrap())(&mut a);
                },
                _ => {
                    let (pa, ch) = (Sent(a), Sent(child));
                    let t1 = std::thread::spawn(move || {
                        let mut pa = pa;
                        unsafe { (pa.0.release.unwrap())(&mut pa.0) };
                        assert!(pa.0.release.is_none());
                    });
                    let t2 = std::thread::spawn(move || {
                        let mut ch = ch;
                        unsafe { (ch.0.release.unwrap())(&mut ch.0) };
                        assert!(ch.0.release.is_none());
                    });
                    t1.join().unwrap();
                    t2.join().unwrap();
                }
            }
            assert_eq!(obj.exports(), 0, "general {general}, order {order}");
        }
    }
}

/// The planner's quick C-order test never says yes where the general check says no.
#[test]
fn exact_c_strides_are_c_contiguous() {
    use super::plan::c_strides_exactly;
    let shapes: [&[isize]; 6] = [&[2, 3], &[1, 4], &[4, 1], &[2, 1, 3], &[3, 3, 3], &[5]];
    for shape in shapes {
        for itemsize in [1isize, 4, 12] {
            let mut c = vec![0isize; shape.len()];
            crate::layout::contiguous_strides(shape, itemsize, Order::C, &mut c).unwrap();
            assert!(c_strides_exactly(shape, &c, itemsize));
            let mut other = c.clone();
            for d in 0..shape.len() {
                for delta in [-itemsize, itemsize, 999] {
                    other[d] = c[d] + delta;
                    let quick = c_strides_exactly(shape, &other, itemsize);
                    assert!(!quick, "{shape:?} {other:?}");
                    other[d] = c[d];
                }
            }
            let f = {
                let mut f = vec![0isize; shape.len()];
                crate::layout::contiguous_strides(shape, itemsize, Order::F, &mut f).unwrap();
                f
            };
            if c_strides_exactly(shape, &f, itemsize) {
                assert!(crate::layout::is_contiguous(
                    shape,
                    Some(&f),
                    false,
                    itemsize,
                    Order::C
                ));
            }
        }
    }
    assert!(!c_strides_exactly(&[isize::MAX, 2], &[2, 1], 1));
}
