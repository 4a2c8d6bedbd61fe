//! The import's per-thread memory of the last schema checked against describing every schema
//! afresh: the object imported after forgetting, with the memory warm from the same schema and
//! warm from another one are the same object; schemas one byte away from the remembered one
//! (in formats, extension names, JSON digits, permutations, metadata lengths) are described
//! afresh and give what describing them gives; refusals are the same warm and cold and never
//! remembered; shorter blobs are not read past their end; each thread has its own memory.

use super::export::export;
use super::import::import;
use super::import_memo;
use super::metadata::{encode_metadata, tensor_meta_json};
use super::*;
use crate::bufferinfo;
use crate::capi::XBUF_FULL_RO;
use crate::exporters::ndarray::{NdArray, Spec};
use crate::object::ObjRef;
use crate::status::Status;
use std::ffi::CStr;

/// What a view of an imported object shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    format: String,
    itemsize: isize,
    shape: Vec<isize>,
    strides: Vec<isize>,
    buf: usize,
    len: isize,
    readonly: bool,
}

fn layout(obj: &ObjRef) -> Layout {
    let v = bufferinfo::HeldView::get(obj, XBUF_FULL_RO).unwrap();
    unsafe {
        let p = &*v.ptr();
        let n = p.ndim as usize;
        Layout {
            format: CStr::from_ptr(p.format).to_str().unwrap().to_string(),
            itemsize: p.itemsize,
            shape: std::slice::from_raw_parts(p.shape, n).to_vec(),
            strides: std::slice::from_raw_parts(p.strides, n).to_vec(),
            buf: p.buf as usize,
            len: p.len,
            readonly: p.readonly != 0,
        }
    }
}

/// An import's outcome: the layout, or the refusal's status and message.
type Outcome = std::result::Result<Layout, (Status, String)>;

unsafe extern "C" fn release_schema(s: *mut ArrowSchema) {
    (*s).release = None;
}

unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    (*a).release = None;
}

/// A schema built level by level (top first), every byte of it owned here: formats and blobs
/// in allocations of exactly their size, so that a read past their end is caught by the
/// address sanitizer.
struct Sch {
    raw: Box<ArrowSchema>,
    _format: Box<[u8]>,
    _meta: Option<Box<[u8]>>,
    _name: Box<[u8]>,
    _child: Option<Box<Sch>>,
    _children: Box<[*mut ArrowSchema]>,
}

/// One schema level: its format (without NUL) and its metadata blob.
#[derive(Clone, Debug)]
struct Lv {
    format: Vec<u8>,
    meta: Option<Vec<u8>>,
}

fn lv(format: &str, meta: Option<Vec<u8>>) -> Lv {
    Lv {
        format: format.as_bytes().to_vec(),
        meta,
    }
}

fn sch(levels: &[Lv]) -> Sch {
    let (top, rest) = levels.split_first().expect("a level");
    let mut child = (!rest.is_empty()).then(|| Box::new(sch(rest)));
    let mut format = top.format.clone();
    format.push(0);
    let format = format.into_boxed_slice();
    let meta = top.meta.clone().map(Vec::into_boxed_slice);
    let name = b"field\0".to_vec().into_boxed_slice();
    let mut children: Box<[*mut ArrowSchema]> = match &mut child {
        Some(c) => vec![&mut *c.raw as *mut ArrowSchema].into_boxed_slice(),
        None => Vec::new().into_boxed_slice(),
    };
    let raw = Box::new(ArrowSchema {
        format: format.as_ptr().cast(),
        name: name.as_ptr().cast(),
        metadata: meta
            .as_ref()
            .map_or(std::ptr::null(), |m| m.as_ptr().cast()),
        flags: 2,
        n_children: children.len() as i64,
        children: if children.is_empty() {
            std::ptr::null_mut()
        } else {
            children.as_mut_ptr()
        },
        dictionary: std::ptr::null_mut(),
        release: Some(release_schema),
        private_data: std::ptr::null_mut(),
    });
    Sch {
        raw,
        _format: format,
        _meta: meta,
        _name: name,
        _child: child,
        _children: children,
    }
}

