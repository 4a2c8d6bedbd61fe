//! `xbuf stat`: item count and per-field summaries, streaming over the mapping.

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};
use xbuf::{Format, Request, Value, ValueKind};

use crate::input::open;
use crate::{table, Failure, InputArgs};

/// Files at least this large get a progress bar (on a terminal).
const PROGRESS_BYTES: usize = 64 << 20;

/// The running summary of one numeric scalar of the item.
struct Summary {
    label: String,
    leaf: usize,
    element: usize,
    float: bool,
    count: u64,
    nan: u64,
    min_i: i128,
    max_i: i128,
    min_f: f64,
    max_f: f64,
    sum_i: i128,
    sum_f: f64,
}

impl Summary {
    fn add(&mut self, v: &Value) {
        let int = match *v {
            Value::Float(f) => {
                if f.is_nan() {
                    self.nan += 1;
                } else {
                    self.count += 1;
                    self.min_f = self.min_f.min(f);
                    self.max_f = self.max_f.max(f);
                    self.sum_f += f;
                }
                return;
            }
            Value::Int(i) => i as i128,
            Value::UInt(u) => u as i128,
            Value::Bool(b) => b as i128,
            _ => return,
        };
        self.count += 1;
        self.min_i = self.min_i.min(int);
        self.max_i = self.max_i.max(int);
        self.sum_i += int;
    }

    fn row(&self) -> Vec<String> {
        let none = || "-".to_string();
        let (min, max, mean) = if self.count == 0 {
            (none(), none(), none())
        } else if self.float {
            (
                fmt_f(self.min_f),
                fmt_f(self.max_f),
                fmt_f(self.sum_f / self.count as f64),
            )
        } else {
            (
                self.min_i.to_string(),
                self.max_i.to_string(),
                fmt_f(self.sum_i as f64 / self.count as f64),
            )
        };
        let nan = if self.float {
            self.nan.to_string()
        } else {
            none()
        };
        vec![self.label.clone(), min, max, mean, nan]
    }
}

/// A float as Python's repr writes it for the common cases (`1.0`, `0.1`, `1e+16`).
fn fmt_f(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

/// One summary per numeric scalar of the format, labelled by field name and element index.
fn summaries(format: &Format) -> Result<Vec<Summary>, Failure> {
    let fields = format.fields()?;
    let mut out = Vec::new();
    for (li, leaf) in format.leaves()?.iter().enumerate() {
        if !leaf.kind.is_numeric() {
            continue;
        }
        for e in 0..leaf.count {
            let at = leaf.offset + e * leaf.size;
            // The field that holds this scalar, and the scalar's index in it.
            let field = fields
                .iter()
                .enumerate()
                .rev()
                .find(|(_, f)| f.offset <= at);
            let label = match field {
                Some((i, f)) => {
                    let name = f.name.clone().unwrap_or_else(|| {
                        if fields.len() == 1 {
                            "value".into()
                        } else {
                            format!("[{i}]")
                        }
                    });
                    let count: usize = f.shape.iter().product();
                    if count > 1 && f.stride > 0 {
                        format!("{name}[{}]", (at - f.offset) / f.stride)
                    } else {
                        name
                    }
                }
                None => format!("@{at}"),
            };
            out.push(Summary {
                label,
                leaf: li,
                element: e,
                float: leaf.kind == ValueKind::Float,
                count: 0,
                nan: 0,
                min_i: i128::MAX,
                max_i: i128::MIN,
                min_f: f64::INFINITY,
                max_f: f64::NEG_INFINITY,
                sum_i: 0,
                sum_f: 0.0,
            });
        }
    }
    Ok(out)
}

pub fn run(args: &InputArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let input = open(args)?;
    let buf = input.view.buffer(Request::FULL_RO)?;
    let items = buf.item_count();
    let mut sums = summaries(&input.format)?;
    let bar = if buf.len_bytes() >= PROGRESS_BYTES {
        let bar = ProgressBar::new(items as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} items ({eta} left)") {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    if !sums.is_empty() {
        for (n, item) in buf.items().enumerate() {
            for s in sums.iter_mut() {
                let v = input.format.decode(s.leaf, s.element, item)?;
                s.add(&v);
            }
            if let Some(bar) = &bar {
                if n % 65536 == 0 {
                    bar.set_position(n as u64);
                }
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    writeln!(
        out,
        "{}: {items} items of '{}' ({} bytes each), shape {:?}, {} of {} bytes",
        args.file.display(),
        args.format,
        input.format.itemsize(),
        input.shape,
        buf.len_bytes(),
        input.file_len
    )?;
    if sums.is_empty() {
        writeln!(out, "no numeric fields")?;
        return Ok(());
    }
    let mut rows = vec![["field", "min", "max", "mean", "NaN"]
        .map(String::from)
        .to_vec()];
    rows.extend(sums.iter().map(Summary::row));
    table::write(&rows, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_writes_them() {
        assert_eq!(fmt_f(1.0), "1.0");
        assert_eq!(fmt_f(0.1), "0.1");
        assert_eq!(fmt_f(1e16), "1e+16");
        assert_eq!(fmt_f(1.5e-7), "1.5e-7");
        assert_eq!(fmt_f(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn labels() {
        let f = Format::parse("T{<I:id:(3)<f:pos:4s:tag:?:ok:}").unwrap();
        let labels: Vec<String> = summaries(&f)
            .unwrap()
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(labels, ["id", "pos[0]", "pos[1]", "pos[2]", "ok"]);
        let labels: Vec<String> = summaries(&Format::parse("<d").unwrap())
            .unwrap()
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(labels, ["value"]);
    }
}
