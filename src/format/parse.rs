//! The parser and layout: format text to [`Format`].

use std::sync::Arc;

use super::*;
use crate::layout::describe_char;
use crate::status::{overflow, Error};
use crate::{bail, err};

/// Parses `fmt` without the cache.
pub fn parse_uncached(fmt: &[u8]) -> Result<Format> {
    let mut p = Parser {
        s: fmt,
        pos: 0,
        mode: b'@',
        depth: 0,
        modes: 0,
        weight: fmt.len() / 16 + 1,
        struct_module: true,
    };
    let root = p.parse_struct(None)?;
    let byteorder = match p.modes.count_ones() {
        0 => p.mode,
        1 => MODES[p.modes.trailing_zeros() as usize],
        _ => b'*',
    };
    let mut leaves = Vec::with_capacity(p.weight.min(64));
    flatten(&root, 0, &mut leaves).map_err(|e| p.limit_error(e))?;
    check_text_size(&leaves).map_err(|e| p.limit_error(e))?;
    let weight = p.weight + leaves.len();
    let mut f = Format::new(root, byteorder, leaves, weight);
    f.struct_module = p.struct_module;
    Ok(f)
}

const MODES: [u8; 5] = [b'@', b'^', b'=', b'<', b'>'];

fn mode_bit(mode: u8) -> u8 {
    1 << MODES.iter().position(|&m| m == mode).unwrap_or(0)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// The current mode, `!` stored as `>`.
    mode: u8,
    depth: usize,
    /// Bit set of the modes types were parsed in.
    modes: u8,
    weight: usize,
    /// Whether the text read so far is in the struct module's grammar: at most one prefix
    /// (`@ = < > !`) as its first character, then counts, the codes `x c b B ? h H i I l L
    /// q Q n N e f d s p P` and whitespace between items.
    struct_module: bool,
}

/// A parsed type before it is placed: its field type (None for padding), element size,
/// alignment and whether the count is its length.
struct Parsed {
    ty: Option<FieldType>,
    size: usize,
    align: usize,
    count_is_len: bool,
}

fn long_double() -> (usize, usize) {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        (16, 16)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        (std::mem::size_of::<f64>(), std::mem::align_of::<f64>())
    }
}

