//! Unit tests of the Arrow export and import: item types, layout plans, metadata and tensor
//! JSON (hostile input too), round trips, refusals, null counts and ownership across threads.

use super::export::*;
use super::import::*;
use super::metadata::*;
use super::*;
use crate::bufferinfo;
use crate::capi::{XBUF_FULL_RO, XBUF_WRITABLE};
use crate::exporters::ndarray::{NdArray, Spec};
use crate::object::ObjRef;
use crate::status::Status;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

fn ndarray(fmt: &[u8], shape: &[isize], strides: Option<&[isize]>, data: &[u8]) -> ObjRef {
    NdArray::new_object(&Spec {
        data,
        format: fmt,
        shape,
        strides,
        offset: 0,
        flags: 0,
    })
    .unwrap()
}

#[test]
fn item_types() {
    let t = |f: &str, n| item_type(Some(f.as_bytes()), n).unwrap();
    assert_eq!(t("b", 1), ItemType::Primitive(c"c"));
    assert_eq!(t("<H", 2), ItemType::Primitive(c"S"));
    assert_eq!(t("l", 8), ItemType::Primitive(c"l"));
    assert_eq!(t("=l", 4), ItemType::Primitive(c"i"));
    assert_eq!(t("Q", 8), ItemType::Primitive(c"L"));
    assert_eq!(t("e", 2), ItemType::Primitive(c"e"));
    assert_eq!(t("d", 8), ItemType::Primitive(c"g"));
    assert_eq!(t(">b", 1), ItemType::Primitive(c"c"));
    assert_eq!(t("?", 1), ItemType::Bool8);
    assert_eq!(t(">i", 4), ItemType::Binary(4));
    assert_eq!(t("g", 16), ItemType::Binary(16));
    assert_eq!(t("Zd", 16), ItemType::Binary(16));
    assert_eq!(t("T{i:a:}", 4), ItemType::Binary(4));
    assert_eq!(t("2i", 8), ItemType::Binary(8));
    assert_eq!(t("c", 1), ItemType::Binary(1));
    assert_eq!(t("5s", 5), ItemType::Binary(5));
    assert_eq!(item_type(None, 1).unwrap(), ItemType::Primitive(c"C"));
    assert_eq!(item_type(None, 3).unwrap(), ItemType::Binary(3));
}

#[test]
fn plans() {
    assert_eq!(plan(&[], None, 4).unwrap(), Plan::Flat(1));
    assert_eq!(plan(&[5], Some(&[4]), 4).unwrap(), Plan::Flat(5));
    assert_eq!(plan(&[1], Some(&[99]), 4).unwrap(), Plan::Flat(1));
    let e = plan(&[5], Some(&[8]), 4).unwrap_err();
    assert_eq!(e.status, Status::NotContiguous);
    let tensor = |length, shape: &[isize], perm: Option<&[usize]>| Plan::Tensor {
        length,
        shape: Axes::from_slice(shape),
        permutation: perm.map(Axes::from_slice),
    };
    // C order.
    assert_eq!(
        plan(&[2, 3, 4], Some(&[48, 16, 4]), 4).unwrap(),
        tensor(2, &[3, 4], None)
    );
    // Each tensor in Fortran order: logical (3, 4), physical (4, 3).
    assert_eq!(
        plan(&[2, 3, 4], Some(&[48, 4, 12]), 4).unwrap(),
        tensor(2, &[4, 3], Some(&[1, 0]))
    );
    // A three-cycle: logical (3, 4, 5) stored as physical (4, 5, 3): logical axis 0 is
    // physical axis 2, 1 is 0, 2 is 1.
    assert_eq!(
        plan(&[2, 3, 4, 5], Some(&[240, 4, 60, 12]), 4).unwrap(),
        tensor(2, &[4, 5, 3], Some(&[2, 0, 1]))
    );
    // Extent-1 axes with any stride keep the identity.
    assert_eq!(
        plan(&[2, 1, 4], Some(&[16, 999, 4]), 4).unwrap(),
        tensor(2, &[1, 4], None)
    );
    // Whole-array Fortran order: axis 0 innermost.
    for (shape, strides) in [(&[2, 3][..], &[4, 8][..]), (&[2, 3, 4], &[4, 8, 1])] {
        let e = plan(shape, Some(strides), if shape.len() == 2 { 4 } else { 1 }).unwrap_err();
        assert_eq!(e.status, Status::NotContiguous);
        assert!(
            e.message.contains("axis 0 is not the outermost"),
            "{}",
            e.message
        );
    }
    // Gaps, negative steps, overlaps.
    for strides in [[32, 8], [-16, 4], [0, 4], [16, -4]] {
        let e = plan(&[2, 4], Some(&strides), 4).unwrap_err();
        assert_eq!(e.status, Status::NotContiguous, "{strides:?}");
    }
    // No items: any strides.
    assert_eq!(
        plan(&[2, 0, 3], Some(&[1, 2, 3]), 4).unwrap(),
        tensor(2, &[0, 3], None)
    );
}