/// An array tree for a schema with `sizes` list levels (top first) over items, `length`
/// slots from `offset` at the top.
struct Arr {
    raw: Box<ArrowArray>,
    _buffers: Box<[*const c_void]>,
    _child: Option<Box<Arr>>,
    _children: Box<[*mut ArrowArray]>,
}

fn arr(length: i64, offset: i64, sizes: &[i64], data: &[u8]) -> Arr {
    let mut child = sizes
        .split_first()
        .map(|(&size, rest)| Box::new(arr((offset + length) * size, 0, rest, data)));
    let mut buffers: Box<[*const c_void]> = match child {
        Some(_) => vec![std::ptr::null()].into_boxed_slice(),
        None => vec![std::ptr::null(), data.as_ptr().cast()].into_boxed_slice(),
    };
    let mut children: Box<[*mut ArrowArray]> = match &mut child {
        Some(c) => vec![&mut *c.raw as *mut ArrowArray].into_boxed_slice(),
        None => Vec::new().into_boxed_slice(),
    };
    let raw = Box::new(ArrowArray {
        length,
        null_count: 0,
        offset,
        n_buffers: buffers.len() as i64,
        n_children: children.len() as i64,
        buffers: buffers.as_mut_ptr(),
        children: if children.is_empty() {
            std::ptr::null_mut()
        } else {
            children.as_mut_ptr()
        },
        dictionary: std::ptr::null_mut(),
        release: Some(release_array),
        private_data: std::ptr::null_mut(),
    });
    Arr {
        raw,
        _buffers: buffers,
        _child: child,
        _children: children,
    }
}

/// Imports `array` (restored to unreleased first) with `schema`.
fn import_outcome(schema: &ArrowSchema, array: &mut Arr) -> Outcome {
    array.raw.release = Some(release_array);
    match unsafe { import(schema, &mut *array.raw, 0) } {
        Ok(obj) => {
            assert!(array.raw.release.is_none(), "the array is moved in");
            Ok(layout(&obj))
        }
        Err(e) => {
            assert!(array.raw.release.is_some(), "a refusal moves nothing");
            Err((e.status, e.message.to_string()))
        }
    }
}

/// Bytes of the tensor extension's blob for a physical shape and a permutation.
fn tensor_blob(shape: &[isize], permutation: Option<&[usize]>) -> Vec<u8> {
    let json = tensor_meta_json(shape, permutation);
    encode_metadata(&[(EXT_NAME, TENSOR.as_bytes()), (EXT_META, json.as_bytes())]).unwrap()
}

fn format_blob(text: &str) -> Vec<u8> {
    encode_metadata(&[(FORMAT_KEY, text.as_bytes())]).unwrap()
}

/// A schema (its levels), the list sizes of its levels (top first) and whether it fits the
/// memory (so that an import with it warm must take the remembered answer).
struct Case {
    levels: Vec<Lv>,
    sizes: Vec<i64>,
    kept: bool,
}

