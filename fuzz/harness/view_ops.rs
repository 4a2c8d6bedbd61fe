//! View operations on random layouts, suboffsets included, against the model of
//! [`super::layout`]: a C-style exporter lends a random layout; views are made of it and of
//! one another by slicing, indexing, permuting and casting, and read (tobytes, tolist, copies
//! out, item pointers, requests) or written (copies in, overlapping copies, from_contiguous).
//! Every result is compared with the model: shapes, every item's bytes, every byte of the
//! exporter's memory after a write (so a write outside the items, pointer tables included, is
//! seen), and the status of every operation the model says must fail. At the end every
//! export is returned and the exporter freed.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::Arc;

use xbuf::ffi::*;

use super::input::Input;
use super::layout::{self, c_index, generate, next_index, Honest, Model, FORMATS};
use super::stats::{self, bump};

const OMIT: isize = isize::MIN;

/// The exporter's state: the layout it lends.
pub struct Shared {
    pub honest: Honest,
    format: CString,
}

unsafe extern "C" fn lend(
    obj: *mut xbuf_object,
    view: *mut xbuf_bufferinfo,
    _flags: c_int,
) -> c_int {
    let s = &*(xbuf_object_state(obj) as *const Shared);
    s.honest.fill(&mut *view, s.format.as_ptr());
    XBUF_OK
}

unsafe extern "C" fn free_shared(state: *mut c_void) {
    drop(Arc::from_raw(state as *const Shared));
}

/// Makes a C-style exporter lending `shared`'s layout (it holds one reference to it).
pub fn lender(shared: &Arc<Shared>) -> *mut xbuf_object {
    let ty = xbuf_type {
        structsize: std::mem::size_of::<xbuf_type>(),
        name: c"lender".as_ptr(),
        getbuffer: Some(lend),
        releasebuffer: None,
        lockbuffer: None,
        dealloc: Some(free_shared),
    };
    let mut obj = null_mut();
    let state = Arc::into_raw(Arc::clone(shared)) as *mut c_void;
    ok(
        unsafe { xbuf_object_new(&ty, state, &mut obj) },
        "object_new",
    );
    obj
}

pub fn shared(honest: Honest) -> Arc<Shared> {
    let format = CString::new(honest.format).unwrap();
    Arc::new(Shared { honest, format })
}

