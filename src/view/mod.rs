//! `xbuf_view`, the memoryview of C: an object made from any exporter that holds one export of
//! it, describes a (possibly sliced, indexed, cast or permuted) layout of that memory, and is
//! itself an exporter whose views name the base's releaser.
//!
//! Every operation on a view counts a transient export on the view object while it runs ([`with`]),
//! so an explicit [`release`] (which needs exclusive access) can never free the memory under a
//! running operation; after a release every operation fails with `XBUF_ERR_RELEASED`. Deriving
//! a view (slice, index, permute, cast) counts nothing on the parent: the new view's own export
//! on the memory's owner, checked against the parent's released flag, pins the memory (see
//! [`derive_in_place`]).
//!
//! Rules that differ from CPython's memoryview, on purpose:
//! - slicing and indexing work in every dimension (memoryview: one dimension only);
//! - a cast may go from any format to any format, and from N dimensions to M, as long as the
//!   source is C-contiguous and the byte size is preserved (memoryview: only to or from a byte
//!   format, and only 1-D ↔ N-D);
//! - equality compares items by value for every format, structs included (memoryview:
//!   struct-module formats only); NaN is never equal, as there;
//! - the hash is the FNV-1a hash of the C-order bytes, for read-only views of every format
//!   (memoryview: `hash(tobytes())`, byte formats only);
//! - an empty one-dimensional view is contiguous, whatever its stride (memoryview judges it by
//!   its stride; `PyBuffer_IsContiguous` and xbuf call every empty layout contiguous);
//! - `xbuf_from_contiguous` refuses a length that differs from the view's (CPython clamps);
//! - a second explicit release is a no-op (as memoryview's), but every other operation on a
//!   released view fails with `XBUF_ERR_RELEASED`.