fn tensor(shape: &[isize], permutation: Option<&[usize]>, leaf: &str) -> Vec<Lv> {
    let k: isize = shape.iter().product();
    vec![
        lv(&format!("+w:{k}"), Some(tensor_blob(shape, permutation))),
        lv(leaf, None),
    ]
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |levels: Vec<Lv>, sizes: &[i64], kept: bool| {
        out.push(Case {
            levels,
            sizes: sizes.to_vec(),
            kept,
        })
    };
    for p in ["c", "C", "s", "S", "i", "I", "l", "L", "e", "f", "g"] {
        add(vec![lv(p, None)], &[], true);
    }
    let bool8 = encode_metadata(&[(EXT_NAME, BOOL8.as_bytes())]).unwrap();
    add(vec![lv("c", Some(bool8))], &[], true);
    // Metadata the import does not read, and none at all (zero pairs).
    let other = encode_metadata(&[("k", b"v"), ("another key", b"")]).unwrap();
    add(vec![lv("i", Some(other))], &[], true);
    add(
        vec![lv("f", Some(encode_metadata(&[]).unwrap()))],
        &[],
        true,
    );
    for n in ["1", "3", "16"] {
        add(vec![lv(&format!("w:{n}"), None)], &[], true);
    }
    add(vec![lv("w:8", Some(format_blob("T{i:a:f:b:}")))], &[], true);
    add(vec![lv("w:8", Some(format_blob("<d")))], &[], true);
    add(vec![lv("w:3", Some(format_blob("3s")))], &[], true);
    // A format longer than an inline one: imported, not remembered.
    let long = format!(
        "T{{{}}}",
        (0..6).map(|i| format!("i:f{i}:")).collect::<String>()
    );
    add(vec![lv("w:24", Some(format_blob(&long)))], &[], false);
    // Plain fixed-size lists, nested, with extents 0 and 1.
    add(vec![lv("+w:3", None), lv("i", None)], &[3], true);
    add(vec![lv("+w:0", None), lv("i", None)], &[0], true);
    add(vec![lv("+w:1", None), lv("s", None)], &[1], true);
    add(
        vec![lv("+w:2", None), lv("+w:3", None), lv("f", None)],
        &[2, 3],
        true,
    );
    add(
        vec![lv("+w:2", None), lv("+w:3", None), lv("w:5", None)],
        &[2, 3],
        true,
    );
    // Tensors of one to five axes (two to six dimensions), permuted or not.
    add(tensor(&[4], None, "f"), &[4], true);
    add(tensor(&[2, 3], None, "f"), &[6], true);
    add(tensor(&[3, 2], Some(&[1, 0]), "f"), &[6], true);
    add(tensor(&[2, 3, 4], None, "s"), &[24], true);
    add(tensor(&[2, 3, 4], Some(&[2, 0, 1]), "s"), &[24], true);
    add(
        tensor(&[2, 1, 2, 3], Some(&[3, 1, 0, 2]), "g"),
        &[12],
        false,
    );
    add(tensor(&[1, 2, 1, 2, 2], None, "C"), &[8], false);
    add(tensor(&[0, 3], None, "i"), &[0], true);
    add(tensor(&[1, 1], Some(&[1, 0]), "i"), &[1], true);
    add(tensor(&[], None, "i"), &[1], true);
    // A tensor in a list, and a tensor of structs.
    let mut nested = vec![lv("+w:2", None)];
    nested.extend(tensor(&[2, 3], Some(&[1, 0]), "i"));
    add(nested, &[2, 6], true);
    let mut structs = tensor(&[2, 2], None, "w:8");
    structs[1].meta = Some(format_blob("T{i:a:f:b:}"));
    add(structs, &[4], true);
    // One fixed-size list level per axis, one too many to keep.
    let deep: Vec<Lv> = (0..5)
        .map(|_| lv("+w:1", None))
        .chain([lv("c", None)])
        .collect();
    add(deep, &[1, 1, 1, 1, 1], false);
    out
}

#[test]
fn differential_over_schemas() {
    let data = vec![7u8; 1 << 14];
    let all = cases();
    let mut kept = 0;
    for (i, c) in all.iter().enumerate() {
        let other = &all[(i + 1) % all.len()];
        let s = sch(&c.levels);
        let so = sch(&other.levels);
        for offset in [0, 1] {
            let mut a = arr(3, offset, &c.sizes, &data);
            let mut ao = arr(2, 0, &other.sizes, &data);
            import_memo::forget();
            let cold = import_outcome(&s.raw, &mut a);
            let remembered = import_memo::remembered();
            assert_eq!(remembered, c.kept, "case {i} {:?}", c.levels);
            let hits = import_memo::hits();
            let warm = import_outcome(&s.raw, &mut a);
            assert_eq!(import_memo::hits(), hits + usize::from(c.kept), "case {i}");
            assert_eq!(warm, cold, "case {i} {:?}", c.levels);
            // Warm from another schema: described afresh.
            let _ = import_outcome(&so.raw, &mut ao);
            let after_other = import_outcome(&s.raw, &mut a);
            assert_eq!(
                after_other,
                cold,
                "case {i} after case {}",
                (i + 1) % all.len()
            );
            if let Ok(l) = &cold {
                assert!(l.readonly);
                assert_eq!(l.shape[0], 3, "case {i}");
                assert_eq!(l.len, l.shape.iter().product::<isize>() * l.itemsize);
            }
            kept += usize::from(c.kept);
        }
    }
    assert!(kept >= 2 * 30, "{kept}");
}

