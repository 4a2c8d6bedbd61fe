//! Tensors of a filled view whose memory the caller keeps alive by its own means, for a binding
//! that already holds a filled view and shares it between its consumers under a lock of its
//! own (the Python package's `View`, whose shared export is counted under the GIL): each
//! tensor holds a value of the caller's (the holder) instead of an export, so an exchange
//! counts nothing on the library's objects.
//!
//! [`LentTensor::new`] checks the view and works out its tensor once, with the code that
//! makes the tensors of `xbuf_dlpack_export` (the same fields, checks and errors); each export
//! copies it into a new managed tensor holding the holder, which the tensor's deleter drops,
//! exactly once, on the thread that deletes the tensor.

use std::alloc::Layout;
use std::cell::Cell;
use std::ffi::c_int;
use std::mem::ManuallyDrop;
use std::ptr;

use crate::capi::*;
use crate::status::Result;
use crate::{bail, err};

use super::export::{
    checked_dtype, dims_in, legacy_readonly, parts_of_view, tensor_of, write_dims, Body, Managed,
    INLINE_DIMS,
};
use super::{DLManagedTensor, DLManagedTensorVersioned, DLTensor, UNMARKED_READONLY};

/// The tensor of a filled view, worked out once and copied into each export of it (Rust only,
/// not in the C header).
///
/// For bindings that share one filled view of the memory between their consumers (the Python
/// package's `View`): [`LentTensor::new`] checks the view as `xbuf_dlpack_export` checks the
/// memory it exports (the same refusals, in the same words), and [`LentTensor::export`] makes
/// a tensor equal to the one `xbuf_dlpack_export` makes of the same memory (shape, strides in
/// items, data type, `DLPACK_FLAG_BITMASK_READ_ONLY` for read-only memory, the device,
/// `byte_offset` 0), holding a value of the caller's instead of an export.
///
/// Holds no export and no pointer into the view: only its memory's address, which the tensors
/// describe.
pub struct LentTensor {
    /// The tensor's fields, with NULL shape and strides.
    tensor: DLTensor,
    /// Shape then strides in items: in the first `2 * ndim` entries of `inline` (copied whole
    /// into each tensor) for up to `INLINE_DIMS` dimensions, else in `heap`.
    inline: [i64; 2 * INLINE_DIMS],
    heap: Box<[i64]>,
    readonly: bool,
}

// SAFETY: plain numbers and the memory's address, which is only copied, never read through.
unsafe impl Send for LentTensor {}
unsafe impl Sync for LentTensor {}

/// One allocation: the tensor with its shape and strides (first, so the tensor's address is
/// the block's), and the holder, dropped by the deleter.
#[repr(C)]
struct Lent<T, H> {
    body: Body<T>,
    holder: ManuallyDrop<H>,
}

/// One freed block of lent tensors, with its layout, kept by a thread for its next export of
/// the same layout (NULL: none), so that a steady export/delete cycle on one thread costs no
/// `malloc`/`free`. Freed when the thread exits.
struct Spare {
    block: Cell<*mut u8>,
    layout: Cell<Layout>,
}

impl Drop for Spare {
    fn drop(&mut self) {
        let p = self.block.replace(ptr::null_mut());
        if !p.is_null() {
            // SAFETY: an allocation of `layout` whose value was dropped (see `free`).
            unsafe { std::alloc::dealloc(p, self.layout.get()) };
        }
    }
}

thread_local! {
    static SPARE: Spare = const {
        Spare {
            block: Cell::new(ptr::null_mut()),
            layout: Cell::new(Layout::new::<u8>()),
        }
    };
}

