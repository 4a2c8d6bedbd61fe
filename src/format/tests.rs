use super::json::write_float;
use super::value::{half_to_f64, quad_to_f64, x87_to_f64};
use super::*;
use crate::status::Status;

const STRUCT_TABLE: &str = include_str!("../../tests/data/struct_calcsize.tsv");
const NUMPY_TABLE: &str = include_str!("../../tests/data/numpy_struct.tsv");
const FLOAT_TABLE: &str = include_str!("../../tests/data/float_repr.tsv");

fn rows(table: &str) -> impl Iterator<Item = Vec<&str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
}

fn p(f: &str) -> Format {
    parse_uncached(f.as_bytes()).unwrap_or_else(|e| panic!("{f}: {}", e.message))
}

#[test]
fn struct_calcsize_table() {
    let mut n = 0;
    let mut prefixes = std::collections::BTreeSet::new();
    for r in rows(STRUCT_TABLE) {
        let (f, want): (&str, usize) = (r[0], r[1].parse().unwrap());
        let got = itemsize(f.as_bytes()).unwrap_or_else(|e| panic!("{f:?}: {}", e.message));
        assert_eq!(got, want, "struct.calcsize({f:?})");
        // The uncached parser and the canonical text agree too.
        let fmt = p(f);
        assert_eq!(fmt.itemsize(), want);
        assert_eq!(p(fmt.canonical()).itemsize(), want, "canonical of {f:?}");
        prefixes.insert(f.chars().next().filter(|c| "@=<>!".contains(*c)));
        n += 1;
    }
    assert!(n >= 1000, "only {n} rows");
    assert_eq!(prefixes.len(), 6, "every prefix and none: {prefixes:?}");
}

/// The absolute offsets of every field, depth first, as the table lists NumPy's.
fn offsets(st: &Struct, base: usize, out: &mut Vec<usize>) {
    for f in &st.fields {
        out.push(base + f.offset);
        if let FieldType::Struct(inner) = &f.ty {
            offsets(inner, base + f.offset, out);
        }
    }
}

#[test]
fn numpy_table() {
    let mut n = 0;
    let mut fields = 0;
    for r in rows(NUMPY_TABLE) {
        let f = r[0];
        let size: usize = r[1].parse().unwrap();
        let want: Vec<usize> = if r.len() > 2 && !r[2].is_empty() {
            r[2].split(',').map(|x| x.parse().unwrap()).collect()
        } else {
            Vec::new()
        };
        let fmt = p(f);
        assert_eq!(fmt.itemsize(), size, "itemsize of {f}");
        // NumPy unwraps a top level that is one unnamed struct (every row is "T{...}").
        let root = fmt.root();
        assert_eq!(root.fields.len(), 1, "{f}");
        let FieldType::Struct(top) = &root.fields[0].ty else {
            panic!("{f}: not a struct")
        };
        let mut got = Vec::new();
        offsets(top, 0, &mut got);
        assert_eq!(got, want, "field offsets of {f}");
        fields += want.len();
        n += 1;
    }
    assert!(n >= 200, "only {n} rows");
    assert!(fields >= 1000, "only {fields} field offsets");
}

