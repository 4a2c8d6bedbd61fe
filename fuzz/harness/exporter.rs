//! Exporter answers driven by the fuzzer: a C-style exporter whose `getbuffer` fills the view
//! from the input (ndim, shape, strides, suboffsets, format, len, itemsize, readonly, buf, the
//! releaser, a failure status, an answer made with `xbuf_fill_info`, or a nested answer: the
//! view of another object, made with `xbuf_get_buffer`), asked with random request flags by
//! consumers whose structs have random sizes.
//!
//! Each answer starts from an honest layout (memory the harness owns, see
//! [`super::layout`]) and is then bent. A reference model of the request rules (written here
//! from the protocol's documentation) says whether the answer must be accepted, or which
//! statuses a refusal may carry. An accepted answer is checked field by field in the
//! consumer's view (and nothing past its `structsize` may be written); when it still describes
//! the honest memory, the consumer's view must read the model's bytes. A refused one leaves
//! the consumer's view empty. Every view an exporter's `getbuffer` hands out comes back to a
//! `releasebuffer` exactly once, and every object is freed at the end.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{null, null_mut};

use xbuf::ffi::*;

use super::input::Input;
use super::layout::{generate, Honest, Model, FORMATS, PTR};
use super::stats::{self, bump};
use super::view_ops::{fails, message, ok};

const BAD: c_int = XBUF_ERR_BAD_EXPORTER;

/// Formats an answer may carry instead of the honest one: `None` for text that is not a
/// format.
const OTHER_FORMATS: &[(&str, Option<isize>)] = &[
    ("B", Some(1)),
    ("<i", Some(4)),
    ("<q", Some(8)),
    ("3s", Some(3)),
    ("", Some(0)),
    ("0s", Some(0)),
    ("i(", None),
    ("T{", None),
    ("<Zd", Some(16)),
    ("<h", Some(2)),
    ("x", Some(1)),
    ("?", Some(1)),
    ("<2i", Some(8)),
    ("k", None),
];

