//! Tests of the request rules.

use super::*;
use crate::status::Status;

/// Every request flag and every combination the header names.
pub(crate) const NAMED_REQUESTS: [c_int; 17] = [
    XBUF_SIMPLE,
    XBUF_WRITABLE,
    XBUF_FORMAT,
    XBUF_ND,
    XBUF_STRIDES,
    XBUF_C_CONTIGUOUS,
    XBUF_F_CONTIGUOUS,
    XBUF_ANY_CONTIGUOUS,
    XBUF_INDIRECT,
    XBUF_CONTIG,
    XBUF_CONTIG_RO,
    XBUF_STRIDED,
    XBUF_STRIDED_RO,
    XBUF_RECORDS,
    XBUF_RECORDS_RO,
    XBUF_FULL,
    XBUF_FULL_RO,
];

/// `grant` decides every request on a library-made answer exactly as `plan` does: the same
/// error status, or the same fields for the consumer.
#[test]
fn grant_agrees_with_plan_on_checked_answers() {
    let subs = [0isize, -1];
    let cases: [(&[isize], &[isize], Option<&[isize]>, bool); 7] = [
        (&[2, 3], &[12, 4], None, false),
        (&[2, 3], &[4, 8], None, true),
        (&[2, 3], &[24, 8], None, false),
        (&[3], &[-4], None, true),
        (&[0, 5], &[20, 4], None, false),
        (&[4, 1], &[4, 99], None, false),
        (&[2, 3], &[8, 4], Some(&subs), false),
    ];
    let requests = NAMED_REQUESTS;
    let mut granted = 0;
    for (shape, strides, suboffsets, readonly) in cases {
        let mut r = resp(shape, Some(strides), 4);
        r.suboffsets = suboffsets;
        r.readonly = readonly;
        for flags in requests {
            let flags = Flags::new(flags).unwrap();
            let (p, g) = (plan(&r, flags, c"t"), grant(&r, flags, c"t"));
            match (p, g) {
                (Ok(p), Ok(g)) => {
                    granted += 1;
                    assert_eq!(
                        (p.give_shape, p.give_strides, p.give_format, p.format),
                        (g.give_shape, g.give_strides, g.give_format, g.format)
                    );
                    assert_eq!(
                        (p.shape(), p.strides, p.suboffsets),
                        (g.shape(), g.strides, g.suboffsets)
                    );
                    assert_eq!(
                        (p.ndim_out(), p.len, p.readonly),
                        (g.ndim_out(), g.len, g.readonly)
                    );
                }
                (Err(p), Err(g)) => {
                    assert_eq!(
                        (p.status, &p.message),
                        (g.status, &g.message),
                        "{shape:?} {strides:?} {flags:?}"
                    )
                }
                (p, g) => panic!("{shape:?} {strides:?} {flags:?}: plan {p:?}, grant {g:?}"),
            }
        }
    }
    // Both outcomes were met.
    assert!(granted > 20 && granted < 7 * requests.len(), "{granted}");
}

fn resp<'a>(shape: &'a [isize], strides: Option<&'a [isize]>, itemsize: isize) -> Response<'a> {
    Response {
        buf: 0x1000 as *mut u8,
        len: layout::byte_len(shape, itemsize).unwrap(),
        itemsize,
        ndim: shape.len(),
        shape: Some(shape),
        strides,
        format: Some(if itemsize == 4 { c"i" } else { c"B" }),
        ..Response::default()
    }
}

#[test]
fn flag_consistency() {
    for f in [
        XBUF_SIMPLE,
        XBUF_FULL,
        XBUF_FULL_RO,
        XBUF_RECORDS,
        XBUF_CONTIG,
        XBUF_C_CONTIGUOUS | XBUF_F_CONTIGUOUS,
    ] {
        Flags::new(f).unwrap();
    }
    for f in [0x2, 0x200, 0x20, 0x10, 0x100 | XBUF_ND, -1] {
        assert_eq!(
            Flags::new(f).unwrap_err().status,
            Status::InvalidArgument,
            "{f:#x}"
        );
    }
}