/// A block of `layout`: the thread's spare when it has that layout, else a new allocation
/// (NULL when none can be made).
fn allocate(layout: Layout) -> *mut u8 {
    // A thread being torn down has no spare.
    let spare = SPARE
        .try_with(|s| {
            let p = s.block.get();
            if !p.is_null() && s.layout.get() == layout {
                s.block.set(ptr::null_mut());
                p
            } else {
                ptr::null_mut()
            }
        })
        .unwrap_or(ptr::null_mut());
    if !spare.is_null() {
        return spare;
    }
    // SAFETY: the layouts used here are not zero-sized (they hold a tensor).
    unsafe { std::alloc::alloc(layout) }
}

/// Gives back a block of `layout` whose value was dropped: kept as the thread's spare when
/// it has none, else freed.
///
/// # Safety
/// `p` was allocated with `layout` by [`allocate`] and is not used again.
unsafe fn deallocate(p: *mut u8, layout: Layout) {
    let kept = SPARE
        .try_with(|s| {
            if s.block.get().is_null() {
                s.block.set(p);
                s.layout.set(layout);
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if !kept {
        std::alloc::dealloc(p, layout);
    }
}

fn public(e: crate::status::Error) -> crate::Error {
    crate::Error::new(crate::Status::from_code(e.code()), e.message.clone())
}

impl LentTensor {
    /// Checks the filled view `view` for DLPack and works out its tensor.
    ///
    /// Errors: `NullArgument`, `InvalidArgument` (a view not filled with its format, shape and
    /// strides), and the refusals of `xbuf_dlpack_export`: `Format` (formats without a DLPack
    /// type), `Unsupported` (suboffsets, strides that are not a multiple of the item size).
    ///
    /// # Safety
    /// `view` is NULL or a view filled by the library (`xbuf_get_buffer`) with at least
    /// `XBUF_FULL_RO`, valid during the call.
    pub unsafe fn new(view: *const xbuf_bufferinfo) -> crate::Result<LentTensor> {
        Self::of_view(view).map_err(public)
    }

    unsafe fn of_view(view: *const xbuf_bufferinfo) -> Result<LentTensor> {
        if view.is_null() {
            bail!(NullArgument, "view is NULL");
        }
        let v = &*view;
        if v.buf.is_null() && v.len != 0
            || v.format.is_null()
            || v.ndim < 0
            || v.ndim > 0 && (v.shape.is_null() || v.strides.is_null())
        {
            bail!(
                InvalidArgument,
                "the view is not filled with its format, shape and strides (XBUF_FULL_RO)"
            );
        }
        let p = parts_of_view(view)?;
        let dtype = checked_dtype(&p, UNMARKED_READONLY, false)?;
        let n = p.shape.len();
        let mut inline = [0i64; 2 * INLINE_DIMS];
        let mut heap = Vec::new().into_boxed_slice();
        if n <= INLINE_DIMS {
            write_dims(&p, inline.as_mut_ptr());
        } else {
            heap = vec![0i64; 2 * n].into_boxed_slice();
            write_dims(&p, heap.as_mut_ptr());
        }
        Ok(LentTensor {
            tensor: tensor_of(&p, dtype, ptr::null_mut()),
            inline,
            heap,
            readonly: p.readonly,
        })
    }

    /// Whether the memory is read-only (the tensors are marked so).
    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// A DLPack 1.1 tensor of the view, holding `holder` until it is deleted.
    ///
    /// `flags`: `XBUF_WRITABLE` demands writable memory; nothing else.
    /// Returns: a tensor owned by the caller, who hands it on or calls its `deleter` (exactly
    /// once, on any thread): the deleter frees the tensor, then drops `holder` there.
    /// Errors: `InvalidArgument` (other flags), `Readonly` (writable memory demanded of
    /// read-only memory), `NoMemory`; `holder` is dropped before the error is returned.
    ///
    /// # Safety
    /// The memory of the view stays valid, as the view described it, until `holder` is
    /// dropped.
    pub unsafe fn export<H: Send + 'static>(
        &self,
        flags: c_int,
        holder: H,
    ) -> crate::Result<*mut DLManagedTensorVersioned> {
        self.make(flags, false, holder).map_err(public)
    }

    /// [`LentTensor::export`] for the legacy `DLManagedTensor`: read-only memory is refused
    /// (`Readonly`) unless `flags` has `XBUF_DLPACK_UNMARKED_READONLY`, as
    /// `xbuf_dlpack_export_unversioned` does.
    ///
    /// # Safety
    /// As [`LentTensor::export`].
    pub unsafe fn export_unversioned<H: Send + 'static>(
        &self,
        flags: c_int,
        holder: H,
    ) -> crate::Result<*mut DLManagedTensor> {
        self.make(flags, true, holder).map_err(public)
    }

    unsafe fn make<T: Managed, H: Send + 'static>(
        &self,
        flags: c_int,
        legacy: bool,
        holder: H,
    ) -> Result<*mut T> {
        let own = if legacy { UNMARKED_READONLY } else { 0 };
        if flags & !(XBUF_WRITABLE | own) != 0 {
            bail!(
                InvalidArgument,
                "flags {flags:#x}: a tensor of a lent view takes only XBUF_WRITABLE{}",
                if legacy {
                    " and XBUF_DLPACK_UNMARKED_READONLY"
                } else {
                    ""
                }
            );
        }
        if self.readonly {
            if flags & XBUF_WRITABLE != 0 {
                bail!(
                    ReadOnly,
                    "the memory is read-only and XBUF_WRITABLE demands writable memory"
                );
            }
            if legacy && flags & UNMARKED_READONLY == 0 {
                return Err(legacy_readonly());
            }
        }
        let layout = Layout::new::<Lent<T, H>>();
        let raw = allocate(layout).cast::<Lent<T, H>>();
        if raw.is_null() {
            bail!(
                NoMemory,
                "cannot allocate {} bytes for a DLPack tensor",
                layout.size()
            );
        }
        // The block is ours, its body's dimensions initialised and the holder in it: `free`
        // undoes all once the tensor is written.
        let body = ptr::addr_of_mut!((*raw).body);
        Body::init_dims_at(body);
        ptr::addr_of_mut!((*raw).holder).write(ManuallyDrop::new(holder));
        let n = self.tensor.ndim as usize;
        // The tensor is the body's first field.
        let tensor = body.cast::<T>();
        let dims = match dims_in(body, n) {
            Ok(d) => d,
            Err(e) => {
                // The tensor, not written yet, has nothing to drop.
                free(raw);
                return Err(e);
            }
        };
        if n <= INLINE_DIMS {
            // The whole inline array: a copy of fixed size.
            dims.cast::<[i64; 2 * INLINE_DIMS]>().write(self.inline);
        } else {
            ptr::copy_nonoverlapping(self.heap.as_ptr(), dims, 2 * n);
        }
        let mut t = DLTensor { ..self.tensor };
        if n > 0 {
            t.shape = dims;
            t.strides = dims.add(n);
        }
        tensor.write(T::build(t, raw.cast(), self.readonly, delete_lent::<T, H>));
        Ok(tensor)
    }
}

/// Frees a block of [`LentTensor::make`], dropping its holder last.
///
/// # Safety
/// `raw` is a live block, freed only here and once.
unsafe fn free<T, H>(raw: *mut Lent<T, H>) {
    let holder = ManuallyDrop::take(&mut (*raw).holder);
    ptr::drop_in_place(ptr::addr_of_mut!((*raw).body));
    deallocate(raw.cast(), Layout::new::<Lent<T, H>>());
    drop(holder);
}

/// The deleter of a tensor of [`LentTensor`].
unsafe extern "C" fn delete_lent<T, H>(t: *mut T) {
    if t.is_null() {
        return;
    }
    // Nothing may unwind into C: a panic of the holder's drop ends here.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `t` is the first field of a block of `LentTensor::make`, deleted once.
        free(t.cast::<Lent<T, H>>())
    }));
}
