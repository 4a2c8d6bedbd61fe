//! Tests of views over indirect (PIL-style) layouts and of Python's slice rules.

use super::*;
use crate::bufferinfo;
use crate::kernels;
use crate::layout::Order;

/// A PIL-style exporter over memory it owns, with row pointers wherever the test puts them
/// (here: at each row's first item, which is not its lowest address).
struct Rows {
    _data: Vec<u8>,
    /// Pointer tables: level 0 first (what `buf` points at), then deeper levels.
    tables: Vec<Box<[*mut u8]>>,
    shape: Vec<isize>,
    strides: Vec<isize>,
    subs: Vec<isize>,
    len: isize,
}
unsafe impl Send for Rows {}
unsafe impl Sync for Rows {}
impl Exporter for Rows {
    fn type_name(&self) -> &CStr {
        c"rows"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        Ok(Response {
            buf: self.tables[0].as_ptr() as *mut u8,
            len: self.len,
            format: Some(c"B"),
            ndim: self.shape.len(),
            shape: Some(&self.shape),
            strides: Some(&self.strides),
            suboffsets: Some(&self.subs),
            ..Response::default()
        })
    }
    any_impl!();
}

/// 3 rows of 4 bytes, `data[4i..4i + 4] = 4i..4i + 4`, read backwards: item (i, j) is
/// `4i + 3 - j`; row pointer i points at item (i, 0), the row's highest address.
fn backward_rows() -> ObjRef {
    let mut data: Vec<u8> = (0..12).collect();
    let base = data.as_mut_ptr();
    let table: Box<[*mut u8]> = (0..3).map(|i| base.wrapping_add(4 * i + 3)).collect();
    let p = std::mem::size_of::<*mut u8>() as isize;
    ObjRef::new(Rows {
        _data: data,
        tables: vec![table],
        shape: vec![3, 4],
        strides: vec![p, -1],
        subs: vec![0, -1],
        len: 12,
    })
}

fn c_bytes(obj: &Object) -> Vec<u8> {
    with(obj, |v| {
        let mut out = vec![0u8; v.len() as usize];
        unsafe { tobytes(v, Order::C, out.as_mut_ptr(), out.len()) }?;
        Ok(out)
    })
    .unwrap()
}

/// A view of `obj` sliced by `(start, stop, step)` per dimension (for the tests of other
/// modules that export views).
pub(crate) fn slice_of(obj: &Object, specs: &[(isize, isize, isize)]) -> ObjRef {
    let s: Vec<SliceSpec> = specs
        .iter()
        .map(|&(start, stop, step)| range(start, stop, step))
        .collect();
    slice(obj, &s).unwrap()
}

fn range(start: isize, stop: isize, step: isize) -> SliceSpec {
    SliceSpec { start, stop, step }
}
const O: isize = XBUF_SLICE_OMIT;

