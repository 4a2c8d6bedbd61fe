//! Export: the schema and array of an export of an object (whose private data holds the
//! export until the last of them is released), through `get_buffer` or a view's layout.

use std::ffi::{c_void, CStr};

use crate::bail;
use crate::bufferinfo;
use crate::capi::XBUF_FULL_RO;
use crate::object::Object;
use crate::status::{overflow, Result};

pub(super) use super::hold::new_top;
use super::hold::{add_child, new_top_bare, release_array, ArrayPrivate, BareExport, Hold, Top};
use super::memo::{self, TensorKey};
pub use super::plan::{item_type, plan, ItemType, Plan};
use super::schema::{item_schema, release_schema, tensor_schema, wide_tensor_schema};
use super::{ArrowArray, ArrowSchema};

/// A non-NULL address for the data buffer of an array without items.
static EMPTY: u64 = 0;

/// Fills `schema` and `array` with one export of `obj` (see the module docs).
///
/// # Safety
/// `schema` and `array` must point at writable structs; on failure they are left as they were
/// (the C entry point has made them released).
pub unsafe fn export(obj: &Object, schema: *mut ArrowSchema, array: *mut ArrowArray) -> Result<()> {
    let out = Out { schema, array };
    if export_trusted(obj, out)? || export_from_view(obj, out)? {
        return Ok(());
    }
    export_general(obj, out)
}

/// Where the structs of an export go: both written on success, neither on failure.
#[derive(Clone, Copy)]
pub(super) struct Out {
    schema: *mut ArrowSchema,
    array: *mut ArrowArray,
}

/// The structs one of the `export_*` functions writes, as values (`None`: it left the export
/// to another way).
fn collect(way: impl FnOnce(Out) -> Result<bool>) -> Result<Option<(ArrowSchema, ArrowArray)>> {
    let (mut s, mut a) = (ArrowSchema::released(), ArrowArray::released());
    let made = way(Out {
        schema: &mut s,
        array: &mut a,
    })?;
    Ok(made.then_some((s, a)))
}

/// The structs [`export`] makes, as values.
pub(super) fn build(obj: &Object) -> Result<(ArrowSchema, ArrowArray)> {
    let made = collect(|out| {
        // SAFETY: `out` points at two structs of `collect`'s.
        unsafe { export(obj, out.schema, out.array) }.map(|()| true)
    })?;
    Ok(made.expect("export made the structs"))
}

/// The structs of [`export_trusted`], as values.
pub(super) fn build_trusted(obj: &Object) -> Result<Option<(ArrowSchema, ArrowArray)>> {
    // SAFETY: `out` points at two structs of `collect`'s.
    collect(|out| unsafe { export_trusted(obj, out) })
}

/// The structs of [`export_from_view`], as values.
pub(super) fn build_from_view(obj: &Object) -> Result<Option<(ArrowSchema, ArrowArray)>> {
    // SAFETY: `out` points at two structs of `collect`'s.
    collect(|out| unsafe { export_from_view(obj, out) })
}

/// The structs of [`export_general`], as values.
pub(super) fn build_general(obj: &Object) -> Result<(ArrowSchema, ArrowArray)> {
    // SAFETY: `out` points at two structs of `collect`'s.
    let made = collect(|out| unsafe { export_general(obj, out) }.map(|()| true))?;
    Ok(made.expect("the general path made the structs"))
}

/// [`export`] through `get_buffer`: the array holds the filled view.
///
/// # Safety
/// `out` points at two writable structs.
unsafe fn export_general(obj: &Object, out: Out) -> Result<()> {
    let top = new_top();
    // SAFETY: a new block, which holds an empty view.
    let view = match &(*top.as_ptr()).hold {
        Hold::Own(s) => s.view.get(),
        Hold::Bare(_) => unreachable!("a new top holds an empty view"),
    };
    // SAFETY: a full-size struct in its final place (the block never moves) until the array
    // is released; dropping `top` releases it.
    bufferinfo::get_buffer(obj, view, XBUF_FULL_RO)?;
    // SAFETY: filled above by the library for `XBUF_FULL_RO`, so checked: `ndim` in range,
    // `shape` and `strides` present with `ndim` entries, `suboffsets` NULL or `ndim` entries,
    // `format` present and NUL-terminated, all valid while the view stays where it is.
    let parts = {
        let v = &*view;
        let n = v.ndim as usize;
        let arr = |p: *mut isize| std::slice::from_raw_parts(p.cast_const(), n);
        let indirect = !v.suboffsets.is_null() && arr(v.suboffsets).iter().any(|&x| x >= 0);
        let fmt = (!v.format.is_null()).then(|| CStr::from_ptr(v.format).to_bytes());
        Parts {
            buf: v.buf,
            itemsize: v.itemsize,
            shape: arr(v.shape),
            strides: arr(v.strides),
            indirect,
            fmt,
        }
    };
    finish(obj, top, &parts, out)
}

