//! [`Exporter`]: Rust memory lent through the protocol, and the built-in Rust exporters.

use std::ffi::{c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::buffer::c_strides;
use super::element::Element;
use super::error::{Error, Result, Status};
use super::object::Object;
use crate::ffi;

/// What an [`Exporter`] lends: typed, N-dimensional, strided memory.
#[derive(Clone, Copy, Debug)]
pub struct ExportLayout<'a> {
    /// The address of the item whose indices are all 0.
    pub buf: *mut u8,
    /// Whether consumers must not write the memory.
    pub readonly: bool,
    /// The item format (PEP 3118 struct syntax).
    pub format: &'a CStr,
    /// Bytes of one item (the library checks it against the format).
    pub itemsize: usize,
    /// The extents, at most 64.
    pub shape: &'a [isize],
    /// The byte steps, one per extent; any sign.
    pub strides: &'a [isize],
}

/// A Rust value that lends memory to consumers. [`Object::from_exporter`] makes it an
/// [`Object`] that owns it: the value is dropped once the last reference and the last export
/// (live view) are gone.
///
/// # Safety
/// Implementing it promises that the memory [`Exporter::layout`] describes (every item that
/// `buf`, `shape` and `strides` reach, `itemsize` bytes each, of the given format) stays valid,
/// at the same address and with the same layout, for as long as the value lives; that it is
/// writable when `readonly` is false; and that the value itself does not read or write it
/// while consumers may (consumers may write it from any thread). Owning the memory (a `Vec`
/// that is never resized, a boxed slice) keeps those promises.
///
/// ```
/// use xbuf::{ExportLayout, Exporter, Object, Request};
///
/// /// Eight bytes, lent read-only as two little-endian u32s.
/// struct Pair(Box<[u8; 8]>, [isize; 1], [isize; 1]);
///
/// // SAFETY: the box owns the bytes and is never changed or moved out.
/// unsafe impl Exporter for Pair {
///     fn layout(&self) -> ExportLayout<'_> {
///         ExportLayout {
///             buf: self.0.as_ptr() as *mut u8,
///             readonly: true,
///             format: c"<I",
///             itemsize: 4,
///             shape: &self.1,
///             strides: &self.2,
///         }
///     }
/// }
///
/// let obj = Object::from_exporter(Pair(Box::new([1, 0, 0, 0, 2, 0, 0, 0]), [2], [4]))?;
/// assert_eq!(obj.buffer(Request::FULL_RO)?.as_slice::<u32>()?, &[1, 2]);
/// assert!(obj.buffer(Request::FULL).is_err()); // read-only
/// # Ok::<(), xbuf::Error>(())
/// ```
pub unsafe trait Exporter: Send + Sync + 'static {
    /// The memory and its layout; called for every request, from any thread.
    fn layout(&self) -> ExportLayout<'_>;

    /// The type's name in messages.
    fn name(&self) -> &str {
        "rust"
    }
}

/// What the consumer receives for a request, decided in safe code.
#[derive(Debug, PartialEq)]
struct Answer {
    ndim: usize,
    give_shape: bool,
    give_strides: bool,
    give_format: bool,
    len: usize,
}

fn is_contiguous(shape: &[isize], strides: &[isize], itemsize: usize, fortran: bool) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut step = itemsize as isize;
    let dims: Vec<usize> = if fortran {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    for d in dims {
        if shape[d] != 1 && strides[d] != step {
            return false;
        }
        step = step.wrapping_mul(shape[d]);
    }
    true
}

/// The answer to `flags` for `layout`, or the status and message of a refusal.
fn answer(layout: &ExportLayout<'_>, flags: c_int) -> std::result::Result<Answer, (c_int, String)> {
    let nd = layout.shape.len();
    if nd > ffi::XBUF_MAX_NDIM as usize || layout.strides.len() != nd {
        return Err((
            ffi::XBUF_ERR_INVALID_ARGUMENT,
            format!(
                "{} extents and {} strides (at most 64 each, as many strides as extents)",
                nd,
                layout.strides.len()
            ),
        ));
    }
    let mut len = layout.itemsize;
    for &n in layout.shape {
        if n < 0 {
            return Err((
                ffi::XBUF_ERR_INVALID_ARGUMENT,
                format!("negative extent {n}"),
            ));
        }
        len = len.checked_mul(n as usize).ok_or((
            ffi::XBUF_ERR_OVERFLOW,
            "the memory's size overflows".to_string(),
        ))?;
    }
    if flags & ffi::XBUF_WRITABLE != 0 && layout.readonly {
        return Err((
            ffi::XBUF_ERR_READONLY,
            "the memory is read-only; a writable view was requested".into(),
        ));
    }
    let c = is_contiguous(layout.shape, layout.strides, layout.itemsize, false);
    let f = is_contiguous(layout.shape, layout.strides, layout.itemsize, true);
    let bit = |full: c_int| flags & (full & !ffi::XBUF_STRIDES) != 0;
    let give_strides = flags & ffi::XBUF_STRIDES == ffi::XBUF_STRIDES;
    let refuse = |what: &str| {
        Err((
            ffi::XBUF_ERR_NOT_CONTIGUOUS,
            format!("the memory is not {what}-contiguous"),
        ))
    };
    if (!give_strides || bit(ffi::XBUF_C_CONTIGUOUS)) && !c {
        return refuse("C");
    }
    if bit(ffi::XBUF_F_CONTIGUOUS) && !f {
        return refuse("Fortran");
    }
    if bit(ffi::XBUF_ANY_CONTIGUOUS) && !c && !f {
        return refuse("C- or Fortran");
    }
    let give_shape = flags & ffi::XBUF_ND != 0;
    Ok(Answer {
        ndim: if give_shape { nd } else { 1 },
        give_shape,
        give_strides,
        give_format: flags & ffi::XBUF_FORMAT != 0,
        len,
    })
}

