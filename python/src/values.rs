//! Items as Python values, by the library's value rule: the library's walk reports each
//! item's values and how they nest, and this visitor only turns each reported value into the
//! Python object of its kind (integers as `int`, `e f d g` as `float`, complex as `complex`,
//! `?` as `bool`, `c` and `s`/`p` as `bytes` as memoryview gives them, `u`/`w` as `str`,
//! addresses as `int`), lists as `list` and records as `dict`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyComplex, PyDict, PyList, PyString};

use crate::error::from_error;
use crate::sys::values::{Format, Result, Value, Visit};

enum Frame<'py> {
    List(Vec<Bound<'py, PyAny>>),
    Record(Bound<'py, PyDict>, Option<String>),
}

struct Builder<'py> {
    py: Python<'py>,
    stack: Vec<Frame<'py>>,
    done: Option<Bound<'py, PyAny>>,
    err: Option<PyErr>,
}

impl<'py> Builder<'py> {
    fn push(&mut self, obj: Bound<'py, PyAny>) {
        match self.stack.last_mut() {
            None => self.done = Some(obj),
            Some(Frame::List(items)) => items.push(obj),
            Some(Frame::Record(d, key)) => {
                let k = key.take().unwrap_or_default();
                if let Err(e) = d.set_item(k, obj) {
                    self.err.get_or_insert(e);
                }
            }
        }
    }

    fn scalar(&self, v: Value<'_>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match v {
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(f) => f.into_pyobject(py)?.into_any(),
            Value::Complex(re, im) => PyComplex::from_doubles(py, re, im).into_any(),
            Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            Value::Char(c) => PyBytes::new(py, &[c]).into_any(),
            Value::Bytes(b) => PyBytes::new(py, b).into_any(),
            Value::Text(t) => {
                let s: String = t
                    .iter()
                    .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                    .collect();
                PyString::new(py, &s).into_any()
            }
            Value::Pointer(p) => p.into_pyobject(py)?.into_any(),
            // A kind added to the library later: its debug text, rather than nothing.
            #[allow(unreachable_patterns)]
            other => PyString::new(py, &format!("{other:?}")).into_any(),
        })
    }
}

impl<'a> Visit<'a> for Builder<'_> {
    fn value(&mut self, v: Value<'a>) -> Result<()> {
        match self.scalar(v) {
            Ok(o) => self.push(o),
            Err(e) => {
                self.err.get_or_insert(e);
            }
        }
        Ok(())
    }
    fn begin_list(&mut self) -> Result<()> {
        self.stack.push(Frame::List(Vec::new()));
        Ok(())
    }
    fn end_list(&mut self) -> Result<()> {
        if let Some(Frame::List(items)) = self.stack.pop() {
            match PyList::new(self.py, items) {
                Ok(l) => self.push(l.into_any()),
                Err(e) => {
                    self.err.get_or_insert(e);
                }
            }
        }
        Ok(())
    }
    fn begin_record(&mut self) -> Result<()> {
        self.stack.push(Frame::Record(PyDict::new(self.py), None));
        Ok(())
    }
    fn key(&mut self, name: &str) -> Result<()> {
        if let Some(Frame::Record(_, key)) = self.stack.last_mut() {
            *key = Some(name.to_owned());
        }
        Ok(())
    }
    fn end_record(&mut self) -> Result<()> {
        if let Some(Frame::Record(d, _)) = self.stack.pop() {
            self.push(d.into_any());
        }
        Ok(())
    }
}

/// The Python value of the item `item` (at least `fmt.itemsize()` bytes) of `fmt`.
pub fn item_value<'py>(py: Python<'py>, fmt: &Format, item: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let mut b = Builder {
        py,
        stack: Vec::new(),
        done: None,
        err: None,
    };
    fmt.walk(item, &mut b).map_err(|e| from_error(&e))?;
    if let Some(e) = b.err {
        return Err(e);
    }
    Ok(b.done.unwrap_or_else(|| py.None().into_bound(py)))
}
