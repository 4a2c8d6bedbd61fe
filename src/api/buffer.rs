//! [`Buffer`]: a filled view of an object's memory, with typed access checked against the
//! format, and the borrow rules that keep that access sound.

use std::ffi::CStr;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::element::Element;
use super::error::{check, Error, Result, Status};
use super::format::Format;
use super::object::Object;
use super::request::Request;
use crate::ffi;

/// A view of an object's memory (a filled `xbuf_bufferinfo`), released on drop.
///
/// The memory stays valid while the `Buffer` lives, whatever happens to the [`Object`] it came
/// from (the view holds its own reference and export). Typed access — [`Buffer::as_slice`],
/// [`Buffer::as_mut_slice`], [`Buffer::iter`] — checks the element type against the format.
///
/// **Borrows.** Memory seen through the buffer protocol is shared, so within this process a
/// `Buffer` is a borrow of the bytes it spans, checked when it is made: a buffer asked for
/// with [`Request::WRITABLE`] is an exclusive borrow (no other live `Buffer` may overlap it),
/// any other a shared one (it may overlap other shared ones). A conflicting request fails with
/// [`Status::Busy`]. The view operations that read memory ([`View::tobytes`], ...) take a
/// shared borrow for the call. This is what makes `&[T]` and `&mut [T]` from safe code sound;
/// code outside Rust (C, other processes on a shared mapping) writing the memory is outside
/// what it can check, as for any shared memory.
///
/// [`View::tobytes`]: crate::View::tobytes
///
/// ```
/// use xbuf::{Object, Request};
/// let obj = Object::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// let buf = obj.buffer(Request::FULL_RO)?;
/// assert_eq!(buf.shape(), &[2, 3]);
/// assert_eq!(buf.strides(), &[12, 4]);
/// assert_eq!(buf.format(), "f");
/// let values: &[f32] = buf.as_slice()?;
/// assert_eq!(values[4], 5.0);
/// assert!(buf.as_slice::<f64>().is_err()); // the format says f32
/// # Ok::<(), xbuf::Error>(())
/// ```
pub struct Buffer<'a> {
    info: Box<ffi::xbuf_bufferinfo>,
    shape: Vec<usize>,
    strides: Vec<isize>,
    borrow: u64,
    exclusive: bool,
    _object: PhantomData<&'a Object>,
}

// SAFETY: a filled view may move to another thread (it belongs to one thread at a time, and
// `&Buffer` gives only reads of the layout and shared reads of memory that no other Rust code
// writes while the borrow lives).
unsafe impl Send for Buffer<'_> {}
// SAFETY: as above.
unsafe impl Sync for Buffer<'_> {}

/// A live borrow: bytes `lo..hi` of the address space.
struct Borrow {
    id: u64,
    lo: usize,
    hi: usize,
    exclusive: bool,
}

static BORROWS: Mutex<Vec<Borrow>> = Mutex::new(Vec::new());
static NEXT_BORROW: AtomicU64 = AtomicU64::new(1);

/// Records a borrow of `lo..hi`, or refuses one that conflicts with a live borrow.
pub(crate) fn borrow(lo: usize, hi: usize, exclusive: bool) -> Result<u64> {
    let id = NEXT_BORROW.fetch_add(1, Ordering::Relaxed);
    if lo >= hi {
        return Ok(id);
    }
    let mut live = BORROWS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = live
        .iter()
        .find(|b| b.lo < hi && lo < b.hi && (exclusive || b.exclusive))
    {
        let (this, that) = match (exclusive, b.exclusive) {
            (true, true) => ("a writable", "a writable"),
            (true, false) => ("a writable", "a"),
            _ => ("a", "a writable"),
        };
        return Err(Error::new(
            Status::Busy,
            format!(
                "{this} buffer of bytes {lo:#x}..{hi:#x} overlaps {that} buffer of bytes \
                 {:#x}..{:#x} that is still alive",
                b.lo, b.hi
            ),
        ));
    }
    live.push(Borrow {
        id,
        lo,
        hi,
        exclusive,
    });
    Ok(id)
}

/// Ends the borrow `id`.
pub(crate) fn unborrow(id: u64) {
    let mut live = BORROWS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = live.iter().position(|b| b.id == id) {
        live.swap_remove(i);
    }
}