/// The size of `text` as a format, `None` when it is not one.
fn format_size(text: &str) -> Option<isize> {
    FORMATS
        .iter()
        .find(|f| f.0 == text)
        .map(|f| Some(f.1))
        .or_else(|| OTHER_FORMATS.iter().find(|f| f.0 == text).map(|f| f.1))
        .expect("a format of the tables")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Releaser {
    /// NULL: the object asked.
    Null,
    Itself,
    /// Another live object.
    Other,
    /// Memory that is not an object.
    Junk,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    /// Fill the fields.
    Fill,
    /// Fail with a status, after filling some fields (and maybe recording a message).
    Fail(c_int, bool),
    /// `xbuf_fill_info` over the whole arena.
    FillInfo,
    /// `xbuf_get_buffer` on the plain exporter of the honest layout.
    NestedPlain,
    /// `xbuf_get_buffer` on a view (sliced) of the plain exporter.
    NestedView,
}

/// What `getbuffer` answers.
#[derive(Clone, Debug)]
struct Answer {
    how: How,
    ndim: c_int,
    buf: *mut u8,
    len: isize,
    itemsize: isize,
    readonly: c_int,
    format: Option<CString>,
    shape: Option<Vec<isize>>,
    strides: Option<Vec<isize>>,
    suboffsets: Option<Vec<isize>>,
    releaser: Releaser,
}

/// Everything the objects' procs share (their `state`).
struct Ctx {
    honest: Honest,
    format: CString,
    answer: RefCell<Option<Answer>>,
    /// The view the nested-view answer asks, and its model.
    inner_view: RefCell<(*mut xbuf_object, Option<Model>)>,
    plain: RefCell<*mut xbuf_object>,
    other: RefCell<*mut xbuf_object>,
    junk: Box<[u64; 16]>,
    next_token: RefCell<usize>,
    /// Tokens handed out in `internal` by successful `getbuffer` calls, and those that came
    /// back to a `releasebuffer`.
    issued: RefCell<Vec<usize>>,
    released: RefCell<Vec<usize>>,
    deallocs: RefCell<usize>,
}

impl Ctx {
    fn token(&self) -> usize {
        let mut t = self.next_token.borrow_mut();
        *t += 1;
        0x7000 + *t * 16
    }
}

unsafe fn ctx<'a>(obj: *mut xbuf_object) -> &'a Ctx {
    &*(xbuf_object_state(obj) as *const Ctx)
}

/// The fuzzed exporter.
unsafe extern "C" fn answer(
    obj: *mut xbuf_object,
    view: *mut xbuf_bufferinfo,
    flags: c_int,
) -> c_int {
    let c = ctx(obj);
    let a = c.answer.borrow().clone().expect("an answer");
    let releaser = match a.releaser {
        Releaser::Null => null_mut(),
        Releaser::Itself => obj,
        Releaser::Other => *c.other.borrow(),
        Releaser::Junk => c.junk.as_ptr() as *mut xbuf_object,
    };
    match a.how {
        How::NestedPlain => return xbuf_get_buffer(*c.plain.borrow(), view, flags),
        How::NestedView => return xbuf_get_buffer(c.inner_view.borrow().0, view, flags),
        How::FillInfo => {
            let rc = xbuf_fill_info(
                view,
                releaser,
                c.honest.arena.ptr().cast(),
                c.honest.arena.len() as isize,
                a.readonly,
                flags,
            );
            if rc != XBUF_OK {
                return rc;
            }
        }
        How::Fill | How::Fail(..) => {
            let v = &mut *view;
            v.buf = a.buf.cast();
            v.len = a.len;
            v.itemsize = a.itemsize;
            v.readonly = a.readonly;
            v.ndim = a.ndim;
            v.releaser = releaser;
            // The arrays live in the answer kept in the context until the next answer; the
            // library copies them before `xbuf_get_buffer` returns.
            let keep = c.answer.borrow();
            let k = keep.as_ref().unwrap();
            v.format = k.format.as_ref().map_or(null(), |f| f.as_ptr());
            v.shape = k
                .shape
                .as_ref()
                .map_or(null_mut(), |s| s.as_ptr() as *mut isize);
            v.strides = k
                .strides
                .as_ref()
                .map_or(null_mut(), |s| s.as_ptr() as *mut isize);
            v.suboffsets = k
                .suboffsets
                .as_ref()
                .map_or(null_mut(), |s| s.as_ptr() as *mut isize);
            if let How::Fail(code, say) = a.how {
                if say {
                    xbuf_set_error(code, c"the exporter says no".as_ptr());
                }
                return code;
            }
        }
    }
    let t = c.token();
    (*view).internal = t as *mut c_void;
    c.issued.borrow_mut().push(t);
    XBUF_OK
}

/// The plain exporter: the honest layout as it is.
unsafe extern "C" fn plain(
    obj: *mut xbuf_object,
    view: *mut xbuf_bufferinfo,
    _flags: c_int,
) -> c_int {
    let c = ctx(obj);
    let v = &mut *view;
    c.honest.fill(v, c.format.as_ptr());
    let t = c.token();
    v.internal = t as *mut c_void;
    c.issued.borrow_mut().push(t);
    XBUF_OK
}

unsafe extern "C" fn note_release(obj: *mut xbuf_object, view: *mut xbuf_bufferinfo) {
    if !view.is_null() {
        let t = (*view).internal as usize;
        if t != 0 {
            ctx(obj).released.borrow_mut().push(t);
        }
    }
}

unsafe extern "C" fn note_dealloc(state: *mut c_void) {
    *(*(state as *const Ctx)).deallocs.borrow_mut() += 1;
}

fn object(c: &Ctx, name: &CStr, getbuffer: xbuf_getbufferproc) -> *mut xbuf_object {
    let ty = xbuf_type {
        structsize: std::mem::size_of::<xbuf_type>(),
        name: name.as_ptr(),
        getbuffer,
        releasebuffer: Some(note_release),
        lockbuffer: None,
        dealloc: Some(note_dealloc),
    };
    let mut obj = null_mut();
    ok(
        unsafe { xbuf_object_new(&ty, c as *const Ctx as *mut c_void, &mut obj) },
        "object_new",
    );
    obj
}

/// The request flags a consumer may send: the compounds, or (rarely) any bits.
fn draw_flags(inp: &mut Input<'_>) -> c_int {
    if inp.one_in(10) {
        return inp.bytes_le(2) as c_int;
    }
    inp.pick(&[
        XBUF_SIMPLE,
        XBUF_WRITABLE,
        XBUF_FORMAT,
        XBUF_ND,
        XBUF_STRIDES,
        XBUF_C_CONTIGUOUS,
        XBUF_F_CONTIGUOUS,
        XBUF_ANY_CONTIGUOUS,
        XBUF_INDIRECT,
        XBUF_CONTIG,
        XBUF_CONTIG_RO,
        XBUF_STRIDED,
        XBUF_STRIDED_RO,
        XBUF_RECORDS,
        XBUF_RECORDS_RO,
        XBUF_FULL,
        XBUF_FULL_RO,
        XBUF_FULL_RO | XBUF_C_CONTIGUOUS,
        XBUF_RECORDS_RO | XBUF_F_CONTIGUOUS,
        XBUF_ANY_CONTIGUOUS | XBUF_FORMAT,
    ])
}

/// Whether `flags` is a request the library accepts: known bits, and each compound's own bit
/// only with the flags it builds on.
fn flags_valid(flags: c_int) -> bool {
    let known = 0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100;
    flags & !known == 0
        && (flags & 0x10 == 0 || flags & 0x8 != 0)
        && (flags & 0x1e0 == 0 || flags & 0x18 == 0x18)
}

/// An honest answer bent by the input.
fn draw_answer(inp: &mut Input<'_>, h: &Honest) -> Answer {
    let how = match inp.below(24) {
        0 => How::Fail(
            inp.pick(&[XBUF_ERR_READONLY, XBUF_ERR_BUSY, XBUF_ERR_REQUEST, 4242, -7]),
            inp.one_in(2),
        ),
        1 => How::FillInfo,
        2 | 3 => How::NestedPlain,
        4 | 5 => How::NestedView,
        _ => How::Fill,
    };
    let mut a = Answer {
        how,
        ndim: h.shape.len() as c_int,
        buf: h.buf(),
        len: h.len(),
        itemsize: h.itemsize,
        readonly: 0,
        format: Some(CString::new(h.format).unwrap()),
        shape: Some(h.shape.clone()),
        strides: Some(h.strides.clone()),
        suboffsets: h.suboffsets.clone(),
        releaser: inp.pick(&[
            Releaser::Null,
            Releaser::Null,
            Releaser::Null,
            Releaser::Itself,
            Releaser::Other,
            Releaser::Other,
            Releaser::Junk,
        ]),
    };
    if matches!(a.how, How::NestedPlain | How::NestedView) {
        return a;
    }
    let some_value = |inp: &mut Input<'_>, honest: isize| -> isize {
        inp.pick(&[
            0,
            1,
            -1,
            2,
            honest + 1,
            honest - 1,
            -honest,
            isize::MAX,
            isize::MIN,
            1 << 40,
            -(1 << 40),
            PTR,
        ])
    };
    // ndim, with arrays of that many entries.
    if inp.one_in(10) {
        let n = inp.pick(&[-1, 0, 1, 2, 3, 64, 65, 1000, a.ndim + 1, a.ndim - 1]);
        a.ndim = n;
        if (0..=XBUF_MAX_NDIM).contains(&n) {
            let n = n as usize;
            let resize = |v: &mut Vec<isize>, fill: isize| v.resize(n, fill);
            if let Some(s) = &mut a.shape {
                resize(s, 1);
            }
            if let Some(s) = &mut a.strides {
                resize(s, 8);
            }
            if let Some(s) = &mut a.suboffsets {
                resize(s, -1);
            }
        }
    }
    let n = a.ndim.clamp(0, XBUF_MAX_NDIM) as usize;
    let poke = |inp: &mut Input<'_>, v: &mut Vec<isize>| {
        if !v.is_empty() {
            let k = inp.below(v.len());
            v[k] = some_value(inp, v[k]);
        }
    };
    match inp.below(8) {
        0 => a.shape = None,
        1 => {
            if let Some(s) = &mut a.shape {
                poke(inp, s)
            }
        }
        _ => {}
    }
    match inp.below(8) {
        0 => a.strides = None,
        1 => {
            if let Some(s) = &mut a.strides {
                poke(inp, s)
            }
        }
        _ => {}
    }
    match inp.below(10) {
        0 => a.suboffsets = None,
        1 => a.suboffsets = Some(vec![-1; n]),
        2 => {
            let mut s = a.suboffsets.take().unwrap_or_else(|| vec![-1; n]);
            s.resize(n, -1);
            if n > 0 {
                let k = inp.below(n);
                s[k] = inp.pick(&[0, 3, -1, isize::MAX, -5]);
            }
            a.suboffsets = Some(s);
        }
        _ => {}
    }
    match inp.below(8) {
        0 => a.format = None,
        1 => a.format = Some(CString::new(inp.pick(OTHER_FORMATS).0).unwrap()),
        _ => {}
    }
    if inp.one_in(10) {
        a.itemsize = some_value(inp, a.itemsize);
    }
    if inp.one_in(10) {
        a.len = some_value(inp, a.len);
    }
    if inp.one_in(4) {
        a.readonly = inp.pick(&[1, -1, 7]);
    }
    match inp.below(32) {
        0 => a.buf = null_mut(),
        1 => a.buf = usize::MAX.wrapping_sub(inp.below(64)) as *mut u8,
        _ => {}
    }
    a
}

