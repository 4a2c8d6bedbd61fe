//! `xbuf format`: a format's layout, field by field.

use std::io::Write;

use xbuf::Format;

use crate::{table, Failure};

fn byte_order(prefix: char) -> &'static str {
    match prefix {
        '<' => "little",
        '>' | '!' => "big",
        '=' => "native (standard sizes)",
        '@' => "native (aligned)",
        '^' => "native (unaligned)",
        '*' => "mixed",
        _ => "?",
    }
}

pub fn run(text: &str, out: &mut dyn Write) -> Result<(), Failure> {
    let format =
        Format::parse(text).map_err(|e| Failure(format!("format '{text}': {}", e.message())))?;
    let fields = format.fields()?;
    let mut rows = vec![["offset", "size", "field", "type", "shape", "byte order"]
        .map(String::from)
        .to_vec()];
    let mut end = 0usize;
    let mut padding = 0usize;
    let pad_row = |rows: &mut Vec<Vec<String>>, at: usize, n: usize| {
        rows.push(vec![
            at.to_string(),
            n.to_string(),
            "(padding)".into(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        n
    };
    for (i, f) in fields.iter().enumerate() {
        if f.offset > end {
            padding += pad_row(&mut rows, end, f.offset - end);
        }
        let element = Format::parse(&f.format)?.itemsize();
        let count: usize = f.shape.iter().product();
        let size = if count == 0 {
            0
        } else {
            (count - 1) * f.stride + element
        };
        let shape = if f.shape.is_empty() {
            String::new()
        } else {
            let dims: Vec<String> = f.shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(","))
        };
        let mut chars = f.format.chars();
        let prefix = chars.next().unwrap_or('@');
        rows.push(vec![
            f.offset.to_string(),
            size.to_string(),
            f.name.clone().unwrap_or_else(|| format!("[{i}]")),
            chars.as_str().to_string(),
            shape,
            byte_order(prefix).to_string(),
        ]);
        end = end.max(f.offset + size);
    }
    if format.itemsize() > end {
        padding += pad_row(&mut rows, end, format.itemsize() - end);
    }
    table::write(&rows, out)?;
    writeln!(
        out,
        "itemsize {}, alignment {}, padding {padding}, byte order {}, canonical '{}'",
        format.itemsize(),
        format.alignment(),
        byte_order(format.byteorder()),
        format.canonical()?
    )?;
    Ok(())
}
