//! The metadata blob of a schema and the JSON of the `arrow.fixed_shape_tensor` extension.

use std::ffi::c_char;

use crate::capi::XBUF_MAX_NDIM;
use crate::status::{overflow, Result};
use crate::{bail, err};

/// Encodes key/value pairs as the specification's metadata blob.
pub fn encode_metadata(pairs: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_metadata_into(&mut out, pairs)?;
    Ok(out)
}

/// Appends the metadata blob of key/value pairs to `out`.
pub fn encode_metadata_into(out: &mut Vec<u8>, pairs: &[(&str, &[u8])]) -> Result<()> {
    let len32 = |n: usize| -> Result<[u8; 4]> {
        i32::try_from(n)
            .map(i32::to_ne_bytes)
            .map_err(|_| overflow("a metadata length"))
    };
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum::<usize>();
    out.reserve(size);
    out.extend_from_slice(&len32(pairs.len())?);
    for (k, v) in pairs {
        out.extend_from_slice(&len32(k.len())?);
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len32(v.len())?);
        out.extend_from_slice(v);
    }
    Ok(())
}

/// The start of the blob of the one pair `FORMAT_KEY: text`: the pair count and the key with
/// its length, in native byte order (built at compile time).
const FORMAT_HEAD: [u8; 8 + super::FORMAT_KEY.len()] = {
    let mut out = [0u8; 8 + super::FORMAT_KEY.len()];
    let count = 1i32.to_ne_bytes();
    let len = (super::FORMAT_KEY.len() as i32).to_ne_bytes();
    let key = super::FORMAT_KEY.as_bytes();
    let mut i = 0;
    while i < 4 {
        out[i] = count[i];
        out[4 + i] = len[i];
        i += 1;
    }
    let mut i = 0;
    while i < key.len() {
        out[8 + i] = key[i];
        i += 1;
    }
    out
};

/// The bytes of [`format_metadata_into`]'s blob before the text.
pub const FORMAT_BLOB_HEAD: usize = FORMAT_HEAD.len() + 4;

/// Appends the blob of the one pair `FORMAT_KEY: text` to `out`: the bytes
/// [`encode_metadata_into`] writes for that pair, written without a loop over pairs.
pub fn format_metadata_into(out: &mut Vec<u8>, text: &[u8]) -> Result<()> {
    let len = i32::try_from(text.len())
        .map_err(|_| overflow("a metadata length"))?
        .to_ne_bytes();
    let size = FORMAT_BLOB_HEAD + text.len();
    out.reserve(size);
    let at = out.len();
    // SAFETY: `size` bytes reserved after `at`, all written before the length covers them.
    unsafe {
        let p = out.as_mut_ptr().add(at);
        p.copy_from_nonoverlapping(FORMAT_HEAD.as_ptr(), FORMAT_HEAD.len());
        let p = p.add(FORMAT_HEAD.len());
        p.copy_from_nonoverlapping(len.as_ptr(), 4);
        p.add(4).copy_from_nonoverlapping(text.as_ptr(), text.len());
        out.set_len(at + size);
    }
    Ok(())
}

/// Decodes a metadata blob into borrowed key/value pairs.
///
/// # Safety
/// `p` must be NULL or point at a well-formed blob (its lengths are trusted, as the
/// specification has no total size).
pub unsafe fn decode_metadata<'a>(p: *const c_char) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    let mut out = Vec::new();
    if !p.is_null() {
        for_each_pair(p, |k, v| out.push((k, v)))?;
    }
    Ok(out)
}

/// Calls `each` with every key and value of a metadata blob that is not NULL, in order,
/// refusing a negative length as it comes.
///
/// # Safety
/// As for [`decode_metadata`], and `p` is not NULL.
#[inline]
unsafe fn for_each_pair<'a>(
    p: *const c_char,
    mut each: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<()> {
    let mut at = p.cast::<u8>();
    let read_len = |at: &mut *const u8| -> Result<usize> {
        let n = i32::from_ne_bytes(at.cast::<[u8; 4]>().read_unaligned());
        *at = at.add(4);
        usize::try_from(n).map_err(|_| {
            err!(
                InvalidArgument,
                "the schema's metadata has a negative length {n}"
            )
        })
    };
    let pairs = read_len(&mut at)?;
    for _ in 0..pairs {
        let kn = read_len(&mut at)?;
        let k = std::slice::from_raw_parts(at, kn);
        at = at.add(kn);
        let vn = read_len(&mut at)?;
        let v = std::slice::from_raw_parts(at, vn);
        at = at.add(vn);
        each(k, v);
    }
    Ok(())
}