#[test]
fn canonical_round_trips_and_equivalence_on_tables() {
    let mut all: Vec<Format> = Vec::new();
    for r in rows(STRUCT_TABLE).take(700).chain(rows(NUMPY_TABLE)) {
        let f = p(r[0]);
        let c = p(f.canonical());
        assert_eq!(c.canonical(), f.canonical(), "canonical of {}", r[0]);
        assert!(f.equivalent(&c) && c.equivalent(&f), "{}", r[0]);
        assert_eq!(c.itemsize(), f.itemsize());
        all.push(f);
    }
    // Equivalence is exactly equality of canonical text, hence reflexive, symmetric and
    // transitive; check the relation directly on every pair of a sample too.
    let sample: Vec<&Format> = all.iter().step_by(3).collect();
    for a in &sample {
        assert!(a.equivalent(a));
        for b in &sample {
            let eq = a.equivalent(b);
            assert_eq!(eq, b.equivalent(a), "symmetric");
            assert_eq!(
                eq,
                a.canonical() == b.canonical(),
                "{} / {}",
                a.canonical(),
                b.canonical()
            );
        }
    }
    let mut classes: std::collections::HashMap<&str, Vec<&Format>> = Default::default();
    for f in &all {
        classes.entry(f.canonical()).or_default().push(f);
    }
    let mut checked = 0;
    for group in classes.values().filter(|g| g.len() >= 3) {
        for a in group {
            for b in group {
                for c in group {
                    if a.equivalent(b) && b.equivalent(c) {
                        assert!(a.equivalent(c), "transitive");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn canonical_spellings() {
    for (a, b) in [
        ("<l", "<i"),
        ("@l", "<q"),
        ("n", "<q"),
        ("N", "<Q"),
        ("ii", "<2i"),
        ("2i", "<2i"),
        ("T{i:a: i:b:}", "<2i"),
        ("(2,3)d", "<6d"),
        ("@bi", "<b3xi"),
        ("=bi", "<bi"),
        ("T{ib}", "<ib3x"),
        (">h!h", ">2h"),
        ("10s10s", "<(2)10s"),
        ("s", "<s"),
        ("3x", "3x"),
        ("", ""),
        ("g", "^g"),
        ("Zd", "<Zd"),
        ("Zg", "^Zg"),
        ("&i", "^&<i"),
        ("&T{bi}", "^&T{<b3xi}"),
        ("P", "^P"),
        ("O", "^O"),
        ("3t", "<3t"),
        ("5w", "<5w"),
        ("i0s", "<i"),
    ] {
        let f = p(a);
        assert_eq!(f.canonical(), b, "canonical of {a:?}");
        assert!(f.equivalent(&p(b)), "{a:?} ~ {b:?}");
    }
    assert!(!p("i").equivalent(&p("f")));
    assert!(!p("<i").equivalent(&p(">i")));
    assert!(!p("?").equivalent(&p("B")));
    assert!(!p("c").equivalent(&p("B")));
    assert!(!p("4s").equivalent(&p("4c")));
    assert!(!p("&i").equivalent(&p("&f")));
    assert!(!p("i").equivalent(&p("ix")));
}

#[test]
fn layout_rules() {
    for (f, size) in [
        ("T{i}b", 5), // the top level is not padded at its end
        ("T{ib}", 8), // a T{} is
        ("T{T{i}b}", 8),
        ("T{i<b}", 5),  // the mode at its end decides
        ("T{i<b}i", 9), // and it carries on after the '}'
        ("^bi", 5),     // native sizes, no alignment
        ("^bg", 17),
        ("@bg", 32),
        ("(2,3)<i", 24),
        ("(2)3i", 24),
        ("b(2)T{ib}", 20),
        ("bZf", 12),
        ("bZd", 24),
        ("bZe", 6),
        ("bZg", 48),
        ("b3u", 8),
        ("b2w", 12),
        ("=b2w", 9),
        ("b9t", 3),
        ("b64t", 9),
        ("b&d", 16),
        ("bO", 16),
        ("<bO", 9),
        ("b x i", 8),
        ("b 4x:pad: i", 12),
        ("T{b}3x", 4),
        ("b0i", 4),
        ("3x", 3),
        ("<i>i=i!i@i^i", 24),
    ] {
        assert_eq!(p(f).itemsize(), size, "itemsize of {f:?}");
    }
    let f = p("T{b:a: (2)i:b: T{?:c: d:d:}:s: 10s:t:}");
    assert_eq!(f.alignment(), 8);
    assert_eq!(f.root().fields.len(), 1);
    let FieldType::Struct(st) = &f.root().fields[0].ty else {
        panic!()
    };
    assert_eq!(f.fields().len(), 4);
    let names: Vec<_> = st.fields.iter().map(|f| f.name().unwrap()).collect();
    assert_eq!(names, ["a", "b", "s", "t"]);
    let offs: Vec<_> = st.fields.iter().map(|f| f.offset).collect();
    assert_eq!(offs, [0, 4, 16, 32]);
    assert_eq!(st.fields[1].shape, [2]);
    assert_eq!(st.fields[1].text(), "@i");
    assert_eq!(st.fields[2].text(), "@T{?:c: d:d:}");
    assert_eq!(st.fields[3].text(), "@10s");
    assert_eq!(st.fields[3].shape, Vec::<usize>::new());
    assert_eq!(f.itemsize(), 48);
    assert_eq!(p("<(2, 3)4d").fields()[0].shape, [2, 3, 4]);

    for (f, bo) in [
        ("i", b'@'),
        ("<i<b", b'<'),
        ("!i", b'>'),
        ("<i>i", b'*'),
        ("<", b'<'),
        ("", b'@'),
        ("^i", b'^'),
        ("=T{i}", b'='),
    ] {
        assert_eq!(p(f).byteorder(), bo, "byteorder of {f:?}");
    }
    assert_eq!(p("@bi").alignment(), 4);
    assert_eq!(p("<bi").alignment(), 1);
    assert_eq!(p("^bi").alignment(), 1);
}

#[test]
fn leaves() {
    let f = p("T{b:a: 3x (2)T{h i}:s: 4s 4s}");
    let l: Vec<(usize, usize, u8)> = f
        .leaves()
        .iter()
        .map(|l| (l.offset, l.count, l.scalar.code))
        .collect();
    assert_eq!(
        l,
        [
            (0, 1, b'b'),
            (4, 1, b'h'),
            (8, 1, b'i'),
            (12, 1, b'h'),
            (16, 1, b'i'),
            (20, 2, b's')
        ]
    );
    assert_eq!(f.value_count(), 7);
    // Homogeneous repeated structs collapse into one run without expanding them.
    let big = p("(1000000000)T{ii}");
    assert_eq!(big.leaves().len(), 1);
    assert_eq!(big.leaves()[0].count, 2_000_000_000);
}

fn err(f: &[u8]) -> crate::status::Error {
    match parse_uncached(f) {
        Ok(_) => panic!("{:?} parsed", String::from_utf8_lossy(f)),
        Err(e) => e,
    }
}

#[test]
fn error_messages() {
    for (f, status, msg) in [
        (
            &b"<2k"[..],
            Status::Format,
            "unexpected 'k' at offset 2 in format '<2k'",
        ),
        (
            b"i}",
            Status::Format,
            "unexpected '}' at offset 1 in format 'i}'",
        ),
        (
            b"T{i",
            Status::Format,
            "'T{' without its closing '}' at offset 0 in format 'T{i'",
        ),
        (
            b"Ti",
            Status::Format,
            "unexpected 'i' at offset 1 in format 'Ti'",
        ),
        (
            b"T",
            Status::Format,
            "unexpected end at offset 1 in format 'T'",
        ),
        (
            b"Zq",
            Status::Format,
            "unexpected 'q' at offset 1 in format 'Zq'",
        ),
        (
            b"Z",
            Status::Format,
            "unexpected end at offset 1 in format 'Z'",
        ),
        (
            b"3",
            Status::Format,
            "a count or shape without a type at offset 0 in format '3'",
        ),
        (
            b"(2)",
            Status::Format,
            "a count or shape without a type at offset 0 in format '(2)'",
        ),
        (
            b"(2",
            Status::Format,
            "unexpected end at offset 2 in format '(2'",
        ),
        (
            b"(2;3)i",
            Status::Format,
            "unexpected ';' at offset 2 in format '(2;3)i'",
        ),
        (
            b"()i",
            Status::Format,
            "unexpected ')' at offset 1 in format '()i'",
        ),
        (
            b"4 i",
            Status::Format,
            "unexpected ' ' at offset 1 in format '4 i'",
        ),
        (
            b"i:a",
            Status::Format,
            "field name without its closing ':' at offset 1 in format 'i:a'",
        ),
        (
            b"i::",
            Status::Format,
            "empty field name at offset 1 in format 'i::'",
        ),
        (
            b"i:a:i:a:",
            Status::Format,
            "duplicate field name 'a' at offset 5 in format 'i:a:i:a:'",
        ),
        (
            b"i:\xff:",
            Status::Format,
            "field name that is not UTF-8 at offset 2",
        ),
        (
            b"<n",
            Status::Format,
            "'n' has no standard size (allowed only after '@' or '^') at offset 1",
        ),
        (b"=P", Status::Format, "'P' has no standard size"),
        (b">g", Status::Format, "'g' has no standard size"),
        (b"<Zg", Status::Format, "'Zg' has no standard size"),
        (
            b"65t",
            Status::Format,
            "a bit field of 65 bits (at most 64) at offset 2",
        ),
        (
            b"X{}",
            Status::Format,
            "unsupported function pointer 'X' at offset 0",
        ),
        (
            b"&",
            Status::Format,
            "unexpected end at offset 1 in format '&'",
        ),
        (b"&x", Status::Format, "unexpected 'x' at offset 1"),
        (b"i\x00", Status::Format, "unexpected byte 0x00 at offset 1"),
        (
            b"99999999999999999999999b",
            Status::Overflow,
            "the repeat count at offset 0 in format '99999999999999999999999b' overflows",
        ),
        (
            b"(99999999999999999999)b",
            Status::Overflow,
            "the sub-array extent at offset 1",
        ),
        (
            b"9223372036854775807q",
            Status::Overflow,
            "the item size in format",
        ),
        (
            b"(4294967296,4294967296)b",
            Status::Overflow,
            "the sub-array shape in format",
        ),
        (
            b"9223372036854775807s9223372036854775807s",
            Status::Overflow,
            "the item size",
        ),
        (
            b"9223372036854775807w",
            Status::Overflow,
            "the string length",
        ),
        (
            b"(70000)T{bi}",
            Status::Format,
            "more than 65536 separate runs of scalars",
        ),
        (
            b"(4294967296,4294967296,4294967296)b",
            Status::Overflow,
            "the sub-array shape",
        ),
    ] {
        let e = err(f);
        assert_eq!(
            e.status,
            status,
            "{:?}: {}",
            String::from_utf8_lossy(f),
            e.message
        );
        assert!(
            e.message.contains(msg),
            "{:?}: {:?} lacks {msg:?}",
            String::from_utf8_lossy(f),
            e.message
        );
    }
    // A pointer to a large struct, repeated, would repeat its text in the canonical text.
    let e = err(b"(700)25T{&T{(700)25T{&T{}2w}wwf}2w}wwf");
    assert_eq!(e.status, Status::Format);
    assert!(e
        .message
        .contains("the canonical text of the item would pass 4194304 bytes (the limit)"));
    // Nesting limits.
    let deep = format!(
        "{}i{}",
        "T{".repeat(MAX_DEPTH + 1),
        "}".repeat(MAX_DEPTH + 1)
    );
    assert!(err(deep.as_bytes())
        .message
        .contains("nesting deeper than 64 levels"));
    let ok = format!("{}i{}", "T{".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
    assert_eq!(p(&ok).itemsize(), 4);
    let refs = format!("{}i", "&".repeat(MAX_DEPTH + 1));
    assert!(err(refs.as_bytes()).message.contains("nesting deeper"));
    let dims = format!("({})i", vec!["1"; MAX_DIMS + 1].join(","));
    assert!(err(dims.as_bytes())
        .message
        .contains("more than 64 dimensions"));
    let dims = format!("({})2i", vec!["1"; MAX_DIMS].join(","));
    assert!(err(dims.as_bytes())
        .message
        .contains("more than 64 dimensions"));
    // Long formats are shortened in messages.
    let long = format!("{}k", "i".repeat(1000));
    let e = err(long.as_bytes());
    assert!(e
        .message
        .starts_with("unexpected 'k' at offset 1000 in format 'iii"));
    assert!(e.message.len() < 200);
}

#[test]
fn regression_corpus() {
    // Inputs kept from fuzzing (fuzz/regressions/): each must parse or fail cleanly, and
    // everything the fuzz target checks must hold.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        check_input(&data);
        n += 1;
    }
    assert!(n >= 10, "only {n} regression inputs");
}

/// What the fuzz target checks for one input (kept in step with fuzz/fuzz_targets/parse.rs).
pub fn check_input(data: &[u8]) {
    crate::format::fuzz_check(data);
}

#[test]
fn cache() {
    let a = parse(b"<id:cached:").unwrap();
    let b = parse(b"<id:cached:").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(cached_count() >= 1);
    assert_eq!(itemsize(b"<id:cached:").unwrap(), 12);
    assert_eq!(parse(b"<k").unwrap_err().status, Status::Format);
    // Threads share it.
    let hs: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let f = format!("<{}i{}b", i % 50, t);
                    assert_eq!(itemsize(f.as_bytes()).unwrap(), 4 * (i % 50) + t);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    // Bounded: many distinct formats never grow it past its limit.
    for i in 0..(cache::MAX_ENTRIES + 100) {
        itemsize(format!("{i}x").as_bytes()).unwrap();
    }
    assert!(cached_count() <= cache::MAX_ENTRIES);
}

fn bytes_of(v: &[u8]) -> Vec<u8> {
    v.to_vec()
}

#[test]
fn decode_every_type_unaligned_both_orders() {
    use Value as V;
    // (format code text, native-order value bytes builder, expected)
    for order in ["<", ">"] {
        let big = order == ">";
        let put = |le: Vec<u8>| -> Vec<u8> {
            if big {
                le.into_iter().rev().collect()
            } else {
                le
            }
        };
        let cases: Vec<(&str, Vec<u8>, Box<dyn Fn(&Value) -> bool>)> = vec![
            ("b", vec![0xfe], Box::new(|v| matches!(v, V::Int(-2)))),
            ("B", vec![0xfe], Box::new(|v| matches!(v, V::Int(254)))),
            (
                "h",
                put((-3i16).to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(-3))),
            ),
            (
                "H",
                put(65535u16.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(65535))),
            ),
            (
                "i",
                put((-70000i32).to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(-70000))),
            ),
            (
                "I",
                put(4000000000u32.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(4000000000))),
            ),
            (
                "l",
                put(i32::MIN.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(x) if *x == i32::MIN as i128)),
            ),
            (
                "L",
                put(u32::MAX.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(x) if *x == u32::MAX as i128)),
            ),
            (
                "q",
                put(i64::MIN.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(x) if *x == i64::MIN as i128)),
            ),
            (
                "Q",
                put(u64::MAX.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(x) if *x == u64::MAX as i128)),
            ),
            (
                "e",
                put(0x3c00u16.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Float(x) if *x == 1.0)),
            ),
            (
                "f",
                put(1.5f32.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Float(x) if *x == 1.5)),
            ),
            (
                "d",
                put((-0.1f64).to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Float(x) if *x == -0.1)),
            ),
            (
                "Zf",
                {
                    let mut b = put(1.0f32.to_le_bytes().into());
                    b.extend(put((-2.0f32).to_le_bytes().into()));
                    b
                },
                Box::new(|v| matches!(v, V::Complex(r, i) if *r == 1.0 && *i == -2.0)),
            ),
            (
                "Zd",
                {
                    let mut b = put(0.5f64.to_le_bytes().into());
                    b.extend(put(4.0f64.to_le_bytes().into()));
                    b
                },
                Box::new(|v| matches!(v, V::Complex(r, i) if *r == 0.5 && *i == 4.0)),
            ),
            (
                "Ze",
                {
                    let mut b = put(0x4000u16.to_le_bytes().into());
                    b.extend(put(0xc000u16.to_le_bytes().into()));
                    b
                },
                Box::new(|v| matches!(v, V::Complex(r, i) if *r == 2.0 && *i == -2.0)),
            ),
            ("?", vec![2], Box::new(|v| matches!(v, V::Bool(true)))),
            ("c", vec![0xe9], Box::new(|v| matches!(v, V::Char(0xe9)))),
            (
                "3s",
                vec![b'a', 0, 0xff],
                Box::new(|v| matches!(v, V::Bytes(b) if *b == [b'a', 0, 0xff])),
            ),
            (
                "4p",
                vec![2, b'h', b'i', b'!'],
                Box::new(|v| matches!(v, V::Bytes(b) if *b == *b"hi")),
            ),
            (
                "3p",
                vec![9, b'h', b'i'],
                Box::new(|v| matches!(v, V::Bytes(b) if *b == *b"hi")),
            ),
            (
                "2u",
                {
                    let mut b = put(0x41u16.to_le_bytes().into());
                    b.extend(put(0x20acu16.to_le_bytes().into()));
                    b
                },
                Box::new(
                    |v| matches!(v, V::Text(t) if t.chars().collect::<Vec<_>>() == [0x41, 0x20ac]),
                ),
            ),
            (
                "w",
                put(0x1f600u32.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Text(t) if t.chars().collect::<Vec<_>>() == [0x1f600])),
            ),
            (
                "12t",
                put(0xfabcu16.to_le_bytes().into()),
                Box::new(|v| matches!(v, V::Int(0xabc))),
            ),
        ];
        for (code, bytes, want) in cases {
            let f = p(&format!("{order}{code}"));
            let leaf = &f.leaves()[0];
            for shift in 0..8 {
                let mut buf = vec![0x55u8; shift];
                buf.extend(&bytes);
                let v = decode(&leaf.scalar, &buf[shift..]).unwrap();
                assert!(want(&v), "{order}{code} at +{shift}: {v:?}");
            }
            let short = bytes_of(&bytes[..bytes.len() - 1]);
            assert_eq!(
                decode(&leaf.scalar, &short).unwrap_err().status,
                Status::OutOfBounds
            );
        }
    }
    // Native-only types.
    let ptr = 0x1234_5678usize.to_ne_bytes();
    for c in ["P", "O", "&i"] {
        let f = p(c);
        assert!(matches!(
            decode(&f.leaves()[0].scalar, &ptr).unwrap(),
            V::Pointer(0x1234_5678)
        ));
    }
    let n = p("n");
    assert!(matches!(
        decode(&n.leaves()[0].scalar, &(-5isize).to_ne_bytes()).unwrap(),
        V::Int(-5)
    ));
}