/// The primitive formats come back as their PEP 3118 formats, warm as cold.
#[test]
fn primitive_formats_warm() {
    let data = [0u8; 64];
    let want = [
        ("c", "b"),
        ("C", "B"),
        ("s", "h"),
        ("S", "H"),
        ("i", "i"),
        ("I", "I"),
        ("l", "q"),
        ("L", "Q"),
        ("e", "e"),
        ("f", "f"),
        ("g", "d"),
    ];
    import_memo::forget();
    for round in 0..2 {
        for (arrow, pep) in want {
            let s = sch(&[lv(arrow, None)]);
            let mut a = arr(2, 0, &[], &data);
            for _ in 0..2 {
                let l = import_outcome(&s.raw, &mut a).unwrap();
                assert_eq!(l.format, pep, "round {round}");
                assert_eq!(l.shape, [2]);
            }
        }
    }
}

/// Tensors exported from NumPy-like layouts (C order and every permutation of three tensor
/// axes): imported warm, they are the original layout over the same memory.
#[test]
fn exported_tensors_warm_and_cold() {
    let data = vec![0u8; 4096];
    let perms: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for forget in [true, false] {
        for order in perms {
            let shape = [2isize, 3, 4, 5];
            let mut strides = [0isize; 4];
            let mut step = 4isize;
            for &t in order.iter().rev() {
                strides[t + 1] = step;
                step *= shape[t + 1];
            }
            strides[0] = step;
            let obj = NdArray::new_object(&Spec {
                data: &data,
                format: b"f",
                shape: &shape,
                strides: Some(&strides),
                offset: 0,
                flags: 0,
            })
            .unwrap();
            // The same view, read-only.
            let want = Layout {
                readonly: true,
                ..layout(&obj)
            };
            for _ in 0..3 {
                if forget {
                    import_memo::forget();
                }
                let mut s = ArrowSchema::released();
                let mut a = ArrowArray::released();
                unsafe { export(&obj, &mut s, &mut a) }.unwrap();
                let back = unsafe { import(&s, &mut a, 0) }.unwrap();
                unsafe { (s.release.unwrap())(&mut s) };
                let got = layout(&back);
                assert_eq!(got, want, "order {order:?} forget {forget}");
            }
        }
    }
}

/// Every byte of a remembered schema's formats and blob text changed (to a few other
/// values, NUL included in formats): each such schema gives what describing it afresh gives,
/// never the remembered answer.
#[test]
fn one_byte_away_is_described_afresh() {
    let data = vec![1u8; 1 << 12];
    let bases: Vec<(Vec<Lv>, Vec<i64>)> = vec![
        (tensor(&[2, 3], None, "f"), vec![6]),
        (tensor(&[3, 2], Some(&[1, 0]), "i"), vec![6]),
        (tensor(&[2, 3, 2], Some(&[2, 0, 1]), "s"), vec![12]),
        (
            vec![lv("+w:2", None), lv("+w:3", None), lv("f", None)],
            vec![2, 3],
        ),
        (vec![lv("w:8", Some(format_blob("T{i:a:f:b:}")))], vec![]),
        (
            vec![lv(
                "c",
                Some(encode_metadata(&[(EXT_NAME, BOOL8.as_bytes())]).unwrap()),
            )],
            vec![],
        ),
    ];
    let mut changed = 0;
    for (levels, sizes) in &bases {
        let base = sch(levels);
        for li in 0..levels.len() {
            // Positions of text bytes: the whole format, and the blob minus its length words.
            let mut spots: Vec<(bool, usize)> =
                (0..levels[li].format.len()).map(|i| (false, i)).collect();
            if let Some(m) = &levels[li].meta {
                spots.extend(text_positions(m).into_iter().map(|i| (true, i)));
            }
            for (in_meta, at) in spots {
                for to in [b'0', b'1', b'6', b'w', b'+', b']', 0u8] {
                    let mut v = levels.to_vec();
                    let target = if in_meta {
                        v[li].meta.as_mut().unwrap()
                    } else {
                        &mut v[li].format
                    };
                    if target[at] == to {
                        continue;
                    }
                    target[at] = to;
                    let changed_sch = sch(&v);
                    // Arrays shaped as the base; a refusal for a changed size is the answer.
                    let mut a = arr(2, 0, sizes, &data);
                    let mut ab = arr(2, 0, sizes, &data);
                    import_memo::forget();
                    let cold = import_outcome(&changed_sch.raw, &mut a);
                    import_memo::forget();
                    import_outcome(&base.raw, &mut ab).unwrap();
                    let hits = import_memo::hits();
                    let warm = import_outcome(&changed_sch.raw, &mut a);
                    assert_eq!(import_memo::hits(), hits, "{v:?}");
                    assert_eq!(warm, cold, "{v:?}");
                    changed += 1;
                }
            }
        }
    }
    assert!(changed > 500, "{changed}");
}

