//! Opening a file as typed items: the mapping, the format, the shape, the view.

use xbuf::{Format, MmapMode, Object, Request, Slice, View};

use crate::{fail, Failure, InputArgs, Order};

/// A file read through a format.
pub struct Input {
    /// The format of one item.
    pub format: Format,
    /// The items, in the requested shape and order.
    pub view: View,
    /// Their shape.
    pub shape: Vec<usize>,
    /// Bytes of the file.
    pub file_len: usize,
}

/// Parses `--shape`: extents separated by commas, at most one of them -1 (inferred from
/// `items`, the number of items the file holds).
pub fn parse_shape(text: &str, items: usize, bytes: usize) -> Result<Vec<usize>, Failure> {
    let mut shape = Vec::new();
    let mut infer = None;
    for part in text.split(',') {
        let p = part.trim();
        if p == "-1" && infer.is_none() {
            infer = Some(shape.len());
            shape.push(1);
            continue;
        }
        match p.parse::<usize>() {
            Ok(n) => shape.push(n),
            Err(_) => {
                fail!("shape '{text}': '{p}' is not an extent (a non-negative integer, or one -1)")
            }
        }
    }
    if shape.len() > 64 {
        fail!("shape '{text}' has {} dimensions; at most 64", shape.len());
    }
    if let Some(i) = infer {
        let rest: usize = shape.iter().product();
        if rest == 0 || items % rest != 0 {
            fail!("shape '{text}': the file's {items} items do not divide into rows of {rest}");
        }
        shape[i] = items / rest;
    }
    let count = shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
    match count {
        Some(n) if n <= items => Ok(shape),
        Some(n) => fail!("shape '{text}' needs {n} items, the file holds {items} ({bytes} bytes)"),
        None => fail!("shape '{text}' is too large: its item count overflows"),
    }
}

/// Opens `args.file` read-only and reads it as items of `args.format`.
pub fn open(args: &InputArgs) -> Result<Input, Failure> {
    let format = Format::parse(&args.format)
        .map_err(|e| Failure(format!("format '{}': {}", args.format, e.message())))?;
    let itemsize = format.itemsize();
    if itemsize == 0 {
        fail!(
            "format '{}' has items of 0 bytes: nothing to read",
            args.format
        );
    }
    let path = args.file.display();
    let obj = Object::mmap(&args.file, MmapMode::Read)
        .map_err(|e| Failure(format!("cannot read {path}: {}", e.message())))?;
    let file_len = obj.buffer(Request::SIMPLE)?.len_bytes();
    let offset = usize::try_from(args.offset).unwrap_or(usize::MAX);
    if offset > file_len {
        fail!(
            "offset {} is past the end of {path} ({file_len} bytes)",
            args.offset
        );
    }
    let bytes = file_len - offset;
    let items = bytes / itemsize;
    let shape = match &args.shape {
        Some(text) => parse_shape(text, items, bytes)?,
        None => {
            if bytes % itemsize != 0 {
                fail!(
                    "the item size {itemsize} of format '{}' does not divide the {bytes} bytes of {path}{} (give --shape, or --offset to skip a header)",
                    args.format,
                    if offset > 0 { format!(" after offset {offset}") } else { String::new() }
                );
            }
            vec![items]
        }
    };
    let used = shape.iter().product::<usize>() * itemsize;
    let whole = View::new(&obj, Request::FULL_RO)?;
    let window = whole.cast("B", None)?.slice(&[Slice::new(
        Some(offset as isize),
        Some((offset + used) as isize),
        None,
    )])?;
    let view = match args.order {
        Order::C => window.cast(&args.format, Some(&shape))?,
        Order::F => {
            let reversed: Vec<usize> = shape.iter().rev().copied().collect();
            window.cast(&args.format, Some(&reversed))?.transpose()?
        }
    };
    Ok(Input {
        format,
        view,
        shape,
        file_len,
    })
}

/// Checks `--slice` bounds against the shape: Python clamps bounds that are out of range,
/// this command refuses them, naming the dimension.
pub fn check_slices(text: &str, slices: &[Slice], shape: &[usize]) -> Result<(), Failure> {
    if slices.len() > shape.len() {
        fail!(
            "slice '{text}' has {} dimensions, the items have {} (shape {shape:?})",
            slices.len(),
            shape.len()
        );
    }
    for (d, (s, &n)) in slices.iter().zip(shape).enumerate() {
        for b in [s.start, s.stop].into_iter().flatten() {
            let n = n as isize;
            if b < -n || b > n {
                fail!("slice '{text}': bound {b} is out of range for dimension {d}, which has {n} entries");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(parse_shape("2,3", 6, 24).unwrap(), [2, 3]);
        assert_eq!(parse_shape("-1, 3", 6, 24).unwrap(), [2, 3]);
        assert!(parse_shape("-1, 3", 7, 28)
            .unwrap_err()
            .0
            .contains("7 items do not divide into rows of 3"));
        assert_eq!(parse_shape("2,3", 10, 40).unwrap(), [2, 3]);
        assert!(parse_shape("2,x", 6, 24)
            .unwrap_err()
            .0
            .contains("'x' is not an extent"));
        assert!(parse_shape("4,3", 6, 24)
            .unwrap_err()
            .0
            .contains("needs 12 items, the file holds 6"));
        assert!(parse_shape("-1,-1", 6, 24).is_err());
        assert!(parse_shape("-1,0", 6, 24).is_err());
        assert!(parse_shape("99999999999,99999999999", 6, 24)
            .unwrap_err()
            .0
            .contains("overflows"));
    }

    #[test]
    fn slice_bounds() {
        let s = Slice::parse_list("1:3, ::2").unwrap();
        assert!(check_slices("", &s, &[4, 5]).is_ok());
        assert!(check_slices("", &s, &[2, 5])
            .unwrap_err()
            .0
            .contains("bound 3 is out of range for dimension 0"));
        assert!(check_slices("", &s, &[9])
            .unwrap_err()
            .0
            .contains("has 2 dimensions, the items have 1"));
        assert!(check_slices("", &Slice::parse_list("-4:").unwrap(), &[4]).is_ok());
        assert!(check_slices("", &Slice::parse_list("-5:").unwrap(), &[4]).is_err());
    }
}
