//! The direct writing of a trusted answer against the general one (`request::grant`'s plan
//! through `write_view`): the same view, field by field, for every request and struct size.

use super::*;
use crate::exporters::ndarray::{NdArray, Spec};
use crate::request::tests::NAMED_REQUESTS;
use crate::status::Status;
use std::ffi::CStr;

/// Where a pointer of a view points: NULL, inside the struct itself (at an offset), or
/// elsewhere (the value itself, or the contents when it is the view's own storage).
#[derive(Debug, PartialEq)]
pub(crate) enum At {
    Null,
    InView(usize),
    Elsewhere(usize),
    Owned,
}

/// A view's fields, with pointers into its own storage made comparable between two views.
#[derive(Debug, PartialEq)]
pub(crate) struct Seen {
    buf: At,
    table: Option<Vec<usize>>,
    len: isize,
    itemsize: isize,
    readonly: c_int,
    ndim: c_int,
    format: (At, Option<Vec<u8>>),
    shape: (At, Option<Vec<isize>>),
    strides: (At, Option<Vec<isize>>),
    suboffsets: (At, Option<Vec<isize>>),
    internal: usize,
    device: (i32, i32),
    releaser: usize,
    has_block: bool,
    /// Bytes of the struct after the published prefix, where it has them.
    tail: Vec<u8>,
}

pub(crate) unsafe fn seen(v: *const xbuf_bufferinfo) -> Seen {
    let size = (*v).structsize;
    let start = v as usize;
    let table = owned_table(v);
    let at = |p: usize| {
        if p == 0 {
            At::Null
        } else if (start..start + size).contains(&p) {
            At::InView(p - start)
        } else if (*v)._private[0] != 0 {
            At::Owned
        } else {
            At::Elsewhere(p)
        }
    };
    let n = (*v).ndim.max(0) as usize;
    let arr = |p: *mut isize| {
        (
            at(p as usize),
            (!p.is_null()).then(|| std::slice::from_raw_parts(p, n).to_vec()),
        )
    };
    let buf = match table {
        Some(t) => At::InView((*v).buf as usize - t.as_ptr() as usize),
        None => at((*v).buf as usize),
    };
    let prefix = XBUF_BUFFERINFO_SIZE_MIN;
    Seen {
        buf,
        table: table.map(|t| t.iter().map(|&p| p as usize).collect()),
        len: (*v).len,
        itemsize: (*v).itemsize,
        readonly: (*v).readonly,
        ndim: (*v).ndim,
        format: (
            at((*v).format as usize),
            (!(*v).format.is_null()).then(|| CStr::from_ptr((*v).format).to_bytes().to_vec()),
        ),
        shape: arr((*v).shape),
        strides: arr((*v).strides),
        suboffsets: arr((*v).suboffsets),
        internal: (*v).internal as usize,
        device: if size >= XBUF_BUFFERINFO_SIZE {
            ((*v).device_type, (*v).device_id)
        } else {
            (-1, -1)
        },
        releaser: (*v).releaser as usize,
        has_block: (*v)._private[0] != 0,
        tail: std::slice::from_raw_parts((v as *const u8).add(prefix), size - prefix).to_vec(),
    }
}

/// A struct of `size` bytes (within a full-size or larger allocation) for a view.
pub(crate) fn fresh(size: usize) -> Box<[u64]> {
    let mut b = vec![0u64; XBUF_BUFFERINFO_SIZE / 8 + 8].into_boxed_slice();
    b[0] = size as u64;
    b
}

/// The general path for a trusted exporter: `fill`'s zeroing, the answer, `request::grant`
/// and `write_view` (the export is not counted: the view is only read, then its block freed).
unsafe fn general(obj: &Object, view: *mut xbuf_bufferinfo, flags: c_int) -> Result<()> {
    let flags = Flags::new(flags)?;
    let size = (*view).structsize;
    if flags.device() && size < XBUF_BUFFERINFO_SIZE {
        return Err(device_struct_too_old(size));
    }
    let inline = (view as *mut u8).add(XBUF_BUFFERINFO_SIZE_MIN);
    ptr::write_bytes(
        inline,
        0,
        size.min(XBUF_BUFFERINFO_SIZE) - XBUF_BUFFERINFO_SIZE_MIN,
    );
    let mut scratch = xbuf_bufferinfo::empty();
    let resp = obj.exporter().get_buffer(obj, flags.0, &mut scratch)?;
    let releaser = resp.releaser.map_or(obj.as_ptr(), |r| r.as_ptr().cast());
    let plan = request::grant(&resp, flags, obj.type_name())?;
    write_view(view, &plan, releaser.cast())
}