use std::ffi::{c_int, CStr, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;

use crate::bufferinfo::{HeldInfo, HeldView};
use crate::capi::*;
use crate::exporters::any_impl;
use crate::layout::Layout;
use crate::object::{add_export_if_live, Exporter, NotCounted, ObjRef, Object, Response, SlotPin};
use crate::request::Plan;
use crate::status::Result;
use crate::{bail, err};

mod derive;
mod direct;
#[cfg(test)]
mod direct_tests;
mod items;
#[cfg(test)]
mod shared_tests;
#[cfg(test)]
pub(crate) mod tests;
mod text;

pub use derive::*;
pub use items::*;
use text::FormatText;

/// The state behind an `xbuf_view` object.
///
/// A view made from an object ([`new`]) asks it once for a view (a real `get_buffer`); the
/// answer's layout, format and row-pointer table become a snapshot ([`Shared`]) that every view
/// derived from it (slice, index, permute, cast, and their descendants) keeps a copy of (short
/// formats inline, a row-pointer table or a long format shared by count). A derived view
/// transforms its parent's layout in safe Rust and never asks an exporter again.
///
/// Exports: every view, made or derived, counts one export of its own on the object that owns
/// the memory (the releaser the first answer named), so `xbuf_exports` of that object counts
/// one per live, unreleased view, as many as the views that pin the memory; an explicit
/// [`release`] returns exactly that view's export. The views hold no other reference to it:
/// its handle in the snapshot is used only while the view at hand holds its export, and a
/// released view keeps the object's slot pinned instead ([`SlotPin`]: not a reference, the
/// object still goes when its counts say so), so that a view derived concurrently from it can
/// count its export there or fail, never touching another object (see [`derive_in_place`]).
pub struct View {
    /// The export this view holds, returned when the view is freed or, once, under the
    /// object's exclusive access, by [`release`].
    export: Export,
    released: AtomicBool,
    /// Set by [`release`] before the export goes, under the same exclusive access (so no
    /// reader); dropped with the view.
    released_pin: std::cell::UnsafeCell<Option<SlotPin>>,
    layout: Layout,
    /// The layout's byte length, computed once.
    len: isize,
    shared: Shared,
    readonly: bool,
}

/// The export a view holds: the first answer of the exporter for a view made from an object;
/// for a derived view, a library-filled view of its layout when the owner's `releasebuffer`
/// wants views (both handed back through it when released), else a bare export.
enum Export {
    Made(HeldView),
    /// Boxed: rare (only owners that want their views back), and large.
    Derived(Box<HeldInfo>),
    Bare(BareExport),
}

impl Export {
    /// # Safety
    /// Nobody may read the view meanwhile.
    unsafe fn release_in_place(&self) -> Result<()> {
        match self {
            Export::Made(h) => h.release_in_place(),
            Export::Derived(h) => h.release_in_place(),
            Export::Bare(b) => {
                b.release();
                Ok(())
            }
        }
    }
}

/// One export counted on an object, returned once: by an explicit release or when dropped.
struct BareExport(AtomicPtr<Object>);

impl BareExport {
    fn release(&self) {
        if let Some(p) = NonNull::new(self.0.swap(std::ptr::null_mut(), Ordering::AcqRel)) {
            // SAFETY: the export counted when this was made, returned only here.
            unsafe { Object::drop_export(p) };
        }
    }
}

impl Drop for BareExport {
    fn drop(&mut self) {
        // Nobody else can reach the export now: no atomic exchange needed.
        if let Some(p) = NonNull::new(*self.0.get_mut()) {
            // SAFETY: the export counted when this was made, not returned by a release.
            unsafe { Object::drop_export(p) };
        }
    }
}

/// What the views of one snapshot have in common: the object that owns the memory (the
/// releaser of the first answer), the format, and the row-pointer table the layouts' `buf`
/// points into when it is not the memory itself. Immutable once made; each view keeps a copy.
#[derive(Clone)]
struct Shared {
    /// Live while the view holds its export (see [`View::owner`]); its slot pinned by the
    /// export or, after a release, by the view's pin.
    releaser: NonNull<Object>,
    /// `None`: the base gave no format and items are wider than one byte.
    format: FormatText,
    /// A table of row pointers that belongs to the views rather than to the memory they
    /// describe: the copy of an exporter's own table (which the first answer kept in its
    /// layout storage), or one made by a slice that needs its own (see [`slice`]). Every view
    /// taken of a view gets a copy of it (`Response::table`), so that views outliving the
    /// view objects never point into it. Shared by count.
    table: Option<Arc<RowTable>>,
    /// The base's `(device_type, device_id)`, kept by every derived view.
    device: (i32, i32),
    /// Whether `releaser`'s exporter wants its views back (`Exporter::releases_views`, fixed
    /// for an exporter): a derived view then holds a filled struct rather than a bare export.
    wants_views: bool,
}

/// A row-pointer table of the views (see [`Shared::table`]), boxed so that it stays where the
/// layouts' `buf` points.
struct RowTable(Box<[*mut u8]>);

// SAFETY: immutable once made; its pointers are only read.
unsafe impl Send for RowTable {}
unsafe impl Sync for RowTable {}

// SAFETY: `export` and `released_pin` are written only under exclusive access (no export
// counted, so no reader), and `released_pin` is read only when the view is dropped;
// everything else is immutable after construction; the table's pointers are only read.
unsafe impl Send for View {}
unsafe impl Sync for View {}
// SAFETY: immutable once made; the object it names has atomic counts and a `Sync` exporter.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl View {
    fn releaser(&self) -> Result<&Object> {
        if self.released.load(Ordering::Acquire) {
            bail!(Released, "the view was released");
        }
        Ok(self.owner())
    }

    /// The object that owns the memory. Valid while this view holds its export: call it only
    /// with an export counted on the view object (which keeps a release away) before the
    /// view was released.
    fn owner(&self) -> &Object {
        // SAFETY: see above: the view's own export keeps the object alive.
        unsafe { self.shared.releaser.as_ref() }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// The views' own row-pointer table, if they have one.
    fn table(&self) -> Option<&[*mut u8]> {
        self.shared.table.as_deref().map(|t| &t.0[..])
    }
    pub fn readonly(&self) -> bool {
        self.readonly
    }
    /// The format text (`"B"` when the base gave none for one-byte items).
    pub fn format(&self) -> Result<&CStr> {
        self.shared.format.as_deref().ok_or_else(|| {
            err!(
                Format,
                "the view has items of {} bytes but no format (its base was asked without XBUF_FORMAT)",
                self.layout.itemsize
            )
        })
    }
    pub fn len(&self) -> isize {
        self.len
    }
    /// `(device_type, device_id)` of the memory; the CPU's is `(XBUF_DEVICE_CPU, 0)`.
    pub fn device(&self) -> (i32, i32) {
        self.shared.device
    }
    /// Refuses a view of memory on another device than the CPU, for an operation (`what`)
    /// that reads or writes its items.
    pub fn check_cpu(&self, what: &str) -> Result<()> {
        crate::bufferinfo::check_cpu(self.shared.device, what)
    }
}

impl Exporter for View {
    fn type_name(&self) -> &CStr {
        c"view"
    }
    fn get_buffer<'a>(
        &'a self,
        this: &'a Object,
        flags: c_int,
        _: &'a mut xbuf_bufferinfo,
    ) -> Result<Response<'a>> {
        self.trusted_answer(this, flags)
    }
    fn trusted_answer<'a>(&'a self, _: &'a Object, flags: c_int) -> Result<Response<'a>> {
        let releaser = self.releaser()?;
        // A view whose base gave no format for items wider than a byte cannot name one.
        if flags & XBUF_FORMAT != 0 {
            self.format()?;
        }
        let l = &self.layout;
        Ok(Response {
            buf: l.buf,
            len: self.len(),
            itemsize: l.itemsize,
            readonly: self.readonly,
            format: self.shared.format.as_deref(),
            ndim: l.ndim(),
            shape: Some(&l.shape),
            strides: Some(&l.strides),
            suboffsets: l.suboffsets.as_deref(),
            table: self.table(),
            releaser: Some(NonNull::from(releaser)),
            device: self.shared.device,
            ..Response::default()
        })
    }
    /// The layout was checked when the first view of the family was made, and every derived
    /// layout is the library's.
    fn trusted(&self) -> bool {
        true
    }
    /// A lock on the view is forwarded to the object that owns the memory.
    fn lock_buffer(&self, _: &Object) -> Result<()> {
        self.releaser()?.lock()
    }
    fn release_buffer(&self, _: &Object, view: *mut xbuf_bufferinfo) {
        if view.is_null() {
            // SAFETY: paired with the lock taken in lock_buffer (the view cannot be released
            // while that lock is counted on it); the shared reference keeps the object.
            let _ = unsafe { Object::unlock(self.shared.releaser) };
        }
    }
    any_impl!();
    fn as_view(&self) -> Option<&View> {
        Some(self)
    }
}