/// The thread's last error message.
pub fn message() -> String {
    unsafe { CStr::from_ptr(xbuf_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

pub fn ok(rc: c_int, what: &str) {
    assert_eq!(rc, XBUF_OK, "{what}: {rc}: {}", message());
}

pub fn fails(rc: c_int, status: c_int, what: &str) {
    assert_eq!(
        rc,
        status,
        "{what}: expected status {status}, got {rc}: {}",
        message()
    );
}

/// Python's `range(*slice(start, stop, step).indices(n))`, written out with Python's rules.
fn py_indices(n: isize, start: isize, stop: isize, step: isize) -> Vec<isize> {
    let step = if step == OMIT { 1 } else { step as i128 };
    let n = n as i128;
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let norm = |v: isize, default: i128| -> i128 {
        if v == OMIT {
            default
        } else if v < 0 {
            (v as i128 + n).max(lower)
        } else {
            (v as i128).min(upper)
        }
    };
    let start = norm(start, if step > 0 { lower } else { upper });
    let stop = norm(stop, if step > 0 { upper } else { lower });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as isize);
        i += step;
    }
    out
}

/// The model of a view whose dimension `d` keeps the source positions `pos[d]`.
fn select(m: &Model, pos: &[Vec<isize>]) -> Model {
    let shape: Vec<isize> = pos.iter().map(|p| p.len() as isize).collect();
    let count: usize = shape.iter().product::<isize>() as usize;
    let mut items = Vec::with_capacity(count);
    if count > 0 {
        let mut idx = vec![0isize; shape.len()];
        loop {
            let src: Vec<isize> = idx
                .iter()
                .enumerate()
                .map(|(d, &i)| pos[d][i as usize])
                .collect();
            items.push(m.items[c_index(&src, &m.shape)]);
            if !next_index(&mut idx, &shape) {
                break;
            }
        }
    }
    Model {
        shape,
        items,
        ..m.clone()
    }
}

struct View {
    obj: *mut xbuf_object,
    m: Model,
}

struct Run<'a> {
    inp: Input<'a>,
    shared: Arc<Shared>,
    exporter: *mut xbuf_object,
    views: Vec<View>,
    /// What the exporter's memory must hold.
    mem: Vec<u8>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    bump(stats::INPUTS);
    let mut inp = Input::new(data);
    let honest = generate(&mut inp);
    if honest.suboffsets.is_some() {
        bump(stats::INDIRECT);
    }
    let model = honest.model();
    let mem = honest.arena.snapshot();
    let shared = shared(honest);
    let exporter = lender(&shared);
    let mut run = Run {
        inp,
        shared,
        exporter,
        views: Vec::new(),
        mem,
    };
    run.add_view(exporter, XBUF_FULL, model);
    let mut steps = 0;
    while !run.inp.is_empty() && steps < 40 {
        steps += 1;
        if run.views.is_empty() {
            let m = run.shared.honest.model();
            run.add_view(run.exporter, XBUF_FULL_RO, m);
        }
        let k = run.inp.below(run.views.len());
        match run.inp.below(17) {
            0 | 1 => run.slice(k),
            2 => run.index(k),
            3 => run.permute(k),
            4 => run.cast(k),
            5 => run.tobytes(k),
            6 => run.tolist(k),
            7 => run.copy_out(k),
            8 => run.copy_in(k),
            9 => run.copy_overlapping(k),
            10 => run.from_contiguous(k),
            11 => run.equal(k),
            12 => run.request(k),
            13 => run.item_pointer(k),
            14 => run.release(k),
            15 => run.drop_view(k),
            _ => {
                let m = run.views[k].m.clone();
                let flags = run.inp.pick(&[XBUF_FULL, XBUF_FULL_RO]);
                run.add_view(run.views[k].obj, flags, m);
            }
        }
    }
    for k in 0..run.views.len() {
        run.tobytes(k);
    }
    for v in run.views.drain(..) {
        ok(unsafe { xbuf_decref(v.obj) }, "decref");
    }
    assert_eq!(unsafe { xbuf_exports(run.exporter) }, 0, "exports left");
    assert_eq!(
        run.shared.honest.arena.snapshot(),
        run.mem,
        "the exporter's memory"
    );
    ok(unsafe { xbuf_decref(run.exporter) }, "decref exporter");
    assert_eq!(
        Arc::strong_count(&run.shared),
        1,
        "the exporter was not freed"
    );
}

