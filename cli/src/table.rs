//! Aligned text tables.

use std::io::Write;

/// Whether a cell reads as a number (right-aligned).
fn numeric(cell: &str) -> bool {
    let c = cell.trim_start_matches('-');
    c.parse::<f64>().is_ok() || matches!(c, "NaN" | "Infinity")
}

/// Writes `rows` (the first is the header) in columns two spaces apart: numbers aligned
/// right, anything else left; no trailing spaces.
pub fn write(rows: &[Vec<String>], out: &mut dyn Write) -> std::io::Result<()> {
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0usize; ncols];
    let mut right = vec![true; ncols];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            width[c] = width[c].max(cell.chars().count());
            if r > 0 && !cell.is_empty() && !numeric(cell) {
                right[c] = false;
            }
        }
    }
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = width[c] - cell.chars().count();
            if right[c] {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns() {
        let rows: Vec<Vec<String>> = vec![
            vec!["#".into(), "name".into(), "x".into()],
            vec!["0".into(), "\"a\"".into(), "1.5".into()],
            vec!["10".into(), "\"bcd\"".into(), "-22".into()],
        ];
        let mut out = Vec::new();
        super::write(&rows, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " #  name     x\n 0  \"a\"    1.5\n10  \"bcd\"  -22\n"
        );
    }
}