#[test]
fn slices_needing_a_negative_suboffset_get_their_own_table() {
    let rows = backward_rows();
    let v = new(&rows, XBUF_FULL_RO).unwrap();
    assert_eq!(c_bytes(&v), [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
    // a[:, 1:] moves each row's start one byte down, below its row pointer.
    let s = slice(&v, &[range(O, O, O), range(1, O, O)]).unwrap();
    assert_eq!(c_bytes(&s), [2, 1, 0, 6, 5, 4, 10, 9, 8]);
    // Its layout: its own table, each pointer the lowest address of its row.
    let mut info = xbuf_bufferinfo::empty();
    unsafe { bufferinfo::get_buffer(&s, &mut info, XBUF_FULL_RO) }.unwrap();
    let p = std::mem::size_of::<*mut u8>() as isize;
    unsafe {
        assert_eq!(std::slice::from_raw_parts(info.shape, 2), [3, 3]);
        assert_eq!(std::slice::from_raw_parts(info.strides, 2), [p, -1]);
        assert_eq!(std::slice::from_raw_parts(info.suboffsets, 2), [2, -1]);
        let table = bufferinfo::owned_table(&info).expect("a table of the view's own");
        assert_eq!(table.len(), 3);
        assert_eq!(info.buf as *const *mut u8, table.as_ptr());
        assert_eq!(*table[1], 4);
    }
    // The export outlives both view objects: its table is its own copy.
    drop(s);
    drop(v);
    let l = unsafe { Layout::from_view(&info) }.unwrap();
    let mut out = [0u8; 9];
    unsafe { kernels::to_contiguous(out.as_mut_ptr(), 9, &l, Order::C) }.unwrap();
    assert_eq!(out, [2, 1, 0, 6, 5, 4, 10, 9, 8]);
    unsafe { bufferinfo::release(&mut info) }.unwrap();
    assert_eq!(rows.exports(), 0);
}

#[test]
fn views_of_a_rebased_view_keep_reading_the_right_items() {
    let rows = backward_rows();
    let v = new(&rows, XBUF_FULL_RO).unwrap();
    // a[::-1, 2:0:-1]: rows 2, 1, 0; items 1, 2 of each (stride +1 after the reversal).
    let s = slice(&v, &[range(O, O, -1), range(2, 0, -1)]).unwrap();
    assert_eq!(c_bytes(&s), [9, 10, 5, 6, 1, 2]);
    // Slices of it share nothing with it: a[1:, ::-1] of that is rows 1, 0 reversed.
    let t = slice(&s, &[range(1, O, O), range(O, O, -1)]).unwrap();
    assert_eq!(c_bytes(&t), [6, 5, 2, 1]);
    // The new row pointers are their rows' lowest addresses: slicing further only moves
    // suboffsets up. [:, 1:]:
    let u = slice(&t, &[range(O, O, O), range(1, O, O)]).unwrap();
    assert_eq!(c_bytes(&u), [5, 1]);
    // Indexing follows the table; a view of a view copies it.
    let w = index(&s, &[2]).unwrap();
    assert_eq!(c_bytes(&w), [1, 2]);
    let x = new(&s, XBUF_FULL_RO).unwrap();
    drop(s);
    assert_eq!(c_bytes(&x), [9, 10, 5, 6, 1, 2]);
    assert_eq!(item_pointer(&x, &[1, 1]).map(|p| unsafe { *p }).unwrap(), 6);
    assert_eq!(tolist(&x).unwrap(), "[[9, 10], [5, 6], [1, 2]]");
    // Empty results keep their start and need no table.
    let e = slice(&v, &[range(O, O, O), range(4, O, O)]).unwrap();
    assert_eq!(c_bytes(&e), []);
    drop((v, t, u, w, x, e));
    assert_eq!(rows.exports(), 0);
}

#[test]
fn a_second_level_of_rows_is_rebased_through_the_first() {
    // 2 x 2 x 3 bytes with two levels of pointers: level 0 holds 2 pointers to level-1
    // tables of 2 pointers each, which point at the last byte of 3-byte rows (strides -1).
    let mut data: Vec<u8> = (0..12).collect();
    let base = data.as_mut_ptr();
    let level1: Vec<Box<[*mut u8]>> = (0..2)
        .map(|i| {
            (0..2)
                .map(|j| base.wrapping_add(6 * i + 3 * j + 2))
                .collect()
        })
        .collect();
    let level0: Box<[*mut u8]> = level1.iter().map(|t| t.as_ptr() as *mut u8).collect();
    let p = std::mem::size_of::<*mut u8>() as isize;
    let mut tables = vec![level0];
    tables.extend(level1);
    let rows = ObjRef::new(Rows {
        _data: data,
        tables,
        shape: vec![2, 2, 3],
        strides: vec![p, p, -1],
        subs: vec![0, 0, -1],
        len: 12,
    });
    let v = new(&rows, XBUF_FULL_RO).unwrap();
    assert_eq!(c_bytes(&v), [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
    // a[1:, ::-1, 1:]: dimension 2's start moves suboffsets[1] below 0; dimension 1's
    // reversal moves suboffsets[0] up, which stays valid.
    let s = slice(&v, &[range(1, O, O), range(O, O, -1), range(1, O, O)]).unwrap();
    assert_eq!(c_bytes(&s), [10, 9, 7, 6]);
    let mut info = xbuf_bufferinfo::empty();
    unsafe { bufferinfo::get_buffer(&s, &mut info, XBUF_FULL_RO) }.unwrap();
    unsafe {
        // Dimension 0 steps over the table, dimension 1 reads it.
        assert_eq!(std::slice::from_raw_parts(info.strides, 3), [2 * p, p, -1]);
        assert_eq!(std::slice::from_raw_parts(info.suboffsets, 3), [-1, 1, -1]);
        assert_eq!(bufferinfo::owned_table(&info).map(<[_]>::len), Some(2));
        bufferinfo::release(&mut info).unwrap();
    }
    // Requests without XBUF_INDIRECT are refused, as for any indirect layout.
    assert_eq!(
        unsafe { bufferinfo::get_buffer(&s, &mut info, XBUF_RECORDS_RO) }
            .unwrap_err()
            .status,
        crate::status::Status::Request
    );
    drop((s, v));
    assert_eq!(rows.exports(), 0);
}

fn indices(n: isize, start: isize, stop: isize, step: isize) -> Vec<isize> {
    let (s, st, c) = SliceSpec { start, stop, step }.resolve(n, 0).unwrap();
    (0..c).map(|k| s + k * st).collect()
}

#[test]
fn python_slice_semantics() {
    assert_eq!(indices(5, O, O, O), [0, 1, 2, 3, 4]);
    assert_eq!(indices(5, 1, 4, 2), [1, 3]);
    assert_eq!(indices(5, O, O, -1), [4, 3, 2, 1, 0]);
    assert_eq!(indices(5, -2, O, O), [3, 4]);
    assert_eq!(indices(5, O, -6, -1), [4, 3, 2, 1, 0]);
    assert_eq!(indices(5, 10, O, -2), [4, 2, 0]);
    assert_eq!(indices(5, -100, 100, 3), [0, 3]);
    assert_eq!(indices(5, 3, 1, 1), Vec::<isize>::new());
    assert_eq!(indices(0, O, O, -1), Vec::<isize>::new());
    assert_eq!(indices(5, isize::MIN + 1, isize::MAX, isize::MAX), [0]);
    let e = SliceSpec {
        start: 0,
        stop: 1,
        step: 0,
    }
    .resolve(5, 2)
    .unwrap_err();
    assert_eq!(e.status, crate::status::Status::InvalidArgument);
    assert!(e.message.contains("dimension 2"));
}

/// A 4x6 grid of bytes that counts its `get_buffer` calls and the views handed back to it.
struct Counting {
    data: Vec<u8>,
    gets: std::sync::atomic::AtomicUsize,
    releases: std::sync::atomic::AtomicUsize,
    wants_views: bool,
}
impl Exporter for Counting {
    fn type_name(&self) -> &CStr {
        c"counting"
    }
    fn get_buffer<'a>(
        &'a self,
        _: &'a Object,
        _: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        Ok(Response {
            buf: self.data.as_ptr() as *mut u8,
            len: 24,
            format: Some(c"B"),
            ndim: 2,
            shape: Some(&[4, 6]),
            strides: Some(&[6, 1]),
            ..Response::default()
        })
    }
    fn releases_views(&self) -> bool {
        self.wants_views
    }
    fn release_buffer(&self, _: &Object, view: *mut xbuf_bufferinfo) {
        if !view.is_null() {
            self.releases.fetch_add(1, Ordering::SeqCst);
        }
    }
    any_impl!();
}

#[test]
fn derived_views_never_ask_the_exporter_and_count_one_export_each() {
    for wants_views in [false, true] {
        let grid = ObjRef::new(Counting {
            data: (0..24).collect(),
            gets: Default::default(),
            releases: Default::default(),
            wants_views,
        });
        let c = grid.downcast::<Counting>("counting").unwrap();
        let v = new(&grid, XBUF_FULL_RO).unwrap();
        let s = slice(&v, &[range(1, O, 2), range(O, O, -1)]).unwrap();
        let i = index(&s, &[1]).unwrap();
        let p = permute(&v, None).unwrap();
        let k = cast(&v, b"<H", None).unwrap();
        // Only the first view asked; every view counts one export on the grid.
        assert_eq!(c.gets.load(Ordering::SeqCst), 1);
        assert_eq!(grid.exports(), 5);
        assert_eq!(c_bytes(&s), [11, 10, 9, 8, 7, 6, 23, 22, 21, 20, 19, 18]);
        assert_eq!(c_bytes(&i), [23, 22, 21, 20, 19, 18]);
        assert_eq!(&c_bytes(&p)[..4], [0, 6, 12, 18]);
        assert_eq!(c_bytes(&k), c_bytes(&v));
        // An explicit release returns that view's export only; its children keep theirs.
        release(&s).unwrap();
        assert_eq!(grid.exports(), 4);
        assert_eq!(c_bytes(&i), [23, 22, 21, 20, 19, 18]);
        drop((v, s, i, p, k));
        assert_eq!(grid.exports(), 0);
        // The first view's answer always goes back to the exporter; a derived view's only
        // when the exporter wants views.
        let expect = if wants_views { 5 } else { 1 };
        assert_eq!(c.releases.load(Ordering::SeqCst), expect);
    }
}

/// Views derived in place (slice, index): a failure part-way returns the export the new view
/// had taken and leaves the parent as it was; a layout of more dimensions than kept inline
/// (on the heap) is derived the same way.
#[test]
fn derived_in_place_failures_give_the_export_back() {
    use crate::exporters::ndarray::NdArray;
    use crate::status::Status;
    for ndim in [2usize, 9] {
        let shape: Vec<isize> = (0..ndim).map(|d| if d < 2 { 4 } else { 1 }).collect();
        let base = NdArray::zeros(b"B", &shape, Order::C, 0).unwrap();
        let v = new(&base, XBUF_FULL_RO).unwrap();
        assert_eq!(base.exports(), 1);
        // A zero step in the second dimension fails after the first was resolved.
        let bad = [
            SliceSpec {
                start: 1,
                stop: 3,
                step: 1,
            },
            SliceSpec {
                start: 0,
                stop: 4,
                step: 0,
            },
        ];
        assert_eq!(slice(&v, &bad).unwrap_err().status, Status::InvalidArgument);
        // An index out of bounds in the second dimension, after the first was applied.
        assert_eq!(index(&v, &[1, 9]).unwrap_err().status, Status::OutOfBounds);
        assert_eq!(base.exports(), 1);
        with(&v, |p| {
            assert_eq!(&p.layout().shape[..], &shape[..]);
            Ok(())
        })
        .unwrap();
        // And a good slice afterwards: one export more, the layout sliced.
        let good = [SliceSpec {
            start: 3,
            stop: XBUF_SLICE_OMIT,
            step: -2,
        }];
        let s = slice(&v, &good).unwrap();
        assert_eq!(base.exports(), 2);
        with(&s, |p| {
            let l = p.layout();
            assert_eq!(l.shape[0], 2);
            assert_eq!(l.strides[0], -8);
            assert_eq!(&l.shape[1..], &shape[1..]);
            Ok(())
        })
        .unwrap();
        drop(s);
        drop(v);
        assert_eq!(base.exports(), 0);
    }
}
