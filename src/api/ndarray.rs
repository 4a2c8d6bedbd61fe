//! The `ndarray` feature: buffers as `ndarray::ArrayView`s and arrays as objects, zero-copy.

use ndarray::{Array, ArrayView, Axis, Dimension, IxDyn, ShapeBuilder};

use super::buffer::Buffer;
use super::element::Element;
use super::error::{Error, Result, Status};
use super::exporter::Owned;
use super::object::Object;

impl Buffer<'_> {
    /// The buffer as an `ndarray::ArrayView` of `T` with dimension `D` (`Ix2`, `IxDyn`, ...),
    /// without copying: any strides that are multiples of `T`'s size, negative and zero
    /// included. The format must be `T`'s; suboffsets are refused.
    ///
    /// ```
    /// use xbuf::{Object, Request, Slice, View};
    /// let obj = Object::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let flipped = View::new(&obj, Request::FULL_RO)?
    ///     .slice(&[Slice::new(None, None, Some(-1))])?;
    /// let buf = flipped.buffer(Request::FULL_RO)?;
    /// let a = buf.as_array::<f32, ndarray::Ix2>()?;
    /// assert_eq!(a, ndarray::arr2(&[[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]]));
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn as_array<T: Element, D: Dimension>(&self) -> Result<ArrayView<'_, T, D>> {
        // The format, itemsize and alignment checks of `iter`.
        let _ = self.iter::<T>()?;
        if (self.as_raw().buf as usize) % std::mem::align_of::<T>() != 0 {
            return Err(Error::new(
                Status::InvalidArgument,
                "the buffer's memory is not aligned for the element type",
            ));
        }
        if self.has_suboffsets() {
            return Err(Error::new(
                Status::Unsupported,
                "a buffer with suboffsets cannot be an ndarray view",
            ));
        }
        if let Some(n) = D::NDIM {
            if n != self.ndim() {
                return Err(Error::new(
                    Status::InvalidArgument,
                    format!(
                        "the buffer has {} dimensions, the array type {n}",
                        self.ndim()
                    ),
                ));
            }
        }
        let size = std::mem::size_of::<T>() as isize;
        let mut low = self.as_raw().buf as *const u8;
        let mut steps = Vec::with_capacity(self.ndim());
        let empty = self.shape().contains(&0);
        for (&n, &s) in self.shape().iter().zip(self.strides()) {
            if s % size != 0 {
                return Err(Error::new(
                    Status::Unsupported,
                    format!("stride {s} is not a multiple of the item size {size}"),
                ));
            }
            if s < 0 && !empty {
                low = low.wrapping_offset((n as isize - 1) * s);
            }
            steps.push((s / size).unsigned_abs());
        }
        if low.is_null() {
            low = std::ptr::NonNull::<T>::dangling().as_ptr() as *const u8;
        }
        let shape = IxDyn(self.shape()).strides(IxDyn(&steps));
        // SAFETY: every item the shape and the (absolute) strides reach from the lowest
        // address is inside the view's memory, which is valid, aligned, of T's format and not
        // written by Rust code while this buffer's shared borrow lives; the view borrows self.
        let view = unsafe { ArrayView::<T, IxDyn>::from_shape_ptr(shape, low as *const T) };
        let mut view = view
            .into_dimensionality::<D>()
            .map_err(|e| Error::new(Status::InvalidArgument, e.to_string()))?;
        for (d, &s) in self.strides().iter().enumerate() {
            if s < 0 {
                view.invert_axis(Axis(d));
            }
        }
        Ok(view)
    }
}

impl Object {
    /// An object that owns `array` and lends its memory, writable, with the array's shape and
    /// strides (negative ones included), without copying.
    ///
    /// ```
    /// use xbuf::{Object, Request, View};
    /// let a = ndarray::arr2(&[[1i32, 2], [3, 4]]).reversed_axes();
    /// let obj = Object::from_array(a)?;
    /// assert_eq!(View::new(&obj, Request::FULL_RO)?.tolist()?, "[[1, 3], [2, 4]]");
    /// # Ok::<(), xbuf::Error>(())
    /// ```
    pub fn from_array<T: Element, D: Dimension + 'static>(
        mut array: Array<T, D>,
    ) -> Result<Object> {
        let size = std::mem::size_of::<T>() as isize;
        let shape: Vec<isize> = array.shape().iter().map(|&n| n as isize).collect();
        let strides: Vec<isize> = array.strides().iter().map(|&s| s * size).collect();
        let buf = array.as_mut_ptr() as *mut u8;
        Object::from_exporter(Owned::from_parts(
            array,
            buf,
            T::FORMAT,
            size as usize,
            shape,
            strides,
        ))
    }
}