fn round_up(n: usize, align: usize) -> Option<usize> {
    n.checked_next_multiple_of(align.max(1))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl<'a> Parser<'a> {
    fn text(&self) -> String {
        const SHOW: usize = 120;
        if self.s.len() <= SHOW {
            String::from_utf8_lossy(self.s).into_owned()
        } else {
            format!("{}...", String::from_utf8_lossy(&self.s[..SHOW]))
        }
    }

    fn fail(&self, pos: usize, what: impl std::fmt::Display) -> Error {
        err!(Format, "{what} at offset {pos} in format '{}'", self.text())
    }

    fn unexpected(&self, pos: usize) -> Error {
        match self.s.get(pos) {
            Some(&c) => self.fail(pos, format_args!("unexpected {}", describe_char(c))),
            None => self.fail(pos, "unexpected end"),
        }
    }

    fn too_big(&self, what: &str) -> Error {
        overflow(format!("{what} in format '{}'", self.text()))
    }

    fn limit_error(&self, e: Error) -> Error {
        Error::new(
            e.status,
            format!("{} in format '{}'", e.message, self.text()),
        )
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn skip_ws_and_prefixes(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => {}
                Some(c @ (b'@' | b'^' | b'=' | b'<' | b'>' | b'!')) => {
                    // The struct module takes one prefix, as the first character.
                    if self.pos != 0 || c == b'^' {
                        self.struct_module = false;
                    }
                    self.mode = if c == b'!' { b'>' } else { c };
                }
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// Digits at the current position, if any.
    fn number(&mut self, what: &str) -> Result<Option<usize>> {
        let start = self.pos;
        let mut n: usize = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add((c - b'0') as usize))
                .filter(|&n| n <= isize::MAX as usize)
                .ok_or_else(|| self.too_big(&format!("the {what} at offset {start}")))?;
            self.pos += 1;
        }
        Ok((self.pos > start).then_some(n))
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(at, format_args!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn parse_shape(&mut self) -> Result<Vec<usize>> {
        let open = self.pos;
        self.pos += 1;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            let at = self.pos;
            let Some(d) = self.number("sub-array extent")? else {
                return Err(self.unexpected(at));
            };
            if dims.len() == MAX_DIMS {
                return Err(self.fail(
                    open,
                    format_args!("sub-array shape with more than {MAX_DIMS} dimensions"),
                ));
            }
            dims.push(d);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(dims);
                }
                _ => return Err(self.unexpected(self.pos)),
            }
        }
    }

    /// Parses items up to the end (top level, `open == None`) or up to the `}` closing the
    /// `T{` at `open`.
    fn parse_struct(&mut self, open: Option<usize>) -> Result<Struct> {
        let mut fields: Vec<Field> = Vec::new();
        let mut offset: usize = 0;
        let mut common: usize = 1;
        let mut nodes: usize = 0;
        let mut depth: usize = 1;
        // The names given so far, as ranges of the text (compared by their bytes).
        let mut names = NameSet::new(self.s);
        loop {
            self.skip_ws_and_prefixes();
            match (self.peek(), open) {
                (None, None) => break,
                (None, Some(at)) => {
                    return Err(self.fail(at, "'T{' without its closing '}'"));
                }
                (Some(b'}'), Some(_)) => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            let item_start = self.pos;
            let mut shape = if self.peek() == Some(b'(') {
                self.struct_module = false;
                self.parse_shape()?
            } else {
                Vec::new()
            };
            self.skip_ws_and_prefixes();
            let count_start = self.pos;
            let count = self.number("repeat count")?;
            let mode_before = self.mode;
            let type_start = self.pos;
            if self.peek().is_none() {
                return Err(self.fail(item_start, "a count or shape without a type"));
            }
            let parsed = self.parse_type(count)?;
            let type_end = self.pos;

            // Field name.
            self.skip_ws();
            let mut name = None;
            if self.peek() == Some(b':') {
                self.struct_module = false;
                let at = self.pos;
                self.pos += 1;
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c == b':' {
                        break;
                    }
                    if c == 0 {
                        return Err(self.unexpected(self.pos));
                    }
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return Err(self.fail(at, "field name without its closing ':'"));
                }
                let raw = &self.s[start..self.pos];
                self.pos += 1;
                if raw.is_empty() {
                    return Err(self.fail(at, "empty field name"));
                }
                let Ok(n) = std::str::from_utf8(raw) else {
                    return Err(self.fail(start, "field name that is not UTF-8"));
                };
                if parsed.ty.is_some() {
                    if !names.insert(start..self.pos - 1) {
                        return Err(self.fail(at, format_args!("duplicate field name '{n}'")));
                    }
                    name = Some(n);
                }
            }

            // Placement.
            if !parsed.count_is_len {
                if let Some(c) = count.filter(|&c| c != 1) {
                    if shape.len() == MAX_DIMS {
                        return Err(self.fail(
                            item_start,
                            format_args!("sub-array shape with more than {MAX_DIMS} dimensions"),
                        ));
                    }
                    shape.push(c);
                }
            }
            let mut stride = parsed.size;
            if self.mode == b'@' {
                offset =
                    round_up(offset, parsed.align).ok_or_else(|| self.too_big("the item size"))?;
                stride =
                    round_up(stride, parsed.align).ok_or_else(|| self.too_big("the item size"))?;
                common = common / gcd(common, parsed.align) * parsed.align;
            }
            let mut n: usize = 1;
            for &d in &shape {
                n = n
                    .checked_mul(d)
                    .ok_or_else(|| self.too_big("the sub-array shape"))?;
            }
            let bytes = stride
                .checked_mul(n)
                .ok_or_else(|| self.too_big("the item size"))?;
            if let Some(ty) = &parsed.ty {
                // JSON nodes: the arrays of the shape, then each element's own.
                let each = match ty {
                    FieldType::Scalar(_) => 1,
                    FieldType::Struct(st) => st.nodes.saturating_add(1),
                };
                let mut arrays: usize = 0;
                let mut level: usize = 1;
                for &d in &shape {
                    arrays = arrays.saturating_add(level);
                    level = level.saturating_mul(d);
                }
                nodes = nodes
                    .saturating_add(arrays)
                    .saturating_add(n.saturating_mul(each));
                let inner = match ty {
                    FieldType::Scalar(_) => 0,
                    FieldType::Struct(st) => st.depth,
                };
                depth = depth.max(1 + shape.len() + inner);
                if depth > MAX_RENDER_DEPTH {
                    return Err(self.fail(
                        item_start,
                        format_args!(
                            "structs and sub-arrays nested more than {MAX_RENDER_DEPTH} levels deep"
                        ),
                    ));
                }
            }
            if let Some(ty) = parsed.ty {
                let text_start = if parsed.count_is_len {
                    count_start
                } else {
                    type_start
                };
                let src = &self.s[text_start..type_end];
                // The source is ASCII up to names, and names are UTF-8 checked.
                let src = std::str::from_utf8(src).unwrap_or("?");
                self.weight += 2 + shape.len() / 4;
                fields.push(Field::new(
                    (mode_before, src),
                    name,
                    offset,
                    shape,
                    stride,
                    ty,
                ));
            }
            offset = offset
                .checked_add(bytes)
                .filter(|&o| o <= isize::MAX as usize)
                .ok_or_else(|| self.too_big("the item size"))?;
        }
        let mut size = offset;
        if open.is_some() && self.mode == b'@' {
            size = round_up(size, common)
                .filter(|&s| s <= isize::MAX as usize)
                .ok_or_else(|| self.too_big("the item size"))?;
        }
        Ok(Struct {
            fields,
            size,
            align: common,
            nodes,
            depth,
        })
    }

    /// Parses one type at the current position (after any count).
    fn parse_type(&mut self, count: Option<usize>) -> Result<Parsed> {
        let at = self.pos;
        let c = self.s[at];
        let native = matches!(self.mode, b'@' | b'^');
        self.modes |= mode_bit(self.mode);
        let order = match self.mode {
            b'<' => ByteOrder::Little,
            b'>' => ByteOrder::Big,
            _ => ByteOrder::NATIVE,
        };
        let ptr = (
            std::mem::size_of::<*const u8>(),
            std::mem::align_of::<*const u8>(),
        );
        let scalar = |code, kind, (size, align): (usize, usize), len, order| Parsed {
            ty: Some(FieldType::Scalar(Scalar {
                code,
                kind,
                size,
                len,
                order,
                pointee: None,
            })),
            size,
            align,
            count_is_len: false,
        };
        let no_standard = |this: &Self| {
            this.fail(
                at,
                format_args!(
                    "{} has no standard size (allowed only after '@' or '^')",
                    describe_char(c)
                ),
            )
        };
        use std::os::raw::{c_int, c_long, c_longlong, c_short};
        fn na<T>() -> (usize, usize) {
            (std::mem::size_of::<T>(), std::mem::align_of::<T>())
        }
        let int = |std: usize, nat: (usize, usize)| if native { nat } else { (std, 1) };
        if !b"xcbB?hHiIlLqQnNefdspP".contains(&c) {
            self.struct_module = false;
        }
        self.pos += 1;
        let p = match c {
            b'T' => {
                if self.peek() != Some(b'{') {
                    return Err(self.unexpected(self.pos));
                }
                self.pos += 1;
                self.enter(at)?;
                let st = self.parse_struct(Some(at))?;
                self.depth -= 1;
                Parsed {
                    size: st.size,
                    align: st.align,
                    ty: Some(FieldType::Struct(st)),
                    count_is_len: false,
                }
            }
            b'Z' => {
                let Some(z) = self.peek() else {
                    return Err(self.unexpected(self.pos));
                };
                let (size, align) = match z {
                    b'e' => (4, if native { 2 } else { 1 }),
                    b'f' => (8, if native { 4 } else { 1 }),
                    b'd' => (16, if native { 8 } else { 1 }),
                    b'g' if native => {
                        let (s, a) = long_double();
                        (2 * s, a)
                    }
                    b'g' => {
                        return Err(self.fail(
                            at,
                            "'Zg' has no standard size (allowed only after '@' or '^')",
                        ))
                    }
                    _ => return Err(self.unexpected(self.pos)),
                };
                self.pos += 1;
                scalar(b'Z', Kind::Complex, (size, align), 1, order)
            }
            b'&' => {
                self.enter(at)?;
                let saved = self.mode;
                self.skip_ws_and_prefixes();
                if matches!(self.peek(), None | Some(b'x')) {
                    return Err(self.unexpected(self.pos));
                }
                let inner = self.parse_type(None)?;
                self.mode = saved;
                self.depth -= 1;
                let pointee: Arc<str> = match inner.ty {
                    Some(FieldType::Struct(st)) => {
                        let mut leaves = Vec::new();
                        flatten(&st, 0, &mut leaves).map_err(|e| self.limit_error(e))?;
                        check_text_size(&leaves).map_err(|e| self.limit_error(e))?;
                        self.weight += leaves.len();
                        format!("T{{{}}}", canonical::canonical_text(&leaves, st.size)).into()
                    }
                    Some(FieldType::Scalar(s)) => canonical::scalar_text(&s, 1).into(),
                    None => return Err(self.unexpected(at + 1)),
                };
                Parsed {
                    ty: Some(FieldType::Scalar(Scalar {
                        code: b'&',
                        kind: Kind::Ref,
                        size: ptr.0,
                        len: 1,
                        order: ByteOrder::NATIVE,
                        pointee: Some(pointee),
                    })),
                    size: ptr.0,
                    align: ptr.1,
                    count_is_len: false,
                }
            }
            b'X' => {
                return Err(self.fail(at, "unsupported function pointer 'X'"));
            }
            b'x' => Parsed {
                ty: None,
                size: 1,
                align: 1,
                count_is_len: false,
            },
            b'c' => scalar(c, Kind::Char, (1, 1), 1, order),
            b'b' => scalar(c, Kind::Int, (1, 1), 1, order),
            b'B' => scalar(c, Kind::UInt, (1, 1), 1, order),
            b'?' => scalar(c, Kind::Bool, (1, 1), 1, order),
            b'h' => scalar(c, Kind::Int, int(2, na::<c_short>()), 1, order),
            b'H' => scalar(c, Kind::UInt, int(2, na::<c_short>()), 1, order),
            b'i' => scalar(c, Kind::Int, int(4, na::<c_int>()), 1, order),
            b'I' => scalar(c, Kind::UInt, int(4, na::<c_int>()), 1, order),
            b'l' => scalar(c, Kind::Int, int(4, na::<c_long>()), 1, order),
            b'L' => scalar(c, Kind::UInt, int(4, na::<c_long>()), 1, order),
            b'q' => scalar(c, Kind::Int, int(8, na::<c_longlong>()), 1, order),
            b'Q' => scalar(c, Kind::UInt, int(8, na::<c_longlong>()), 1, order),
            b'n' | b'N' if !native => return Err(no_standard(self)),
            b'n' => scalar(c, Kind::Int, na::<isize>(), 1, order),
            b'N' => scalar(c, Kind::UInt, na::<usize>(), 1, order),
            b'e' => scalar(c, Kind::Float, int(2, (2, 2)), 1, order),
            b'f' => scalar(c, Kind::Float, int(4, na::<f32>()), 1, order),
            b'd' => scalar(c, Kind::Float, int(8, na::<f64>()), 1, order),
            b'g' if !native => return Err(no_standard(self)),
            b'g' => scalar(c, Kind::Float, long_double(), 1, order),
            b'P' if !native => return Err(no_standard(self)),
            b'P' => scalar(c, Kind::Pointer, ptr, 1, ByteOrder::NATIVE),
            b'O' => scalar(c, Kind::Object, ptr, 1, ByteOrder::NATIVE),
            b's' | b'p' | b'u' | b'w' | b't' => {
                let n = count.unwrap_or(1);
                let (kind, unit, align) = match c {
                    b's' => (Kind::Bytes, 1, 1),
                    b'p' => (Kind::Pascal, 1, 1),
                    b'u' => (Kind::Ucs2, 2, 2),
                    b'w' => (Kind::Ucs4, 4, 4),
                    _ => (Kind::Bits, 1, 1),
                };
                let size = if kind == Kind::Bits {
                    if n > 64 {
                        return Err(
                            self.fail(at, format_args!("a bit field of {n} bits (at most 64)"))
                        );
                    }
                    n.div_ceil(8)
                } else {
                    n.checked_mul(unit)
                        .filter(|&s| s <= isize::MAX as usize)
                        .ok_or_else(|| self.too_big("the string length"))?
                };
                let mut p = scalar(c, kind, (size, if native { align } else { 1 }), n, order);
                p.count_is_len = true;
                p
            }
            _ => return Err(self.unexpected(at)),
        };
        Ok(p)
    }
}

