//! Decoding items to values, and comparing them.

use super::super::value::{half_to_f64, quad_to_f64, x87_to_f64};
use super::super::*;
use super::p;
use crate::status::Status;

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
