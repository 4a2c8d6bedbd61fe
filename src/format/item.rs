//! The value rule (see "Values" in the [module docs](super)), written once: [`walk`] takes
//! an item through it, reporting its values and how they nest, and every renderer (the JSON
//! text of an item, `tolist` of a view, indexed items) is a [`Visit`] of that walk.

use super::value::decode;
use super::{Field, FieldType, Format, Kind, Scalar, Struct, Text, Value};
use crate::bail;
use crate::status::Result;

/// What [`walk`] reports, in order: a depth-first traversal of the item's values.
pub trait Visit<'a> {
    /// One scalar value.
    fn value(&mut self, v: Value<'a>) -> Result<()>;
    /// A list starts (a sub-array dimension, a struct without names, the top-level tuple).
    fn begin_list(&mut self) -> Result<()>;
    /// The innermost open list ends.
    fn end_list(&mut self) -> Result<()>;
    /// A record (a struct with at least one named field) starts.
    fn begin_record(&mut self) -> Result<()>;
    /// The name of the next member of the innermost open record.
    fn key(&mut self, name: &str) -> Result<()>;
    /// The innermost open record ends.
    fn end_record(&mut self) -> Result<()>;
}

/// Walks the item `item` (at least `fmt.itemsize()` bytes) of `fmt` through `v` by the rule
/// above. Fails with `XBUF_ERR_OUT_OF_BOUNDS` when `item` is too short, or with the first
/// error `v` returns.
pub fn walk<'a, V: Visit<'a>>(fmt: &Format, item: &'a [u8], v: &mut V) -> Result<()> {
    if item.len() < fmt.itemsize() {
        bail!(
            OutOfBounds,
            "the item has {} bytes; its format '{}' needs {}",
            item.len(),
            fmt.canonical(),
            fmt.itemsize()
        );
    }
    let root = fmt.root();
    if fmt.struct_module() {
        // Every field of a struct-module format is a scalar with at most one dimension.
        let n: usize = root.fields.iter().map(Field::count).sum();
        if n != 1 {
            v.begin_list()?;
        }
        for f in &root.fields {
            let FieldType::Scalar(s) = &f.ty else {
                continue;
            };
            for k in 0..f.count() {
                v.value(decode(s, &item[f.offset + k * f.stride..])?)?;
            }
        }
        if n != 1 {
            v.end_list()?;
        }
        return Ok(());
    }
    match fmt.top_field() {
        Some(f) => field(f, &item[f.offset..], v),
        None => record(root, item, v),
    }
}

/// A struct's fields as NumPy reads them: a record when any field has a name, else a list.
fn record<'a, V: Visit<'a>>(st: &Struct, item: &'a [u8], v: &mut V) -> Result<()> {
    let named = st.fields.iter().any(|f| f.name().is_some());
    if !named {
        v.begin_list()?;
        for f in &st.fields {
            field(f, &item[f.offset..], v)?;
        }
        return v.end_list();
    }
    // NumPy's names for unnamed fields: the first f<j> not used by any field, nor given to
    // an earlier unnamed one (so `j` only grows). One set lookup per candidate: linear time.
    let used: std::collections::HashSet<&str> = st.fields.iter().filter_map(|f| f.name()).collect();
    let mut j = 0usize;
    let mut buf = String::new();
    v.begin_record()?;
    for f in &st.fields {
        match f.name() {
            Some(n) => v.key(n)?,
            None => {
                loop {
                    buf.clear();
                    use std::fmt::Write;
                    let _ = write!(buf, "f{j}");
                    j += 1;
                    if !used.contains(buf.as_str()) {
                        break;
                    }
                }
                v.key(&buf)?;
            }
        }
        field(f, &item[f.offset..], v)?;
    }
    v.end_record()
}

/// One field (its sub-array dimensions as nested lists) starting at `item`.
fn field<'a, V: Visit<'a>>(f: &Field, item: &'a [u8], v: &mut V) -> Result<()> {
    let mut index = 0usize;
    dims(f, &f.shape, item, &mut index, v)
}

fn dims<'a, V: Visit<'a>>(
    f: &Field,
    shape: &[usize],
    item: &'a [u8],
    index: &mut usize,
    v: &mut V,
) -> Result<()> {
    let Some((&n, rest)) = shape.split_first() else {
        let b = &item[*index * f.stride..];
        *index += 1;
        return match &f.ty {
            FieldType::Scalar(s) => v.value(numpy_value(s, decode(s, b)?)),
            FieldType::Struct(st) => record(st, b, v),
        };
    };
    v.begin_list()?;
    for _ in 0..n {
        dims(f, rest, item, index, v)?;
    }
    v.end_list()
}

/// A decoded scalar as NumPy reads it: `s`, `c`, `u`, `w` end at their trailing NULs (its
/// `S` and `U` types are NUL-padded).
fn numpy_value<'a>(s: &Scalar, v: Value<'a>) -> Value<'a> {
    match v {
        Value::Char(0) => Value::Bytes(&[]),
        Value::Bytes(b) if s.kind == Kind::Bytes => {
            let end = b.iter().rposition(|&c| c != 0).map_or(0, |k| k + 1);
            Value::Bytes(&b[..end])
        }
        Value::Text(t) => {
            let mut n = t.units.len() / t.width;
            while n > 0
                && t.units[(n - 1) * t.width..n * t.width]
                    .iter()
                    .all(|&c| c == 0)
            {
                n -= 1;
            }
            Value::Text(Text {
                units: &t.units[..n * t.width],
                ..t
            })
        }
        other => other,
    }
}