/// `product(shape)` as the protocol computes it: extents must not be negative; `None` on a
/// negative extent or overflow (in order, as a running product).
fn item_count(shape: &[isize]) -> Option<isize> {
    let mut n: isize = 1;
    for &e in shape {
        if e < 0 {
            return None;
        }
        n = n.checked_mul(e)?;
    }
    Some(n)
}

/// The lowest and one past the highest byte offset a layout reaches with `unit`-byte
/// elements; `None` when the arithmetic leaves `isize`.
fn reach(shape: &[isize], strides: &[isize], unit: isize) -> Option<(isize, isize)> {
    if shape.contains(&0) {
        return Some((0, 0));
    }
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&n, &s) in shape.iter().zip(strides) {
        let r = n.checked_sub(1)?.checked_mul(s)?;
        if r < 0 {
            lo = lo.checked_add(r)?;
        } else {
            hi = hi.checked_add(r)?;
        }
    }
    Some((lo, hi.checked_add(unit)?))
}

/// Contiguity as the protocol defines it (strides `None`: C-contiguous).
fn contiguous(
    shape: &[isize],
    strides: Option<&[isize]>,
    subs: bool,
    itemsize: isize,
    fortran: bool,
) -> bool {
    if subs {
        return false;
    }
    if shape.contains(&0) {
        return true;
    }
    let Some(strides) = strides else {
        return !fortran || shape.iter().filter(|&&e| e > 1).count() <= 1;
    };
    let dims: Vec<usize> = if fortran {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    let mut step = itemsize;
    for d in dims {
        if shape[d] > 1 && strides[d] != step {
            return false;
        }
        match step.checked_mul(shape[d]) {
            Some(s) => step = s,
            None => return false,
        }
    }
    true
}

/// C-contiguous strides as the library writes them for an answer without strides (for a
/// shape without items, a step beyond `isize::MAX` stays there).
fn c_strides(shape: &[isize], itemsize: isize) -> Vec<isize> {
    let mut out = vec![0; shape.len()];
    let mut step = itemsize;
    for d in (0..shape.len()).rev() {
        out[d] = step;
        step = step.saturating_mul(shape[d].max(1));
    }
    out
}

/// What the consumer receives for an answer the request rules accept.
struct Expect {
    shape: Option<Vec<isize>>,
    strides: Option<Vec<isize>>,
    suboffsets: Option<Vec<isize>>,
    opaque: bool,
}

/// The request rules applied to a filled answer: the statuses a refusal may carry (empty:
/// accepted), and what the consumer receives when accepted.
fn judge(a: &Answer, flags: c_int) -> (Vec<c_int>, Expect) {
    let has = |f: c_int| flags & f == f;
    let mut no = Vec::new();
    let n = a.ndim as usize;
    let mut expect = Expect {
        shape: None,
        strides: None,
        suboffsets: None,
        opaque: false,
    };
    if a.itemsize < 1 {
        return (vec![BAD], expect);
    }
    if a.len < 0 || a.buf.is_null() && a.len != 0 {
        no.push(BAD);
    }
    let shape: Vec<isize> = match (&a.shape, n) {
        (Some(s), _) => s.clone(),
        (None, 0) => vec![],
        (None, 1) => vec![a.len / a.itemsize],
        (None, _) => {
            if has(XBUF_ND) {
                no.push(BAD);
            }
            if a.strides.is_some() || a.suboffsets.is_some() {
                no.push(BAD);
            }
            expect.opaque = true;
            vec![]
        }
    };
    if expect.opaque || a.shape.is_none() && n == 1 {
        if a.len % a.itemsize != 0 {
            no.push(BAD);
        }
    } else {
        match item_count(&shape).and_then(|c| c.checked_mul(a.itemsize)) {
            Some(b) if b == a.len => {}
            _ => no.push(BAD),
        }
    }
    let subs = a
        .suboffsets
        .clone()
        .filter(|s| s.iter().any(|&x| x >= 0) && !expect.opaque);
    if subs.is_some() && !has(XBUF_INDIRECT) {
        no.push(XBUF_ERR_REQUEST);
    }
    let addr = a.buf as usize as i128;
    match (&a.strides, expect.opaque) {
        (Some(st), false) => {
            let first = subs.as_ref().and_then(|s| s.iter().position(|&x| x >= 0));
            let dims = first.map_or(shape.len(), |d| d + 1);
            let unit = if first.is_some() { PTR } else { a.itemsize };
            match reach(&shape[..dims], &st[..dims], unit) {
                Some((lo, hi))
                    if addr + lo as i128 >= 0 && addr + hi as i128 <= usize::MAX as i128 => {}
                _ => no.push(BAD),
            }
        }
        _ => {
            if addr + a.len as i128 > usize::MAX as i128 {
                no.push(BAD);
            }
        }
    }
    if has(XBUF_FORMAT) {
        if a.format.is_none() && a.itemsize != 1 {
            no.push(BAD);
        }
        let text = a.format.as_ref().map_or("B", |f| f.to_str().unwrap());
        if format_size(text) != Some(a.itemsize) {
            no.push(XBUF_ERR_FORMAT);
        }
    }
    if has(XBUF_WRITABLE) && a.readonly != 0 {
        no.push(XBUF_ERR_READONLY);
    }
    let st = if expect.opaque {
        None
    } else {
        a.strides.as_deref()
    };
    let c = contiguous(&shape, st, subs.is_some(), a.itemsize, false);
    let f = contiguous(&shape, st, subs.is_some(), a.itemsize, true);
    if (!has(XBUF_STRIDES) || has(XBUF_C_CONTIGUOUS)) && !c
        || has(XBUF_F_CONTIGUOUS) && !f
        || has(XBUF_ANY_CONTIGUOUS) && !c && !f
    {
        no.push(XBUF_ERR_NOT_CONTIGUOUS);
    }
    if !expect.opaque {
        if has(XBUF_ND) {
            expect.shape = Some(shape.clone());
        }
        if has(XBUF_STRIDES) {
            expect.strides = Some(
                a.strides
                    .clone()
                    .unwrap_or_else(|| c_strides(&shape, a.itemsize)),
            );
        }
    }
    expect.suboffsets = subs;
    (no, expect)
}

/// Whether an accepted answer still describes the honest memory (so reading it is safe).
fn honest(a: &Answer, h: &Honest, e: &Expect) -> bool {
    if a.buf != h.buf() || a.itemsize != h.itemsize || a.len != h.len() {
        return false;
    }
    let hsubs = h.suboffsets.clone();
    if e.opaque {
        return hsubs.is_none() && contiguous(&h.shape, Some(&h.strides), false, h.itemsize, false);
    }
    let shape = match (&a.shape, a.ndim) {
        (Some(s), _) => s.clone(),
        (None, 0) => vec![],
        (None, _) => vec![a.len / a.itemsize],
    };
    if shape != h.shape {
        return false;
    }
    if h.items.is_empty() {
        return true;
    }
    let strides = a
        .strides
        .clone()
        .unwrap_or_else(|| c_strides(&shape, a.itemsize));
    strides == h.strides && e.suboffsets == hsubs
}

/// The struct a consumer hands in: `size` bytes (within a larger block whose rest must stay
/// untouched), everything but `structsize` set to a marker byte.
struct Consumer {
    words: Box<[u64; 64]>,
    size: usize,
}

impl Consumer {
    fn new(size: usize) -> Consumer {
        let mut words = Box::new([0xabab_abab_abab_abab_u64; 64]);
        words[0] = size as u64;
        Consumer { words, size }
    }
    fn view(&mut self) -> *mut xbuf_bufferinfo {
        self.words.as_mut_ptr().cast()
    }
    fn info(&self) -> &xbuf_bufferinfo {
        assert!(self.size >= XBUF_BUFFERINFO_SIZE_MIN);
        // SAFETY: the block holds a whole struct; bytes past `size` are not read as fields.
        unsafe { &*(self.words.as_ptr() as *const xbuf_bufferinfo) }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: the block's 512 bytes.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), 512) }
    }
    /// Nothing past `structsize` was written; an empty view is all zeros.
    fn check_untouched_tail(&self, written: usize) {
        let b = self.bytes();
        assert!(
            b[written.min(512)..].iter().all(|&x| x == 0xab),
            "bytes past structsize were written"
        );
    }
    fn check_empty(&self) {
        let b = self.bytes();
        let end = self.size.min(512);
        assert!(
            b[8..end].iter().all(|&x| x == 0),
            "a refused request left fields set"
        );
        self.check_untouched_tail(end);
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    bump(stats::INPUTS);
    let mut inp = Input::new(data);
    let honest = generate(&mut inp);
    if honest.suboffsets.is_some() {
        bump(stats::INDIRECT);
    }
    let format = CString::new(honest.format).unwrap();
    let ctx = Box::new(Ctx {
        honest,
        format,
        answer: RefCell::new(None),
        inner_view: RefCell::new((null_mut(), None)),
        plain: RefCell::new(null_mut()),
        other: RefCell::new(null_mut()),
        junk: Box::new([0; 16]),
        next_token: RefCell::new(0),
        issued: RefCell::new(Vec::new()),
        released: RefCell::new(Vec::new()),
        deallocs: RefCell::new(0),
    });
    let ex = object(&ctx, c"fuzzed", Some(answer));
    let plain_obj = object(&ctx, c"plain", Some(plain));
    let other = object(&ctx, c"other", None);
    *ctx.plain.borrow_mut() = plain_obj;
    *ctx.other.borrow_mut() = other;
    // A view of the plain exporter, sliced at random (its slices may need a row-pointer
    // table of their own), for nested answers.
    let model = ctx.honest.model();
    let (inner, inner_model) = sliced_view(&mut inp, plain_obj, &model);
    *ctx.inner_view.borrow_mut() = (inner, Some(inner_model));

    let mut live: Vec<Consumer> = Vec::new();
    let mut rounds = 0;
    while rounds < 4 && (rounds == 0 || !inp.is_empty()) {
        rounds += 1;
        let a = draw_answer(&mut inp, &ctx.honest);
        let flags = draw_flags(&mut inp);
        let size = inp.pick(&[
            XBUF_BUFFERINFO_SIZE,
            XBUF_BUFFERINFO_SIZE,
            XBUF_BUFFERINFO_SIZE,
            XBUF_BUFFERINFO_SIZE_MIN,
            XBUF_BUFFERINFO_SIZE + 40,
            XBUF_BUFFERINFO_SIZE_MIN - 8,
            5000,
        ]);
        *ctx.answer.borrow_mut() = Some(a.clone());
        let mut cons = Consumer::new(size);
        bump(stats::GETS);
        let rc = unsafe { xbuf_get_buffer(ex, cons.view(), flags) };
        let accepted = check_get(&ctx, &a, flags, rc, &cons, ex);
        if accepted {
            bump(stats::ACCEPTED);
            if inp.one_in(2) {
                live.push(cons);
            } else {
                release(&mut cons);
            }
        } else {
            bump(stats::REFUSED);
        }
    }
    for mut c in live.drain(..) {
        release(&mut c);
    }
    ok(unsafe { xbuf_decref(inner) }, "decref");
    for obj in [ex, plain_obj, other] {
        assert_eq!(unsafe { xbuf_exports(obj) }, 0, "exports left");
    }
    for obj in [ex, plain_obj, other] {
        ok(unsafe { xbuf_decref(obj) }, "decref");
    }
    assert_eq!(*ctx.deallocs.borrow(), 3, "objects not freed");
    // Every view handed out came back exactly once.
    let mut released = ctx.released.borrow().clone();
    released.sort_unstable();
    for t in ctx.issued.borrow().iter() {
        let n = released.iter().filter(|&r| r == t).count();
        assert_eq!(n, 1, "view {t:#x} was returned {n} times");
    }
    assert!(
        released.windows(2).all(|w| w[0] != w[1]),
        "a view was returned twice"
    );
}

fn release(c: &mut Consumer) {
    ok(unsafe { xbuf_release(c.view()) }, "release");
    c.check_empty();
    ok(unsafe { xbuf_release(c.view()) }, "second release");
}

/// A view of `obj` with a random slice, and its model.
fn sliced_view(inp: &mut Input<'_>, obj: *mut xbuf_object, m: &Model) -> (*mut xbuf_object, Model) {
    let mut v = null_mut();
    ok(unsafe { xbuf_view_new(obj, XBUF_FULL, &mut v) }, "view_new");
    let n = m.shape.len();
    let specs: Vec<xbuf_range> = (0..n)
        .map(|d| {
            let e = m.shape[d];
            xbuf_range {
                start: inp.range(-e, e),
                stop: isize::MIN,
                step: inp.pick(&[1, -1, 2, -2]),
            }
        })
        .collect();
    let mut s = null_mut();
    ok(
        unsafe { xbuf_view_slice(v, specs.as_ptr(), n as c_int, &mut s) },
        "slice",
    );
    ok(unsafe { xbuf_decref(v) }, "decref");
    // The model: positions by Python's rules (start given, stop omitted).
    let pos: Vec<Vec<isize>> = (0..n)
        .map(|d| {
            let (e, r) = (m.shape[d], &specs[d]);
            let mut i = if r.start < 0 {
                (r.start + e).max(if r.step > 0 { 0 } else { -1 })
            } else {
                r.start.min(if r.step > 0 { e } else { e - 1 })
            };
            let mut out = Vec::new();
            while (r.step > 0 && i < e) || (r.step < 0 && i >= 0) {
                out.push(i);
                i += r.step;
            }
            out
        })
        .collect();
    let shape: Vec<isize> = pos.iter().map(|p| p.len() as isize).collect();
    let mut items = Vec::new();
    if shape.iter().all(|&e| e > 0) {
        let mut idx = vec![0isize; n];
        loop {
            let src: Vec<isize> = (0..n).map(|d| pos[d][idx[d] as usize]).collect();
            items.push(m.items[super::layout::c_index(&src, &m.shape)]);
            if !super::layout::next_index(&mut idx, &shape) {
                break;
            }
        }
    }
    (
        s,
        Model {
            shape,
            items,
            ..m.clone()
        },
    )
}

/// Checks the outcome of one get against the model; true when the view was filled.
fn check_get(
    c: &Ctx,
    a: &Answer,
    flags: c_int,
    rc: c_int,
    cons: &Consumer,
    ex: *mut xbuf_object,
) -> bool {
    let size = cons.size;
    // The consumer's struct and the flags are checked before the exporter is asked.
    if size < XBUF_BUFFERINFO_SIZE_MIN {
        fails(
            rc,
            XBUF_ERR_STRUCT_TOO_OLD,
            "a struct older than the first published one",
        );
        cons.check_untouched_tail(8);
        return false;
    }
    if size > XBUF_STRUCTSIZE_MAX {
        fails(rc, XBUF_ERR_INVALID_ARGUMENT, "an implausible structsize");
        cons.check_untouched_tail(8);
        return false;
    }
    if !flags_valid(flags) {
        fails(rc, XBUF_ERR_INVALID_ARGUMENT, "inconsistent request flags");
        cons.check_empty();
        return false;
    }
    let written = size.min(512);
    match a.how {
        How::Fail(code, say) => {
            let want = if (1..=18).contains(&code) { code } else { BAD };
            fails(rc, want, "an exporter that fails");
            if say && want == code {
                assert!(message().contains("the exporter says no"), "{}", message());
            }
            cons.check_empty();
            return false;
        }
        How::NestedPlain | How::NestedView => {
            bump(stats::NESTED);
            let inner = c.inner_view.borrow();
            let m = if a.how == How::NestedPlain {
                c.honest.model()
            } else {
                inner.1.clone().unwrap()
            };
            let has = |f: c_int| flags & f == f;
            let (cc, ff) = (m.contiguous(false), m.contiguous(true));
            let mut no = Vec::new();
            if m.has_suboffsets() && !has(XBUF_INDIRECT) {
                no.push(XBUF_ERR_REQUEST);
            }
            if (!has(XBUF_STRIDES) || has(XBUF_C_CONTIGUOUS)) && !cc
                || has(XBUF_F_CONTIGUOUS) && !ff
                || has(XBUF_ANY_CONTIGUOUS) && !cc && !ff
            {
                no.push(XBUF_ERR_NOT_CONTIGUOUS);
            }
            if !no.is_empty() {
                assert!(
                    no.contains(&rc),
                    "nested answer: expected one of {no:?}, got {rc}: {}",
                    message()
                );
                cons.check_empty();
                return false;
            }
            ok(rc, "nested answer");
            let v = cons.info();
            assert_eq!(
                v.releaser,
                *c.plain.borrow(),
                "the releaser of a nested answer"
            );
            assert_eq!(v.len as usize, m.len());
            if !v.suboffsets.is_null() {
                let arena = &c.honest.arena;
                if (v.buf as usize).wrapping_sub(arena.ptr() as usize) >= arena.len() {
                    bump(stats::NESTED_TABLES);
                }
            }
            read_back(c, cons, &m);
            cons.check_untouched_tail(written);
            return true;
        }
        _ => {}
    }
    if !(0..=XBUF_MAX_NDIM).contains(&a.ndim) && a.how == How::Fill {
        fails(rc, BAD, "ndim out of range");
        cons.check_empty();
        return false;
    }
    if a.how == How::FillInfo && flags & XBUF_WRITABLE != 0 && a.readonly != 0 {
        fails(
            rc,
            XBUF_ERR_READONLY,
            "xbuf_fill_info of read-only memory for XBUF_WRITABLE",
        );
        cons.check_empty();
        return false;
    }
    if a.releaser == Releaser::Junk {
        fails(rc, BAD, "a releaser that is not an object");
        cons.check_empty();
        return false;
    }
    let fill_info = a.how == How::FillInfo;
    let answered = if fill_info {
        // What xbuf_fill_info describes: the arena as bytes.
        Answer {
            how: How::FillInfo,
            ndim: 1,
            buf: c.honest.arena.ptr(),
            len: c.honest.arena.len() as isize,
            itemsize: 1,
            readonly: a.readonly,
            format: (flags & XBUF_FORMAT != 0).then(|| CString::new("B").unwrap()),
            shape: (flags & XBUF_ND != 0).then(|| vec![c.honest.arena.len() as isize]),
            strides: (flags & XBUF_STRIDES == XBUF_STRIDES).then(|| vec![1]),
            suboffsets: None,
            releaser: a.releaser,
        }
    } else {
        a.clone()
    };
    let (no, expect) = judge(&answered, flags);
    if !no.is_empty() {
        assert!(
            no.contains(&rc),
            "answer {answered:?} to 0x{flags:x}: expected one of {no:?}, got {rc}: {}",
            message()
        );
        cons.check_empty();
        return false;
    }
    assert_eq!(
        rc,
        XBUF_OK,
        "answer {answered:?} to 0x{flags:x} refused: {}",
        message()
    );
    // Every field as the request and the answer say.
    let v = cons.info();
    let want_releaser = if a.releaser == Releaser::Other {
        *c.other.borrow()
    } else {
        ex
    };
    assert_eq!(v.releaser, want_releaser, "releaser");
    assert_eq!(v.buf as *mut u8, answered.buf, "buf");
    assert_eq!(v.len, answered.len, "len");
    assert_eq!(v.itemsize, answered.itemsize, "itemsize");
    assert_eq!(v.readonly, c_int::from(answered.readonly != 0), "readonly");
    assert!(!v.internal.is_null(), "internal");
    let n = if expect.shape.is_some() {
        answered.ndim as usize
    } else {
        1
    };
    assert_eq!(v.ndim as usize, n, "ndim");
    let arr = |p: *mut isize| {
        (!p.is_null()).then(|| unsafe { std::slice::from_raw_parts(p, n) }.to_vec())
    };
    assert_eq!(v.shape.is_null(), expect.shape.is_none(), "shape given");
    assert_eq!(
        v.strides.is_null(),
        expect.strides.is_none(),
        "strides given"
    );
    if n > 0 {
        assert_eq!(arr(v.shape), expect.shape, "shape");
        assert_eq!(arr(v.strides), expect.strides, "strides");
    }
    assert_eq!(arr(v.suboffsets), expect.suboffsets, "suboffsets");
    if flags & XBUF_FORMAT != 0 {
        let text = unsafe { CStr::from_ptr(v.format) }.to_bytes();
        let want = answered.format.as_ref().map_or(&b"B"[..], |f| f.to_bytes());
        assert_eq!(text, want, "format");
    } else {
        assert!(v.format.is_null(), "format without XBUF_FORMAT");
    }
    if size > XBUF_BUFFERINFO_SIZE {
        assert!(
            cons.bytes()[XBUF_BUFFERINFO_SIZE..written]
                .iter()
                .all(|&x| x == 0),
            "the unknown tail of a newer struct is not zeroed"
        );
    }
    cons.check_untouched_tail(written);
    if fill_info {
        let bytes = Model {
            shape: vec![c.honest.arena.len() as isize],
            items: (0..c.honest.arena.len()).collect(),
            itemsize: 1,
            format: "B".into(),
            indirect: vec![false],
        };
        read_back(c, cons, &bytes);
    } else if honest(&answered, &c.honest, &expect) {
        read_back(c, cons, &c.honest.model());
    }
    true
}

/// The consumer's view reads the model's bytes (C order), and its item pointers are the
/// model's.
fn read_back(c: &Ctx, cons: &Consumer, m: &Model) {
    bump(stats::READ_BACK);
    let v = cons.info();
    let mut out = vec![0u8; m.len() + 1];
    ok(
        unsafe { xbuf_to_contiguous(out.as_mut_ptr().cast(), m.len(), v, b'C' as c_char) },
        "to_contiguous",
    );
    let mem = c.honest.arena.snapshot();
    assert_eq!(
        out[..m.len()],
        m.bytes(&mem, false)[..],
        "the consumer's view reads other bytes"
    );
    if v.ndim as usize == m.shape.len() && !v.shape.is_null() && m.count() > 0 {
        let last: Vec<isize> = m.shape.iter().map(|&e| e - 1).collect();
        let mut p = null_mut();
        ok(
            unsafe { xbuf_get_pointer(v, last.as_ptr(), &mut p) },
            "get_pointer",
        );
        let want = c.honest.arena.ptr() as usize + m.items[m.count() - 1];
        assert_eq!(p as usize, want, "the last item's pointer");
    }
}
