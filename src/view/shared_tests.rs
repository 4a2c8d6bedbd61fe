//! Tests of what the views of one snapshot share and copy: the owner's slot pinned by a
//! released view (not the owner), derives from released views, and format texts of every
//! length kept through slices and casts.

use super::*;
use crate::object::tests::probe;
use crate::status::Status;

fn all() -> SliceSpec {
    SliceSpec {
        start: 1,
        stop: XBUF_SLICE_OMIT,
        step: XBUF_SLICE_OMIT,
    }
}

/// A released view keeps the owner's slot, so a later derive from it finds no other object
/// there; the owner itself still goes when its last export does, and its slot comes back
/// once the last released view is gone.
#[test]
fn released_views_pin_the_owner_slot_not_the_owner() {
    let (owner, dropped) = probe();
    let at = owner.as_ptr();
    let v = new(&owner, XBUF_FULL_RO).unwrap();
    let s = slice(&v, &[all()]).unwrap();
    drop(owner);
    release(&v).unwrap();
    // The owner lives on through the slice's export; the released view derives nothing.
    let e = slice(&v, &[all()]).unwrap_err();
    assert_eq!(e.status, Status::Released);
    assert!(!dropped.load(Ordering::SeqCst));
    // SAFETY: the slice's export keeps the owner.
    assert_eq!(unsafe { &*at }.exports(), 1);
    let t = slice(&s, &[all()]).unwrap();
    assert_eq!(unsafe { &*at }.exports(), 2);
    drop(t);
    release(&s).unwrap();
    // Every export returned: the owner is gone although both view objects live.
    assert!(dropped.load(Ordering::SeqCst));
    for view in [&v, &s] {
        assert_eq!(slice(view, &[all()]).unwrap_err().status, Status::Released);
        assert_eq!(index(view, &[0]).unwrap_err().status, Status::Released);
        assert_eq!(permute(view, None).unwrap_err().status, Status::Released);
        assert_eq!(cast(view, b"B", None).unwrap_err().status, Status::Released);
    }
    // The pinned slot is not handed out again (a thread's free slots are reused last in,
    // first out, so an unpinned one would come back at once).
    let (other, _) = probe();
    assert_ne!(other.as_ptr(), at);
    drop(other);
    drop(v);
    let (other, _) = probe();
    assert_ne!(other.as_ptr(), at);
    drop(other);
    drop(s);
    let (again, _) = probe();
    assert_eq!(again.as_ptr(), at);
}

/// Views dropped without a release pin nothing: the owner's slot comes back with the owner.
#[test]
fn unreleased_views_leave_no_pin() {
    let (owner, dropped) = probe();
    let at = owner.as_ptr();
    let v = new(&owner, XBUF_FULL_RO).unwrap();
    let s = slice(&v, &[all()]).unwrap();
    drop((owner, v));
    assert!(!dropped.load(Ordering::SeqCst));
    drop(s);
    assert!(dropped.load(Ordering::SeqCst));
    let (again, _) = probe();
    assert_eq!(again.as_ptr(), at);
}

/// Format texts short enough to be copied inline and longer ones shared by count read the
/// same through slices, indexing and casts, in views and in what `get_buffer` hands out.
#[test]
fn formats_of_every_length_survive_derived_views() {
    use crate::exporters::ndarray::NdArray;
    use crate::layout::Order;
    // Short, 22 bytes (the longest kept inline), 23, and a long one; items of 24 bytes each.
    let formats: [&[u8]; 4] = [
        b"3d",
        b"T{<d:aaaaa:<d:b:<d:c:}",
        b"T{<d:aaaaaa:<d:b:<d:c:}",
        b"T{<d:alpha:<d:beta:<d:gamma:}",
    ];
    for fmt in formats {
        let itemsize = crate::format::itemsize(fmt).unwrap() as isize;
        let base = NdArray::zeros(fmt, &[4, 3], Order::C, 0).unwrap();
        let v = new(&base, XBUF_FULL_RO).unwrap();
        let s = slice(&v, &[all(), all()]).unwrap();
        let i = index(&s, &[0]).unwrap();
        let bytes = cast(&v, b"B", None).unwrap();
        let back = cast(&bytes, fmt, Some(&[12])).unwrap();
        let text = std::str::from_utf8(fmt).unwrap();
        for (what, obj) in [
            ("view", &v),
            ("slice", &s),
            ("index", &i),
            ("cast back", &back),
        ] {
            with(obj, |view| {
                assert_eq!(view.format().unwrap().to_bytes(), fmt, "{what} of {text}");
                assert_eq!(view.layout().itemsize, itemsize, "{what} of {text}");
                Ok(())
            })
            .unwrap();
            let mut info = xbuf_bufferinfo::empty();
            // SAFETY: a full-size struct, released below.
            unsafe { crate::bufferinfo::get_buffer(obj, &mut info, XBUF_FULL_RO) }.unwrap();
            // SAFETY: filled above, NUL-terminated.
            let got = unsafe { CStr::from_ptr(info.format) };
            assert_eq!(got.to_bytes(), fmt, "{what} of {text}");
            // SAFETY: filled above.
            unsafe { crate::bufferinfo::release(&mut info) }.unwrap();
        }
        with(&bytes, |view| {
            assert_eq!(view.format().unwrap(), c"B");
            assert_eq!(view.len(), 12 * itemsize);
            Ok(())
        })
        .unwrap();
        drop((v, s, i, bytes, back));
        assert_eq!(base.exports(), 0);
    }
}

/// Slices of direct layouts check and fail as the general path does, in the same order:
/// every range first, then the new strides, then the start (not checked when the result has
/// no items). Layouts without items may have any strides.
#[test]
fn direct_slices_fail_in_the_general_order() {
    use crate::exporters::ndarray::{NdArray, Spec};
    let big = isize::MAX / 2;
    let data = [0u8; 16];
    let empty = NdArray::new_object(&Spec {
        data: &data,
        format: b"B",
        shape: &[5, 0],
        strides: Some(&[big, 1]),
        offset: 0,
        flags: 0,
    })
    .unwrap();
    let v = new(&empty, XBUF_FULL_RO).unwrap();
    let r = |start, stop, step| SliceSpec { start, stop, step };
    // Two items left in dimension 0: their stride overflows, result empty or not.
    let e = slice(&v, &[r(0, 5, 3)]).unwrap_err();
    assert_eq!(e.status, Status::Overflow);
    assert!(
        e.message.contains("times step 3 in dimension 0"),
        "{}",
        e.message
    );
    // A bad range in a later dimension is reported first.
    let e = slice(&v, &[r(0, 5, 3), r(0, 0, 0)]).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(
        e.message.contains("step is zero in dimension 1"),
        "{}",
        e.message
    );
    // One item left: its stride is kept; its start overflows, but nothing is addressed.
    let s = slice(&v, &[r(4, 5, big)]).unwrap();
    with(&s, |view| {
        let l = view.layout();
        assert_eq!((&l.shape[..], &l.strides[..]), (&[1, 0][..], &[big, 1][..]));
        with(&v, |parent| {
            assert_eq!(l.buf, parent.layout().buf);
            Ok(())
        })
    })
    .unwrap();
    assert_eq!(empty.exports(), 2);
    drop((s, v));
    assert_eq!(empty.exports(), 0);
}