#[test]
fn long_double_and_half() {
    // x87 extended: 1.0 = mantissa 0x8000..., exponent 16383.
    let mut b = [0u8; 10];
    b[7] = 0x80;
    b[8] = 0xff;
    b[9] = 0x3f;
    assert_eq!(x87_to_f64(&b), 1.0);
    b[9] = 0xbf;
    assert_eq!(x87_to_f64(&b), -1.0);
    // 0.1 as x87 (0x3ffb cccccccccccccccd) rounds to the double 0.1.
    let mut b = [0u8; 10];
    b[..8].copy_from_slice(&0xcccc_cccc_cccc_cccdu64.to_le_bytes());
    b[8..].copy_from_slice(&0x3ffbu16.to_le_bytes());
    assert_eq!(x87_to_f64(&b), 0.1);
    // Infinity, NaN, overflow to infinity, underflow to a subnormal and to zero.
    let mut b = [0u8; 10];
    b[7] = 0x80;
    b[8..].copy_from_slice(&0x7fffu16.to_le_bytes());
    assert_eq!(x87_to_f64(&b), f64::INFINITY);
    b[0] = 1;
    assert!(x87_to_f64(&b).is_nan());
    let mut b = [0u8; 10];
    b[7] = 0x80;
    b[8..].copy_from_slice(&(16383u16 + 2000).to_le_bytes());
    assert_eq!(x87_to_f64(&b), f64::INFINITY);
    b[8..].copy_from_slice(&(16383u16 - 1074).to_le_bytes());
    assert_eq!(x87_to_f64(&b), 5e-324);
    b[8..].copy_from_slice(&(16383u16 - 1080).to_le_bytes());
    assert_eq!(x87_to_f64(&b), 0.0);
    // binary128: 1.0 and -2.5.
    let q = |bits: u128| quad_to_f64(&bits.to_le_bytes());
    assert_eq!(q(0x3fff_u128 << 112), 1.0);
    assert_eq!(q((0xc000_u128 << 112) | (1u128 << 110)), -2.5);
    assert_eq!(q(0x7fff_u128 << 112), f64::INFINITY);
    assert!(q((0x7fff_u128 << 112) | 1).is_nan());
    assert_eq!(q(0), 0.0);
    // Half: subnormal, max, infinity, NaN.
    assert_eq!(half_to_f64(0x0001), 2f64.powi(-24));
    assert_eq!(half_to_f64(0x7bff), 65504.0);
    assert_eq!(half_to_f64(0xfc00), f64::NEG_INFINITY);
    assert!(half_to_f64(0x7e00).is_nan());
    // Native long double through decode, against the C compiler's layout.
    #[cfg(target_arch = "x86_64")]
    {
        let f = p("g");
        let mut item = [0u8; 16];
        item[..8].copy_from_slice(&0xc000_0000_0000_0000u64.to_le_bytes());
        item[8..10].copy_from_slice(&0x4000u16.to_le_bytes());
        assert!(
            matches!(decode(&f.leaves()[0].scalar, &item).unwrap(), Value::Float(x) if x == 3.0)
        );
    }
}

