//! The short way to a derived view whose change is to its layout alone (a slice of a direct
//! layout): no format or row-pointer table of its own, so the new view shares its parent's
//! snapshot as it is, and, when the owner takes no views back, holds a bare export.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr};

use super::derive::{slice_dims, slice_direct, SliceSpec};
use super::{count_derived_export, derive, BareExport, Export, LayoutInProgress, View};
use crate::object::ObjRef;
use crate::status::Result;

/// [`derive_in_place`](super::derive_in_place) for a slice of a layout without suboffsets
/// ([`slice_direct`]): the parent's layout is copied to where the new view keeps it and sliced
/// there, and nothing else is brought. The same export is counted, with the same checks of the
/// parent's release; only the building of the view is shorter. The slice is computed here, not
/// through a closure, so that it is part of the view's making (no call of its own).
#[inline(always)]
pub(super) fn derive_direct_slice(parent: &View, slices: &[SliceSpec]) -> Result<ObjRef> {
    let pending = count_derived_export(parent)?;
    if parent.shared.wants_views {
        return derive(parent, pending, |l, out, _| {
            slice_direct(l, slices, out).map(|_| ())
        });
    }
    let owner = NonNull::from(pending.0);
    let obj = ObjRef::new_in_place::<View>(|p| {
        // SAFETY: `p` is the new view's storage; every field is written once below, the
        // layout first (dropped again if the change fails, before the view is complete).
        unsafe {
            let layout = std::ptr::addr_of_mut!((*p).layout);
            let (shape, strides) = parent.layout.write_copy(layout);
            let undo = LayoutInProgress(layout);
            let (buf, items) = slice_dims(&parent.layout, slices, shape, strides)?;
            std::mem::forget(undo);
            std::ptr::addr_of_mut!((*layout).buf).write(buf);
            // As `Layout::byte_len`, from the count the slice found.
            let len = items * parent.layout.itemsize as usize;
            std::ptr::addr_of_mut!((*p).len).write(len as isize);
            std::ptr::addr_of_mut!((*p).shared).write(parent.shared.clone());
            std::ptr::addr_of_mut!((*p).readonly).write(parent.readonly);
            std::ptr::addr_of_mut!((*p).released).write(AtomicBool::new(false));
            std::ptr::addr_of_mut!((*p).released_pin).write(std::cell::UnsafeCell::new(None));
            // The bare export takes the pending one over once the view is made.
            std::ptr::addr_of_mut!((*p).export)
                .write(Export::Bare(BareExport(AtomicPtr::new(owner.as_ptr()))));
        }
        Ok(())
    })?;
    std::mem::forget(pending);
    Ok(obj)
}