#[test]
fn metadata_round_trip() {
    let blob = encode_metadata(&[("a", b"xyz"), ("", b"")]).unwrap();
    let pairs = unsafe { decode_metadata(blob.as_ptr().cast()) }.unwrap();
    assert_eq!(pairs, vec![(&b"a"[..], &b"xyz"[..]), (&b""[..], &b""[..])]);
    assert!(unsafe { decode_metadata(std::ptr::null()) }
        .unwrap()
        .is_empty());
    let bad = (-1i32).to_ne_bytes();
    assert_eq!(
        unsafe { decode_metadata(bad.as_ptr().cast()) }
            .unwrap_err()
            .status,
        Status::InvalidArgument
    );
}

#[test]
fn tensor_json() {
    let m = parse_tensor_meta(br#"{"shape":[2,3],"permutation":[1,0]}"#).unwrap();
    assert_eq!(m.shape, vec![2, 3]);
    assert_eq!(m.permutation, Some(vec![1, 0]));
    let m = parse_tensor_meta(
        br#" { "dim_names" : ["C", "H\"W"], "shape": [ 100, 200 ], "x": {"y": [1, -2.5e3, null, true]} } "#,
    )
    .unwrap();
    assert_eq!(
        m,
        TensorMeta {
            shape: vec![100, 200],
            permutation: None
        }
    );
    assert_eq!(
        parse_tensor_meta(br#"{"shape":[]}"#).unwrap().shape,
        Vec::<usize>::new()
    );
    for bad in [
        &br#"{"shape":[2,3],"permutation":[0,0]}"#[..],
        br#"{"shape":[2,3],"permutation":[0]}"#,
        br#"{"shape":[2,3],"permutation":[0,2]}"#,
        br#"{"permutation":[0]}"#,
        br#"{"shape":[-1]}"#,
        br#"{"shape":[1,2}"#,
        br#"{"shape":[1]} x"#,
        br#"{"shape":[99999999999999999999999]}"#,
        b"",
        br#"{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
    ] {
        let e = parse_tensor_meta(bad).unwrap_err();
        assert!(matches!(e.status, Status::InvalidArgument | Status::Overflow), "{e:?}");
    }
    assert_eq!(
        tensor_meta_json(&[4, 3], Some(&[1, 0])),
        r#"{"shape":[4,3],"permutation":[1,0]}"#
    );
    assert_eq!(tensor_meta_json(&[], None), r#"{"shape":[]}"#);
}

/// Reads a view's layout: (format, shape, strides, readonly, buf).
fn layout_of(obj: &ObjRef) -> (String, Vec<isize>, Vec<isize>, bool, *mut u8) {
    let v = bufferinfo::HeldView::get(obj, XBUF_FULL_RO).unwrap();
    unsafe {
        let p = &*v.ptr();
        let n = p.ndim as usize;
        (
            CStr::from_ptr(p.format).to_str().unwrap().to_string(),
            std::slice::from_raw_parts(p.shape, n).to_vec(),
            std::slice::from_raw_parts(p.strides, n).to_vec(),
            p.readonly != 0,
            p.buf.cast(),
        )
    }
}

#[test]
fn round_trips() {
    let data: Vec<u8> = (0..48).collect();
    type Case<'a> = (&'a [u8], &'a [isize], Option<&'a [isize]>, &'a str);
    let cases: &[Case] = &[
        (b"i", &[12], None, "i"),
        (b"l", &[6], None, "q"),
        (b"?", &[48], None, "?"),
        (b"<d", &[6], None, "d"),
        (b"T{h:a:h:b:}", &[12], None, "T{h:a:h:b:}"),
        (b">i", &[3, 4], None, ">i"),
        (b"H", &[2, 3, 4], Some(&[24, 2, 6]), "H"),
        (b"f", &[], None, "f"),
    ];
    for &(fmt, shape, strides, want) in cases {
        let obj = ndarray(fmt, shape, strides, &data);
        let (_, _, want_strides, _, want_buf) = layout_of(&obj);
        let mut s = ArrowSchema::released();
        let mut a = ArrowArray::released();
        unsafe { export(&obj, &mut s, &mut a) }.unwrap();
        drop(obj);
        let back = unsafe { import(&s, &mut a, 0) }.unwrap();
        assert!(a.release.is_none());
        unsafe { (s.release.unwrap())(&mut s) };
        assert!(s.release.is_none());
        let (f, sh, st, ro, buf) = layout_of(&back);
        let want_shape: &[isize] = if shape.is_empty() { &[1] } else { shape };
        let want_strides: &[isize] = if shape.is_empty() {
            &[4]
        } else {
            &want_strides
        };
        assert_eq!(
            (f.as_str(), &sh[..], &st[..], ro, buf),
            (want, want_shape, want_strides, true, want_buf)
        );
        assert_eq!(
            HeldViewErr::writable(&back),
            Status::ReadOnly,
            "{}",
            String::from_utf8_lossy(fmt)
        );
    }
}

struct HeldViewErr;
impl HeldViewErr {
    fn writable(obj: &ObjRef) -> Status {
        bufferinfo::HeldView::get(obj, XBUF_FULL_RO | XBUF_WRITABLE)
            .err()
            .unwrap()
            .status
    }
}

#[test]
fn export_refusals_leave_released_structs() {
    let data = [0u8; 64];
    let obj = ndarray(b"i", &[2, 3], Some(&[4, 8]), &data);
    let mut s = ArrowSchema::released();
    let mut a = ArrowArray::released();
    let e = unsafe { export(&obj, &mut s, &mut a) }.unwrap_err();
    assert_eq!(e.status, Status::NotContiguous);
    assert!(s.release.is_none() && a.release.is_none());
    assert_eq!(obj.exports(), 0);
}

static RELEASED: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn count_release(a: *mut ArrowArray) {
    RELEASED.fetch_add(1, Ordering::SeqCst);
    (*a).release = None;
}

#[test]
fn import_checks_and_ownership() {
    let data: [i32; 6] = [1, 2, 3, 4, 5, 6];
    // Slot 3 is null (bit 3 clear).
    let validity = [0b1111_0111u8];
    let mut buffers: [*const c_void; 2] = [validity.as_ptr().cast(), data.as_ptr().cast()];
    let mut schema = ArrowSchema::released();
    schema.format = c"i".as_ptr();
    schema.release = Some({
        unsafe extern "C" fn r(s: *mut ArrowSchema) {
            (*s).release = None;
        }
        r
    });
    let mk = |buffers: &mut [*const c_void; 2]| ArrowArray {
        length: 4,
        null_count: 0,
        offset: 2,
        n_buffers: 2,
        n_children: 0,
        buffers: buffers.as_mut_ptr(),
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: Some(count_release),
        private_data: std::ptr::null_mut(),
    };
    let before = RELEASED.load(Ordering::SeqCst);
    // Unknown flags, nulls, bad buffer counts: nothing moved.
    let mut a = mk(&mut buffers);
    assert_eq!(
        unsafe { import(&schema, &mut a, 2) }.unwrap_err().status,
        Status::InvalidArgument
    );
    for n in [1, -1] {
        a.null_count = n;
        let e = unsafe { import(&schema, &mut a, 0) }.unwrap_err();
        assert!(e.message.contains("1 null slot"), "{}", e.message);
    }
    // Slots 4 and 5 only (offset 4): no null among them.
    a.offset = 4;
    a.length = 2;
    drop(unsafe { import(&schema, &mut a, 0) }.unwrap());
    assert_eq!(RELEASED.load(Ordering::SeqCst), before + 1);
    let before = before + 1;
    a = mk(&mut buffers);
    a.null_count = 1;
    // Through the array's own pointer to the list (the list's owner is lent to it).
    unsafe { *a.buffers = std::ptr::null() };
    assert_eq!(
        unsafe { import(&schema, &mut a, 0) }.unwrap_err().status,
        Status::InvalidArgument
    );
    unsafe { *a.buffers = validity.as_ptr().cast() };
    drop(unsafe { import(&schema, &mut a, IGNORE_VALIDITY) }.unwrap());
    assert_eq!(RELEASED.load(Ordering::SeqCst), before + 1);
    let before = before + 1;
    a = mk(&mut buffers);
    a.n_buffers = 3;
    assert_eq!(
        unsafe { import(&schema, &mut a, 0) }.unwrap_err().status,
        Status::InvalidArgument
    );
    a.n_buffers = 2;
    assert!(a.release.is_some());
    assert_eq!(RELEASED.load(Ordering::SeqCst), before);
    // Success: moved; offset honoured; released once when the object goes.
    let obj = unsafe { import(&schema, &mut a, 0) }.unwrap();
    assert!(a.release.is_none());
    let (_, shape, _, _, buf) = layout_of(&obj);
    assert_eq!(shape, vec![4]);
    assert_eq!(unsafe { *buf.cast::<i32>() }, 3);
    let v = bufferinfo::HeldView::get(&obj, XBUF_FULL_RO).unwrap();
    drop(obj);
    assert_eq!(RELEASED.load(Ordering::SeqCst), before);
    drop(v);
    assert_eq!(RELEASED.load(Ordering::SeqCst), before + 1);
}

/// Every permutation of the tensor axes of random shapes (up to four tensor axes, extents 1
/// to 3): the export describes it with a permutation, and the import gives back exactly the
/// original shape and strides over the same memory.
#[test]
fn permuted_layouts_round_trip() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for at in 0..=p.len() {
                let mut q = p.clone();
                q.insert(at, n - 1);
                out.push(q);
            }
        }
        out
    }
    let mut cases = 0;
    for tensor_axes in 1..=4usize {
        for order in permutations(tensor_axes) {
            for _ in 0..3 {
                let length = 1 + next(3) as isize;
                let mut shape = vec![length];
                shape.extend((0..tensor_axes).map(|_| 1 + next(3) as isize));
                // Lay the tensor axes out C-contiguously in `order` (outermost first).
                let itemsize = 2isize;
                let mut strides = vec![0isize; shape.len()];
                let mut step = itemsize;
                for &t in order.iter().rev() {
                    strides[t + 1] = step;
                    step *= shape[t + 1];
                }
                strides[0] = step;
                let data = vec![0u8; (step * length) as usize];
                let obj = ndarray(b"<h", &shape, Some(&strides), &data);
                let (_, _, _, _, buf) = layout_of(&obj);
                let mut s = ArrowSchema::released();
                let mut a = ArrowArray::released();
                unsafe { export(&obj, &mut s, &mut a) }.unwrap();
                let back = unsafe { import(&s, &mut a, 0) }.unwrap();
                unsafe { (s.release.unwrap())(&mut s) };
                let (f, sh, st, _, b) = layout_of(&back);
                // Extent-1 axes may come back with other strides (they never matter).
                let norm = |st: &[isize]| -> Vec<isize> {
                    st.iter()
                        .zip(&shape)
                        .map(|(&x, &n)| if n == 1 { 0 } else { x })
                        .collect()
                };
                assert_eq!(
                    (f.as_str(), &sh, norm(&st), b),
                    ("h", &shape, norm(&strides), buf),
                    "order {order:?}"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 3 * (1 + 2 + 6 + 24));
}

#[test]
fn null_counts() {
    let bitmap: Vec<u8> = (0..40u32)
        .map(|i| (i.wrapping_mul(0x9d) ^ (i >> 1)) as u8)
        .collect();
    let naive = |start: usize, count: usize| {
        (start..start + count)
            .filter(|&i| bitmap[i / 8] >> (i % 8) & 1 == 0)
            .count()
    };
    for start in 0..40 {
        for count in [0, 1, 3, 7, 8, 9, 15, 16, 17, 64, 100, 200, 319 - start] {
            if start + count <= 320 {
                assert_eq!(
                    unsafe { count_nulls(bitmap.as_ptr(), start, count) },
                    naive(start, count),
                    "{start} {count}"
                );
            }
        }
    }
}

/// Random texts made of JSON's characters never panic the tensor metadata reader, and whatever
/// it accepts has a valid permutation.
#[test]
fn tensor_json_hostile() {
    let alphabet = br#"{}[],:" \shapermutation0123456789-.eEtrufnl"#;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 48) as usize;
        let mut text = b"{\"shape\":[2,3],".to_vec();
        let mut x = seed;
        for _ in 0..len {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push(alphabet[(x >> 33) as usize % alphabet.len()]);
        }
        if let Ok(m) = parse_tensor_meta(&text) {
            if let Some(p) = &m.permutation {
                let mut sorted = p.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..m.shape.len()).collect::<Vec<_>>());
            }
        }
    }
}

