//! [`View`]: memoryview's operations on any exporter (`xbuf_view`), and [`Slice`].

use std::ffi::{c_char, CString};

use super::buffer::Buffer;
use super::error::{check, Error, Result, Status};
use super::format::read_text;
use super::object::Object;
use super::request::Request;
use crate::ffi;

/// The order of items in memory for [`View::tobytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Row-major: the last index varies fastest.
    C,
    /// Column-major: the first index varies fastest.
    F,
    /// Fortran if the view is Fortran- but not C-contiguous, else C.
    Any,
}

impl Order {
    fn as_c(self) -> c_char {
        (match self {
            Order::C => b'C',
            Order::F => b'F',
            Order::Any => b'A',
        }) as c_char
    }
}

/// One dimension's range for [`View::slice`], with Python's semantics: negative bounds count
/// from the end, out-of-range bounds are clamped, the step may be negative but not zero;
/// `None` is an omitted part (`a[::2]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slice {
    /// First index (`None`: from the start, or from the end for a negative step).
    pub start: Option<isize>,
    /// Index to stop before (`None`: to the end).
    pub stop: Option<isize>,
    /// Step (`None`: 1).
    pub step: Option<isize>,
}

impl Slice {
    /// `start:stop:step`.
    pub fn new(start: Option<isize>, stop: Option<isize>, step: Option<isize>) -> Slice {
        Slice { start, stop, step }
    }

    /// `:` — the whole dimension.
    pub fn all() -> Slice {
        Slice::default()
    }

    /// Parses Python's slice syntax for several dimensions, separated by commas:
    /// `"10:20, ::2"`, `"-1::-1"`, `":"`.
    ///
    /// ```
    /// use xbuf::Slice;
    /// assert_eq!(Slice::parse_list("10:20, ::-2")?,
    ///            [Slice::new(Some(10), Some(20), None), Slice::new(None, None, Some(-2))]);
    /// assert!(Slice::parse_list("1:2:0").is_err());
    /// assert!(Slice::parse_list("a:b").is_err());
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn parse_list(text: &str) -> Result<Vec<Slice>> {
        let bad = |part: &str, why: &str| {
            Error::new(
                Status::InvalidArgument,
                format!("slice '{}' in '{text}': {why}", part.trim()),
            )
        };
        let mut out = Vec::new();
        for part in text.split(',') {
            let pieces: Vec<&str> = part.split(':').map(str::trim).collect();
            if pieces.len() < 2 || pieces.len() > 3 {
                return Err(bad(part, "expected start:stop or start:stop:step"));
            }
            let mut nums = [None; 3];
            for (i, p) in pieces.iter().enumerate() {
                if !p.is_empty() {
                    nums[i] = Some(
                        p.parse::<isize>()
                            .map_err(|_| bad(part, "not an integer"))?,
                    );
                }
            }
            if nums[2] == Some(0) {
                return Err(bad(part, "the step must not be zero"));
            }
            out.push(Slice::new(nums[0], nums[1], nums[2]));
        }
        Ok(out)
    }

    fn as_c(self) -> ffi::xbuf_range {
        let omit = ffi::XBUF_SLICE_OMIT;
        ffi::xbuf_range {
            start: self.start.unwrap_or(omit),
            stop: self.stop.unwrap_or(omit),
            step: self.step.unwrap_or(omit),
        }
    }
}

/// A view of an exporter's memory with memoryview's operations (an `xbuf_view` object):
/// N-dimensional slicing and indexing, transpose and permute, cast, `tobytes`, `hex`, `tolist`
/// as JSON, value equality, hash. Derived views share the memory; each keeps it alive.
///
/// ```
/// use xbuf::{Object, Request, Slice, View};
/// let obj = Object::from_vec((0..12).map(|x| x as f64).collect(), &[3, 4])?;
/// let view = View::new(&obj, Request::FULL_RO)?;
/// let col = view.slice(&[Slice::all(), Slice::new(Some(1), Some(2), None)])?;
/// assert_eq!(col.tolist()?, "[[1.0], [5.0], [9.0]]");
/// let t = view.transpose()?;
/// assert_eq!(t.buffer(Request::FULL_RO)?.shape(), &[4, 3]);
/// assert_eq!(view.index(&[2])?.tolist()?, "[8.0, 9.0, 10.0, 11.0]");
/// # Ok::<(), xbuf::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct View {
    obj: Object,
}