#[test]
fn python_equality() {
    use Value as V;
    let t = |u: &'static [u8], w| {
        V::Text(Text {
            units: u,
            width: w,
            order: ByteOrder::Little,
        })
    };
    let yes = [
        (V::Int(1), V::Float(1.0)),
        (V::Int(1), V::Bool(true)),
        (V::Int(0), V::Float(-0.0)),
        (V::Float(0.0), V::Float(-0.0)),
        (V::Complex(2.0, 0.0), V::Int(2)),
        (V::Complex(2.0, 0.0), V::Float(2.0)),
        (V::Complex(1.0, 2.0), V::Complex(1.0, 2.0)),
        (V::Int(1 << 64), V::Float(18446744073709551616.0)),
        (V::Char(b'a'), V::Bytes(b"a")),
        (V::Bytes(b"ab"), V::Bytes(b"ab")),
        (V::Pointer(7), V::Int(7)),
        (t(b"A\0", 2), t(b"A\0\0\0", 4)),
    ];
    for (a, b) in &yes {
        assert!(value_eq(a, b) && value_eq(b, a), "{a:?} == {b:?}");
    }
    let no = [
        (V::Float(f64::NAN), V::Float(f64::NAN)),
        (V::Int(1), V::Float(1.5)),
        (V::Int(9007199254740993), V::Float(9007199254740992.0)),
        (V::Complex(1.0, 1.0), V::Int(1)),
        (V::Complex(f64::NAN, 0.0), V::Complex(f64::NAN, 0.0)),
        (V::Bytes(b"a"), t(b"a\0", 2)),
        (V::Bytes(b"ab"), V::Bytes(b"ab\0")),
        (V::Char(b'a'), V::Int(97)),
        (V::Int(1), V::Float(f64::INFINITY)),
    ];
    for (a, b) in &no {
        assert!(!value_eq(a, b) && !value_eq(b, a), "{a:?} != {b:?}");
    }
}