/// The `shape` and `permutation` of an `arrow.fixed_shape_tensor`'s JSON metadata.
#[derive(Debug, PartialEq, Eq)]
pub struct TensorMeta {
    pub shape: Vec<usize>,
    pub permutation: Option<Vec<usize>>,
}

/// A minimal JSON reader: enough to find two integer arrays in an object and skip the rest
/// (strings with escapes, nested values), with a depth bound.
struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Json<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn fail<T>(&self, what: &str) -> Result<T> {
        bail!(
            InvalidArgument,
            "the arrow.fixed_shape_tensor metadata is not valid: {what} at byte {} of '{}'",
            self.i,
            String::from_utf8_lossy(self.s)
        )
    }
    fn eat(&mut self, c: u8) -> Result<()> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            self.fail(&format!("expected '{}'", c as char))
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn string(&mut self) -> Result<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(&self.s[start..self.i - 1]);
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
        self.fail("unterminated string")
    }
    fn uint(&mut self) -> Result<usize> {
        self.ws();
        let start = self.i;
        let mut n: usize = 0;
        while let Some(d) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .ok_or_else(|| overflow("a tensor extent"))?;
            self.i += 1;
        }
        if self.i == start {
            return self.fail("expected a non-negative integer");
        }
        Ok(n)
    }
    fn uint_array(&mut self) -> Result<Vec<usize>> {
        self.eat(b'[')?;
        let mut v = Vec::with_capacity(4);
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(v);
        }
        loop {
            if v.len() >= XBUF_MAX_NDIM as usize {
                return self.fail("more than 64 dimensions");
            }
            v.push(self.uint()?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(v);
                }
                _ => return self.fail("expected ',' or ']'"),
            }
        }
    }
    fn skip_value(&mut self, depth: usize) -> Result<()> {
        if depth > 32 {
            return self.fail("nested too deeply");
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.i += 1;
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.string()?;
                        self.eat(b':')?;
                    }
                    self.skip_value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return self.fail("expected ',' or a closing bracket"),
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_alphanumeric() => {
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
                {
                    self.i += 1;
                }
                Ok(())
            }
            _ => self.fail("expected a value"),
        }
    }
}

/// Reads an `arrow.fixed_shape_tensor`'s metadata; checks the permutation.
pub fn parse_tensor_meta(s: &[u8]) -> Result<TensorMeta> {
    let mut j = Json { s, i: 0 };
    let mut shape = None;
    let mut permutation = None;
    j.eat(b'{')?;
    if j.peek() == Some(b'}') {
        j.i += 1;
    } else {
        loop {
            let key = j.string()?;
            j.eat(b':')?;
            match key {
                b"shape" => shape = Some(j.uint_array()?),
                b"permutation" if j.peek() == Some(b'n') => j.skip_value(0)?,
                b"permutation" => permutation = Some(j.uint_array()?),
                _ => j.skip_value(0)?,
            }
            match j.peek() {
                Some(b',') => j.i += 1,
                Some(b'}') => {
                    j.i += 1;
                    break;
                }
                _ => return j.fail("expected ',' or '}'"),
            }
        }
    }
    if j.peek().is_some() {
        return j.fail("trailing text");
    }
    let Some(shape) = shape else {
        return j.fail("no \"shape\"");
    };
    if let Some(p) = &permutation {
        let mut seen = vec![false; shape.len()];
        if p.len() != shape.len()
            || !p
                .iter()
                .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true))
        {
            bail!(
                InvalidArgument,
                "the arrow.fixed_shape_tensor permutation {p:?} is not a permutation of the {} axes of shape {shape:?}",
                shape.len()
            );
        }
    }
    Ok(TensorMeta { shape, permutation })
}

