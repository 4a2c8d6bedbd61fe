//! `ndarray`: an N-dimensional array of any format, shape, strides (any sign) and offset over
//! memory it owns; optionally read-only, optionally PIL-style (indirect rows described by
//! suboffsets). It describes its whole layout for every request and lets the library's request
//! rules decide what a consumer may have, so it answers every flag combination exactly as
//! PEP 3118 says. It is the workhorse of the tests, like CPython's `_testbuffer.ndarray`.

use std::ffi::{c_int, CStr, CString};

use super::any_impl;
use crate::capi::{xbuf_bufferinfo, XBUF_MAX_NDIM};
use crate::capi::{XBUF_NDARRAY_PIL, XBUF_NDARRAY_READONLY};
use crate::format;
use crate::layout::{self, Order};
use crate::object::{Exporter, ObjRef, Object, Response};
use crate::status::{overflow, Result};
use crate::{bail, err};

/// Every flag `xbuf_ndarray_new` knows.
const KNOWN_FLAGS: c_int = XBUF_NDARRAY_READONLY | XBUF_NDARRAY_PIL;

/// Memory aligned for any item type (16 bytes), zero-initialised.
struct Memory {
    words: Vec<u128>,
}

impl Memory {
    fn zeroed(len: usize) -> Result<Memory> {
        let n = len.div_ceil(16);
        let mut words = Vec::new();
        words
            .try_reserve_exact(n)
            .map_err(|_| err!(NoMemory, "cannot allocate {len} bytes for an ndarray"))?;
        words.resize(n, 0);
        Ok(Memory { words })
    }
    fn ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }
}

pub struct NdArray {
    /// Owned memory: the data, then (PIL) the row-pointer table. Never resized, so the
    /// pointers below stay valid for the object's life.
    _memory: Memory,
    buf: *mut u8,
    len: isize,
    itemsize: isize,
    readonly: bool,
    format: CString,
    shape: Vec<isize>,
    strides: Vec<isize>,
    suboffsets: Option<Vec<isize>>,
}

// SAFETY: the fields are immutable after construction; the memory they point at is owned by
// the object. Writers through writable views coordinate among themselves, as with any buffer.
unsafe impl Send for NdArray {}
unsafe impl Sync for NdArray {}

/// The arguments of `xbuf_ndarray_new`, checked.
pub struct Spec<'a> {
    pub data: &'a [u8],
    pub format: &'a [u8],
    pub shape: &'a [isize],
    /// `None`: C-contiguous strides for `shape`.
    pub strides: Option<&'a [isize]>,
    pub offset: isize,
    pub flags: c_int,
}