#[test]
fn items_compare_by_value() {
    let a = p("<ih");
    let b = p(">qd");
    let mut ia = Vec::new();
    ia.extend(7i32.to_le_bytes());
    ia.extend((-2i16).to_le_bytes());
    let mut ib = Vec::new();
    ib.extend(7i64.to_be_bytes());
    ib.extend((-2.0f64).to_be_bytes());
    assert!(items_equal(&a, &ia, &b, &ib));
    ib[15] ^= 1;
    assert!(!items_equal(&a, &ia, &b, &ib));
    assert!(
        !items_equal(&a, &ia, &p("<i"), &ia[..4]),
        "different value counts"
    );
    assert!(!items_equal(&a, &ia[..5], &a, &ia), "short item");
    let nan = p("d");
    let x = f64::NAN.to_ne_bytes();
    assert!(!items_equal(&nan, &x, &nan, &x), "NaN never equal");
    // Padding is ignored; nesting does not matter.
    let s = p("T{b:a: 3x i:b:}");
    let flat = p("<bi");
    let mut is = vec![1u8, 0xaa, 0xbb, 0xcc];
    is.extend(5i32.to_le_bytes());
    let mut iflat = vec![1u8];
    iflat.extend(5i32.to_le_bytes());
    assert!(items_equal(&s, &is, &flat, &iflat));
}