/// The arrays of an object whose exporter is trusted (answers with a layout the library made
/// and checked) and does nothing when a view is released, such as a built-in array: one
/// export counted on the object, its answer read in place, no view filled. The structs are
/// those the general path makes (the same fields, checks and errors); `None` where that path
/// must answer (another exporter, an answer naming another releaser, a device other than the
/// CPU, suboffsets, no format, a refused export).
///
/// # Safety
/// `out` points at two writable structs.
unsafe fn export_trusted(obj: &Object, out: Out) -> Result<bool> {
    if !obj.trusted() || !obj.release_ignores_views() || obj.add_export().is_err() {
        return Ok(false);
    }
    // SAFETY: the export just counted; dropping `export` from here on returns it.
    let export = BareExport::new(std::ptr::NonNull::from(obj));
    let Ok(r) = obj.exporter().trusted_answer(obj, XBUF_FULL_RO) else {
        return Ok(false);
    };
    let own = r.releaser.is_none_or(|p| std::ptr::eq(p.as_ptr(), obj));
    let cpu = r.device.0 == 0 || r.device == (crate::capi::XBUF_DEVICE_CPU, 0);
    let (Some(format), Some(shape), Some(strides), true, true, None, None) = (
        r.format,
        r.shape,
        r.strides,
        own,
        cpu,
        r.suboffsets,
        r.table,
    ) else {
        return Ok(false);
    };
    let parts = Parts {
        buf: r.buf.cast(),
        itemsize: r.itemsize,
        shape,
        strides,
        indirect: false,
        fmt: Some(format.to_bytes()),
    };
    finish(obj, new_top_bare(export), &parts, out).map(|()| true)
}

/// The arrays of a view object (`xbuf_view`), made straight from the layout the view holds:
/// one export counted on the object that owns the memory, no view filled. The structs are
/// those the general path makes (the same fields, checks and errors); `None` where that path
/// must answer (another exporter, a view without a format, memory on another device than the
/// CPU, an owner whose exporter wants its views handed back, a released view).
///
/// # Safety
/// `out` points at two writable structs.
unsafe fn export_from_view(obj: &Object, out: Out) -> Result<bool> {
    if obj
        .exporter()
        .as_any()
        .downcast_ref::<crate::view::View>()
        .is_none()
    {
        return Ok(false);
    }
    let made = crate::view::with(obj, |view| {
        let Ok(format) = view.format() else {
            return Ok(false);
        };
        if view.device() != (crate::capi::XBUF_DEVICE_CPU, 0) {
            return Ok(false);
        }
        let Some(owner) = view.add_owner_export()? else {
            return Ok(false);
        };
        // SAFETY: the export just counted; dropping `top` from here on returns it.
        let top = new_top_bare(BareExport::new(owner));
        let l = view.layout();
        let parts = Parts {
            buf: l.buf.cast(),
            itemsize: l.itemsize,
            shape: &l.shape,
            strides: &l.strides,
            // A layout keeps suboffsets only when some dimension is indirect.
            indirect: l.suboffsets.is_some(),
            fmt: Some(format.to_bytes()),
        };
        finish(obj, top, &parts, out).map(|()| true)
    });
    match made {
        // A released view: the general path says so.
        Err(e) if e.status == crate::status::Status::Released => Ok(false),
        r => r,
    }
}

