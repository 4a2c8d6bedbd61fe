//! The export's per-thread memory of tensor plans and its reused schema blocks, checked
//! against the planner and the metadata writer they stand in for: hits and misses, layouts
//! that differ only where the planner looks (the first axis's extent and stride), refused
//! layouts (never kept), tensors of more axes than a key holds, and spare blocks last written
//! for another tensor or another kind of schema.

use super::export::*;
use super::memo;
use super::metadata::*;
use super::view_tests::{take, Seen, SeenArray, SeenSchema};
use super::{EXT_META, EXT_NAME, FORMAT_KEY, TENSOR};
use crate::bufferinfo::HeldView;
use crate::capi::XBUF_FULL_RO;
use crate::exporters::ndarray::{NdArray, Spec};
use crate::object::ObjRef;

/// A built-in array of `fmt` items with this shape and these strides over zeroed memory.
fn array(fmt: &[u8], shape: &[isize], strides: &[isize]) -> ObjRef {
    let data = vec![0u8; 8192];
    NdArray::new_object(&Spec {
        data: &data,
        format: fmt,
        shape,
        strides: Some(strides),
        offset: 0,
        flags: 0,
    })
    .unwrap()
}

/// The first item's address of `obj`.
fn buf_of(obj: &ObjRef) -> usize {
    let v = HeldView::get(obj, XBUF_FULL_RO).unwrap();
    // SAFETY: a view the library filled, held until the end of the statement.
    unsafe { (*v.ptr()).buf as usize }
}

/// The schema of one item as the export writes it.
fn item(
    format: &[u8],
    name: Option<&[u8]>,
    metadata: Option<Vec<(Vec<u8>, Vec<u8>)>>,
) -> SeenSchema {
    SeenSchema {
        format: format.to_vec(),
        name: name.map(<[u8]>::to_vec),
        metadata,
        flags: 2,
        children: vec![],
        dictionary: false,
    }
}

/// What the export of `obj` (of these shape and strides) must be, from the planner and the
/// metadata writer: a tensor array over `child`, or the planner's refusal.
fn expected(
    obj: &ObjRef,
    shape: &[isize],
    strides: &[isize],
    itemsize: isize,
    child: SeenSchema,
) -> Seen {
    let (length, physical, permutation) = match plan(shape, Some(strides), itemsize) {
        Ok(Plan::Tensor {
            length,
            shape,
            permutation,
        }) => (length, shape, permutation),
        Ok(Plan::Flat(_)) => panic!("two or more dimensions"),
        Err(e) => return Err((e.status, e.message.clone())),
    };
    let k: isize = physical.iter().product();
    let json = tensor_meta_json(&physical, permutation.as_deref());
    Ok((
        SeenSchema {
            format: format!("+w:{k}").into_bytes(),
            name: None,
            metadata: Some(vec![
                (EXT_NAME.as_bytes().to_vec(), TENSOR.as_bytes().to_vec()),
                (EXT_META.as_bytes().to_vec(), json.into_bytes()),
            ]),
            flags: 2,
            children: vec![child],
            dictionary: false,
        },
        SeenArray {
            length: length as i64,
            null_count: 0,
            offset: 0,
            buffers: vec![0],
            children: vec![SeenArray {
                length: (length * k) as i64,
                null_count: 0,
                offset: 0,
                buffers: vec![0, buf_of(obj)],
                children: vec![],
                dictionary: false,
            }],
            dictionary: false,
        },
    ))
}

/// An array's item format, item size, shape and strides.
type Layout<'a> = (&'a [u8], isize, Vec<isize>, Vec<isize>);