fn json(f: &str, item: &[u8]) -> String {
    let mut s = String::new();
    write_json(&p(f), item, &mut s).unwrap();
    s
}

#[test]
fn json_every_type() {
    let le = |v: &[&[u8]]| v.concat();
    assert_eq!(json("b", &[0xff]), "-1");
    assert_eq!(json("<Q", &u64::MAX.to_le_bytes()), "18446744073709551615");
    assert_eq!(json("<q", &i64::MIN.to_le_bytes()), "-9223372036854775808");
    assert_eq!(json("?", &[0]), "false");
    assert_eq!(json("?", &[3]), "true");
    assert_eq!(json("<d", &0.1f64.to_le_bytes()), "0.1");
    assert_eq!(json("<d", &(-0.0f64).to_le_bytes()), "-0.0");
    assert_eq!(json("<d", &f64::NAN.to_le_bytes()), "NaN");
    assert_eq!(json("<d", &f64::INFINITY.to_le_bytes()), "Infinity");
    assert_eq!(json("<d", &f64::NEG_INFINITY.to_le_bytes()), "-Infinity");
    assert_eq!(json("<f", &0.1f32.to_le_bytes()), "0.10000000149011612");
    assert_eq!(json("<e", &0x3555u16.to_le_bytes()), "0.333251953125");
    assert_eq!(
        json(
            "<Zd",
            &le(&[&1.5f64.to_le_bytes(), &(-0.0f64).to_le_bytes()])
        ),
        "[1.5, -0.0]"
    );
    assert_eq!(json("c", b"\""), "\"\\\"\"");
    assert_eq!(json("c", &[0xe9]), "\"\\u00e9\"");
    assert_eq!(
        json("6s", b"a\\\n\x00\xff\x7f"),
        "\"a\\\\\\n\\u0000\\u00ff\\u007f\""
    );
    assert_eq!(json("4p", b"\x02hi!"), "\"hi\"");
    assert_eq!(
        json(
            "<2u",
            &le(&[&0x41u16.to_le_bytes(), &0xd800u16.to_le_bytes()])
        ),
        "\"A\\ud800\""
    );
    assert_eq!(
        json(
            ">3w",
            &le(&[
                &0x1f600u32.to_be_bytes(),
                &0xe9u32.to_be_bytes(),
                &0x110000u32.to_be_bytes()
            ])
        ),
        "\"\\ud83d\\ude00\\u00e9\\ufffd\""
    );
    assert_eq!(json("<12t", &0xfabcu16.to_le_bytes()), "2748");
    assert_eq!(json("P", &8usize.to_ne_bytes()), "8");
    assert_eq!(json("4B", &[1, 2, 3, 4]), "[1, 2, 3, 4]");
    assert_eq!(json("(2,2)B", &[1, 2, 3, 4]), "[[1, 2], [3, 4]]");
    assert_eq!(json("BB", &[1, 2]), "[1, 2]");
    assert_eq!(json("B:a: B", &[1, 2]), "{\"a\": 1, \"f0\": 2}");
    assert_eq!(json("B B:f0:", &[1, 2]), "{\"f1\": 1, \"f0\": 2}");
    assert_eq!(
        json("<T{B:x: (2)h:y:} 2s", &[1, 2, 0, 3, 0, b'o', b'k']),
        "[{\"x\": 1, \"y\": [2, 3]}, \"ok\"]"
    );
    assert_eq!(
        json("<T{B:x:}:s: 2s", &[1, 0, b'k']),
        "{\"s\": {\"x\": 1}, \"f0\": \"\\u0000k\"}"
    );
    assert_eq!(json("(2)T{B:k:}", &[5, 6]), "[{\"k\": 5}, {\"k\": 6}]");
    assert_eq!(json("T{BB}", &[5, 6]), "[5, 6]");
    assert_eq!(json("", &[]), "[]");
    assert_eq!(json("3x", &[0, 0, 0]), "[]");
    assert_eq!(json("B:é:", &[9]), "{\"\\u00e9\": 9}");
    let mut s = String::new();
    assert_eq!(
        write_json(&p("i"), &[0, 0], &mut s).unwrap_err().status,
        Status::OutOfBounds
    );
    // Items that would render far more values than they have bytes are refused.
    for f in [
        "(1000000000,1000000000)0s",
        "^99999999T{(0,3)d:t5t!y:}",
        "(1000)T{b (10000)T{}}",
    ] {
        let e = write_json(&p(f), &vec![0; p(f).itemsize()], &mut s).unwrap_err();
        assert_eq!(e.status, Status::Unsupported, "{f}");
        assert!(
            e.message.contains("values and arrays from"),
            "{}",
            e.message
        );
    }
    assert_eq!(json("(3)T{(0)d}", &[]), "[[[]], [[]], [[]]]");
}