/// Offsets of the key and value text bytes of a well-formed blob (its length words left out).
fn text_positions(blob: &[u8]) -> Vec<usize> {
    let word = |at: usize| i32::from_ne_bytes(blob[at..at + 4].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut at = 4;
    for _ in 0..word(0) {
        for _ in 0..2 {
            let n = word(at);
            out.extend(at + 4..at + 4 + n);
            at += 4 + n;
        }
    }
    assert_eq!(at, blob.len());
    out
}

/// Blobs whose length words differ from the remembered one's: fewer pairs, a shorter or
/// longer last value, a shorter key (each blob in an allocation of exactly its own size, so
/// that a read past it is caught under the address sanitizer): none taken as a hit, each
/// described as it is.
#[test]
fn other_lengths_and_shorter_blobs() {
    let data = vec![1u8; 1 << 12];
    let json = tensor_meta_json(&[2, 3], None);
    let full = tensor_blob(&[2, 3], None);
    // The first pair only (the count says one), cut to its end.
    let mut one_pair = full.clone();
    one_pair[..4].copy_from_slice(&1i32.to_ne_bytes());
    let first_pair_end = 4 + 4 + EXT_NAME.len() + 4 + TENSOR.len();
    one_pair.truncate(first_pair_end);
    // No pairs at all.
    let none = 0i32.to_ne_bytes().to_vec();
    // The JSON one byte shorter (its length one less), and one byte longer.
    let short_json = encode_metadata(&[
        (EXT_NAME, TENSOR.as_bytes()),
        (EXT_META, &json.as_bytes()[..json.len() - 1]),
    ])
    .unwrap();
    let long_json = format!("{json} ");
    let long_json = encode_metadata(&[
        (EXT_NAME, TENSOR.as_bytes()),
        (EXT_META, long_json.as_bytes()),
    ])
    .unwrap();
    // A key one byte shorter.
    let short_key = encode_metadata(&[
        (&EXT_NAME[..EXT_NAME.len() - 1], TENSOR.as_bytes()),
        (EXT_META, json.as_bytes()),
    ])
    .unwrap();
    // Another extension name of another length.
    let other_ext = encode_metadata(&[
        (EXT_NAME, b"arrow.fixed_shape_tensors"),
        (EXT_META, json.as_bytes()),
    ])
    .unwrap();
    assert_eq!(short_json.len(), full.len() - 1);
    let variants = [one_pair, none, short_json, long_json, short_key, other_ext];
    let base = sch(&tensor(&[2, 3], None, "f"));
    for (i, m) in variants.iter().enumerate() {
        let levels = vec![lv("+w:6", Some(m.clone())), lv("f", None)];
        let s = sch(&levels);
        let mut a = arr(2, 1, &[6], &data);
        let mut ab = arr(2, 1, &[6], &data);
        import_memo::forget();
        let cold = import_outcome(&s.raw, &mut a);
        import_memo::forget();
        import_outcome(&base.raw, &mut ab).unwrap();
        let hits = import_memo::hits();
        let warm = import_outcome(&s.raw, &mut a);
        assert_eq!(import_memo::hits(), hits, "variant {i}");
        assert_eq!(warm, cold, "variant {i}");
    }
    // The shorter JSON, and the extension without its JSON, are refused; without the
    // extension's name the list is a plain one.
    let mut a = arr(2, 0, &[6], &data);
    for v in [0, 2] {
        let s = sch(&[lv("+w:6", Some(variants[v].clone())), lv("f", None)]);
        let e = import_outcome(&s.raw, &mut a).unwrap_err();
        assert_eq!(e.0, Status::InvalidArgument, "{}", e.1);
    }
    let s = sch(&[lv("+w:6", Some(variants[1].clone())), lv("f", None)]);
    assert_eq!(import_outcome(&s.raw, &mut a).unwrap().shape, [2, 6]);
}

/// Refused schemas: the same status and message cold, warm from an accepted schema, and
/// again straight after the refusal; a refusal is never remembered (the accepted schema
/// before it stays remembered).
#[test]
fn refusals_are_the_same_warm_and_cold() {
    let data = vec![0u8; 256];
    let bad_json =
        encode_metadata(&[(EXT_NAME, TENSOR.as_bytes()), (EXT_META, b"{\"shape\":[2,")]).unwrap();
    let wrong_count = tensor_blob(&[2, 2], None);
    let bad_format = format_blob("T{i:a:f:b:}");
    let refused: Vec<Vec<Lv>> = vec![
        vec![lv("b", None)],
        vec![lv("u", None)],
        vec![lv("w:0", None)],
        vec![lv("w:x", None)],
        vec![lv("w:4", Some(bad_format))],
        vec![lv("+w:6", Some(bad_json)), lv("f", None)],
        vec![lv("+w:6", Some(wrong_count)), lv("f", None)],
        vec![lv("+w:2", None), lv("+l", None)],
        vec![lv("+w:2", None), lv("+w:3", None), lv("tdm", None)],
        vec![lv("", None)],
    ];
    let good = sch(&tensor(&[2, 3], None, "f"));
    for levels in &refused {
        let s = sch(levels);
        let mut a = arr(1, 0, &[], &data);
        let mut ag = arr(1, 0, &[6], &data);
        import_memo::forget();
        let cold = import_outcome(&s.raw, &mut a).unwrap_err();
        assert!(!import_memo::remembered(), "{levels:?}");
        import_outcome(&good.raw, &mut ag).unwrap();
        let warm = import_outcome(&s.raw, &mut a).unwrap_err();
        let again = import_outcome(&s.raw, &mut a).unwrap_err();
        assert_eq!(warm, cold, "{levels:?}");
        assert_eq!(again, cold, "{levels:?}");
        // The accepted schema is still the remembered one.
        let hits = import_memo::hits();
        import_outcome(&good.raw, &mut ag).unwrap();
        assert_eq!(import_memo::hits(), hits + 1, "{levels:?}");
    }
    // Struct-level changes to a remembered schema: a dictionary, a released schema, a second
    // child, a NULL child; refused warm exactly as cold.
    let mut a = arr(2, 0, &[6], &data);
    let mut dict = sch(&[lv("i", None)]);
    type Change = fn(&mut ArrowSchema, *mut ArrowSchema);
    let changes: [Change; 5] = [
        |s, d| s.dictionary = d,
        |s, _| s.release = None,
        |s, _| s.n_children = 2,
        |s, _| unsafe { *s.children = std::ptr::null_mut() },
        |s, _| s.children = std::ptr::null_mut(),
    ];
    for (i, change) in changes.iter().enumerate() {
        let mut s = sch(&tensor(&[2, 3], None, "f"));
        change(&mut s.raw, &mut *dict.raw);
        import_memo::forget();
        let cold = import_outcome(&s.raw, &mut a).unwrap_err();
        import_outcome(&good.raw, &mut a).unwrap();
        let warm = import_outcome(&s.raw, &mut a).unwrap_err();
        assert_eq!(warm, cold, "change {i}");
        // And in the child.
        let s = sch(&tensor(&[2, 3], None, "f"));
        let child = unsafe { &mut **s.raw.children };
        if i < 2 {
            change(child, &mut *dict.raw);
            import_memo::forget();
            let cold = import_outcome(&s.raw, &mut a).unwrap_err();
            import_outcome(&good.raw, &mut a).unwrap();
            let warm = import_outcome(&s.raw, &mut a).unwrap_err();
            assert_eq!(warm, cold, "child change {i}");
        }
    }
}

/// Arrays refused under a remembered schema: the same refusals as under a schema described
/// afresh (the array's checks run on every import).
#[test]
fn array_refusals_warm_and_cold() {
    let data = vec![0u8; 1024];
    let validity = [0b1111_1101u8; 8];
    let s = sch(&tensor(&[2, 3], None, "f"));
    type Change = fn(&mut Arr, &[u8]);
    let changes: [Change; 9] = [
        |a, _| a.raw.length = -1,
        |a, _| a.raw.offset = -2,
        |a, _| a.raw.n_buffers = 2,
        |a, _| a.raw.n_children = 0,
        |a, _| unsafe { (*(*a.raw.children)).length = 5 },
        |a, _| unsafe { (*(*a.raw.children)).n_buffers = 1 },
        |a, v| unsafe {
            let c = &mut **a.raw.children;
            c.null_count = 1;
            *c.buffers = v.as_ptr().cast();
        },
        |a, v| {
            a.raw.null_count = -1;
            unsafe { *a.raw.buffers = v.as_ptr().cast() };
        },
        |a, _| unsafe { *(*(*a.raw.children)).buffers.add(1) = std::ptr::null() },
    ];
    for (i, change) in changes.iter().enumerate() {
        let mut a = arr(2, 0, &[6], &data);
        change(&mut a, &validity);
        import_memo::forget();
        let cold = import_outcome(&s.raw, &mut a);
        assert!(cold.is_err(), "change {i}");
        assert!(!import_memo::remembered(), "change {i}");
        // Warm: the schema remembered from a good array, then the bad one checked on the
        // remembered answer's path.
        import_outcome(&s.raw, &mut arr(2, 0, &[6], &data)).unwrap();
        let hits = import_memo::hits();
        let warm = import_outcome(&s.raw, &mut a);
        assert_eq!(import_memo::hits(), hits + 1, "change {i}");
        assert_eq!(warm, cold, "change {i}");
    }
    // Nulls read as they lie when asked: the same object warm and cold.
    let mut a = arr(2, 0, &[6], &data);
    a.raw.null_count = 1;
    unsafe { *a.raw.buffers = validity.as_ptr().cast() };
    import_memo::forget();
    let mut out = Vec::new();
    for _ in 0..2 {
        a.raw.release = Some(release_array);
        let obj = unsafe { import(&*s.raw, &mut *a.raw, IGNORE_VALIDITY) }.unwrap();
        out.push(layout(&obj));
    }
    assert_eq!(out[0], out[1]);
}

/// The schema's name and flags are not part of what is remembered: describing never reads
/// them, so another name (or none) and other flags are hits with the same answer.
#[test]
fn name_and_flags_are_not_read() {
    let data = vec![0u8; 256];
    let s = sch(&tensor(&[2, 3], Some(&[1, 0]), "f"));
    let mut a = arr(2, 0, &[6], &data);
    import_memo::forget();
    let cold = import_outcome(&s.raw, &mut a).unwrap();
    let mut t = sch(&tensor(&[2, 3], Some(&[1, 0]), "f"));
    t.raw.name = std::ptr::null();
    t.raw.flags = 7;
    unsafe { (**t.raw.children).name = c"another".as_ptr() };
    let hits = import_memo::hits();
    assert_eq!(import_outcome(&t.raw, &mut a).unwrap(), cold);
    assert_eq!(import_memo::hits(), hits + 1);
    import_memo::forget();
    assert_eq!(import_outcome(&t.raw, &mut a).unwrap(), cold);
}

/// One memory per thread: two threads importing two schemas, in lock step, each import giving
/// its own schema's layout.
#[test]
fn one_memory_per_thread() {
    // One barrier for both threads, never freed (nothing shared is dropped by a thread).
    static BARRIER: std::sync::Barrier = std::sync::Barrier::new(2);
    let run = |first: usize| {
        let data = vec![0u8; 1024];
        let schemas = [
            sch(&tensor(&[2, 3], None, "f")),
            sch(&tensor(&[3, 2], Some(&[1, 0]), "i")),
        ];
        let want = [
            (vec![2isize, 2, 3], vec![24isize, 12, 4]),
            (vec![2isize, 2, 3], vec![24isize, 4, 8]),
        ];
        let mut hits = 0;
        for step in 0..40 {
            let k = (first + step / 2) % 2;
            let mut a = arr(2, 0, &[6], &data);
            BARRIER.wait();
            let before = import_memo::hits();
            let l = import_outcome(&schemas[k].raw, &mut a).unwrap();
            hits += import_memo::hits() - before;
            assert_eq!((l.shape, l.strides), want[k].clone(), "step {step}");
        }
        // Only the first import of each schema misses on this thread, whatever the other
        // thread does meanwhile (a memory the threads shared would have it miss less).
        assert_eq!(hits, 38);
    };
    let a = std::thread::spawn(move || run(0));
    let b = std::thread::spawn(move || run(1));
    a.join().unwrap();
    b.join().unwrap();
}

/// Up to `ENTRIES` schemas imported in turn are all remembered (the columns of a table, say);
/// one more in turn pushes each out just before it comes again. Every import gives what a cold
/// one gives.
#[test]
fn schemas_in_turn() {
    let data = vec![0u8; 1 << 12];
    let all: Vec<(Sch, Vec<i64>)> = vec![
        (sch(&[lv("f", None)]), vec![]),
        (sch(&[lv("l", None)]), vec![]),
        (sch(&tensor(&[2, 3], None, "f")), vec![6]),
        (sch(&tensor(&[3, 2], Some(&[1, 0]), "i")), vec![6]),
        (sch(&[lv("w:8", Some(format_blob("T{i:a:f:b:}")))]), vec![]),
    ];
    let cold: Vec<Outcome> = all
        .iter()
        .map(|(s, sizes)| {
            import_memo::forget();
            import_outcome(&s.raw, &mut arr(2, 0, sizes, &data))
        })
        .collect();
    for n in [2, import_memo::ENTRIES, import_memo::ENTRIES + 1] {
        import_memo::forget();
        let hits = import_memo::hits();
        for round in 0..3 {
            for (k, (s, sizes)) in all[..n].iter().enumerate() {
                let got = import_outcome(&s.raw, &mut arr(2, 0, sizes, &data));
                assert_eq!(got, cold[k], "{n} schemas, round {round}, schema {k}");
            }
        }
        let want = if n <= import_memo::ENTRIES { 2 * n } else { 0 };
        assert_eq!(import_memo::hits() - hits, want, "{n} schemas in turn");
    }
}

/// A remembered format is no prefix match: a longer format that starts with it, with or
/// without the same list size's digits, is described afresh.
#[test]
fn longer_formats_are_not_hits() {
    let data = vec![1u8; 1 << 12];
    // (levels, list sizes) of a remembered schema and of a longer one.
    type Levels = (Vec<Lv>, Vec<i64>);
    let pairs: Vec<(Levels, Levels)> = vec![
        (
            (vec![lv("w:1", None)], vec![]),
            (vec![lv("w:16", None)], vec![]),
        ),
        (
            (vec![lv("+w:6", None), lv("f", None)], vec![6]),
            (vec![lv("+w:60", None), lv("f", None)], vec![60]),
        ),
        (
            (vec![lv("i", None)], vec![]),
            (vec![lv("ii", None)], vec![]),
        ),
    ];
    for ((base, base_sizes), (longer, sizes)) in &pairs {
        let b = sch(base);
        let l = sch(longer);
        let mut al = arr(2, 0, sizes, &data);
        import_memo::forget();
        let cold = import_outcome(&l.raw, &mut al);
        import_memo::forget();
        import_outcome(&b.raw, &mut arr(2, 0, base_sizes, &data)).unwrap();
        let hits = import_memo::hits();
        let warm = import_outcome(&l.raw, &mut al);
        assert_eq!(import_memo::hits(), hits, "{longer:?}");
        assert_eq!(warm, cold, "{longer:?}");
    }
}

/// A remembered schema without metadata does not answer for the same format with a blob
/// (nor the other way round): `c` is `b`, `c` with `arrow.bool8` is `?`.
#[test]
fn metadata_or_none_is_part_of_the_key() {
    let data = vec![1u8; 64];
    let bool8 = encode_metadata(&[(EXT_NAME, BOOL8.as_bytes())]).unwrap();
    let plain = sch(&[lv("c", None)]);
    let with = sch(&[lv("c", Some(bool8))]);
    for (first, then, want) in [(&plain, &with, "?"), (&with, &plain, "b")] {
        let mut a = arr(2, 0, &[], &data);
        import_memo::forget();
        import_outcome(&first.raw, &mut a).unwrap();
        let hits = import_memo::hits();
        let got = import_outcome(&then.raw, &mut a).unwrap();
        assert_eq!(import_memo::hits(), hits);
        assert_eq!(got.format, want);
    }
}
