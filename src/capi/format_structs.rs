//! The format section's C structs (`xbuf_format_field_info`, `xbuf_format_leaf_info`,
//! `xbuf_value`) built from a parsed format, in safe code.

use std::ffi::{c_char, c_int};

use super::{
    xbuf_format_field_info, xbuf_format_leaf_info, xbuf_value, XBUF_VALUE_BITS, XBUF_VALUE_BOOL,
    XBUF_VALUE_BYTES, XBUF_VALUE_CHAR, XBUF_VALUE_COMPLEX, XBUF_VALUE_FLOAT, XBUF_VALUE_INT,
    XBUF_VALUE_POINTER, XBUF_VALUE_TEXT, XBUF_VALUE_UINT,
};
use crate::bail;
use crate::format::{self, Format, Kind, Scalar, Value};
use crate::status::Result;

/// Field `index` of `f` as the C struct describes it (its pointers point into `f`).
pub(super) fn field_info(f: &Format, index: usize) -> Result<xbuf_format_field_info> {
    let fields = f.fields();
    let Some(field) = fields.get(index) else {
        bail!(
            OutOfBounds,
            "field index {index} >= the field count {}",
            fields.len()
        );
    };
    Ok(xbuf_format_field_info {
        structsize: 0,
        name: field
            .name_c()
            .map_or(std::ptr::null(), |n| n.as_ptr().cast()),
        offset: field.offset as isize,
        stride: field.stride as isize,
        format: field.text_c().as_ptr().cast(),
        ndim: field.shape.len() as c_int,
        shape: if field.shape.is_empty() {
            std::ptr::null()
        } else {
            field.shape.as_ptr().cast::<isize>()
        },
    })
}

/// Leaf run `index` of `f` as the C struct describes it.
pub(super) fn leaf_info(f: &Format, index: usize) -> Result<xbuf_format_leaf_info> {
    let leaves = f.leaves();
    let Some(l) = leaves.get(index) else {
        bail!(
            OutOfBounds,
            "leaf index {index} >= the leaf count {}",
            leaves.len()
        );
    };
    Ok(xbuf_format_leaf_info {
        structsize: 0,
        offset: l.offset as isize,
        count: l.count as isize,
        size: l.scalar.size as isize,
        kind: kind_code(l.scalar.kind),
        code: format::canonical_code(&l.scalar) as c_char,
        byteorder: l.scalar.order.as_char() as c_char,
    })
}

/// The scalar of element `element_index` of leaf run `leaf_index` of `f`, and its offset in
/// an item.
pub(super) fn element_at(
    f: &Format,
    leaf_index: usize,
    element_index: usize,
) -> Result<(&Scalar, usize)> {
    let leaves = f.leaves();
    let Some(l) = leaves.get(leaf_index) else {
        bail!(
            OutOfBounds,
            "leaf index {leaf_index} >= the leaf count {}",
            leaves.len()
        );
    };
    if element_index >= l.count {
        bail!(
            OutOfBounds,
            "element index {element_index} >= the leaf's count {}",
            l.count
        );
    }
    Ok((&l.scalar, l.offset + element_index * l.scalar.size))
}

/// The scalar at the start of `bytes`, decoded into the C struct (bytes and text point into
/// `bytes`).
pub(super) fn decoded(scalar: &Scalar, bytes: &[u8]) -> Result<xbuf_value> {
    let mut r = xbuf_value {
        structsize: 0,
        kind: kind_code(scalar.kind),
        width: 0,
        i: 0,
        u: 0,
        real: 0.0,
        imag: 0.0,
        data: std::ptr::null(),
        len: 0,
        byteorder: 0,
    };
    match format::decode(scalar, bytes)? {
        Value::Int(x) => {
            r.i = x as i64;
            r.u = x as u64;
        }
        Value::Float(x) => r.real = x,
        Value::Complex(re, im) => {
            r.real = re;
            r.imag = im;
        }
        Value::Bool(b) => r.u = b as u64,
        Value::Char(c) => r.u = c as u64,
        Value::Pointer(p) => r.u = p as u64,
        Value::Bytes(b) => {
            r.data = b.as_ptr().cast();
            r.len = b.len();
        }
        Value::Text(t) => {
            r.data = t.units.as_ptr().cast();
            r.len = t.units.len() / t.width;
            r.width = t.width as c_int;
            r.byteorder = t.order.as_char() as c_char;
        }
    }
    Ok(r)
}

pub(super) fn kind_code(k: Kind) -> c_int {
    match k {
        Kind::Int => XBUF_VALUE_INT,
        Kind::UInt => XBUF_VALUE_UINT,
        Kind::Float => XBUF_VALUE_FLOAT,
        Kind::Complex => XBUF_VALUE_COMPLEX,
        Kind::Bool => XBUF_VALUE_BOOL,
        Kind::Char => XBUF_VALUE_CHAR,
        Kind::Bytes | Kind::Pascal => XBUF_VALUE_BYTES,
        Kind::Ucs2 | Kind::Ucs4 => XBUF_VALUE_TEXT,
        Kind::Pointer | Kind::Object | Kind::Ref => XBUF_VALUE_POINTER,
        Kind::Bits => XBUF_VALUE_BITS,
    }
}