#[test]
fn float_repr_table() {
    let mut n = 0;
    for r in rows(FLOAT_TABLE) {
        let x = f64::from_bits(u64::from_str_radix(r[0], 16).unwrap());
        let mut s = String::new();
        write_float(x, &mut s);
        assert_eq!(s, r[1], "repr of {:e} (bits {})", x, r[0]);
        n += 1;
    }
    assert!(n >= 300);
}

#[test]
fn render_depth_is_bounded() {
    // 63 structs, each inside a 64-dimensional sub-array of extent 1: thousands of levels of
    // recursion to render, refused; the same nesting with one-dimensional sub-arrays is fine.
    let dims64 = format!("({})", vec!["1"; 64].join(","));
    let mut deep = format!("{dims64}B");
    let mut shallow = "(1)B".to_string();
    for _ in 0..63 {
        deep = format!("{dims64}T{{{deep}}}");
        shallow = format!("(1)T{{{shallow}}}");
    }
    let e = parse_uncached(deep.as_bytes()).unwrap_err();
    assert_eq!(e.status, Status::Format);
    assert!(
        e.message.contains("nested more than 256 levels"),
        "{}",
        e.message
    );
    let f = parse_uncached(shallow.as_bytes()).unwrap();
    let mut out = String::new();
    write_json(&f, &[7], &mut out).unwrap();
    assert_eq!(out.matches('7').count(), 1);
}

#[test]
fn struct_module_formats_render_as_struct_unpack() {
    // Repeat counts are flattened into the one tuple; a zero count contributes nothing.
    assert_eq!(json("<2hi", &[1, 0, 2, 0, 3, 0, 0, 0]), "[1, 2, 3]");
    assert_eq!(json("<ii0h", &[1, 0, 2, 0, 3, 0, 0, 0]), "[131073, 3]");
    assert_eq!(
        json("<2i2i", &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]),
        "[1, 2, 3, 4]"
    );
    assert_eq!(json("<0i", &[]), "[]");
    assert_eq!(json("0i0h", &[]), "[]");
    // A single value is unwrapped, wherever padding puts it.
    assert_eq!(json("xB", &[1, 2]), "2");
    assert_eq!(json("=xI", &[0xff, 1, 0, 0, 0]), "1");
    assert_eq!(json("<3xh0i", &[9, 9, 9, 5, 0]), "5");
    assert_eq!(json("@bi", &[1, 9, 9, 9, 2, 0, 0, 0]), "[1, 2]");
    assert_eq!(json("0s", &[]), "\"\"");
    assert_eq!(json("0s0si", &[7, 0, 0, 0]), "[\"\", \"\", 7]");
    assert_eq!(json("1i", &[7, 0, 0, 0]), "7");
    assert_eq!(json("< 2h ", &[7, 0, 8, 0]), "[7, 8]");
    // Every byte of s, the bytes a p names, c as one byte: as struct.unpack gives them.
    assert_eq!(json("3s", b"a\0\0"), "\"a\\u0000\\u0000\"");
    assert_eq!(json("c", &[0]), "\"\\u0000\"");
    assert_eq!(json("3pc", b"\x05ab\0"), "[\"ab\", \"\\u0000\"]");
    for f in ["<2hi", "xB", "=xI", "0s", "< 2h ", "!Q", "@nNP", "i2p3s?e"] {
        assert!(p(f).struct_module(), "{f}");
    }
    // Not the struct module's grammar: NumPy's reading.
    for f in [
        "^i", "<i>i", " <i", "T{i}", "i:a:", "(2)i", "g", "Zf", "2u", "w", "3t", "O", "&i",
    ] {
        assert!(!p(f).struct_module(), "{f}");
    }
}

