//! Items rendered as JSON and as Python reprs.

use super::super::json::write_float;
use super::super::value::x87_to_f64;
use super::super::*;
use super::{p, rows, FLOAT_TABLE};
use crate::status::Status;

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
