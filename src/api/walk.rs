//! [`Format::walk`]: an item's values and how they nest, by the library's value rule.

use super::error::{Error, Result, Status};
use super::format::Format;
use crate::format as internal;

/// One scalar reported by [`Format::walk`], borrowed from the item.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Scalar<'a> {
    /// Every integer code (`b B h H i I l L q Q n N`) and `t` bit fields.
    Int(i128),
    /// `e f d g`, widened (or, for `g`, rounded) to `f64`.
    Float(f64),
    /// `Ze Zf Zd Zg`: real, imaginary.
    Complex(f64, f64),
    /// `?`.
    Bool(bool),
    /// `c`.
    Char(u8),
    /// `s` (all its bytes, as `struct.unpack` gives them) and `p` (the bytes its length byte
    /// names).
    Bytes(&'a [u8]),
    /// `u` (UCS-2 code units) and `w` (UCS-4 code points), as stored, not validated.
    Text(Vec<u32>),
    /// `P`, `O`, `&`: the address.
    Pointer(usize),
}

/// What [`Format::walk`] reports, in order: a depth-first traversal of an item's values. An
/// error a method returns stops the walk and is what `walk` returns.
pub trait Visit<'a> {
    /// One scalar value.
    fn value(&mut self, v: Scalar<'a>) -> Result<()>;
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

/// Runs a user's visitor inside the library's walk, keeping the first error it returns.
struct Adapter<'v, V> {
    user: &'v mut V,
    failed: Option<Error>,
}

impl<V> Adapter<'_, V> {
    fn pass(&mut self, r: Result<()>) -> crate::status::Result<()> {
        r.map_err(|e| {
            self.failed = Some(e);
            crate::status::Error::new(
                crate::status::Status::InvalidArgument,
                "stopped by the visitor",
            )
        })
    }
}

impl<'a, V: Visit<'a>> internal::item::Visit<'a> for Adapter<'_, V> {
    fn value(&mut self, v: internal::Value<'a>) -> crate::status::Result<()> {
        let s = match v {
            internal::Value::Int(i) => Scalar::Int(i),
            internal::Value::Float(f) => Scalar::Float(f),
            internal::Value::Complex(re, im) => Scalar::Complex(re, im),
            internal::Value::Bool(b) => Scalar::Bool(b),
            internal::Value::Char(c) => Scalar::Char(c),
            internal::Value::Bytes(b) => Scalar::Bytes(b),
            internal::Value::Text(t) => Scalar::Text(t.chars().collect()),
            internal::Value::Pointer(p) => Scalar::Pointer(p),
        };
        let r = self.user.value(s);
        self.pass(r)
    }
    fn begin_list(&mut self) -> crate::status::Result<()> {
        let r = self.user.begin_list();
        self.pass(r)
    }
    fn end_list(&mut self) -> crate::status::Result<()> {
        let r = self.user.end_list();
        self.pass(r)
    }
    fn begin_record(&mut self) -> crate::status::Result<()> {
        let r = self.user.begin_record();
        self.pass(r)
    }
    fn key(&mut self, name: &str) -> crate::status::Result<()> {
        let r = self.user.key(name);
        self.pass(r)
    }
    fn end_record(&mut self) -> crate::status::Result<()> {
        let r = self.user.end_record();
        self.pass(r)
    }
}

fn public(e: crate::status::Error) -> Error {
    Error::new(Status::from_code(e.code()), e.message.clone())
}