#[test]
fn other_formats_render_as_numpy_reads_them() {
    // NumPy unwraps the top level only when it is one unnamed field at offset 0 that spans
    // the whole item: padding on either side keeps the enclosing struct.
    assert_eq!(json("^xB", &[1, 2]), "[2]");
    assert_eq!(json("^B", &[2]), "2");
    assert_eq!(json("^2B", &[2, 3]), "[2, 3]");
    assert_eq!(json("2xT{<i:a:}", &[9, 9, 5, 0, 0, 0]), "[{\"a\": 5}]");
    assert_eq!(json("<T{<i:a:}2x", &[5, 0, 0, 0, 9, 9]), "[{\"a\": 5}]");
    assert_eq!(json("T{<i:a:}", &[5, 0, 0, 0]), "{\"a\": 5}");
    let mut z = Vec::new();
    for k in 0..6 {
        z.extend((k as f64).to_be_bytes());
    }
    z.extend([0, 0, 0, 0, 0]);
    assert_eq!(
        json("<T{!3Zd:a5:}2x", &z[..50]),
        "[{\"a5\": [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]}]"
    );
    // Sub-arrays keep their shape, counts included; a zero extent is an empty list.
    assert_eq!(json("^2B3B", &[1, 2, 3, 4, 5]), "[[1, 2], [3, 4, 5]]");
    assert_eq!(json("^ii0h", &[1, 0, 0, 0, 2, 0, 0, 0]), "[1, 2, []]");
    assert_eq!(
        json("T{<i:a: 0h:b:}", &[1, 0, 0, 0]),
        "{\"a\": 1, \"b\": []}"
    );
    // NumPy's S and U values end at their trailing NULs.
    assert_eq!(json("T{4s}", b"ab\0\0"), "[\"ab\"]");
    assert_eq!(json("^4s", b"\0b\0\0"), "\"\\u0000b\"");
    assert_eq!(json("^c", &[0]), "\"\"");
    assert_eq!(
        json("<3w", &[0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "\"A\""
    );
    assert_eq!(json("<2u", &[0x41, 0, 0, 0]), "\"A\"");
    // The field table reads the same way: the struct is unwrapped only when NumPy does.
    assert_eq!(p("T{i:a: i:b:}").fields().len(), 2);
    assert_eq!(p("<T{i:a: i:b:}2x").fields().len(), 1);
    assert_eq!(p("2xT{i:a: i:b:}").fields().len(), 1);
}

#[test]
// The literals are the exact values of the doubles (each a tie at one digit fewer).
#[allow(clippy::excessive_precision)]
fn float_text_ties_round_to_even_as_python_repr() {
    let f = |x: f64| {
        let mut s = String::new();
        write_float(x, &mut s);
        s
    };
    assert_eq!(f(1957509573526577.25), "1957509573526577.2");
    assert_eq!(f(1957509573526577.75), "1957509573526577.8");
    assert_eq!(f(0.50196075439453125), "0.5019607543945312");
    assert_eq!(f(-9.5844268798828125e-05), "-9.584426879882812e-05");
    assert_eq!(
        json("<f", &0x3f00_8080u32.to_le_bytes()),
        "0.5019607543945312"
    );
    assert_eq!(
        json("<e", &0x8648u16.to_le_bytes()),
        "-9.584426879882812e-05"
    );
    assert_eq!(
        json("<d", &1957509573526577.25f64.to_le_bytes()),
        "1957509573526577.2"
    );
}

#[test]
fn non_canonical_x87_encodings_are_nan() {
    let x = |mant: u64, se: u16| {
        let mut b = [0u8; 10];
        b[..8].copy_from_slice(&mant.to_le_bytes());
        b[8..].copy_from_slice(&se.to_le_bytes());
        x87_to_f64(&b)
    };
    // Unnormals (integer bit clear, exponent neither 0 nor all ones), pseudo-infinities and
    // pseudo-NaNs: the x87 refuses them as operands and converts them to NaN.
    assert!(x(0x4000_0000_0000_0000, 0x3fff).is_nan());
    assert!(x(0, 0x3fff).is_nan());
    assert!(x(0, 0xbfff).is_nan());
    assert!(x(1, 0x0001).is_nan());
    assert!(x(0, 0x7fff).is_nan());
    assert!(x(0, 0xffff).is_nan());
    assert!(x(1, 0x7fff).is_nan());
    assert!(x(0x4000_0000_0000_0000, 0x7fff).is_nan());
    // Canonical encodings keep their values; pseudo-denormals are tiny numbers (zero in f64).
    assert_eq!(x(0x8000_0000_0000_0000, 0x7fff), f64::INFINITY);
    assert_eq!(x(0x8000_0000_0000_0000, 0xffff), f64::NEG_INFINITY);
    assert!(x(0xc000_0000_0000_0000, 0x7fff).is_nan());
    assert_eq!(x(0x8000_0000_0000_0000, 0x3fff), 1.0);
    let pd = x(0x8000_0000_0000_0000, 0x0000);
    assert!(pd == 0.0 && pd.is_sign_positive());
    let pd = x(0x8000_0000_0000_0001, 0x8000);
    assert!(pd == 0.0 && pd.is_sign_negative());
    assert_eq!(x(0, 0x8000).to_bits(), (-0.0f64).to_bits());
    #[cfg(target_arch = "x86_64")]
    {
        let mut item = [0u8; 16];
        item[..8].copy_from_slice(&0x4000_0000_0000_0000u64.to_le_bytes());
        item[8..10].copy_from_slice(&0x3fffu16.to_le_bytes());
        assert_eq!(json("g", &item), "NaN");
    }
}
