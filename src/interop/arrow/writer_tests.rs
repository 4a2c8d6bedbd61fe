//! The hand-written writers and readers of the export and import paths checked against the
//! general code they replace: the tensor metadata blob against `encode_metadata` of the JSON
//! written through `std::fmt`, the static `arrow.bool8` blob, the format strings `w:N` and
//! `+w:N` against `format!`, and the one-pass key lookup against `decode_metadata`.

use super::metadata::*;
use super::schema::{SchemaFormat, BOOL8_METADATA};
use super::*;
use crate::status::Status;
use std::ffi::CStr;

#[test]
fn tensor_metadata_matches_the_general_encoder() {
    let shapes: [&[isize]; 6] = [
        &[],
        &[0],
        &[7],
        &[16, 16],
        &[1, 10, 100, 1000, 65536],
        &[isize::MAX, 9, 10, 99, 100, 101],
    ];
    for shape in shapes {
        let n = shape.len();
        let reversed: Vec<usize> = (0..n).rev().collect();
        let rotated: Vec<usize> = (0..n).map(|i| (i + 1) % n.max(1)).collect();
        for perm in [None, Some(&reversed[..]), Some(&rotated[..])] {
            let json = tensor_meta_json(shape, perm);
            let want =
                encode_metadata(&[(EXT_NAME, TENSOR.as_bytes()), (EXT_META, json.as_bytes())])
                    .unwrap();
            assert_eq!(
                tensor_metadata(shape, perm).unwrap(),
                want,
                "{shape:?} {perm:?}"
            );
        }
    }
    // The JSON as text, for one case, to pin down the bytes themselves.
    let blob = tensor_metadata(&[4, 3], Some(&[1, 0])).unwrap();
    let keys = unsafe { known_keys(blob.as_ptr().cast()) }.unwrap();
    assert_eq!(keys.ext_name, Some(TENSOR.as_bytes()));
    assert_eq!(
        keys.ext_meta,
        Some(&br#"{"shape":[4,3],"permutation":[1,0]}"#[..])
    );
    assert_eq!(keys.format, None);
}

#[test]
fn bool8_metadata_matches_the_general_encoder() {
    assert_eq!(
        BOOL8_METADATA.to_vec(),
        encode_metadata(&[(EXT_NAME, BOOL8.as_bytes()), (EXT_META, b"")]).unwrap()
    );
}

#[test]
fn sized_formats_match_format() {
    for n in [0usize, 1, 8, 9, 10, 99, 100, 4096, 1 << 31, usize::MAX] {
        for prefix in ["w:", "+w:"] {
            let SchemaFormat::Sized(b) = SchemaFormat::sized(prefix.as_bytes(), n) else {
                panic!("not sized");
            };
            let text = CStr::from_bytes_until_nul(&b).unwrap();
            assert_eq!(text.to_str().unwrap(), format!("{prefix}{n}"));
        }
    }
    let mut short = [b'x'; 3];
    assert_eq!(write_uint(&mut short, 1234), 0);
    assert_eq!(short, [b'x'; 3]);
    assert_eq!(write_uint(&mut short, 123), 3);
    assert_eq!(&short, b"123");
    let mut v = b"a".to_vec();
    push_uint(&mut v, 0);
    push_uint(&mut v, 907);
    assert_eq!(v, b"a0907");
}

#[test]
fn known_keys_match_decode_metadata() {
    let blobs = [
        encode_metadata(&[]).unwrap(),
        encode_metadata(&[("other", b"1"), (FORMAT_KEY, b"T{i:a:}"), ("", b"")]).unwrap(),
        // Repeated keys: the first pair wins, as a search of the decoded pairs finds it.
        encode_metadata(&[
            (EXT_NAME, b"first"),
            (EXT_META, b"{}"),
            (EXT_NAME, b"second"),
            (EXT_META, b"x"),
            (FORMAT_KEY, b"f"),
            (FORMAT_KEY, b"d"),
        ])
        .unwrap(),
        // Keys that only share a prefix with the known ones.
        encode_metadata(&[("ARROW:extension:nam", b"a"), ("xbuf:formats", b"b")]).unwrap(),
    ];
    for blob in &blobs {
        let pairs = unsafe { decode_metadata(blob.as_ptr().cast()) }.unwrap();
        let find = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == key.as_bytes())
                .map(|(_, v)| *v)
        };
        let keys = unsafe { known_keys(blob.as_ptr().cast()) }.unwrap();
        assert_eq!(keys.ext_name, find(EXT_NAME));
        assert_eq!(keys.ext_meta, find(EXT_META));
        assert_eq!(keys.format, find(FORMAT_KEY));
    }
    assert_eq!(
        unsafe { known_keys(std::ptr::null()) }.unwrap(),
        KnownKeys::default()
    );
    // A negative length anywhere is refused, after the known keys too.
    let mut bad = encode_metadata(&[(EXT_NAME, b"arrow.bool8"), ("k", b"v")]).unwrap();
    let at = bad.len() - 4 - 1 - 4 - 1; // the length of "k"
    bad[at..at + 4].copy_from_slice(&(-5i32).to_ne_bytes());
    assert_eq!(
        unsafe { known_keys(bad.as_ptr().cast()) }
            .unwrap_err()
            .status,
        Status::InvalidArgument
    );
    assert!(unsafe { decode_metadata(bad.as_ptr().cast()) }.is_err());
    let negative_count = (-1i32).to_ne_bytes();
    assert_eq!(
        unsafe { known_keys(negative_count.as_ptr().cast()) }
            .unwrap_err()
            .status,
        Status::InvalidArgument
    );
}