/// A tensor's axes as the import keeps them: inline up to eight.
pub type Axes<T> = super::small::Small<T, 8>;

/// Reads an `arrow.fixed_shape_tensor`'s metadata as [`parse_tensor_meta`] does, the extents
/// as `isize`. The text the export writes (`{"shape":[..]}`, optionally followed by
/// `,"permutation":[..]`, without spaces, one to eight axes of at most 18 digits each, a valid
/// permutation) is read here in one pass without allocating; any other text goes to
/// [`parse_tensor_meta`], which keeps its refusals and messages.
pub fn read_tensor_meta(s: &[u8]) -> Result<(Axes<isize>, Option<Axes<usize>>)> {
    if let Some(read) = read_tensor_meta_exact(s) {
        return Ok(read);
    }
    let m = parse_tensor_meta(s)?;
    let mut shape = Axes::new();
    for &x in &m.shape {
        shape.push(isize::try_from(x).map_err(|_| overflow("a tensor extent"))?);
    }
    Ok((shape, m.permutation.map(|p| Axes::from_slice(&p))))
}

/// The one-pass reading of [`read_tensor_meta`]; `None` for any other text.
pub(super) fn read_tensor_meta_exact(s: &[u8]) -> Option<(Axes<isize>, Option<Axes<usize>>)> {
    let rest = s.strip_prefix(b"{\"shape\":[")?;
    let (shape, n, rest) = read_extents(rest)?;
    let (permutation, rest) = match rest.strip_prefix(b",\"permutation\":[") {
        Some(r) => {
            let (p, m, r) = read_extents(r)?;
            let mut seen = 0u8;
            for &a in &p[..m] {
                if a >= n || seen & (1 << a) != 0 {
                    return None;
                }
                seen |= 1 << a;
            }
            if m != n {
                return None;
            }
            (Some(Axes::Inline(m, p)), r)
        }
        None => (None, rest),
    };
    if rest != b"}" {
        return None;
    }
    let mut extents = [0isize; 8];
    for (e, &x) in extents.iter_mut().zip(&shape[..n]) {
        // At most 18 digits: within `isize`.
        *e = x as isize;
    }
    Some((Axes::Inline(n, extents), permutation))
}

/// Reads `d,d,...]` (one to eight numbers of one to 18 digits) and returns the numbers, how
/// many there are and the text after the `]`.
fn read_extents(s: &[u8]) -> Option<([usize; 8], usize, &[u8])> {
    let mut out = [0usize; 8];
    let mut n = 0;
    let mut i = 0;
    loop {
        let start = i;
        let mut v = 0usize;
        while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start == 18 {
                return None;
            }
            v = v * 10 + usize::from(c - b'0');
            i += 1;
        }
        if i == start || n == out.len() {
            return None;
        }
        out[n] = v;
        n += 1;
        match s.get(i) {
            Some(b',') => i += 1,
            Some(b']') => return Some((out, n, &s[i + 1..])),
            _ => return None,
        }
    }
}

/// The tensor extension's JSON for a physical shape and a permutation (omitted when `None`),
/// written through `std::fmt`: the reference [`tensor_metadata`] is checked against.
#[cfg(test)]
pub fn tensor_meta_json(shape: &[isize], permutation: Option<&[usize]>) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(16 + 24 * shape.len());
    let list = |s: &mut String, key: &str, v: &mut dyn Iterator<Item = usize>| {
        let _ = write!(s, "\"{key}\":[");
        for (i, x) in v.enumerate() {
            let _ = write!(s, "{}{x}", if i > 0 { "," } else { "" });
        }
        s.push(']');
    };
    s.push('{');
    list(&mut s, "shape", &mut shape.iter().map(|&x| x as usize));
    if let Some(p) = permutation {
        s.push(',');
        list(&mut s, "permutation", &mut p.iter().copied());
    }
    s.push('}');
    s
}

/// How many decimal digits `n` has.
fn digit_count(n: usize) -> usize {
    let mut len = 1;
    let mut m = n;
    while m >= 10 {
        m /= 10;
        len += 1;
    }
    len
}