#[test]
fn strided_answers_to_each_request() {
    let shape = [3, 4];
    let strides = [4, 12]; // Fortran order, itemsize 4
    let r = resp(&shape, Some(&strides), 4);
    let p = plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t").unwrap();
    assert_eq!(
        (p.ndim_out(), p.give_shape, p.give_strides, p.give_format),
        (2, true, true, true)
    );
    let e = plan(&r, Flags::new(XBUF_SIMPLE).unwrap(), c"t").unwrap_err();
    assert_eq!(e.status, Status::NotContiguous);
    let e = plan(&r, Flags::new(XBUF_C_CONTIGUOUS).unwrap(), c"t").unwrap_err();
    assert_eq!(e.status, Status::NotContiguous);
    assert!(e.message.contains("XBUF_C_CONTIGUOUS"), "{}", e.message);
    plan(&r, Flags::new(XBUF_F_CONTIGUOUS).unwrap(), c"t").unwrap();
    plan(&r, Flags::new(XBUF_ANY_CONTIGUOUS).unwrap(), c"t").unwrap();
    let p = plan(&r, Flags::new(XBUF_SIMPLE | XBUF_FORMAT).unwrap(), c"t");
    assert_eq!(p.unwrap_err().status, Status::NotContiguous);
}

#[test]
fn without_nd_a_contiguous_answer_is_one_dimensional() {
    let shape = [3, 4];
    let r = resp(&shape, None, 4);
    let p = plan(&r, Flags::new(XBUF_SIMPLE).unwrap(), c"t").unwrap();
    assert_eq!(
        (p.ndim_out(), p.give_shape, p.give_strides, p.give_format),
        (1, false, false, false)
    );
    assert_eq!(p.len, 48);
}

#[test]
fn broken_answers() {
    let shape = [3, 4];
    let mut r = resp(&shape, None, 4);
    r.len = 47;
    assert_eq!(
        plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t")
            .unwrap_err()
            .status,
        Status::BadExporter
    );
    let mut r = resp(&shape, None, 4);
    r.ndim = 65;
    assert_eq!(
        plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t")
            .unwrap_err()
            .status,
        Status::BadExporter
    );
    let mut r = resp(&shape, None, 4);
    r.format = Some(c"d");
    let e = plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t").unwrap_err();
    assert_eq!(e.status, Status::Format);
    // Not checked when the consumer does not receive the format.
    plan(&r, Flags::new(XBUF_STRIDED_RO).unwrap(), c"t").unwrap();
    let mut r = resp(&shape, None, 4);
    r.format = None;
    assert_eq!(
        plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t")
            .unwrap_err()
            .status,
        Status::BadExporter
    );
    let huge = [isize::MAX];
    let r = resp(&[2], Some(&huge), 4);
    assert_eq!(
        plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t")
            .unwrap_err()
            .status,
        Status::BadExporter
    );
    let r = Response {
        buf: std::ptr::null_mut(),
        ..resp(&[2], None, 4)
    };
    assert_eq!(
        plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t")
            .unwrap_err()
            .status,
        Status::BadExporter
    );
}

#[test]
fn suboffsets_need_indirect() {
    let shape = [2, 3];
    let strides = [8, 1];
    let subs = [0, -1];
    let r = Response {
        suboffsets: Some(&subs),
        format: Some(c"B"),
        ..resp(&shape, Some(&strides), 1)
    };
    let e = plan(&r, Flags::new(XBUF_RECORDS_RO).unwrap(), c"t").unwrap_err();
    assert_eq!(e.status, Status::Request);
    let p = plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t").unwrap();
    assert!(p.give_suboffsets());
    let all_negative = [-1, -1];
    let r = Response {
        suboffsets: Some(&all_negative),
        ..r
    };
    let p = plan(&r, Flags::new(XBUF_RECORDS_RO).unwrap(), c"t").unwrap();
    assert!(!p.give_suboffsets());
}

#[test]
fn readonly_refuses_writable() {
    let r = Response {
        readonly: true,
        ..Response::bytes(0x10 as *mut u8, 4, true)
    };
    assert_eq!(
        plan(&r, Flags::new(XBUF_WRITABLE).unwrap(), c"t")
            .unwrap_err()
            .status,
        Status::ReadOnly
    );
    let p = plan(&r, Flags::new(XBUF_FULL_RO).unwrap(), c"t").unwrap();
    assert!(p.is_flat_bytes());
    assert_eq!(p.shape(), &[4]);
}