#[test]
fn parse_size_matches_str_parse() {
    let reference = |d: &[u8]| -> Option<usize> {
        std::str::from_utf8(d)
            .ok()
            .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|&n| n <= i32::MAX as usize)
    };
    for d in [
        &b"0"[..],
        b"8",
        b"0016",
        b"2147483647",
        b"2147483648",
        b"99999999999999999999999999",
        b"",
        b"+4",
        b"-4",
        b"4 ",
        b" 4",
        b"1e3",
        b"4:",
        b"\xff",
        b"/",
    ] {
        let got = super::import::parse_size(d, b"w:?");
        match reference(d) {
            Some(n) => assert_eq!(got.unwrap(), n, "{d:?}"),
            None => assert_eq!(got.unwrap_err().status, Status::InvalidArgument, "{d:?}"),
        }
    }
}

#[test]
fn format_metadata_matches_the_general_encoder() {
    let long = "T{".to_string() + &"i:x:".repeat(100) + "}";
    for text in [&b""[..], b"B", b"T{i:a:f:b:}", long.as_bytes()] {
        let want = encode_metadata(&[(FORMAT_KEY, text)]).unwrap();
        let mut got = Vec::new();
        format_metadata_into(&mut got, text).unwrap();
        assert_eq!(got, want);
        // Appended after what the buffer holds.
        let mut after = vec![7u8; 3];
        format_metadata_into(&mut after, text).unwrap();
        assert_eq!((&after[..3], &after[3..]), (&[7u8; 3][..], &want[..]));
    }
}