fn set_error(code: c_int, message: &str) -> c_int {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `text` is NUL-terminated.
    unsafe { ffi::xbuf_set_error(code, text.as_ptr()) }
}

unsafe extern "C" fn getbuffer<E: Exporter>(
    obj: *mut ffi::xbuf_object,
    view: *mut ffi::xbuf_bufferinfo,
    flags: c_int,
) -> c_int {
    let run = || {
        // SAFETY: the library calls with the object it made from a Box<E> and a lent view.
        let state = unsafe { ffi::xbuf_object_state(obj) } as *const E;
        let e = unsafe { &*state };
        let layout = e.layout();
        let a = match answer(&layout, flags) {
            Ok(a) => a,
            Err((code, msg)) => return set_error(code, &format!("{}: {msg}", e.name())),
        };
        // SAFETY: `view` is the zeroed, full-size struct the library lent for this call. The
        // pointers into `e` are read during the call only: the library copies the layout.
        let v = unsafe { &mut *view };
        v.buf = layout.buf.cast();
        v.len = a.len as isize;
        v.itemsize = layout.itemsize as isize;
        v.readonly = layout.readonly as c_int;
        v.ndim = a.ndim as c_int;
        v.format = if a.give_format {
            layout.format.as_ptr()
        } else {
            std::ptr::null()
        };
        v.shape = if a.give_shape {
            layout.shape.as_ptr() as *mut isize
        } else {
            std::ptr::null_mut()
        };
        v.strides = if a.give_strides {
            layout.strides.as_ptr() as *mut isize
        } else {
            std::ptr::null_mut()
        };
        ffi::XBUF_OK
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(code) => code,
        Err(_) => set_error(ffi::XBUF_ERR_PANIC, "a Rust exporter panicked"),
    }
}

unsafe extern "C" fn dealloc<E: Exporter>(state: *mut c_void) {
    // SAFETY: `state` is the Box<E> given to xbuf_object_new, freed once, here.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        drop(unsafe { Box::from_raw(state as *mut E) })
    }));
}

impl Object {
    /// An object that lends `exporter`'s memory and owns it (`xbuf_object_new` with a type
    /// whose procs call [`Exporter::layout`]).
    pub fn from_exporter<E: Exporter>(exporter: E) -> Result<Object> {
        let name = CString::new(exporter.name().replace('\0', " ")).unwrap_or_default();
        let ty = ffi::xbuf_type {
            structsize: std::mem::size_of::<ffi::xbuf_type>(),
            name: name.as_ptr(),
            getbuffer: Some(getbuffer::<E>),
            releasebuffer: None,
            lockbuffer: None,
            dealloc: Some(dealloc::<E>),
        };
        let state = Box::into_raw(Box::new(exporter)) as *mut c_void;
        // SAFETY: the type is copied by the call (name included); on failure the state is ours.
        let made = Object::new_with(|out| unsafe { ffi::xbuf_object_new(&ty, state, out) });
        if made.is_err() {
            // SAFETY: not taken over by a failed xbuf_object_new.
            drop(unsafe { Box::from_raw(state as *mut E) });
        }
        made
    }

    /// An object that owns `data` and lends it, writable, as items of `T`'s format in `shape`
    /// (C order), without copying.
    ///
    /// ```
    /// let obj = xbuf::Object::from_vec(vec![1u8, 2, 3, 4, 5, 6], &[3, 2])?;
    /// let view = xbuf::View::new(&obj, xbuf::Request::FULL_RO)?;
    /// assert_eq!(view.tolist()?, "[[1, 2], [3, 4], [5, 6]]");
    /// assert!(xbuf::Object::from_vec(vec![1u8, 2, 3], &[2, 2]).is_err());
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Object> {
        let count = shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
        if count != Some(data.len()) {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "shape {shape:?} does not hold the vector's {} items",
                    data.len()
                ),
            ));
        }
        Object::from_exporter(Owned::new(data, shape, None)?)
    }
}

/// Memory owned by a Rust container, lent with a shape and strides.
pub(crate) struct Owned<C: Send + Sync + 'static> {
    _data: C,
    buf: *mut u8,
    format: CString,
    itemsize: usize,
    shape: Vec<isize>,
    strides: Vec<isize>,
}