#[test]
fn remembered_tensor_plans_are_the_planners() {
    let wide_shape = [2isize; 10];
    let wide_strides: Vec<isize> = (0..10).rev().map(|d| 4 << d).collect();
    let nine_shape = [2isize; 9];
    let nine_strides: Vec<isize> = (0..9).rev().map(|d| 4 << d).collect();
    // (format, item size, shape, strides): C order, tensor axes permuted, another first
    // extent (a hit), a first axis of extent 1 or 0 (its stride unread, and a zero-length
    // permuted layout planned as the identity), a gap after the tensors and in them (refused,
    // right after the same tensors were kept), an axis of extent 1 with any stride, another
    // item size with the same extents, eight tensor axes (the most a key holds) and nine.
    let cases: Vec<Layout> = vec![
        (b"f", 4, vec![2, 3, 4], vec![48, 16, 4]),
        (b"f", 4, vec![2, 3, 4], vec![48, 16, 4]),
        (b"f", 4, vec![2, 3, 4], vec![48, 4, 12]),
        (b"f", 4, vec![5, 3, 4], vec![48, 4, 12]),
        (b"f", 4, vec![5, 3, 4], vec![48, 16, 4]),
        (b"f", 4, vec![1, 3, 4], vec![7, 16, 4]),
        (b"f", 4, vec![1, 3, 4], vec![48, 16, 4]),
        (b"f", 4, vec![0, 3, 4], vec![48, 4, 12]),
        (b"f", 4, vec![2, 3, 4], vec![48, 4, 12]),
        (b"f", 4, vec![2, 3, 4], vec![52, 16, 4]),
        (b"f", 4, vec![2, 3, 4], vec![48, 16, 4]),
        (b"f", 4, vec![2, 3, 4], vec![96, 32, 8]),
        (b"f", 4, vec![3, 1, 4], vec![16, 999, 4]),
        (b"f", 4, vec![3, 1, 4], vec![16, 4, 4]),
        (b"d", 8, vec![2, 3, 4], vec![96, 32, 8]),
        (b"d", 8, vec![2, 3, 4], vec![96, 8, 24]),
        (b"f", 4, nine_shape.to_vec(), nine_strides.clone()),
        (b"f", 4, nine_shape.to_vec(), nine_strides),
        (b"f", 4, wide_shape.to_vec(), wide_strides.clone()),
        (b"f", 4, wide_shape.to_vec(), wide_strides),
        (b"f", 4, vec![2, 3, 4], vec![48, 16, 4]),
    ];
    for forget in [false, true] {
        memo::forget();
        for (fmt, itemsize, shape, strides) in &cases {
            let obj = array(fmt, shape, strides);
            let arrow_fmt: &[u8] = if *itemsize == 4 { b"f" } else { b"g" };
            let want = expected(
                &obj,
                shape,
                strides,
                *itemsize,
                item(arrow_fmt, Some(b"item"), None),
            );
            // Twice in a row: the second a hit where the first was kept.
            for _ in 0..2 {
                if forget {
                    memo::forget();
                }
                assert_eq!(take(build(&obj), true), want, "{shape:?} {strides:?}");
            }
        }
    }
}

#[test]
fn reused_schema_blocks_are_rewritten_for_other_schemas() {
    let c = |n: isize| array(b"f", &[n, 3, 4], &[48, 16, 4]);
    let permuted = array(b"f", &[2, 3, 4], &[48, 4, 12]);
    let other = array(b"f", &[2, 4, 3], &[48, 12, 4]);
    let records = array(b"T{i:a:f:b:}", &[2, 3], &[24, 8]);
    let f = |obj: &ObjRef, shape: &[isize], strides: &[isize]| {
        expected(obj, shape, strides, 4, item(b"f", Some(b"item"), None))
    };
    let record_meta = Some(vec![(
        FORMAT_KEY.as_bytes().to_vec(),
        b"T{i:a:f:b:}".to_vec(),
    )]);
    let want_records = expected(
        &records,
        &[2, 3],
        &[24, 8],
        8,
        item(b"w:8", Some(b"item"), record_meta),
    );
    // Fixed-size binary items of 8 bytes: the same size, other formats (one of the same
    // length).
    let flat = |fmt: &[u8]| {
        let obj = array(fmt, &[3], &[8]);
        let want = Ok((
            item(
                b"w:8",
                None,
                Some(vec![(FORMAT_KEY.as_bytes().to_vec(), fmt.to_vec())]),
            ),
            SeenArray {
                length: 3,
                null_count: 0,
                offset: 0,
                buffers: vec![0, buf_of(&obj)],
                children: vec![],
                dictionary: false,
            },
        ));
        (obj, want)
    };
    let (flat_records, want_flat_records) = flat(b"T{i:a:f:b:}");
    let (flat_swapped, want_flat_swapped) = flat(b"T{f:a:i:b:}");
    let (flat_big, want_flat_big) = flat(b">q");
    let (flat_pair, want_flat_pair) = flat(b"2f");
    let c2 = c(2);
    let c7 = c(7);
    let sequence: Vec<(&ObjRef, Seen)> = vec![
        (&c2, f(&c2, &[2, 3, 4], &[48, 16, 4])),
        (&c7, f(&c7, &[7, 3, 4], &[48, 16, 4])),
        (&permuted, f(&permuted, &[2, 3, 4], &[48, 4, 12])),
        (&c2, f(&c2, &[2, 3, 4], &[48, 16, 4])),
        (&flat_records, want_flat_records.clone()),
        (&flat_swapped, want_flat_swapped),
        (&flat_records, want_flat_records),
        (&flat_big, want_flat_big),
        (&flat_pair, want_flat_pair),
        (&c2, f(&c2, &[2, 3, 4], &[48, 16, 4])),
        (&records, want_records),
        (&other, f(&other, &[2, 4, 3], &[48, 12, 4])),
        (&permuted, f(&permuted, &[2, 3, 4], &[48, 4, 12])),
    ];
    for (obj, want) in &sequence {
        // Released at once (its block kept as a spare for the next export), the schema first
        // or the array first.
        assert_eq!(&take(build(obj), true), want);
        assert_eq!(&take(build(obj), false), want);
    }
    // Several schemas alive at once (blocks beyond the spare slots), released in another order
    // than made, then all again from the blocks they left.
    for _ in 0..2 {
        let made: Vec<_> = sequence.iter().map(|(obj, _)| build(obj)).collect();
        let seen: Vec<Seen> = made.into_iter().rev().map(|m| take(m, true)).collect();
        for ((_, want), got) in sequence.iter().zip(seen.iter().rev()) {
            assert_eq!(got, want);
        }
    }
}