/// Arrays exported on some threads and released on others, flat and tensor ones mixed, so
/// that the private blocks kept for reuse pass between threads: every export is returned and
/// every array says what its own export wrote.
#[test]
fn exports_released_on_other_threads() {
    let data: Vec<u8> = (0..96).collect();
    let flat = ndarray(b"f", &[24], None, &data);
    let tensor = ndarray(b"h", &[4, 3, 4], None, &data);
    struct Sent(ArrowSchema, ArrowArray);
    // SAFETY (test): the release callbacks may run on any thread.
    unsafe impl Send for Sent {}
    fn release(mut x: Sent) {
        unsafe {
            (x.1.release.unwrap())(&mut x.1);
            (x.0.release.unwrap())(&mut x.0);
        }
        assert!(x.0.release.is_none() && x.1.release.is_none());
    }
    // Exports `n`, releases every other one at once and returns the rest.
    fn work(flat: &ObjRef, tensor: &ObjRef, t: usize, n: usize) -> Vec<Sent> {
        let mut kept = vec![];
        for i in 0..n {
            let is_tensor = (i + t) % 3 == 0;
            let mut s = ArrowSchema::released();
            let mut a = ArrowArray::released();
            unsafe { export(if is_tensor { tensor } else { flat }, &mut s, &mut a) }.unwrap();
            assert_eq!(
                (a.length, a.n_children),
                if is_tensor { (4, 1) } else { (24, 0) }
            );
            if i % 2 == 0 {
                kept.push(Sent(s, a));
            } else {
                release(Sent(s, a));
            }
        }
        kept
    }
    let spawn_work = |t: usize, earlier: Vec<Sent>| {
        let (f, te) = (flat.clone(), tensor.clone());
        std::thread::spawn(move || {
            let mut kept = vec![];
            for (i, x) in earlier.into_iter().enumerate() {
                release(x);
                kept.extend(work(&f, &te, t + i, 3));
            }
            kept.extend(work(&f, &te, t, 100));
            kept
        })
    };
    let first: Vec<_> = (0..3).map(|t| spawn_work(t, vec![])).collect();
    let kept: Vec<Vec<Sent>> = first.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(flat.exports() > 0 && tensor.exports() > 0);
    let second: Vec<_> = kept
        .into_iter()
        .enumerate()
        .map(|(t, k)| spawn_work(t + 1, k))
        .collect();
    for h in second {
        h.join().unwrap().into_iter().for_each(release);
    }
    assert_eq!((flat.exports(), tensor.exports()), (0, 0));
}

