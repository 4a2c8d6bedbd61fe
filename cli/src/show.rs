//! `xbuf show`.

use std::io::Write;

use xbuf::{Format, Order, Request, Slice};

use crate::input::{check_slices, open};
use crate::{fail, table, Failure, ShowArgs};

/// The entries of a dimension of `n` that a slice selects, as Python's `slice.indices`.
pub fn slice_indices(s: &Slice, n: usize) -> Vec<usize> {
    let n = n as isize;
    let step = s.step.unwrap_or(1);
    let clamp = |b: isize, lo: isize, hi: isize| {
        let b = if b < 0 { b + n } else { b };
        b.clamp(lo, hi)
    };
    let (start, stop) = if step > 0 {
        (
            s.start.map_or(0, |b| clamp(b, 0, n)),
            s.stop.map_or(n, |b| clamp(b, 0, n)),
        )
    } else {
        (
            s.start.map_or(n - 1, |b| clamp(b, -1, n - 1)),
            s.stop.map_or(-1, |b| clamp(b, -1, n - 1)),
        )
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    out
}

/// The top-level members of a JSON object as (key, value text) pairs; `None` when `json` is
/// not an object. Values keep their JSON text (strings, nested lists and objects included).
pub fn split_object(json: &str) -> Option<Vec<(String, String)>> {
    let inner = json.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut parts = Vec::new();
    let (mut depth, mut in_str, mut escaped, mut start) = (0i32, false, false, 0usize);
    for (i, c) in inner.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner.trim().is_empty() {
        parts.push(&inner[start..]);
    }
    parts
        .into_iter()
        .map(|p| {
            let (k, v) = p.split_once(": ")?;
            let k = k.trim().strip_prefix('"')?.strip_suffix('"')?;
            Some((k.to_string(), v.trim().to_string()))
        })
        .collect()
}

pub fn run(args: &ShowArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let input = open(&args.input)?;
    let mut view = input.view;
    let mut rows: Vec<usize> = (0..input.shape.first().copied().unwrap_or(0)).collect();
    let mut cols: Option<Vec<usize>> = input.shape.get(1).map(|&n| (0..n).collect());
    if let Some(text) = &args.slice {
        let slices = Slice::parse_list(text)?;
        check_slices(text, &slices, &input.shape)?;
        view = view.slice(&slices)?;
        if let Some(s) = slices.first() {
            rows = slice_indices(s, input.shape[0]);
        }
        if let (Some(s), Some(&n)) = (slices.get(1), input.shape.get(1)) {
            cols = Some(slice_indices(s, n));
        }
    }
    let shape = view.buffer(Request::FULL_RO)?.shape().to_vec();
    let total = rows.len();
    let limit = if args.all {
        total
    } else {
        args.head.unwrap_or(20)
    };
    if !shape.is_empty() && limit < total {
        view = view.slice(&[Slice::new(None, Some(limit as isize), None)])?;
        rows.truncate(limit);
    }
    let more = (rows.len() < total).then(|| {
        format!(
            "({} of {total} entries shown; --head N or --all for more)",
            rows.len()
        )
    });

    let table = args.table || (!args.json && !args.hex && shape.len() <= 2);
    if args.hex {
        let bytes = view.tobytes(Order::C)?;
        write_hex(&bytes, out)?;
    } else if table {
        if shape.len() > 2 {
            fail!("a table shows up to 2 dimensions, these items have {} (shape {shape:?}): use --json", shape.len());
        }
        write_table(
            &input.format,
            &view,
            &rows,
            cols.as_deref(),
            shape.len(),
            out,
        )?;
    } else {
        writeln!(out, "{}", view.tolist()?)?;
        if let Some(m) = &more {
            eprintln!("{m}");
        }
        return Ok(());
    }
    if let Some(m) = more {
        writeln!(out, "{m}")?;
    }
    Ok(())
}

fn write_table(
    format: &Format,
    view: &xbuf::View,
    rows: &[usize],
    cols: Option<&[usize]>,
    ndim: usize,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let buf = view.buffer(Request::FULL_RO)?;
    // Records (1-D, a struct with named fields) get a column per field.
    let records = ndim <= 1 && format.fields()?.iter().any(|f| f.name.is_some());
    let mut header = vec!["#".to_string()];
    match ndim {
        2 => header.extend(cols.unwrap_or(&[]).iter().map(|i| format!("[{i}]"))),
        _ if !records => header.push("value".into()),
        _ => {}
    }
    let mut table = vec![header];
    let mut items = buf.items();
    let per_row = if ndim == 2 { buf.shape()[1] } else { 1 };
    let row_ids: Vec<String> = if ndim == 0 {
        vec![String::new()]
    } else {
        rows.iter().map(usize::to_string).collect()
    };
    for id in row_ids {
        let mut row = vec![id];
        for _ in 0..per_row {
            let Some(item) = items.next() else { break };
            let json = format.to_json(item)?;
            match split_object(&json).filter(|_| records) {
                Some(members) => {
                    if table.len() == 1 {
                        table[0].extend(members.iter().map(|(k, _)| k.clone()));
                    }
                    row.extend(members.into_iter().map(|(_, v)| v));
                }
                None => row.push(json),
            }
        }
        table.push(row);
    }
    table::write(&table, out)?;
    Ok(())
}

fn write_hex(bytes: &[u8], out: &mut dyn Write) -> Result<(), Failure> {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let mut line = format!("{:08x} ", i * 16);
        for (j, b) in chunk.iter().enumerate() {
            if j == 8 {
                line.push(' ');
            }
            line.push_str(&format!(" {b:02x}"));
        }
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let width = 16 * 3 + 1;
        let used = chunk.len() * 3 + usize::from(chunk.len() > 8);
        line.push_str(&" ".repeat(width - used));
        writeln!(out, "{line}  |{ascii}|")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_like_python() {
        let s = |a, b, c| Slice::new(a, b, c);
        assert_eq!(slice_indices(&s(Some(1), Some(4), None), 10), [1, 2, 3]);
        assert_eq!(slice_indices(&s(None, None, Some(-3)), 10), [9, 6, 3, 0]);
        assert_eq!(slice_indices(&s(Some(-2), None, None), 10), [8, 9]);
        assert_eq!(slice_indices(&s(Some(5), Some(1), Some(-2)), 10), [5, 3]);
        assert_eq!(
            slice_indices(&s(Some(20), None, None), 10),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn json_members() {
        let m =
            split_object(r#"{"id": 1, "p": [1.5, {"a": "x,]"}], "t": "a\"b", "z": []}"#).unwrap();
        let want = [
            ("id", "1"),
            ("p", r#"[1.5, {"a": "x,]"}]"#),
            ("t", r#""a\"b""#),
            ("z", "[]"),
        ];
        assert_eq!(m, want.map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(split_object("{}").unwrap(), vec![]);
        assert!(split_object("[1, 2]").is_none());
    }

    #[test]
    fn hex_lines() {
        let mut out = Vec::new();
        write_hex(b"ABCDEFGHIJKLMNOPQ\x00", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n\
             00000010  51 00                                             |Q.|\n"
        );
    }
}