impl NdArray {
    /// An array over a copy of `spec.data`: item `(i0, i1, ...)` lies at byte
    /// `offset + sum(ik * strides[k])` of that copy. Every byte an item reaches must lie inside
    /// the data.
    pub fn new_object(spec: &Spec<'_>) -> Result<ObjRef> {
        if spec.flags & !KNOWN_FLAGS != 0 {
            bail!(
                InvalidArgument,
                "ndarray flags 0x{:x} contain unknown bits 0x{:x}",
                spec.flags,
                spec.flags & !KNOWN_FLAGS
            );
        }
        if spec.shape.len() > XBUF_MAX_NDIM as usize {
            bail!(
                InvalidArgument,
                "ndim is {} (0 to {XBUF_MAX_NDIM} allowed)",
                spec.shape.len()
            );
        }
        let itemsize = format::itemsize(spec.format)? as isize;
        if itemsize < 1 {
            bail!(
                Format,
                "format '{}' has item size 0; an ndarray needs items of at least one byte",
                String::from_utf8_lossy(spec.format)
            );
        }
        let n = spec.shape.len();
        let len = layout::byte_len(spec.shape, itemsize)?;
        let mut strides = vec![0isize; n];
        match spec.strides {
            Some(s) => strides.copy_from_slice(s),
            None => layout::contiguous_strides(spec.shape, itemsize, Order::C, &mut strides)?,
        }
        let (lo, hi) = layout::extent(spec.shape, &strides, itemsize)?;
        let data_len = spec.data.len() as isize;
        if len > 0 {
            let first = spec.offset.checked_add(lo);
            let end = spec.offset.checked_add(hi);
            if !matches!((first, end), (Some(f), Some(e)) if f >= 0 && e <= data_len) {
                bail!(
                    OutOfBounds,
                    "shape {:?} with strides {:?} and offset {} reaches bytes {}..{} of the {} bytes given",
                    spec.shape,
                    strides,
                    spec.offset,
                    spec.offset as i128 + lo as i128,
                    spec.offset as i128 + hi as i128,
                    data_len
                );
            }
        } else if !(0..=data_len).contains(&spec.offset) {
            bail!(
                OutOfBounds,
                "offset {} is outside the {} bytes given",
                spec.offset,
                data_len
            );
        }
        let pil = spec.flags & XBUF_NDARRAY_PIL != 0;
        if pil && n == 0 {
            bail!(
                InvalidArgument,
                "XBUF_NDARRAY_PIL needs at least one dimension"
            );
        }
        let ptr_size = std::mem::size_of::<*mut u8>();
        // The data, padded to pointer alignment, then the row-pointer table.
        let data_end = spec.data.len().next_multiple_of(ptr_size);
        let table = if pil { spec.shape[0] as usize } else { 0 };
        let total = table
            .checked_mul(ptr_size)
            .and_then(|t| t.checked_add(data_end))
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or_else(|| overflow("the ndarray's memory size"))?;
        let mut memory = Memory::zeroed(total)?;
        let base = memory.ptr();
        // SAFETY: `memory` holds `total >= data.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(spec.data.as_ptr(), base, spec.data.len()) };
        let (buf, suboffsets) = if pil {
            // SAFETY: the table lies inside `memory`, pointer-aligned.
            let rows = unsafe { base.add(data_end) } as *mut *mut u8;
            // Each row pointer is the lowest address its row reaches, so that the suboffset
            // (from there to the row's first item) is non-negative, and stays so for any slice.
            let (row_lo, _) = layout::extent(&spec.shape[1..], &strides[1..], itemsize)?;
            for i in 0..table {
                // Wrapping: an array without items may have any strides, and its row
                // pointers are never followed.
                let at = spec
                    .offset
                    .wrapping_add((i as isize).wrapping_mul(strides[0]))
                    .wrapping_add(row_lo);
                // SAFETY: `rows` has `table` entries; `at` is inside the data when the array
                // has items (checked above); an array with no items has an empty table.
                unsafe { rows.add(i).write(base.wrapping_offset(at)) };
            }
            strides[0] = ptr_size as isize;
            let mut subs = vec![-1isize; n];
            subs[0] = -row_lo;
            (rows as *mut u8, Some(subs))
        } else {
            (base.wrapping_offset(spec.offset), None)
        };
        let format = CString::new(spec.format)
            .map_err(|_| err!(Format, "the format contains a NUL byte"))?;
        Ok(ObjRef::new(NdArray {
            _memory: memory,
            buf,
            len,
            itemsize,
            readonly: spec.flags & XBUF_NDARRAY_READONLY != 0,
            format,
            shape: spec.shape.to_vec(),
            strides,
            suboffsets,
        }))
    }

    /// A zero-filled array of `shape` laid out contiguously in `order` (`C` or `F`).
    pub fn zeros(fmt: &[u8], shape: &[isize], order: Order, flags: c_int) -> Result<ObjRef> {
        let itemsize = format::itemsize(fmt)? as isize;
        let len = layout::byte_len(shape, itemsize)?;
        let mut strides = vec![0isize; shape.len()];
        layout::contiguous_strides(shape, itemsize.max(1), order, &mut strides)?;
        let mut data = Vec::new();
        data.try_reserve_exact(len as usize)
            .map_err(|_| err!(NoMemory, "cannot allocate {len} bytes for an ndarray"))?;
        data.resize(len as usize, 0);
        NdArray::new_object(&Spec {
            data: &data,
            format: fmt,
            shape,
            strides: Some(&strides),
            offset: 0,
            flags,
        })
    }
}

