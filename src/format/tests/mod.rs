use super::json::write_float;
use super::value::{half_to_f64, quad_to_f64, x87_to_f64};
use super::*;
use crate::status::Status;

const STRUCT_TABLE: &str = include_str!("../../../tests/data/struct_calcsize.tsv");
const NUMPY_TABLE: &str = include_str!("../../../tests/data/numpy_struct.tsv");
const FLOAT_TABLE: &str = include_str!("../../../tests/data/float_repr.tsv");

pub(super) fn rows(table: &str) -> impl Iterator<Item = Vec<&str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
}

pub(super) fn p(f: &str) -> Format {
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

mod json;
mod values;