// SAFETY: `buf` points into `_data`, which is Send and Sync; the rest is plain data.
unsafe impl<C: Send + Sync + 'static> Send for Owned<C> {}
// SAFETY: as above.
unsafe impl<C: Send + Sync + 'static> Sync for Owned<C> {}

impl<T: Element> Owned<Vec<T>> {
    fn new(mut data: Vec<T>, shape: &[usize], strides: Option<Vec<isize>>) -> Result<Self> {
        let shape: Vec<isize> = shape
            .iter()
            .map(|&n| isize::try_from(n))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::new(Status::Overflow, "an extent does not fit in isize"))?;
        let ushape: Vec<usize> = shape.iter().map(|&n| n as usize).collect();
        let strides = strides.unwrap_or_else(|| c_strides(&ushape, std::mem::size_of::<T>()));
        let buf = data.as_mut_ptr() as *mut u8;
        Ok(Owned {
            _data: data,
            buf,
            format: CString::new(T::FORMAT).expect("element formats have no NUL"),
            itemsize: std::mem::size_of::<T>(),
            shape,
            strides,
        })
    }
}

impl<C: Send + Sync + 'static> Owned<C> {
    /// Lends memory that `data` owns at `buf`, with this layout.
    #[cfg_attr(not(feature = "ndarray"), allow(dead_code))]
    pub(crate) fn from_parts(
        data: C,
        buf: *mut u8,
        format: &str,
        itemsize: usize,
        shape: Vec<isize>,
        strides: Vec<isize>,
    ) -> Self {
        Owned {
            _data: data,
            buf,
            format: CString::new(format).expect("element formats have no NUL"),
            itemsize,
            shape,
            strides,
        }
    }
}

// SAFETY: `_data` owns the memory at `buf` and is never changed, moved out or read by the
// exporter while it lives (a Vec's heap block stays put when the Vec value moves).
unsafe impl<C: Send + Sync + 'static> Exporter for Owned<C> {
    fn layout(&self) -> ExportLayout<'_> {
        ExportLayout {
            buf: self.buf,
            readonly: false,
            format: &self.format,
            itemsize: self.itemsize,
            shape: &self.shape,
            strides: &self.strides,
        }
    }

    fn name(&self) -> &str {
        "rust"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout<'a>(shape: &'a [isize], strides: &'a [isize], readonly: bool) -> ExportLayout<'a> {
        ExportLayout {
            buf: 0x1000 as *mut u8,
            readonly,
            format: c"i",
            itemsize: 4,
            shape,
            strides,
        }
    }

    #[test]
    fn answers_follow_the_flags() {
        let c = layout(&[2, 3], &[12, 4], false);
        let a = answer(&c, ffi::XBUF_SIMPLE).unwrap();
        assert_eq!(
            (a.ndim, a.give_shape, a.give_strides, a.give_format, a.len),
            (1, false, false, false, 24)
        );
        let a = answer(&c, ffi::XBUF_FULL).unwrap();
        assert_eq!(
            (a.ndim, a.give_shape, a.give_strides, a.give_format),
            (2, true, true, true)
        );
        assert!(answer(&c, ffi::XBUF_F_CONTIGUOUS).is_err());
        assert!(answer(&c, ffi::XBUF_ANY_CONTIGUOUS).is_ok());

        let f = layout(&[2, 3], &[4, 8], true);
        assert_eq!(
            answer(&f, ffi::XBUF_SIMPLE).unwrap_err().0,
            ffi::XBUF_ERR_NOT_CONTIGUOUS
        );
        assert_eq!(
            answer(&f, ffi::XBUF_C_CONTIGUOUS).unwrap_err().0,
            ffi::XBUF_ERR_NOT_CONTIGUOUS
        );
        assert!(answer(&f, ffi::XBUF_F_CONTIGUOUS).is_ok());
        assert_eq!(
            answer(&f, ffi::XBUF_FULL).unwrap_err().0,
            ffi::XBUF_ERR_READONLY
        );

        let neg = layout(&[3], &[-4], false);
        assert_eq!(
            answer(&neg, ffi::XBUF_ND).unwrap_err().0,
            ffi::XBUF_ERR_NOT_CONTIGUOUS
        );
        assert!(answer(&neg, ffi::XBUF_STRIDES).is_ok());
        // Extents of 1 and 0 do not break contiguity.
        assert!(answer(&layout(&[1, 3], &[999, 4], false), ffi::XBUF_C_CONTIGUOUS).is_ok());
        assert!(answer(&layout(&[0, 3], &[7, 7], false), ffi::XBUF_C_CONTIGUOUS).is_ok());
        assert_eq!(
            answer(&layout(&[-1], &[4], false), ffi::XBUF_FULL_RO)
                .unwrap_err()
                .0,
            ffi::XBUF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            answer(&layout(&[2], &[4, 4], false), ffi::XBUF_FULL_RO)
                .unwrap_err()
                .0,
            ffi::XBUF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            answer(&layout(&[isize::MAX, 4], &[4, 4], false), ffi::XBUF_FULL_RO)
                .unwrap_err()
                .0,
            ffi::XBUF_ERR_OVERFLOW
        );
    }
}