/// The bytes spanned by items of `itemsize` at `buf` laid out by `shape`/`strides`.
fn span(buf: usize, shape: &[usize], strides: &[isize], itemsize: usize) -> (usize, usize) {
    if shape.contains(&0) || itemsize == 0 {
        return (buf, buf);
    }
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = (n as isize - 1).wrapping_mul(s);
        if reach < 0 {
            lo = lo.wrapping_add(reach);
        } else {
            hi = hi.wrapping_add(reach);
        }
    }
    (
        buf.wrapping_add_signed(lo),
        buf.wrapping_add_signed(hi).wrapping_add(itemsize),
    )
}

/// C-order strides in bytes.
pub(crate) fn c_strides(shape: &[usize], itemsize: usize) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = itemsize as isize;
    for (s, &n) in strides.iter_mut().zip(shape).rev() {
        *s = step;
        step = step.wrapping_mul(n.max(1) as isize);
    }
    strides
}

impl<'a> Buffer<'a> {
    pub(crate) fn get(obj: &'a Object, request: Request) -> Result<Buffer<'a>> {
        // SAFETY: an all-zero xbuf_bufferinfo with its structsize set is an empty view.
        let mut info: Box<ffi::xbuf_bufferinfo> = Box::new(unsafe { std::mem::zeroed() });
        info.structsize = size_of::<ffi::xbuf_bufferinfo>();
        // SAFETY: obj holds a reference; `info` is an empty, full-size view that is never
        // moved while it holds the view (it is boxed).
        check(unsafe { ffi::xbuf_get_buffer(obj.as_ptr(), &mut *info, request.bits()) })?;
        let itemsize = info.itemsize as usize;
        let shape: Vec<usize> = if info.shape.is_null() {
            vec![(info.len as usize).checked_div(itemsize).unwrap_or(0)]
        } else {
            // SAFETY: a filled view's shape has ndim entries.
            unsafe { std::slice::from_raw_parts(info.shape, info.ndim as usize) }
                .iter()
                .map(|&n| n as usize)
                .collect()
        };
        let strides = if info.strides.is_null() {
            c_strides(&shape, itemsize)
        } else {
            // SAFETY: a filled view's strides have ndim entries.
            unsafe { std::slice::from_raw_parts(info.strides, info.ndim as usize) }.to_vec()
        };
        let exclusive = request.writable();
        let (lo, hi) = span(info.buf as usize, &shape, &strides, itemsize);
        let mut buffer = Buffer {
            info,
            shape,
            strides,
            borrow: 0,
            exclusive,
            _object: PhantomData,
        };
        // On a conflict the buffer is dropped, which releases the view.
        buffer.borrow = borrow(lo, hi, exclusive)?;
        Ok(buffer)
    }

    /// The filled `xbuf_bufferinfo`, for C calls the safe API does not cover.
    pub fn as_raw(&self) -> &ffi::xbuf_bufferinfo {
        &self.info
    }

    /// The item format (`"B"` when the request had no [`Request::FORMAT`]).
    pub fn format(&self) -> &str {
        if self.info.format.is_null() {
            return "B";
        }
        // SAFETY: a filled view's format is NUL-terminated and lives until release.
        unsafe { CStr::from_ptr(self.info.format) }
            .to_str()
            .unwrap_or("")
    }

    /// The extents (one dimension of `len / itemsize` items when the request had no
    /// [`Request::ND`]).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The byte steps (C-contiguous ones when the request had no [`Request::STRIDES`]).
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Bytes of one item.
    pub fn itemsize(&self) -> usize {
        self.info.itemsize as usize
    }

    /// The logical size in bytes: `product(shape) * itemsize`.
    pub fn len_bytes(&self) -> usize {
        self.info.len as usize
    }

    /// Number of items.
    pub fn item_count(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the memory must not be written.
    pub fn readonly(&self) -> bool {
        self.info.readonly != 0
    }

    /// Whether the view has suboffsets (PIL-style indirect dimensions).
    pub fn has_suboffsets(&self) -> bool {
        !self.info.suboffsets.is_null()
    }

    /// Whether the memory is contiguous in `order` (`'C'`, `'F'` or `'A'` for either).
    pub fn is_contiguous(&self, order: char) -> bool {
        // SAFETY: self.info is a filled view.
        unsafe { ffi::xbuf_is_contiguous(&*self.info, order as u8 as std::ffi::c_char) == 1 }
    }

    /// The parsed format.
    pub fn parsed_format(&self) -> Result<Format> {
        Format::parse(self.format())
    }

    fn check_element<T: Element>(&self) -> Result<()> {
        let want = Format::parse(T::FORMAT)?;
        let have = self.parsed_format()?;
        // Without a format the memory is bytes ("B"), whatever the item size.
        let size_ok = self.itemsize() == size_of::<T>() || self.info.format.is_null();
        if !have.equivalent(&want) || !size_ok {
            return Err(Error::new(
                Status::Format,
                format!(
                    "the buffer's items have format '{}', not '{}' ({})",
                    self.format(),
                    T::FORMAT,
                    std::any::type_name::<T>()
                ),
            ));
        }
        if self.info.len > 0 && (self.info.buf as usize) % align_of::<T>() != 0 {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "the buffer's memory at {:p} is not aligned for {} (alignment {})",
                    self.info.buf,
                    std::any::type_name::<T>(),
                    align_of::<T>()
                ),
            ));
        }
        Ok(())
    }

    fn check_contiguous(&self) -> Result<()> {
        if self.has_suboffsets() || !self.is_contiguous('C') {
            return Err(Error::new(
                Status::NotContiguous,
                format!(
                    "the buffer is not C-contiguous (shape {:?}, strides {:?}{})",
                    self.shape,
                    self.strides,
                    if self.has_suboffsets() {
                        ", suboffsets"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(())
    }

    /// The bytes of a C-contiguous buffer, whatever its format.
    pub fn as_bytes(&self) -> Result<&[u8]> {
        self.check_contiguous()?;
        if self.info.len == 0 {
            return Ok(&[]);
        }
        // SAFETY: a filled, C-contiguous view spans `len` readable bytes from `buf`, valid
        // until release; no Rust code writes them while this shared borrow lives.
        Ok(unsafe {
            std::slice::from_raw_parts(self.info.buf as *const u8, self.info.len as usize)
        })
    }

    /// The items of a C-contiguous buffer as `&[T]`, in C order; the format must be `T`'s
    /// (an equivalent spelling such as `<f` for `f32` on a little-endian machine counts). A
    /// buffer asked for without [`Request::FORMAT`] holds bytes: read it as `&[u8]`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.check_contiguous()?;
        self.check_element::<T>()?;
        let n = self.info.len as usize / size_of::<T>();
        if n == 0 {
            return Ok(&[]);
        }
        // SAFETY: checked: contiguous, `n` items of T's size and format, aligned; the memory is
        // valid until release and not written by Rust code while the borrow lives.
        Ok(unsafe { std::slice::from_raw_parts(self.info.buf as *const T, n) })
    }

    /// The items of a writable, C-contiguous buffer as `&mut [T]`. The buffer must have been
    /// asked for with [`Request::WRITABLE`] (an exclusive borrow).
    ///
    /// ```
    /// use xbuf::{Object, Request};
    /// let obj = Object::from_vec(vec![0i32; 4], &[4])?;
    /// {
    ///     let mut buf = obj.buffer(Request::FULL)?;
    ///     buf.as_mut_slice::<i32>()?[2] = 7;
    ///     // A second buffer of the same memory is refused while this one lives.
    ///     assert!(obj.buffer(Request::FULL_RO).is_err());
    /// }
    /// assert_eq!(obj.buffer(Request::FULL_RO)?.as_slice::<i32>()?, &[0, 0, 7, 0]);
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        if !self.exclusive || self.readonly() {
            return Err(Error::new(
                Status::Readonly,
                "the buffer was not asked for with Request::WRITABLE",
            ));
        }
        self.check_contiguous()?;
        self.check_element::<T>()?;
        let n = self.info.len as usize / size_of::<T>();
        if n == 0 {
            return Ok(&mut []);
        }
        // SAFETY: as in as_slice, and the buffer is writable and holds an exclusive borrow of
        // its bytes, so no other Rust reference to them exists while `&mut self` is held.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.info.buf as *mut T, n) })
    }

    /// The address of the item at `index` (one index per dimension, each in range), following
    /// suboffsets.
    fn item_ptr(&self, index: &[usize]) -> *const u8 {
        if self.has_suboffsets() {
            let idx: Vec<isize> = index.iter().map(|&i| i as isize).collect();
            let mut out = std::ptr::null_mut();
            // SAFETY: a filled view and `ndim` in-range indices.
            let code = unsafe { ffi::xbuf_get_pointer(&*self.info, idx.as_ptr(), &mut out) };
            debug_assert_eq!(code, ffi::XBUF_OK);
            return out as *const u8;
        }
        let mut off = 0isize;
        for (&i, &s) in index.iter().zip(&self.strides) {
            off += i as isize * s;
        }
        (self.info.buf as *const u8).wrapping_offset(off)
    }

    /// Every item's bytes in C order (the last index fastest), for any layout: strided,
    /// negative or zero strides, suboffsets.
    ///
    /// ```
    /// use xbuf::{Object, Request, View, Slice};
    /// let obj = Object::from_vec(vec![1u16, 2, 3, 4, 5, 6], &[2, 3])?;
    /// let reversed = View::new(&obj, Request::FULL_RO)?.slice(&[Slice::all(), Slice::new(None, None, Some(-1))])?;
    /// let buf = reversed.buffer(Request::FULL_RO)?;
    /// let items: Vec<u16> = buf.iter::<u16>()?.collect();
    /// assert_eq!(items, [3, 2, 1, 6, 5, 4]);
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn items(&self) -> Items<'_> {
        let done = self.shape.contains(&0);
        Items {
            buffer: self,
            index: vec![0; self.shape.len()],
            done,
        }
    }

    /// Every item as a `T`, in C order, for any layout; the format must be `T`'s.
    pub fn iter<T: Element>(&self) -> Result<impl Iterator<Item = T> + '_> {
        let want = Format::parse(T::FORMAT)?;
        if !self.parsed_format()?.equivalent(&want) || self.itemsize() != size_of::<T>() {
            return Err(Error::new(
                Status::Format,
                format!(
                    "the buffer's items have format '{}', not '{}'",
                    self.format(),
                    T::FORMAT
                ),
            ));
        }
        // SAFETY: each item is `size_of::<T>()` readable bytes of T's format.
        Ok(self
            .items()
            .map(|b| unsafe { std::ptr::read_unaligned(b.as_ptr() as *const T) }))
    }
}