/// What an array is made of, read from a filled view or a view object's layout.
struct Parts<'a> {
    buf: *mut c_void,
    itemsize: isize,
    shape: &'a [isize],
    strides: &'a [isize],
    indirect: bool,
    fmt: Option<&'a [u8]>,
}

/// Checks `p` for Arrow and writes the structs to `out`; `top` holds the export (its view
/// filled, or a bare export), which goes with the structs, or is returned on failure.
///
/// # Safety
/// `out` points at two writable structs.
unsafe fn finish(obj: &Object, top: Top, p: &Parts<'_>, out: Out) -> Result<()> {
    let (buf, itemsize, shape, strides, indirect, fmt) =
        (p.buf, p.itemsize, p.shape, p.strides, p.indirect, p.fmt);
    if indirect {
        bail!(
            NotContiguous,
            "the '{}' view has suboffsets (an indirect layout): an Arrow array needs \
             contiguous memory (copy the view first)",
            obj.type_name().to_string_lossy()
        );
    }
    let ty = item_type(fmt, itemsize as usize)?;
    let data: *const c_void = if buf.is_null() {
        std::ptr::addr_of!(EMPTY).cast()
    } else {
        buf.cast_const().cast()
    };
    // One contiguous dimension (or none), as most arrays have, decided here.
    let flat = match (shape, strides) {
        ([], _) => Some(1),
        ([n], [s]) if *n <= 1 || *s == itemsize => Some(*n),
        _ => None,
    };
    if let Some(length) = flat {
        out.schema.write(item_schema(&ty, fmt, None)?);
        let p = top.into_raw();
        (*p).buffers[1] = data;
        out.array.write(array_of(p, length, 2, 0));
        return Ok(());
    }
    // A tensor: planned once per layout on this thread; a tensor of more axes than a key
    // holds is planned each time.
    let mut wide = None;
    let planned = memo::tensor_plan(shape, strides, itemsize, || {
        let Plan::Tensor {
            shape, permutation, ..
        } = plan(shape, Some(strides), itemsize)?
        else {
            unreachable!("a layout of two or more dimensions, or one not contiguous")
        };
        let k = crate::layout::item_count(&shape)?;
        let key = TensorKey::new(&shape, permutation.as_deref());
        if key.is_none() {
            wide = Some((shape, permutation, k));
        }
        Ok(key.map(|key| (key, k)))
    })?;
    // The tensor's key, or (too wide for one) its physical shape and permutation.
    let (k, tensor) = match (planned, wide) {
        (Some((key, k)), _) => (k, Ok(key)),
        (None, Some((shape, permutation, k))) => (k, Err((shape, permutation))),
        (None, None) => unreachable!("a tensor planned, or too wide to remember"),
    };
    let length = shape[0];
    let child_len = k
        .checked_mul(length)
        .ok_or_else(|| overflow("the item count"))?;
    let child_schema = item_schema(&ty, fmt, Some(c"item"))?;
    let schema = match tensor {
        Ok(key) => tensor_schema(&key, k as usize, child_schema)?,
        Err((shape, permutation)) => {
            wide_tensor_schema(&shape, permutation.as_deref(), k as usize, child_schema)?
        }
    };
    out.schema.write(schema);
    let p = top.into_raw();
    add_child(p, child_len as i64, data);
    out.array.write(array_of(p, length, 1, 1));
    Ok(())
}

/// The array of the block `p` (its buffers and child, if any, filled) of `length` slots, its
/// pointers into the block taken from `p` itself.
///
/// # Safety
/// `p` is a block [`Top::into_raw`] just handed over.
unsafe fn array_of(
    p: *mut ArrayPrivate,
    length: isize,
    n_buffers: i64,
    n_children: i64,
) -> ArrowArray {
    ArrowArray {
        length: length as i64,
        null_count: 0,
        offset: 0,
        n_buffers,
        n_children,
        buffers: std::ptr::addr_of_mut!((*p).buffers).cast(),
        children: if n_children > 0 {
            std::ptr::addr_of_mut!((*p).children).cast()
        } else {
            std::ptr::null_mut()
        },
        dictionary: std::ptr::null_mut(),
        release: Some(release_array),
        private_data: p.cast(),
    }
}