impl Run<'_> {
    fn add_view(&mut self, base: *mut xbuf_object, flags: c_int, m: Model) {
        let mut v = null_mut();
        ok(unsafe { xbuf_view_new(base, flags, &mut v) }, "view_new");
        bump(stats::VIEWS);
        self.push(v, m);
    }

    fn push(&mut self, obj: *mut xbuf_object, m: Model) {
        self.check_shape(obj, &m);
        self.views.push(View { obj, m });
        if self.views.len() > 8 {
            let v = self.views.remove(0);
            ok(unsafe { xbuf_decref(v.obj) }, "decref");
        }
    }

    /// The view reports the model's shape and reads the model's bytes in C order.
    fn check_shape(&mut self, obj: *mut xbuf_object, m: &Model) {
        let mut info = xbuf_bufferinfo::empty();
        ok(
            unsafe { xbuf_get_buffer(obj, &mut info, XBUF_FULL_RO) },
            "get FULL_RO",
        );
        assert_eq!(info.ndim as usize, m.shape.len(), "ndim");
        let shape = unsafe { std::slice::from_raw_parts(info.shape, m.shape.len()) };
        assert_eq!(shape, &m.shape[..], "shape");
        assert_eq!(info.itemsize, m.itemsize, "itemsize");
        assert_eq!(info.len as usize, m.len(), "len");
        assert_eq!(
            unsafe { CStr::from_ptr(info.format) }.to_bytes(),
            m.format.as_bytes()
        );
        assert_eq!(!info.suboffsets.is_null(), m.has_suboffsets(), "suboffsets");
        self.check_info_bytes(&info, m);
        ok(unsafe { xbuf_release(&mut info) }, "release");
    }

    /// A filled view reads the model's bytes in C order.
    fn check_info_bytes(&self, info: &xbuf_bufferinfo, m: &Model) {
        let mut out = vec![0u8; m.len() + 1];
        ok(
            unsafe { xbuf_to_contiguous(out.as_mut_ptr().cast(), m.len(), info, b'C' as c_char) },
            "to_contiguous",
        );
        assert_eq!(
            out[..m.len()],
            m.bytes(&self.mem, false)[..],
            "the view's bytes"
        );
        if !info.suboffsets.is_null() {
            let arena = &self.shared.honest.arena;
            let at = (info.buf as usize).wrapping_sub(arena.ptr() as usize);
            if at >= arena.len() {
                bump(stats::OWN_TABLES);
            }
        }
    }

    fn check_memory(&self) {
        assert!(
            self.shared.honest.arena.snapshot() == self.mem,
            "the exporter's memory differs from the model"
        );
    }

    fn slice(&mut self, k: usize) {
        bump(stats::SLICES);
        let m = self.views[k].m.clone();
        let n = m.shape.len();
        let nsl = self.inp.below(n + 1);
        let mut specs = Vec::new();
        let mut zero = false;
        for d in 0..nsl {
            let e = m.shape[d];
            let bound = |inp: &mut Input<'_>| match inp.below(16) {
                0..=3 => OMIT,
                4 => inp.pick(&[isize::MIN + 1, isize::MAX, -isize::MAX, 1 << 40]),
                _ => inp.range(-e - 2, e + 2),
            };
            let start = bound(&mut self.inp);
            let stop = bound(&mut self.inp);
            let step = match self.inp.below(32) {
                0..=7 => OMIT,
                8 => self
                    .inp
                    .pick(&[isize::MAX, isize::MIN + 1, 1 << 40, -(1 << 40)]),
                9 => 0,
                _ => self.inp.pick(&[-3, -2, -1, 1, 2, 3]),
            };
            zero |= step == 0;
            specs.push(xbuf_range { start, stop, step });
        }
        let mut out = null_mut();
        let rc =
            unsafe { xbuf_view_slice(self.views[k].obj, specs.as_ptr(), nsl as c_int, &mut out) };
        if zero {
            fails(rc, XBUF_ERR_INVALID_ARGUMENT, "slice with a zero step");
            assert!(out.is_null());
            return;
        }
        ok(rc, "slice");
        let pos: Vec<Vec<isize>> = (0..n)
            .map(|d| match specs.get(d) {
                Some(s) => py_indices(m.shape[d], s.start, s.stop, s.step),
                None => (0..m.shape[d]).collect(),
            })
            .collect();
        let sub = select(&m, &pos);
        self.push(out, sub);
    }

    fn index(&mut self, k: usize) {
        bump(stats::INDEXES);
        let m = self.views[k].m.clone();
        let n = m.shape.len();
        let nidx = self.inp.below(n + 1);
        let (idx, valid) = self.indices(&m, nidx);
        let mut out = null_mut();
        let rc =
            unsafe { xbuf_view_index(self.views[k].obj, idx.as_ptr(), nidx as c_int, &mut out) };
        if !valid {
            fails(rc, XBUF_ERR_OUT_OF_BOUNDS, "index out of bounds");
            return;
        }
        ok(rc, "index");
        let mut pos: Vec<Vec<isize>> = idx
            .iter()
            .enumerate()
            .map(|(d, &i)| vec![if i < 0 { i + m.shape[d] } else { i }])
            .collect();
        pos.extend((nidx..n).map(|d| (0..m.shape[d]).collect()));
        let mut sub = select(&m, &pos);
        sub.shape.drain(..nidx);
        sub.indirect.drain(..nidx);
        self.push(out, sub);
    }

    /// `count` indices for the first dimensions of `m`, sometimes out of bounds; and whether
    /// all are valid.
    fn indices(&mut self, m: &Model, count: usize) -> (Vec<isize>, bool) {
        let mut valid = true;
        let idx: Vec<isize> = (0..count)
            .map(|d| {
                let e = m.shape[d];
                let i = if e == 0 || self.inp.one_in(10) {
                    self.inp.pick(&[e, -e - 1, isize::MAX, isize::MIN, 0, -1])
                } else {
                    self.inp.range(-e, e - 1)
                };
                valid &= (-e..e).contains(&i);
                i
            })
            .collect();
        (idx, valid)
    }

    fn item_pointer(&mut self, k: usize) {
        bump(stats::ITEM_POINTERS);
        let m = self.views[k].m.clone();
        let (idx, valid) = self.indices(&m, m.shape.len());
        let mut p = null_mut();
        let rc = unsafe {
            xbuf_view_item_pointer(self.views[k].obj, idx.as_ptr(), idx.len() as c_int, &mut p)
        };
        if !valid {
            fails(rc, XBUF_ERR_OUT_OF_BOUNDS, "item pointer out of bounds");
            assert!(p.is_null());
            return;
        }
        ok(rc, "item_pointer");
        let fixed: Vec<isize> = idx
            .iter()
            .zip(&m.shape)
            .map(|(&i, &e)| if i < 0 { i + e } else { i })
            .collect();
        let want = self.shared.honest.arena.ptr() as usize + m.items[c_index(&fixed, &m.shape)];
        assert_eq!(p as usize, want, "item pointer");
    }

    fn permute(&mut self, k: usize) {
        bump(stats::PERMUTES);
        let m = self.views[k].m.clone();
        let n = m.shape.len();
        let mut axes: Vec<c_int> = (0..n as c_int).collect();
        for j in (1..n).rev() {
            let r = self.inp.below(j + 1);
            axes.swap(j, r);
        }
        let transpose = self.inp.one_in(3);
        if transpose {
            axes = (0..n as c_int).rev().collect();
        }
        let bad = n > 0 && !transpose && self.inp.one_in(10);
        if bad {
            let j = self.inp.below(n);
            axes[j] = self.inp.pick(&[-1, n as c_int, axes[(j + 1) % n]]);
            if n == 1 && axes[0] == 0 {
                axes[0] = 1;
            }
        }
        let mut out = null_mut();
        let rc = unsafe {
            if transpose {
                xbuf_view_transpose(self.views[k].obj, &mut out)
            } else {
                xbuf_view_permute(self.views[k].obj, axes.as_ptr(), n as c_int, &mut out)
            }
        };
        if bad {
            fails(rc, XBUF_ERR_INVALID_ARGUMENT, "permute with bad axes");
            return;
        }
        if m.has_suboffsets() {
            fails(rc, XBUF_ERR_UNSUPPORTED, "permute an indirect view");
            return;
        }
        ok(rc, "permute");
        let shape: Vec<isize> = axes.iter().map(|&a| m.shape[a as usize]).collect();
        let mut items = Vec::with_capacity(m.count());
        if m.count() > 0 {
            let mut idx = vec![0isize; n];
            loop {
                let mut src = vec![0isize; n];
                for (d, &a) in axes.iter().enumerate() {
                    src[a as usize] = idx[d];
                }
                items.push(m.items[c_index(&src, &m.shape)]);
                if !next_index(&mut idx, &shape) {
                    break;
                }
            }
        }
        let indirect = vec![false; n];
        self.push(
            out,
            Model {
                shape,
                items,
                indirect,
                ..m
            },
        );
    }

    fn cast(&mut self, k: usize) {
        bump(stats::CASTS);
        let m = self.views[k].m.clone();
        let (fmt, size) = if self.inp.one_in(16) {
            ("0s", 0)
        } else {
            self.inp.pick(FORMATS)
        };
        let len = m.len() as isize;
        // The shape: none (as many items as fit), the natural one, or a wrong one.
        let shape: Option<Vec<isize>> = match self.inp.below(4) {
            0 => None,
            1 if len == 0 => Some(vec![self.inp.range(0, 3), 0, self.inp.range(0, 3)]),
            1 | 2 if size > 0 && len % size == 0 => {
                let n = len / size;
                let a = (1..=n)
                    .filter(|a| n % a == 0)
                    .nth(self.inp.below(4))
                    .unwrap_or(1);
                Some(if n == 0 { vec![0] } else { vec![a, n / a] })
            }
            _ => Some(vec![self.inp.range(0, 4)]),
        };
        let cfmt = CString::new(fmt).unwrap();
        let mut out = null_mut();
        let rc = unsafe {
            xbuf_view_cast(
                self.views[k].obj,
                cfmt.as_ptr(),
                shape.as_ref().map_or(0, |s| s.len() as c_int),
                shape.as_ref().map_or(null(), |s| s.as_ptr()),
                &mut out,
            )
        };
        if size == 0 {
            fails(rc, XBUF_ERR_FORMAT, "cast to items without bytes");
            return;
        }
        if !m.contiguous(false) {
            fails(
                rc,
                XBUF_ERR_NOT_CONTIGUOUS,
                "cast of a view that is not C-contiguous",
            );
            return;
        }
        let new_shape = match shape {
            Some(s) => s,
            None if len % size == 0 => vec![len / size],
            None => {
                fails(
                    rc,
                    XBUF_ERR_INVALID_ARGUMENT,
                    "cast to items that do not fit",
                );
                return;
            }
        };
        if new_shape.iter().product::<isize>() * size != len {
            fails(rc, XBUF_ERR_INVALID_ARGUMENT, "cast to another byte size");
            return;
        }
        ok(rc, "cast");
        let count = (len / size) as usize;
        let first = m.items.first().copied().unwrap_or(0);
        let items = (0..count).map(|j| first + j * size as usize).collect();
        let n = new_shape.len();
        self.push(
            out,
            Model {
                shape: new_shape,
                items,
                itemsize: size,
                format: fmt.to_string(),
                indirect: vec![false; n],
            },
        );
    }

    fn tobytes(&mut self, k: usize) {
        bump(stats::TOBYTES);
        let (obj, m) = (self.views[k].obj, &self.views[k].m);
        let order = self.inp.pick(b"CFA");
        let mut needed = usize::MAX;
        ok(
            unsafe { xbuf_view_tobytes(obj, order as c_char, null_mut(), 0, &mut needed) },
            "tobytes size",
        );
        assert_eq!(needed, m.len(), "tobytes size");
        let mut out = vec![0u8; needed + 1];
        if needed > 0 {
            let rc = unsafe {
                xbuf_view_tobytes(
                    obj,
                    order as c_char,
                    out.as_mut_ptr().cast(),
                    needed - 1,
                    null_mut(),
                )
            };
            fails(
                rc,
                XBUF_ERR_BUFFER_TOO_SMALL,
                "tobytes into too small a buffer",
            );
        }
        ok(
            unsafe {
                xbuf_view_tobytes(
                    obj,
                    order as c_char,
                    out.as_mut_ptr().cast(),
                    needed,
                    null_mut(),
                )
            },
            "tobytes",
        );
        let fortran = order == b'F' || (order == b'A' && m.order_a_is_f());
        assert_eq!(
            out[..needed],
            m.bytes(&self.mem, fortran)[..],
            "tobytes('{}')",
            order as char
        );
    }

    fn tolist(&mut self, k: usize) {
        bump(stats::TOLIST);
        let (obj, m) = (self.views[k].obj, &self.views[k].m);
        let fmt = xbuf::test_support::format::parse(m.format.as_bytes()).expect("format");
        // Nested lists of the items, each rendered by the library's item renderer.
        fn walk(
            m: &Model,
            mem: &[u8],
            fmt: &xbuf::test_support::format::Format,
            d: usize,
            next: &mut usize,
            out: &mut String,
        ) {
            if d == m.shape.len() {
                let at = m.items[*next];
                *next += 1;
                xbuf::test_support::format::write_json(
                    fmt,
                    &mem[at..at + m.itemsize as usize],
                    out,
                )
                .expect("json");
                return;
            }
            out.push('[');
            for i in 0..m.shape[d] {
                if i > 0 {
                    out.push_str(", ");
                }
                walk(m, mem, fmt, d + 1, next, out);
            }
            out.push(']');
        }
        // A view without items never reaches one: its lists are empty.
        let mut want = String::new();
        walk(m, &self.mem, &fmt, 0, &mut 0, &mut want);
        let mut needed = 0usize;
        ok(
            unsafe { xbuf_view_tolist(obj, null_mut(), 0, &mut needed) },
            "tolist size",
        );
        assert_eq!(needed, want.len() + 1, "tolist size");
        let mut buf = vec![0 as c_char; needed];
        ok(
            unsafe { xbuf_view_tolist(obj, buf.as_mut_ptr(), needed, null_mut()) },
            "tolist",
        );
        let got = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(got, want, "tolist");
    }

    /// A new ndarray of the view's format and shape (C or Fortran order), filled with `data`
    /// in C order, or zeros.
    fn array(&mut self, m: &Model, data: Option<&[u8]>) -> *mut xbuf_object {
        let fmt = CString::new(m.format.clone()).unwrap();
        let mut arr = null_mut();
        let rc = match data {
            Some(d) => unsafe {
                xbuf_ndarray_new(
                    d.as_ptr().cast(),
                    d.len(),
                    fmt.as_ptr(),
                    m.shape.len() as c_int,
                    m.shape.as_ptr(),
                    null(),
                    0,
                    0,
                    &mut arr,
                )
            },
            None => {
                let order = self.inp.pick(b"CF");
                unsafe {
                    xbuf_ndarray_zeros(
                        fmt.as_ptr(),
                        m.shape.len() as c_int,
                        m.shape.as_ptr(),
                        order as c_char,
                        0,
                        &mut arr,
                    )
                }
            }
        };
        ok(rc, "ndarray");
        arr
    }

    fn copy_out(&mut self, k: usize) {
        bump(stats::COPIES_OUT);
        let (obj, m) = (self.views[k].obj, self.views[k].m.clone());
        let arr = self.array(&m, None);
        let (mut d, mut s) = (xbuf_bufferinfo::empty(), xbuf_bufferinfo::empty());
        ok(
            unsafe { xbuf_get_buffer(arr, &mut d, XBUF_FULL) },
            "get array",
        );
        ok(
            unsafe { xbuf_get_buffer(obj, &mut s, XBUF_FULL_RO) },
            "get view",
        );
        ok(unsafe { xbuf_copy(&d, &s) }, "copy out");
        let mut out = vec![0u8; m.len() + 1];
        ok(
            unsafe { xbuf_to_contiguous(out.as_mut_ptr().cast(), m.len(), &d, b'C' as c_char) },
            "to_contiguous",
        );
        assert_eq!(out[..m.len()], m.bytes(&self.mem, false)[..], "copy out");
        ok(unsafe { xbuf_release(&mut s) }, "release");
        ok(unsafe { xbuf_release(&mut d) }, "release");
        ok(unsafe { xbuf_decref(arr) }, "decref");
    }

    fn copy_in(&mut self, k: usize) {
        let (obj, m) = (self.views[k].obj, self.views[k].m.clone());
        if m.items_overlap() {
            return;
        }
        bump(stats::COPIES_IN);
        let data = self.inp.take(m.len());
        let arr = self.array(&m, Some(&data));
        let (mut d, mut s) = (xbuf_bufferinfo::empty(), xbuf_bufferinfo::empty());
        ok(
            unsafe { xbuf_get_buffer(obj, &mut d, XBUF_FULL) },
            "get view writable",
        );
        ok(
            unsafe { xbuf_get_buffer(arr, &mut s, XBUF_FULL_RO) },
            "get array",
        );
        ok(unsafe { xbuf_copy(&d, &s) }, "copy in");
        ok(unsafe { xbuf_release(&mut s) }, "release");
        ok(unsafe { xbuf_release(&mut d) }, "release");
        ok(unsafe { xbuf_decref(arr) }, "decref");
        m.scatter(&mut self.mem, &data, false);
        self.check_memory();
    }

    /// A copy from the view with some dimensions reversed into the view itself.
    fn copy_overlapping(&mut self, k: usize) {
        let (obj, m) = (self.views[k].obj, self.views[k].m.clone());
        let n = m.shape.len();
        if m.items_overlap() || n == 0 {
            return;
        }
        bump(stats::OVERLAPPING);
        let specs: Vec<xbuf_range> = (0..n)
            .map(|_| xbuf_range {
                start: OMIT,
                stop: OMIT,
                step: if self.inp.one_in(2) { -1 } else { OMIT },
            })
            .collect();
        let mut rev = null_mut();
        ok(
            unsafe { xbuf_view_slice(obj, specs.as_ptr(), n as c_int, &mut rev) },
            "slice",
        );
        let pos: Vec<Vec<isize>> = (0..n)
            .map(|d| {
                let all: Vec<isize> = (0..m.shape[d]).collect();
                if specs[d].step == -1 {
                    all.into_iter().rev().collect()
                } else {
                    all
                }
            })
            .collect();
        let src = select(&m, &pos);
        let (mut d, mut s) = (xbuf_bufferinfo::empty(), xbuf_bufferinfo::empty());
        ok(
            unsafe { xbuf_get_buffer(obj, &mut d, XBUF_FULL) },
            "get view writable",
        );
        ok(
            unsafe { xbuf_get_buffer(rev, &mut s, XBUF_FULL_RO) },
            "get reversed",
        );
        ok(unsafe { xbuf_copy(&d, &s) }, "overlapping copy");
        ok(unsafe { xbuf_release(&mut s) }, "release");
        ok(unsafe { xbuf_release(&mut d) }, "release");
        ok(unsafe { xbuf_decref(rev) }, "decref");
        let values = src.bytes(&self.mem, false);
        m.scatter(&mut self.mem, &values, false);
        self.check_memory();
    }

    fn from_contiguous(&mut self, k: usize) {
        let (obj, m) = (self.views[k].obj, self.views[k].m.clone());
        if m.items_overlap() {
            return;
        }
        bump(stats::FROM_CONTIGUOUS);
        let order = self.inp.pick(b"CFA");
        let data = self.inp.take(m.len() + 1);
        let mut d = xbuf_bufferinfo::empty();
        ok(
            unsafe { xbuf_get_buffer(obj, &mut d, XBUF_FULL) },
            "get view writable",
        );
        let rc =
            unsafe { xbuf_from_contiguous(&d, data.as_ptr().cast(), m.len() + 1, order as c_char) };
        fails(
            rc,
            XBUF_ERR_INVALID_ARGUMENT,
            "from_contiguous with a wrong length",
        );
        ok(
            unsafe { xbuf_from_contiguous(&d, data.as_ptr().cast(), m.len(), order as c_char) },
            "from_contiguous",
        );
        ok(unsafe { xbuf_release(&mut d) }, "release");
        let fortran = order == b'F' || (order == b'A' && m.order_a_is_f());
        m.scatter(&mut self.mem, &data[..m.len()], fortran);
        self.check_memory();
    }

    fn equal(&mut self, k: usize) {
        bump(stats::EQUAL);
        let (obj, m) = (self.views[k].obj, self.views[k].m.clone());
        let fmt = xbuf::test_support::format::parse(m.format.as_bytes()).expect("format");
        let n = m.itemsize as usize;
        let want = m.items.iter().all(|&o| {
            xbuf::test_support::format::items_equal(
                &fmt,
                &self.mem[o..o + n],
                &fmt,
                &self.mem[o..o + n],
            )
        });
        let mut eq = -1;
        ok(unsafe { xbuf_view_equal(obj, obj, &mut eq) }, "equal");
        assert_eq!(eq, c_int::from(want), "equal to itself");
        // A copy in another layout.
        let data = m.bytes(&self.mem, false);
        let arr = self.array(&m, Some(&data));
        let mut cv = null_mut();
        ok(
            unsafe { xbuf_view_new(arr, XBUF_FULL_RO, &mut cv) },
            "view of the copy",
        );
        ok(unsafe { xbuf_view_equal(obj, cv, &mut eq) }, "equal");
        assert_eq!(eq, c_int::from(want), "equal to its copy");
        // Another shape is never equal.
        if !m.shape.is_empty() && m.shape[0] > 1 {
            let mut part = null_mut();
            let r = xbuf_range {
                start: 1,
                stop: OMIT,
                step: OMIT,
            };
            ok(unsafe { xbuf_view_slice(cv, &r, 1, &mut part) }, "slice");
            ok(unsafe { xbuf_view_equal(obj, part, &mut eq) }, "equal");
            assert_eq!(eq, 0, "equal to a part");
            ok(unsafe { xbuf_decref(part) }, "decref");
        }
        ok(unsafe { xbuf_decref(cv) }, "decref");
        ok(unsafe { xbuf_decref(arr) }, "decref");
    }

    /// A request with random flags: granted or refused as the request rules say.
    fn request(&mut self, k: usize) {
        bump(stats::REQUESTS);
        let (obj, m) = (self.views[k].obj, self.views[k].m.clone());
        let flags = self.inp.pick(&[
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
            XBUF_STRIDED_RO,
            XBUF_RECORDS,
            XBUF_FULL,
            XBUF_FULL_RO,
            XBUF_INDIRECT | XBUF_C_CONTIGUOUS,
            XBUF_F_CONTIGUOUS | XBUF_FORMAT,
        ]);
        let has = |f: c_int| flags & f == f;
        let mut refusals = Vec::new();
        if m.has_suboffsets() && !has(XBUF_INDIRECT) {
            refusals.push(XBUF_ERR_REQUEST);
        }
        let (c, f) = (m.contiguous(false), m.contiguous(true));
        if (!has(XBUF_STRIDES) || has(XBUF_C_CONTIGUOUS)) && !c
            || has(XBUF_F_CONTIGUOUS) && !f
            || has(XBUF_ANY_CONTIGUOUS) && !c && !f
        {
            refusals.push(XBUF_ERR_NOT_CONTIGUOUS);
        }
        let mut info = xbuf_bufferinfo::empty();
        let rc = unsafe { xbuf_get_buffer(obj, &mut info, flags) };
        if !refusals.is_empty() {
            assert!(
                refusals.contains(&rc),
                "request 0x{flags:x}: expected one of {refusals:?}, got {rc}: {}",
                message()
            );
            return;
        }
        ok(rc, "request");
        assert_eq!(info.shape.is_null(), !has(XBUF_ND));
        assert_eq!(info.strides.is_null(), !has(XBUF_STRIDES));
        assert_eq!(info.format.is_null(), !has(XBUF_FORMAT));
        assert_eq!(info.suboffsets.is_null(), !m.has_suboffsets());
        self.check_info_bytes(&info, &m);
        ok(unsafe { xbuf_release(&mut info) }, "release");
    }

    /// An explicit release: every later operation on the view fails.
    fn release(&mut self, k: usize) {
        bump(stats::RELEASES);
        let v = self.views.remove(k);
        ok(unsafe { xbuf_view_release(v.obj) }, "view_release");
        ok(unsafe { xbuf_view_release(v.obj) }, "second view_release");
        let mut needed = 0;
        let rc = unsafe { xbuf_view_tobytes(v.obj, b'C' as c_char, null_mut(), 0, &mut needed) };
        fails(rc, XBUF_ERR_RELEASED, "tobytes after release");
        let mut out = null_mut();
        let rc = unsafe { xbuf_view_slice(v.obj, null(), 0, &mut out) };
        fails(rc, XBUF_ERR_RELEASED, "slice after release");
        let mut info = xbuf_bufferinfo::empty();
        let rc = unsafe { xbuf_get_buffer(v.obj, &mut info, XBUF_FULL_RO) };
        fails(rc, XBUF_ERR_RELEASED, "get after release");
        ok(unsafe { xbuf_decref(v.obj) }, "decref");
    }

    fn drop_view(&mut self, k: usize) {
        let v = self.views.remove(k);
        ok(unsafe { xbuf_decref(v.obj) }, "decref");
    }
}

/// Checks that the whole module's layouts agree with their own model (used by the tests).
pub fn layout_sanity(data: &[u8]) {
    let mut inp = Input::new(data);
    let h = generate(&mut inp);
    let m = h.model();
    assert_eq!(m.count(), h.shape.iter().product::<isize>() as usize);
    let _ = layout::PTR;
}