/// The view behind `obj`, or `InvalidArgument` naming what `obj` is.
#[inline]
fn view_of(obj: &Object) -> Result<&View> {
    match obj.exporter().as_view() {
        Some(v) => Ok(v),
        None => obj.downcast::<View>("view"),
    }
}

/// Makes a view of `obj` from a `flags` request: the one `get_buffer` of a family of views.
pub fn new(obj: &Object, flags: c_int) -> Result<ObjRef> {
    let held = HeldView::get(obj, flags)?;
    // SAFETY: just filled by the library; read only here, before the view is shared.
    let base = unsafe { &*held.ptr() };
    // SAFETY: as above.
    let mut layout = unsafe { Layout::from_view(base) }?;
    let format = if base.format.is_null() {
        FormatText::new((layout.itemsize == 1).then_some(c"B"))
    } else {
        // SAFETY: the library's copy, NUL-terminated.
        FormatText::new(Some(unsafe { CStr::from_ptr(base.format) }))
    };
    // The table the answer's layout storage holds goes with the struct: the views get a copy
    // of their own, with `buf` at the same entry.
    // SAFETY: filled by the library, read before the view is shared.
    let table = match unsafe { crate::bufferinfo::owned_table(held.ptr()) } {
        Some(t) => {
            let mut copy: Vec<*mut u8> = Vec::new();
            copy.try_reserve_exact(t.len()).map_err(|_| {
                err!(
                    NoMemory,
                    "cannot allocate {} row pointers for a view",
                    t.len()
                )
            })?;
            copy.extend_from_slice(t);
            let copy = copy.into_boxed_slice();
            let at = layout.buf as usize - t.as_ptr() as usize;
            layout.buf = (copy.as_ptr() as *mut u8).wrapping_add(at);
            Some(Arc::new(RowTable(copy)))
        }
        None => None,
    };
    let releaser = NonNull::new(base.releaser)
        .expect("a filled view has a releaser")
        .cast();
    let readonly = base.readonly != 0;
    // SAFETY: a full-size struct filled by the library.
    let device = unsafe { crate::bufferinfo::read_device(base) };
    Ok(ObjRef::new(View {
        export: Export::Made(held),
        released: AtomicBool::new(false),
        len: layout.byte_len() as isize,
        released_pin: std::cell::UnsafeCell::new(None),
        layout,
        shared: Shared {
            releaser,
            format,
            table,
            device,
            // SAFETY: the export `held` counts keeps the releaser alive.
            wants_views: unsafe { releaser.as_ref() }.exporter().releases_views(),
        },
        readonly,
    }))
}