impl Format {
    /// Walks one item (exactly [`Format::itemsize`] bytes) through `visitor`: its values and
    /// how they nest, by the rule every renderer of the library follows (`tolist`, JSON):
    /// where the struct module parses the format, `struct.unpack`'s tuple (a single value
    /// unwrapped); elsewhere NumPy's reading (records for structs with names, nested lists for
    /// sub-arrays).
    ///
    /// ```
    /// use xbuf::{Format, Scalar, Visit};
    ///
    /// /// Collects the integers.
    /// struct Ints(Vec<i128>);
    /// impl<'a> Visit<'a> for Ints {
    ///     fn value(&mut self, v: Scalar<'a>) -> xbuf::Result<()> {
    ///         if let Scalar::Int(i) = v { self.0.push(i) }
    ///         Ok(())
    ///     }
    ///     fn begin_list(&mut self) -> xbuf::Result<()> { Ok(()) }
    ///     fn end_list(&mut self) -> xbuf::Result<()> { Ok(()) }
    ///     fn begin_record(&mut self) -> xbuf::Result<()> { Ok(()) }
    ///     fn key(&mut self, _: &str) -> xbuf::Result<()> { Ok(()) }
    ///     fn end_record(&mut self) -> xbuf::Result<()> { Ok(()) }
    /// }
    ///
    /// let f = Format::parse("<h2b")?;
    /// let mut ints = Ints(Vec::new());
    /// f.walk(&[0xff, 0xff, 5, 0xfb], &mut ints)?;
    /// assert_eq!(ints.0, [-1, 5, -5]);
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn walk<'a, V: Visit<'a>>(&self, item: &'a [u8], visitor: &mut V) -> Result<()> {
        if item.len() != self.itemsize() {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "an item of format '{}' has {} bytes, not {}",
                    self.text(),
                    self.itemsize(),
                    item.len()
                ),
            ));
        }
        let parsed = internal::parse(self.text().as_bytes()).map_err(public)?;
        let mut adapter = Adapter {
            user: visitor,
            failed: None,
        };
        let r = internal::item::walk(&parsed, item, &mut adapter);
        match (adapter.failed, r) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(public(e)),
            (None, Ok(())) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders what the walk reports as a compact text; with `Some` in the second field it
    /// refuses the first value.
    #[derive(Default)]
    struct Trace(String, Option<usize>);

    impl<'a> Visit<'a> for Trace {
        fn value(&mut self, v: Scalar<'a>) -> Result<()> {
            if self.1.is_some() {
                return Err(Error::new(Status::Unsupported, "stop here"));
            }
            self.0.push_str(&format!("{v:?} "));
            Ok(())
        }
        fn begin_list(&mut self) -> Result<()> {
            self.0.push_str("[ ");
            Ok(())
        }
        fn end_list(&mut self) -> Result<()> {
            self.0.push_str("] ");
            Ok(())
        }
        fn begin_record(&mut self) -> Result<()> {
            self.0.push_str("{ ");
            Ok(())
        }
        fn key(&mut self, name: &str) -> Result<()> {
            self.0.push_str(&format!("{name}: "));
            Ok(())
        }
        fn end_record(&mut self) -> Result<()> {
            self.0.push_str("} ");
            Ok(())
        }
    }

    #[test]
    fn walks_records_lists_and_scalars() {
        let f = Format::parse("T{<h:a:(2)<f:b:2s:c:<u:d:}").unwrap();
        let mut item = Vec::new();
        item.extend((-3i16).to_le_bytes());
        item.extend(1.5f32.to_le_bytes());
        item.extend((-0.25f32).to_le_bytes());
        item.extend(b"hi");
        item.extend(0x263au16.to_le_bytes());
        let mut t = Trace::default();
        f.walk(&item, &mut t).unwrap();
        assert_eq!(
            t.0,
            "{ a: Int(-3) b: [ Float(1.5) Float(-0.25) ] c: Bytes([104, 105]) d: Text([9786]) } "
        );
        assert_eq!(
            f.to_json(&item).unwrap(),
            r#"{"a": -3, "b": [1.5, -0.25], "c": "hi", "d": "\u263a"}"#
        );
        // A struct-module format: struct.unpack's tuple.
        let mut t = Trace::default();
        Format::parse("<?Zd")
            .unwrap()
            .walk(&[1u8; 17], &mut t)
            .unwrap();
        assert!(t.0.starts_with("[ Bool(true) Complex("), "{}", t.0);
        // The visitor's error stops the walk and comes back unchanged.
        let mut t = Trace(String::new(), Some(0));
        let e = f.walk(&item, &mut t).unwrap_err();
        assert_eq!(
            (e.status(), e.message()),
            (Status::Unsupported, "stop here")
        );
        // A short item is refused.
        assert_eq!(
            f.walk(&item[1..], &mut Trace::default())
                .unwrap_err()
                .status(),
            Status::InvalidArgument
        );
    }
}