#[test]
fn reused_binary_blocks_keep_their_size() {
    use super::plan::ItemType;
    use super::schema::item_schema;
    use std::ffi::CStr;
    let text: &[u8] = b"T{i:a:f:b:}";
    // The same text for items of several sizes (a view cast to a larger item, say): each
    // released at once, so that the next one takes its block.
    for n in [8usize, 16, 16, 8, 12] {
        let mut s = item_schema(&ItemType::Binary(n), Some(text), Some(c"item")).unwrap();
        unsafe {
            assert_eq!(
                CStr::from_ptr(s.format).to_bytes(),
                format!("w:{n}").as_bytes()
            );
            assert_eq!(CStr::from_ptr(s.name).to_bytes(), b"item");
            assert_eq!(
                decode_metadata(s.metadata).unwrap(),
                vec![(FORMAT_KEY.as_bytes(), text)]
            );
            (s.release.unwrap())(&mut s);
        }
    }
}

/// Tensor layouts exported in turn, up to as many as a thread remembers and more: every export
/// is the planner's and the writer's, whichever memories hold it; up to four layouts in turn
/// are all planned once, five in turn each push the next out before it comes again.
#[test]
fn tensor_layouts_in_turn() {
    let layouts: Vec<(Vec<isize>, Vec<isize>)> = vec![
        (vec![2, 3, 4], vec![48, 16, 4]),
        (vec![2, 3, 4], vec![48, 4, 12]),
        (vec![4, 2, 3], vec![24, 12, 4]),
        (vec![2, 2, 2, 3], vec![48, 24, 12, 4]),
        (vec![3, 8], vec![32, 4]),
        (vec![2, 3, 4], vec![48, 16, 4]),
    ];
    let objs: Vec<ObjRef> = layouts.iter().map(|(s, st)| array(b"f", s, st)).collect();
    for n in [2, 4, 5, 6] {
        memo::forget();
        let hits = memo::plan_hits();
        for round in 0..3 {
            for (k, (shape, strides)) in layouts[..n].iter().enumerate() {
                let want = expected(&objs[k], shape, strides, 4, item(b"f", Some(b"item"), None));
                assert_eq!(
                    take(build(&objs[k]), round % 2 == 0),
                    want,
                    "{n} in turn, {k}"
                );
            }
        }
        let taken = memo::plan_hits() - hits;
        match n {
            2 | 4 => assert_eq!(taken, 2 * n, "{n} in turn"),
            5 => assert_eq!(taken, 0, "{n} in turn"),
            // The sixth layout is the first again.
            _ => {}
        }
    }
}