/// What a derived view may bring besides its layout.
#[derive(Default)]
struct Extra {
    /// A format of its own (a cast); `None` keeps the parent's.
    format: Option<CString>,
    /// A row-pointer table of the view's own, which the layout's `buf` points into.
    table: Option<Box<[*mut u8]>>,
    /// The base's `(device_type, device_id)`, kept by every derived view.
    device: (i32, i32),
}

/// The export a derived view is about to take over, returned if it never gets there.
struct PendingExport<'a>(&'a Object);

impl Drop for PendingExport<'_> {
    fn drop(&mut self) {
        // SAFETY: the export counted in `derive_in_place`, owned here; the object may go.
        unsafe { Object::drop_export(NonNull::from(self.0)) };
    }
}

/// A new view derived from the view `obj`: `change` transforms its layout, in Rust, and the
/// result shares `obj`'s snapshot (or a new one when `change` brings a format or table of its
/// own). See [`derive_in_place`] for the export it counts.
fn derive_from(
    obj: &Object,
    change: impl FnOnce(&Layout, &mut Extra) -> Result<Layout>,
) -> Result<ObjRef> {
    derive_in_place(obj, |l, out, extra| {
        *out = change(l, extra)?;
        Ok(())
    })
}

/// [`derive_from`] with `change` editing, in place, a copy of the parent's layout that is
/// already where the new view keeps it.
///
/// The parent is not pinned: the new view first counts its own export on the object that owns
/// the memory (whose slot the snapshot pins, so the count lands on that object or nowhere),
/// then checks that the parent was not released. A release sets the flag before it returns the
/// parent's export, and both sides order the two with `SeqCst`, so when the flag still reads
/// unset here, the parent's export was counted when the new one was: the memory was pinned
/// all along (as CPython's memoryview derives from its base export). When it reads set, the
/// new export is given back and the call fails with `Released`.
fn derive_in_place(
    obj: &Object,
    change: impl FnOnce(&Layout, &mut Layout, &mut Extra) -> Result<()>,
) -> Result<ObjRef> {
    let parent = view_of(obj)?;
    let pending = count_derived_export(parent)?;
    derive(parent, pending, change)
}

/// The first half of [`derive_in_place`]: the new view's export, counted on the object that
/// owns the memory while the parent is not released.
#[inline(always)]
fn count_derived_export(parent: &View) -> Result<PendingExport<'_>> {
    let released = || parent.released.load(Ordering::SeqCst);
    if released() {
        bail!(Released, "the view was released");
    }
    // SAFETY: the parent's export, or after its release its pin, keeps the slot.
    let owner = unsafe { add_export_if_live(parent.shared.releaser) }.map_err(|why| match why {
        // Only the release of every view returns the last export: this one's too.
        NotCounted::Gone => err!(Released, "the view was released"),
        _ if released() => err!(Released, "the view was released"),
        NotCounted::Exclusive => err!(
            Busy,
            "the object that owns the view's memory is being changed (exclusive access is held); no export can start now"
        ),
        NotCounted::Saturated => err!(
            Overflow,
            "the export count of the object that owns the view's memory is saturated"
        ),
    })?;
    let pending = PendingExport(owner);
    if released() {
        bail!(Released, "the view was released");
    }
    Ok(pending)
}

/// Drops a layout written into a view being made, unless the view was completed.
struct LayoutInProgress(*mut Layout);

impl Drop for LayoutInProgress {
    fn drop(&mut self) {
        // SAFETY: written by `derive`, not yet part of a view.
        unsafe { std::ptr::drop_in_place(self.0) };
    }
}