fn arrays() -> Vec<ObjRef> {
    let data: Vec<u8> = (0..=255).collect();
    let spec = |format: &'static [u8], shape: &'static [isize], strides, offset, flags| {
        NdArray::new_object(&Spec {
            data: &data,
            format,
            shape,
            strides,
            offset,
            flags,
        })
        .unwrap()
    };
    let mut v = vec![
        NdArray::zeros(b"d", &[4, 6], Order::C, 0).unwrap(),
        NdArray::zeros(b"<h", &[2, 3], Order::F, XBUF_NDARRAY_READONLY).unwrap(),
        NdArray::zeros(b"B", &[7], Order::C, 0).unwrap(),
        NdArray::zeros(b"b", &[2, 2], Order::C, 0).unwrap(),
        NdArray::zeros(b"i", &[], Order::C, 0).unwrap(),
        NdArray::zeros(b"f", &[0, 3], Order::C, 0).unwrap(),
        NdArray::zeros(b"f", &[1, 1, 1, 1], Order::C, 0).unwrap(),
        NdArray::zeros(b"B", &[2, 2, 2, 2], Order::C, 0).unwrap(),
        NdArray::zeros(b"T{<i:a:<h:b:}", &[3], Order::C, 0).unwrap(),
        NdArray::zeros(b"T{<i:a:<h:b:<d:c:<q:d:}", &[2], Order::C, 0).unwrap(),
        spec(b"B", &[2, 3], Some(&[-12, 2]), 12, 0),
        spec(b"B", &[5], Some(&[3]), 0, XBUF_NDARRAY_READONLY),
        spec(b"<H", &[4], Some(&[-2]), 6, 0),
        spec(b"B", &[2, 3], Some(&[-12, 2]), 12, XBUF_NDARRAY_PIL),
    ];
    // Views: the direct path also serves a view object's held layout.
    let base = NdArray::zeros(b"d", &[4, 6], Order::C, 0).unwrap();
    v.push(crate::view::new(&base, XBUF_FULL_RO).unwrap());
    let bytes = NdArray::zeros(b"B", &[9], Order::C, 0).unwrap();
    v.push(crate::view::new(&bytes, XBUF_FULL).unwrap());
    let pil = spec(b"B", &[2, 3], Some(&[-12, 2]), 12, XBUF_NDARRAY_PIL);
    v.push(crate::view::new(&pil, XBUF_FULL).unwrap());
    v
}

#[test]
fn direct_writing_agrees_with_the_general_path() {
    let mut requests = NAMED_REQUESTS.to_vec();
    requests.push(XBUF_FULL_RO | XBUF_DEVICE);
    let sizes = [
        XBUF_BUFFERINFO_SIZE_MIN,
        XBUF_BUFFERINFO_SIZE_NODEVICE,
        XBUF_BUFFERINFO_SIZE,
        XBUF_BUFFERINFO_SIZE + 24,
    ];
    let (mut direct, mut agreed, mut refused) = (0, 0, 0);
    for obj in arrays() {
        assert!(obj.exporter().trusted());
        for &flags in &requests {
            for size in sizes {
                let (mut a, mut b) = (fresh(size), fresh(size));
                let (pa, pb) = (
                    a.as_mut_ptr() as *mut xbuf_bufferinfo,
                    b.as_mut_ptr() as *mut xbuf_bufferinfo,
                );
                unsafe {
                    let got = get_buffer(&obj, pa, flags);
                    let want = general(&obj, pb, flags);
                    let what = format!("{:?} flags 0x{flags:x} size {size}", seen_shape(&obj));
                    match (got, want) {
                        (Ok(()), Ok(())) => {
                            // The views differ only in where they live.
                            let (sa, mut sb) = (seen(pa), seen(pb));
                            if !sa.has_block && size >= XBUF_BUFFERINFO_SIZE_NODEVICE {
                                direct += 1;
                            }
                            assert_eq!(sa.releaser, sb.releaser, "{what}");
                            sb.releaser = sa.releaser;
                            // The tail holds the inline storage; the seal binds the address.
                            assert_eq!(sa, sb, "{what}");
                            agreed += 1;
                            release(pa).unwrap();
                            Block::free((*pb)._private[0]);
                        }
                        (Err(e), Err(f)) => {
                            assert_eq!(e.status, f.status, "{what}: {e:?} / {f:?}");
                            assert!(!is_filled(pa), "{what}");
                            refused += 1;
                        }
                        (g, w) => panic!("{what}: direct {g:?}, general {w:?}"),
                    }
                }
            }
        }
        assert_eq!(obj.exports(), 0);
    }
    // Both outcomes and the direct writing were exercised.
    assert!(
        direct > 200 && agreed > direct && refused > 50,
        "{direct} {agreed} {refused}"
    );
}

fn seen_shape(obj: &Object) -> String {
    let mut s = xbuf_bufferinfo::empty();
    match obj.exporter().get_buffer(obj, XBUF_FULL_RO, &mut s) {
        Ok(r) => format!("{:?}/{:?}/{:?}", r.shape, r.strides, r.format),
        Err(e) => format!("{e:?}"),
    }
}

/// A refused request leaves the view empty and the export uncounted, on the direct path as
/// on the general one.
#[test]
fn direct_path_refusals_leave_nothing() {
    let obj = NdArray::zeros(b"d", &[4, 6], Order::F, XBUF_NDARRAY_READONLY).unwrap();
    let view = crate::view::new(&obj, XBUF_FULL_RO).unwrap();
    for o in [&obj, &view] {
        for (flags, status) in [
            (XBUF_WRITABLE, Status::ReadOnly),
            (XBUF_CONTIG_RO, Status::NotContiguous),
            (XBUF_SIMPLE, Status::NotContiguous),
        ] {
            let mut v = fresh(XBUF_BUFFERINFO_SIZE);
            let p = v.as_mut_ptr() as *mut xbuf_bufferinfo;
            let e = unsafe { get_buffer(o, p, flags) }.unwrap_err();
            assert_eq!(e.status, status);
            assert!(v[1..].iter().all(|&w| w == 0));
        }
    }
    assert_eq!(view.exports(), 0);
    // The view itself holds one export on its base.
    assert_eq!(obj.exports(), 1);
}