/// Writes the `len` decimal digits of `n` into `out[..len]`, last digit first.
fn fill_digits(out: &mut [u8], len: usize, mut n: usize) {
    for d in out[..len].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends the decimal digits of `n`.
pub fn push_uint(out: &mut Vec<u8>, n: usize) {
    let len = digit_count(n);
    let at = out.len();
    out.resize(at + len, 0);
    fill_digits(&mut out[at..], len, n);
}

/// Writes the decimal digits of `n` at the start of `out` and returns how many there are
/// (0, writing nothing, when `out` is too short).
pub fn write_uint(out: &mut [u8], n: usize) -> usize {
    let len = digit_count(n);
    if len > out.len() {
        return 0;
    }
    fill_digits(out, len, n);
    len
}

/// The metadata blob of an `arrow.fixed_shape_tensor` field: the extension's name and its JSON
/// for a physical shape and a permutation (omitted when `None`), written straight into the
/// blob (the same bytes as [`encode_metadata`] of the name and the JSON text).
pub fn tensor_metadata(shape: &[isize], permutation: Option<&[usize]>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    tensor_metadata_into(&mut out, shape, permutation)?;
    Ok(out)
}

/// Appends the blob of [`tensor_metadata`] to `out`.
pub fn tensor_metadata_into(
    out: &mut Vec<u8>,
    shape: &[isize],
    permutation: Option<&[usize]>,
) -> Result<()> {
    let dims = shape.len() + permutation.map_or(0, <[usize]>::len);
    out.reserve(64 + super::TENSOR.len() + 21 * dims);
    let start = out.len();
    out.extend_from_slice(&2i32.to_ne_bytes());
    for key in [super::EXT_NAME, super::TENSOR, super::EXT_META] {
        out.extend_from_slice(&(key.len() as i32).to_ne_bytes());
        out.extend_from_slice(key.as_bytes());
    }
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let list = |out: &mut Vec<u8>, key: &[u8], v: &mut dyn Iterator<Item = usize>| {
        out.extend_from_slice(key);
        for (i, x) in v.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_uint(out, x);
        }
        out.push(b']');
    };
    out.push(b'{');
    list(out, b"\"shape\":[", &mut shape.iter().map(|&x| x as usize));
    if let Some(p) = permutation {
        out.push(b',');
        list(out, b"\"permutation\":[", &mut p.iter().copied());
    }
    out.push(b'}');
    let Ok(json) = i32::try_from(out.len() - len_at - 4) else {
        out.truncate(start);
        return Err(overflow("a metadata length"));
    };
    out[len_at..len_at + 4].copy_from_slice(&json.to_ne_bytes());
    Ok(())
}

/// The values of the metadata keys the import reads (the first pair of each key), found in
/// one pass over the blob without collecting the pairs; the blob is checked as
/// [`decode_metadata`] checks it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KnownKeys<'a> {
    pub ext_name: Option<&'a [u8]>,
    pub ext_meta: Option<&'a [u8]>,
    pub format: Option<&'a [u8]>,
}

/// Reads the keys of [`KnownKeys`] from a metadata blob (NULL: none).
///
/// # Safety
/// As for [`decode_metadata`].
#[inline]
pub unsafe fn known_keys<'a>(p: *const c_char) -> Result<KnownKeys<'a>> {
    if p.is_null() {
        return Ok(KnownKeys::default());
    }
    scan_known_keys(p)
}

/// [`known_keys`] of a blob that is not NULL.
unsafe fn scan_known_keys<'a>(p: *const c_char) -> Result<KnownKeys<'a>> {
    let mut out = KnownKeys::default();
    for_each_pair(p, |k, v| {
        let slot = match k {
            _ if k == super::EXT_NAME.as_bytes() => &mut out.ext_name,
            _ if k == super::EXT_META.as_bytes() => &mut out.ext_meta,
            _ if k == super::FORMAT_KEY.as_bytes() => &mut out.format,
            _ => return,
        };
        slot.get_or_insert(v);
    })?;
    Ok(out)
}