/// Refuses leaves whose canonical text would pass [`MAX_CANONICAL_LEN`] (a pointer to a
/// large struct, repeated, would otherwise repeat that struct's text each time).
fn check_text_size(leaves: &[Leaf]) -> Result<()> {
    let mut n: usize = 0;
    for l in leaves {
        n = n.saturating_add(48 + l.scalar.pointee.as_ref().map_or(0, |p| p.len()));
    }
    if n > MAX_CANONICAL_LEN {
        bail!(
            Format,
            "the canonical text of the item would pass {MAX_CANONICAL_LEN} bytes (the limit)"
        );
    }
    Ok(())
}

/// Appends `leaf` to `out`, merging it into the last run when it continues it.
fn push_run(out: &mut Vec<Leaf>, leaf: Leaf) -> Result<()> {
    if leaf.bytes() == 0 {
        return Ok(());
    }
    if let Some(last) = out.last_mut() {
        if last.scalar.same_type(&leaf.scalar) && last.offset + last.bytes() == leaf.offset {
            last.count = last
                .count
                .checked_add(leaf.count)
                .ok_or_else(|| overflow("the number of elements"))?;
            return Ok(());
        }
    }
    if out.len() >= MAX_LEAF_RUNS {
        bail!(
            Format,
            "the item has more than {MAX_LEAF_RUNS} separate runs of scalars (the limit)"
        );
    }
    out.push(leaf);
    Ok(())
}