/// The iterator of [`Buffer::items`]: each item's bytes, in C order.
pub struct Items<'b> {
    buffer: &'b Buffer<'b>,
    index: Vec<usize>,
    done: bool,
}

impl<'b> Iterator for Items<'b> {
    type Item = &'b [u8];

    fn next(&mut self) -> Option<&'b [u8]> {
        if self.done {
            return None;
        }
        let p = self.buffer.item_ptr(&self.index);
        // Advance the index, last dimension fastest.
        self.done = true;
        for d in (0..self.index.len()).rev() {
            self.index[d] += 1;
            if self.index[d] < self.buffer.shape[d] {
                self.done = false;
                break;
            }
            self.index[d] = 0;
        }
        // SAFETY: the index was in range, so the item's bytes are inside the view's memory,
        // valid and not written by Rust code while the buffer's borrow lives.
        Some(unsafe { std::slice::from_raw_parts(p, self.buffer.itemsize()) })
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        unborrow(self.borrow);
        // SAFETY: `info` holds the view (or is empty, which release accepts).
        unsafe { ffi::xbuf_release(&mut *self.info) };
    }
}

impl std::fmt::Debug for Buffer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("format", &self.format())
            .field("shape", &self.shape)
            .field("strides", &self.strides)
            .field("readonly", &self.readonly())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(span(1000, &[2, 3], &[12, 4], 4), (1000, 1024));
        assert_eq!(span(1000, &[2, 3], &[-12, 4], 4), (988, 1012));
        assert_eq!(span(1000, &[0, 3], &[12, 4], 4), (1000, 1000));
        assert_eq!(span(1000, &[], &[], 8), (1000, 1008));
        assert_eq!(span(1000, &[5], &[0], 8), (1000, 1008));
        assert_eq!(c_strides(&[2, 3, 4], 8), vec![96, 32, 8]);
    }

    #[test]
    fn borrow_rules() {
        let a = borrow(100, 200, false).unwrap();
        let b = borrow(150, 250, false).unwrap();
        let e = borrow(199, 300, true).unwrap_err();
        assert_eq!(e.status(), Status::Busy);
        assert!(e.message().contains("overlaps"), "{}", e.message());
        let c = borrow(250, 300, true).unwrap(); // adjacent to 150..250, not overlapping
        assert!(borrow(250, 260, false).is_err());
        // Empty spans never conflict.
        let d = borrow(260, 260, true).unwrap();
        for id in [a, b, c, d] {
            unborrow(id);
        }
        let f = borrow(100, 300, true).unwrap();
        unborrow(f);
    }
}
