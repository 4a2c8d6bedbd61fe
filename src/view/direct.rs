//! The short way to a derived view whose change is to its layout alone (a slice of a direct
//! layout): no format or row-pointer table of its own, so the new view shares its parent's
//! snapshot as it is, and, when the owner takes no views back, holds a bare export.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr};

use super::{count_derived_export, derive, BareExport, Export, LayoutInProgress, View};
use crate::layout::Layout;
use crate::object::ObjRef;
use crate::status::Result;

/// [`derive_in_place`](super::derive_in_place) for a `change` that edits, in place, a copy of
/// the parent's layout already where the new view keeps it, and brings nothing else. The same
/// export is counted, with the same checks of the parent's release; only the building of the
/// view is shorter.
#[inline(always)]
pub(super) fn derive_layout(
    parent: &View,
    change: impl FnOnce(&Layout, &mut Layout) -> Result<()>,
) -> Result<ObjRef> {
    let pending = count_derived_export(parent)?;
    if parent.shared.wants_views {
        return derive(parent, pending, |l, out, _| change(l, out));
    }
    let owner = NonNull::from(pending.0);
    let obj = ObjRef::new_in_place::<View>(|p| {
        // SAFETY: `p` is the new view's storage; every field is written once below, the
        // layout first (dropped again if the change fails, before the view is complete).
        unsafe {
            let layout = std::ptr::addr_of_mut!((*p).layout);
            parent.layout.write_copy(layout);
            let undo = LayoutInProgress(layout);
            change(&parent.layout, &mut *layout)?;
            std::mem::forget(undo);
            std::ptr::addr_of_mut!((*p).len).write((*layout).byte_len() as isize);
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