/// Appends the leaves of `st` placed at `base`.
pub(super) fn flatten(st: &Struct, base: usize, out: &mut Vec<Leaf>) -> Result<()> {
    for f in &st.fields {
        let n = f.count();
        if n == 0 {
            continue;
        }
        let at = base + f.offset;
        match &f.ty {
            FieldType::Scalar(s) => push_run(
                out,
                Leaf {
                    offset: at,
                    count: n,
                    scalar: s.clone(),
                },
            )?,
            FieldType::Struct(inner) if n == 1 => flatten(inner, at, out)?,
            FieldType::Struct(inner) => {
                let mut one = Vec::new();
                flatten(inner, 0, &mut one)?;
                if one.is_empty() {
                    continue;
                }
                if one.len() == 1 && one[0].offset == 0 && one[0].bytes() == f.stride {
                    let l = &one[0];
                    let count = l
                        .count
                        .checked_mul(n)
                        .ok_or_else(|| overflow("the number of elements"))?;
                    push_run(
                        out,
                        Leaf {
                            offset: at,
                            count,
                            scalar: l.scalar.clone(),
                        },
                    )?;
                    continue;
                }
                // Every repetition adds at least one run, so the run limit ends this loop.
                for k in 0..n {
                    let start = at + k * f.stride;
                    for l in &one {
                        push_run(
                            out,
                            Leaf {
                                offset: start + l.offset,
                                count: l.count,
                                scalar: l.scalar.clone(),
                            },
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Field names of one struct, as ranges of the format text: a hash set keyed by the bytes, so
/// that checking thousands of names for duplicates stays linear.
struct NameSet<'a> {
    text: &'a [u8],
    seen: std::collections::HashSet<&'a [u8]>,
}

impl<'a> NameSet<'a> {
    fn new(text: &'a [u8]) -> NameSet<'a> {
        NameSet {
            text,
            seen: std::collections::HashSet::new(),
        }
    }
    /// Adds the name at `range`; false when it was already there.
    fn insert(&mut self, range: std::ops::Range<usize>) -> bool {
        self.seen.insert(&self.text[range])
    }
}