impl Exporter for NdArray {
    fn type_name(&self) -> &CStr {
        c"ndarray"
    }
    /// Every field was checked when the array was made.
    fn trusted(&self) -> bool {
        true
    }
    fn get_buffer<'a>(
        &'a self,
        this: &'a Object,
        flags: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        self.trusted_answer(this, flags)
    }
    fn trusted_answer<'a>(&'a self, _: &'a Object, _: c_int) -> Result<Response<'a>> {
        Ok(Response {
            buf: self.buf,
            len: self.len,
            itemsize: self.itemsize,
            readonly: self.readonly,
            format: Some(&self.format),
            ndim: self.shape.len(),
            shape: Some(&self.shape),
            strides: Some(&self.strides),
            suboffsets: self.suboffsets.as_deref(),
            ..Response::default()
        })
    }
    /// The default `release_buffer`: nothing to do for a view.
    fn release_ignores_views(&self) -> bool {
        true
    }
    any_impl!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bufferinfo;
    use crate::capi::*;
    use crate::status::Status;

    fn get(obj: &ObjRef, flags: c_int) -> Result<Box<xbuf_bufferinfo>> {
        let mut v = Box::new(xbuf_bufferinfo::empty());
        unsafe { bufferinfo::get_buffer(obj, &mut *v, flags) }?;
        Ok(v)
    }

    #[test]
    fn strided_negative_and_pil() {
        let data: Vec<u8> = (0..24).collect();
        // 2x3 of bytes, rows reversed: offset 12, strides (-12, 2).
        let a = NdArray::new_object(&Spec {
            data: &data,
            format: b"B",
            shape: &[2, 3],
            strides: Some(&[-12, 2]),
            offset: 12,
            flags: 0,
        })
        .unwrap();
        let mut v = get(&a, XBUF_FULL_RO).unwrap();
        let at = |v: &xbuf_bufferinfo, i: isize, j: isize| unsafe {
            let arr = |p: *mut isize| std::slice::from_raw_parts(p, 2);
            let subs = (!v.suboffsets.is_null()).then(|| arr(v.suboffsets));
            let p = layout::pointer_at(v.buf.cast(), arr(v.shape), arr(v.strides), subs, &[i, j]);
            *p.unwrap()
        };
        assert_eq!([at(&v, 0, 0), at(&v, 0, 2), at(&v, 1, 1)], [12, 16, 2]);
        assert_eq!(
            get(&a, XBUF_CONTIG_RO).unwrap_err().status,
            Status::NotContiguous
        );
        unsafe { bufferinfo::release(&mut *v) }.unwrap();

        let p = NdArray::new_object(&Spec {
            data: &data,
            format: b"B",
            shape: &[2, 3],
            strides: Some(&[-12, 2]),
            offset: 12,
            flags: XBUF_NDARRAY_PIL | XBUF_NDARRAY_READONLY,
        })
        .unwrap();
        assert_eq!(
            get(&p, XBUF_RECORDS_RO).unwrap_err().status,
            Status::Request
        );
        assert_eq!(get(&p, XBUF_FULL).unwrap_err().status, Status::ReadOnly);
        let mut v = get(&p, XBUF_FULL_RO).unwrap();
        assert_eq!([at(&v, 0, 0), at(&v, 0, 2), at(&v, 1, 1)], [12, 16, 2]);
        unsafe { bufferinfo::release(&mut *v) }.unwrap();
    }

    #[test]
    fn bounds_and_arguments() {
        let data = [0u8; 16];
        let spec =
            |shape: &'static [isize], strides: Option<&'static [isize]>, offset, flags| Spec {
                data: &data,
                format: b"<i",
                shape,
                strides,
                offset,
                flags,
            };
        assert!(NdArray::new_object(&spec(&[4], None, 0, 0)).is_ok());
        let e = NdArray::new_object(&spec(&[4], None, 4, 0)).unwrap_err();
        assert_eq!(e.status, Status::OutOfBounds);
        assert!(
            e.message.contains("reaches bytes 4..20 of the 16 bytes"),
            "{}",
            e.message
        );
        assert_eq!(
            NdArray::new_object(&spec(&[2], Some(&[-4]), 0, 0))
                .unwrap_err()
                .status,
            Status::OutOfBounds
        );
        assert!(NdArray::new_object(&spec(&[2], Some(&[-4]), 4, 0)).is_ok());
        assert!(NdArray::new_object(&spec(&[0, 5], None, 16, 0)).is_ok());
        assert_eq!(
            NdArray::new_object(&spec(&[0], None, 17, 0))
                .unwrap_err()
                .status,
            Status::OutOfBounds
        );
        assert_eq!(
            NdArray::new_object(&spec(&[4], None, 0, 4))
                .unwrap_err()
                .status,
            Status::InvalidArgument
        );
        assert_eq!(
            NdArray::new_object(&spec(&[], None, 0, XBUF_NDARRAY_PIL))
                .unwrap_err()
                .status,
            Status::InvalidArgument
        );
        assert_eq!(
            NdArray::new_object(&spec(&[isize::MAX], Some(&[4]), 0, 0))
                .unwrap_err()
                .status,
            Status::Overflow
        );
        let z = NdArray::zeros(b"d", &[2, 3], Order::F, 0).unwrap();
        let mut v = get(&z, XBUF_F_CONTIGUOUS).unwrap();
        assert_eq!(
            unsafe { std::slice::from_raw_parts(v.strides, 2) },
            &[8, 16]
        );
        unsafe { bufferinfo::release(&mut *v) }.unwrap();
    }
}