/// `parse_tensor_meta`'s answer in the form `read_tensor_meta` gives it.
fn general_tensor_meta(s: &[u8]) -> std::result::Result<(Vec<isize>, Option<Vec<usize>>), String> {
    let m = parse_tensor_meta(s).map_err(|e| e.message.clone())?;
    let shape = m
        .shape
        .iter()
        .map(|&x| isize::try_from(x).map_err(|_| "overflow".to_string()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((shape, m.permutation))
}

#[test]
fn tensor_meta_reader_matches_the_general_reader() {
    let mut texts: Vec<String> = Vec::new();
    let big = 999_999_999_999_999_999usize; // 18 digits
    let shapes: [&[isize]; 7] = [
        &[0],
        &[7],
        &[16, 16],
        &[1, 2, 3, 4, 5, 6, 7, 8],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        &[big as isize, 1],
        &[],
    ];
    for shape in shapes {
        let n = shape.len();
        let reversed: Vec<usize> = (0..n).rev().collect();
        let rotated: Vec<usize> = (0..n).map(|i| (i + 1) % n.max(1)).collect();
        for perm in [None, Some(&reversed[..]), Some(&rotated[..])] {
            texts.push(tensor_meta_json(shape, perm));
        }
    }
    for t in [
        r#"{"shape":[1000000000000000000,1]}"#,
        r#"{"shape":[99999999999999999999]}"#,
        r#"{"shape":[4,3],"permutation":[1,1]}"#,
        r#"{"shape":[4,3],"permutation":[0,2]}"#,
        r#"{"shape":[4,3],"permutation":[0]}"#,
        r#"{"shape":[4,3],"permutation":[0,1,2]}"#,
        r#"{"shape":[4,3],"permutation":null}"#,
        r#"{"shape":[4,3],"dim_names":["a","b"]}"#,
        r#"{"dim_names":["a","b"],"shape":[4,3]}"#,
        r#"{"permutation":[1,0],"shape":[4,3]}"#,
        r#"{"shape":[4,3],"shape":[2]}"#,
        r#"{ "shape": [4, 3] }"#,
        r#"{"shape":[04,3]}"#,
        r#"{"shape":[4,3]}x"#,
        r#"{"shape":[4,3]"#,
        r#"{"shape":[4,]}"#,
        r#"{"shape":[,4]}"#,
        r#"{"shape":[-4]}"#,
        r#"{"shape":[4.0]}"#,
        r#"{"shape":[4,3],"permutation":[1,0]} "#,
        r#"{"shape":[]}"#,
        r#"{}"#,
        "",
    ] {
        texts.push(t.to_string());
    }
    for t in &texts {
        let s = t.as_bytes();
        let want = general_tensor_meta(s);
        let got = read_tensor_meta(s)
            .map(|(shape, perm)| (shape.to_vec(), perm.map(|p| p.to_vec())))
            .map_err(|e| e.message.clone());
        match (&got, &want) {
            (Err(_), Err(w)) if w == "overflow" => {}
            _ => assert_eq!(got, want, "{t}"),
        }
    }
    // The texts the export writes are read in one pass.
    for (shape, perm) in [
        (&[16isize, 16][..], None),
        (&[2, 3, 4][..], Some(&[2usize, 0, 1][..])),
        (&[1, 2, 3, 4, 5, 6, 7, 8][..], None),
    ] {
        let t = tensor_meta_json(shape, perm);
        assert!(read_tensor_meta_exact(t.as_bytes()).is_some(), "{t}");
    }
    // Beyond eight axes, the general reader.
    let t = tensor_meta_json(&[1; 9], None);
    assert!(read_tensor_meta_exact(t.as_bytes()).is_none());
    assert_eq!(
        read_tensor_meta(t.as_bytes()).unwrap().0.to_vec(),
        vec![1isize; 9]
    );
}

#[test]
fn remembered_tensor_metadata_is_the_general_blob() {
    let general = |shape: &[isize], perm: Option<&[usize]>| {
        let json = tensor_meta_json(shape, perm);
        encode_metadata(&[(EXT_NAME, TENSOR.as_bytes()), (EXT_META, json.as_bytes())]).unwrap()
    };
    let wide = vec![3isize; 200];
    // Repeats (hits), the same JSON length with other extents, a permutation added, removed
    // and changed, no axes with and without a permutation, and more axes than a key holds.
    let cases: [(&[isize], Option<&[usize]>); 14] = [
        (&[16, 16], None),
        (&[16, 16], None),
        (&[61, 16], None),
        (&[16, 16], Some(&[1, 0])),
        (&[16, 16], Some(&[1, 0])),
        (&[16, 16], Some(&[0, 1])),
        (&[16, 16], None),
        (&[], None),
        (&[], Some(&[])),
        (&[], None),
        (&wide, None),
        (&wide, None),
        (&[16, 16], None),
        (&[16, 16], None),
    ];
    for forget in [false, true] {
        super::memo::forget();
        for (shape, perm) in cases {
            if forget {
                super::memo::forget();
            }
            let want = general(shape, perm);
            assert_eq!(
                tensor_metadata(shape, perm).unwrap(),
                want,
                "{shape:?} {perm:?}"
            );
            // Appended after what the buffer holds, as the general writer does.
            let mut out = vec![9u8; 5];
            match super::memo::TensorKey::new(shape, perm) {
                Some(key) => {
                    assert_eq!(key.shape(), shape);
                    assert_eq!(key.permutation().as_deref(), perm);
                    super::memo::tensor_metadata_into(&mut out, &key, |o| {
                        tensor_metadata_into(o, shape, perm)
                    })
                    .unwrap()
                }
                // More axes than a key holds: never remembered.
                None => {
                    assert!(shape.len() > super::memo::KEY_AXES);
                    tensor_metadata_into(&mut out, shape, perm).unwrap()
                }
            }
            assert_eq!((&out[..5], &out[5..]), (&[9u8; 5][..], &want[..]));
        }
    }
}