/// [`derive_in_place`] once the new view's export is counted (`pending`): the view is built
/// in its object's slot.
fn derive(
    parent: &View,
    pending: PendingExport<'_>,
    change: impl FnOnce(&Layout, &mut Layout, &mut Extra) -> Result<()>,
) -> Result<ObjRef> {
    let owner = pending.0;
    let wants_view = parent.shared.wants_views;
    let obj = ObjRef::new_in_place::<View>(|p| {
        // SAFETY: `p` is the new view's storage; every field is written once below, the
        // layout first (dropped again if anything fails before the view is complete).
        unsafe {
            let layout = std::ptr::addr_of_mut!((*p).layout);
            parent.layout.write_copy(layout);
            let undo = LayoutInProgress(layout);
            let mut extra = Extra::default();
            change(&parent.layout, &mut *layout, &mut extra)?;
            let shared = if extra.format.is_none() && extra.table.is_none() {
                parent.shared.clone()
            } else {
                Shared {
                    releaser: parent.shared.releaser,
                    format: match extra.format {
                        Some(f) => FormatText::new(Some(&f)),
                        None => parent.shared.format.clone(),
                    },
                    table: extra.table.map(|t| Arc::new(RowTable(t))),
                    device: parent.shared.device,
                    wants_views: parent.shared.wants_views,
                }
            };
            std::mem::forget(undo);
            std::ptr::addr_of_mut!((*p).len).write((*layout).byte_len() as isize);
            std::ptr::addr_of_mut!((*p).shared).write(shared);
            std::ptr::addr_of_mut!((*p).readonly).write(parent.readonly);
            std::ptr::addr_of_mut!((*p).released).write(AtomicBool::new(false));
            std::ptr::addr_of_mut!((*p).released_pin).write(std::cell::UnsafeCell::new(None));
            std::ptr::addr_of_mut!((*p).export).write(if wants_view {
                Export::Derived(Box::new(HeldInfo::empty()))
            } else {
                // The bare export takes the pending one over once the view is made.
                Export::Bare(BareExport(AtomicPtr::new(owner.as_ptr())))
            });
        }
        Ok(())
    })?;
    if !wants_view {
        std::mem::forget(pending);
        return Ok(obj);
    }
    let view = view_of(&obj)?;
    if let Export::Derived(info) = &view.export {
        let plan = Plan::of_layout(
            &view.layout,
            view.readonly,
            view.shared.format.as_deref(),
            view.table(),
            view.shared.device,
        );
        // SAFETY: the view lives in its object, which does not move; the struct is filled
        // before the object is shared. On failure the object goes with an empty struct and
        // the pending export is returned.
        unsafe { info.fill_derived(owner, &plan) }?;
    }
    // The filled struct holds the export now.
    std::mem::forget(pending);
    Ok(obj)
}

/// Runs `op` on the view behind `obj` with a transient export counted, so that no release can
/// run meanwhile. Fails with `Released` after a release.
pub fn with<T>(obj: &Object, op: impl FnOnce(&View) -> Result<T>) -> Result<T> {
    let view = view_of(obj)?;
    obj.add_export().map_err(|e| {
        if view.released.load(Ordering::Acquire) {
            err!(Released, "the view was released")
        } else {
            e
        }
    })?;
    struct Done<'a>(&'a Object);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            // SAFETY: the export counted above; the caller holds a reference.
            unsafe { Object::drop_export(NonNull::from(self.0)) };
        }
    }
    let _done = Done(obj);
    if view.released.load(Ordering::Acquire) {
        bail!(Released, "the view was released");
    }
    op(view)
}

/// Hands the view's export back to its base. Refused with `Busy` while the view's own exports
/// (locks, running operations) live; a second release is a no-op.
pub fn release(obj: &Object) -> Result<()> {
    let view = view_of(obj)?;
    if view.released.load(Ordering::Acquire) {
        return Ok(());
    }
    obj.with_exclusive(|| {
        // SeqCst, before the export goes: see `derive_in_place`.
        if view.released.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        // The pin takes over the slot from the export (see `derive_in_place`).
        // SAFETY: exclusive access: nobody reads the field; the export keeps the object.
        unsafe { *view.released_pin.get() = Some(SlotPin::new(view.owner())) };
        // SAFETY: exclusive access: no export on the view, so nobody reads the export.
        unsafe { view.export.release_in_place() }
    })
}

impl View {
    /// Counts one export on the object that owns the memory for a consumer that describes the
    /// view's layout by itself (a DLPack tensor): the count a view filled by `get_buffer` of
    /// this view would hold, without the struct. `None` (nothing counted) when that object's
    /// exporter wants its views handed back: the consumer then takes a filled view. Call it
    /// with the view pinned by [`with`]; the caller returns the export with
    /// `Object::drop_export`.
    pub(crate) fn add_owner_export(&self) -> Result<Option<NonNull<Object>>> {
        let owner = self.owner();
        if owner.exporter().releases_views() {
            return Ok(None);
        }
        owner.add_export()?;
        Ok(Some(NonNull::from(owner)))
    }
}