/// Round trips of layouts the import writes through its less common paths: more than four
/// dimensions (shape and strides on the heap), tensors of more than eight axes (their
/// physical strides on the heap), permuted ones among them, and formats too long to be kept
/// inline.
#[test]
fn many_dimensions_and_long_formats_round_trip() {
    let data = vec![0u8; 4096];
    let c_strides = |shape: &[isize], itemsize: isize| {
        let mut st = vec![0isize; shape.len()];
        let mut step = itemsize;
        for d in (0..shape.len()).rev() {
            st[d] = step;
            step *= shape[d];
        }
        st
    };
    // Axis 0 outermost, the tensor axes in reverse (Fortran) order.
    let f_strides = |shape: &[isize], itemsize: isize| {
        let mut st = vec![0isize; shape.len()];
        let mut step = itemsize;
        for d in 1..shape.len() {
            st[d] = step;
            step *= shape[d];
        }
        st[0] = step;
        st
    };
    let long = b"T{i:alpha:f:beta:h:gamma:h:delta:}";
    assert!(long.len() >= 32);
    type Case<'a> = (&'a [u8], isize, Vec<isize>);
    let cases: Vec<Case> = vec![
        (b"f", 4, vec![2, 3, 2, 2, 3]),
        (b"B", 1, vec![2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2]),
        (long, 12, vec![2, 2, 3, 2, 2]),
        (b"T{i:a:}", 4, vec![3, 5]),
    ];
    for (fmt, itemsize, shape) in &cases {
        for strides in [c_strides(shape, *itemsize), f_strides(shape, *itemsize)] {
            let obj = ndarray(fmt, shape, Some(&strides), &data);
            let (want_fmt, want_shape, want_strides, _, want_buf) = layout_of(&obj);
            let mut s = ArrowSchema::released();
            let mut a = ArrowArray::released();
            unsafe { export(&obj, &mut s, &mut a) }.unwrap();
            drop(obj);
            let back = unsafe { import(&s, &mut a, 0) }.unwrap();
            unsafe { (s.release.unwrap())(&mut s) };
            let (f, sh, mut st, ro, buf) = layout_of(&back);
            // An axis of extent 1 may have any stride.
            let mut want_strides = want_strides;
            for (d, &n) in shape.iter().enumerate() {
                if n == 1 {
                    (st[d], want_strides[d]) = (0, 0);
                }
            }
            assert_eq!(
                (f, sh, st, ro, buf),
                (want_fmt, want_shape, want_strides, true, want_buf),
                "{} {shape:?} {strides:?}",
                String::from_utf8_lossy(fmt)
            );
        }
    }
}