impl View {
    /// A view of `obj` for `request` (`xbuf_view_new`): [`Request::FULL_RO`] takes any layout,
    /// [`Request::FULL`] also demands writable memory.
    pub fn new(obj: &Object, request: Request) -> Result<View> {
        // SAFETY: obj holds a reference.
        let obj = Object::new_with(|out| unsafe {
            ffi::xbuf_view_new(obj.as_ptr(), request.bits(), out)
        })?;
        Ok(View { obj })
    }

    /// The view as an [`Object`] (a view is itself an exporter).
    pub fn as_object(&self) -> &Object {
        &self.obj
    }

    /// The view as an owned [`Object`].
    pub fn into_object(self) -> Object {
        self.obj
    }

    fn derive(
        &self,
        f: impl FnOnce(*mut ffi::xbuf_object, *mut *mut ffi::xbuf_object) -> i32,
    ) -> Result<View> {
        let p = self.obj.as_ptr();
        Ok(View {
            obj: Object::new_with(|out| f(p, out))?,
        })
    }

    /// A buffer of the view's memory (see [`Object::buffer`]).
    pub fn buffer(&self, request: Request) -> Result<Buffer<'_>> {
        self.obj.buffer(request)
    }

    /// `view[s0, s1, ...]`: one [`Slice`] per leading dimension (`xbuf_view_slice`).
    pub fn slice(&self, slices: &[Slice]) -> Result<View> {
        let ranges: Vec<ffi::xbuf_range> = slices.iter().map(|s| s.as_c()).collect();
        let n = i32::try_from(ranges.len())
            .map_err(|_| Error::new(Status::InvalidArgument, "too many slices"))?;
        // SAFETY: the view holds a reference; `n` ranges.
        self.derive(|p, out| unsafe { ffi::xbuf_view_slice(p, ranges.as_ptr(), n, out) })
    }

    /// `view[i0, i1, ...]`: the sub-view with the leading dimensions fixed (`xbuf_view_index`);
    /// negative indices count from the end.
    pub fn index(&self, indices: &[isize]) -> Result<View> {
        let n = i32::try_from(indices.len())
            .map_err(|_| Error::new(Status::InvalidArgument, "too many indices"))?;
        // SAFETY: as in slice.
        self.derive(|p, out| unsafe { ffi::xbuf_view_index(p, indices.as_ptr(), n, out) })
    }

    /// The dimensions in reverse order.
    pub fn transpose(&self) -> Result<View> {
        // SAFETY: the view holds a reference.
        self.derive(|p, out| unsafe { ffi::xbuf_view_transpose(p, out) })
    }

    /// The dimensions in the order `axes` (a permutation of `0..ndim`).
    pub fn permute(&self, axes: &[usize]) -> Result<View> {
        let axes: Vec<i32> = axes
            .iter()
            .map(|&a| i32::try_from(a).unwrap_or(i32::MAX))
            .collect();
        let n = i32::try_from(axes.len())
            .map_err(|_| Error::new(Status::InvalidArgument, "too many axes"))?;
        // SAFETY: the view holds a reference; `n` axes.
        self.derive(|p, out| unsafe { ffi::xbuf_view_permute(p, axes.as_ptr(), n, out) })
    }

    /// The same bytes read as items of `format` in `shape` (C-contiguous views only; `None`
    /// makes one dimension of as many items as fit). Any format may become any other.
    pub fn cast(&self, format: &str, shape: Option<&[usize]>) -> Result<View> {
        let f = CString::new(format).map_err(|_| {
            Error::new(
                Status::Format,
                format!("format {format:?} contains a NUL byte"),
            )
        })?;
        let shape: Option<Vec<isize>> = shape.map(|s| {
            s.iter()
                .map(|&n| isize::try_from(n).unwrap_or(isize::MAX))
                .collect()
        });
        let (ndim, ptr) = match &shape {
            Some(s) => (
                i32::try_from(s.len())
                    .map_err(|_| Error::new(Status::InvalidArgument, "too many dimensions"))?,
                s.as_ptr(),
            ),
            None => (1, std::ptr::null()),
        };
        // SAFETY: the view holds a reference; `f` is NUL-terminated; `ndim` extents or NULL.
        self.derive(|p, out| unsafe { ffi::xbuf_view_cast(p, f.as_ptr(), ndim, ptr, out) })
    }

    /// A shared borrow of the view's memory for the duration of a read.
    fn reading(&self) -> Result<Buffer<'_>> {
        self.obj.buffer(Request::FULL_RO)
    }

    /// The items' bytes, contiguous in `order` (memoryview's `tobytes`).
    pub fn tobytes(&self, order: Order) -> Result<Vec<u8>> {
        let _borrow = self.reading()?;
        let p = self.obj.as_ptr();
        let mut needed = 0usize;
        // SAFETY: a size query.
        let code = unsafe {
            ffi::xbuf_view_tobytes(p, order.as_c(), std::ptr::null_mut(), 0, &mut needed)
        };
        if code != ffi::XBUF_OK && code != ffi::XBUF_ERR_BUFFER_TOO_SMALL {
            return Err(Error::last(code));
        }
        let mut out = vec![0u8; needed];
        // SAFETY: `out` has `needed` writable bytes.
        check(unsafe {
            ffi::xbuf_view_tobytes(
                p,
                order.as_c(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut needed,
            )
        })?;
        Ok(out)
    }

    /// The C-order bytes in hexadecimal.
    pub fn hex(&self) -> Result<String> {
        let _borrow = self.reading()?;
        let p = self.obj.as_ptr();
        // SAFETY: read_text passes a buffer of the capacity it names.
        read_text(|buf, cap, needed| unsafe { ffi::xbuf_view_hex(p, buf, cap, needed) })
    }

    /// The items as nested JSON lists (memoryview's `tolist`, written as `json.dumps` would).
    pub fn tolist(&self) -> Result<String> {
        let _borrow = self.reading()?;
        let p = self.obj.as_ptr();
        // SAFETY: as in hex.
        read_text(|buf, cap, needed| unsafe { ffi::xbuf_view_tolist(p, buf, cap, needed) })
    }

    /// Value equality, as memoryview's `==`, for every format.
    pub fn equal(&self, other: &View) -> Result<bool> {
        let _a = self.reading()?;
        let _b = if std::ptr::eq(self, other) {
            None
        } else {
            Some(other.reading()?)
        };
        let mut eq = 0;
        // SAFETY: both hold references.
        check(unsafe { ffi::xbuf_view_equal(self.obj.as_ptr(), other.obj.as_ptr(), &mut eq) })?;
        Ok(eq == 1)
    }

    /// The FNV-1a hash of a read-only view's C-order bytes.
    pub fn hash(&self) -> Result<u64> {
        let _borrow = self.reading()?;
        let mut h = 0u64;
        // SAFETY: the view holds a reference.
        check(unsafe { ffi::xbuf_view_hash(self.obj.as_ptr(), &mut h) })?;
        Ok(h)
    }

    /// Hands the view's export back now (memoryview's `release()`); later operations fail
    /// with [`Status::Released`].
    pub fn release(&self) -> Result<()> {
        // SAFETY: the view holds a reference.
        check(unsafe { ffi::xbuf_view_release(self.obj.as_ptr()) })
    }
}
