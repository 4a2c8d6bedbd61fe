//! The request/response rules of PEP 3118, written once.
//!
//! An exporter answers a request with a [`Response`]. [`plan`] checks that answer (the
//! protocol's invariants and the request's demands) and decides what the consumer receives;
//! `bufferinfo` then copies it into the consumer's view.
//!
//! | flag          | consumer receives / the memory must be                                  |
//! |---------------|--------------------------------------------------------------------------|
//! | WRITABLE      | `readonly == 0`, else `XBUF_ERR_READONLY`                                |
//! | FORMAT        | `format` (NULL from the exporter means `"B"`), else `format == NULL`     |
//! | ND            | `shape`, else `shape == NULL` and `ndim == 1`                            |
//! | STRIDES       | `strides`, else `strides == NULL` and the memory must be C-contiguous   |
//! | C/F/ANY_CONTIGUOUS | that layout, else `XBUF_ERR_NOT_CONTIGUOUS`                         |
//! | INDIRECT      | `suboffsets` (NULL when none); without it suboffsets are `XBUF_ERR_REQUEST` |
//!
//! Whatever the flags, `len == product(shape) * itemsize` and `itemsize` is the true item size.

use std::ffi::{c_int, c_void, CStr};

use crate::abi::*;
use crate::capi::*;
use crate::format;
use crate::layout::{self, Order};
use crate::object::Response;
use crate::status::{Error, Result};
use crate::{bail, err};

/// The request flags, checked for unknown bits and inconsistent combinations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(pub c_int);

impl Flags {
    #[inline]
    pub fn new(flags: c_int) -> Result<Flags> {
        match Flags::valid(flags) {
            Some(f) => Ok(f),
            None => Flags::refuse(flags),
        }
    }

    /// The flags if [`Flags::new`] accepts them, without building its error: no unknown bit;
    /// STRIDES' own bit comes with ND; the contiguity and INDIRECT bits come with STRIDES.
    #[inline(always)]
    pub fn valid(flags: c_int) -> Option<Flags> {
        let known = flags & !FLAG_BITS == 0;
        let strides_ok = flags & 0x10 == 0 || flags & XBUF_ND != 0;
        let above_ok = flags & 0x1e0 == 0 || flags & XBUF_STRIDES == XBUF_STRIDES;
        (known && strides_ok && above_ok).then_some(Flags(flags))
    }

    /// The error for flags that [`Flags::new`] refuses.
    #[cold]
    fn refuse(flags: c_int) -> Result<Flags> {
        if flags & !FLAG_BITS != 0 {
            bail!(
                InvalidArgument,
                "request flags 0x{:x} contain unknown bits 0x{:x}",
                flags,
                flags & !FLAG_BITS
            );
        }
        // Each compound flag includes the flags it builds on; a bare bit without them is a
        // request nobody can mean (for example 0x20 without XBUF_STRIDES).
        for (name, full) in [
            ("XBUF_STRIDES", XBUF_STRIDES),
            ("XBUF_C_CONTIGUOUS", XBUF_C_CONTIGUOUS),
            ("XBUF_F_CONTIGUOUS", XBUF_F_CONTIGUOUS),
            ("XBUF_ANY_CONTIGUOUS", XBUF_ANY_CONTIGUOUS),
            ("XBUF_INDIRECT", XBUF_INDIRECT),
        ] {
            let own = full
                & !(if full == XBUF_STRIDES {
                    XBUF_ND
                } else {
                    XBUF_STRIDES
                });
            if flags & own != 0 && flags & full != full {
                bail!(
                    InvalidArgument,
                    "request flags 0x{:x} carry bit 0x{:x} of {} without the rest of it (0x{:x})",
                    flags,
                    own,
                    name,
                    full
                );
            }
        }
        unreachable!("request flags 0x{flags:x} failed the check but broke no rule")
    }
    fn has(self, f: c_int) -> bool {
        self.0 & f == f
    }
    pub fn writable(self) -> bool {
        self.has(XBUF_WRITABLE)
    }
    pub fn format(self) -> bool {
        self.has(XBUF_FORMAT)
    }
    pub fn nd(self) -> bool {
        self.has(XBUF_ND)
    }
    pub fn strides(self) -> bool {
        self.has(XBUF_STRIDES)
    }
    pub fn indirect(self) -> bool {
        self.has(XBUF_INDIRECT)
    }
    pub fn device(self) -> bool {
        self.has(XBUF_DEVICE)
    }
    /// The contiguity the request demands, strictest first.
    pub fn contiguity(self) -> impl Iterator<Item = (Order, &'static str)> {
        [
            (XBUF_C_CONTIGUOUS, Order::C, "XBUF_C_CONTIGUOUS"),
            (XBUF_F_CONTIGUOUS, Order::F, "XBUF_F_CONTIGUOUS"),
            (XBUF_ANY_CONTIGUOUS, Order::Any, "XBUF_ANY_CONTIGUOUS"),
        ]
        .into_iter()
        .filter(move |(f, _, _)| self.has(*f))
        .map(|(_, o, n)| (o, n))
    }
}

/// An exporter's name for messages, converted only when a message is written.
struct Who<'a>(&'a CStr);

impl std::fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_string_lossy())
    }
}

/// What the consumer will receive: a checked response plus the fields the request asked for.
#[derive(Debug)]
pub struct Plan<'a> {
    pub buf: *mut u8,
    pub len: isize,
    pub itemsize: isize,
    pub readonly: bool,
    pub internal: *mut c_void,
    /// The exporter's full shape (`one` when the exporter gave a 1-D answer without shape).
    shape: Option<&'a [isize]>,
    one: isize,
    ndim: usize,
    /// The exporter's strides; `None` = C-contiguous.
    pub strides: Option<&'a [isize]>,
    /// Suboffsets, only when some entry is non-negative.
    pub suboffsets: Option<&'a [isize]>,
    /// The exporter's own row-pointer table that `buf` points into (see `Response::table`),
    /// copied into the view's storage; only with suboffsets, and only when `buf` lies in it.
    pub table: Option<&'a [*mut u8]>,
    /// Format text without NUL (`b"B"` when the exporter gave none).
    pub format: &'a [u8],
    /// Which fields the consumer receives.
    pub give_shape: bool,
    pub give_strides: bool,
    pub give_format: bool,
    /// Whether the layout is known only as `len` contiguous bytes (no `XBUF_ND` request and no
    /// shape from the exporter).
    opaque: bool,
    /// `(device_type, device_id)`, the CPU's as `(XBUF_DEVICE_CPU, 0)`.
    pub device: (i32, i32),
}

impl<'a> Plan<'a> {
    /// The full shape the exporter described (one entry per dimension; empty when opaque).
    pub fn shape(&self) -> &[isize] {
        match self.shape {
            Some(s) => s,
            None if self.opaque || self.ndim == 0 => &[],
            None => std::slice::from_ref(&self.one),
        }
    }

    /// Number of dimensions the consumer sees (1 when `XBUF_ND` was not requested).
    pub fn ndim_out(&self) -> usize {
        if self.give_shape {
            self.shape().len()
        } else {
            1
        }
    }

    /// Whether the consumer receives suboffsets.
    pub fn give_suboffsets(&self) -> bool {
        self.suboffsets.is_some()
    }

    /// Whether the layout is one dimension of contiguous bytes (`shape` can point at `len`
    /// and `strides` at `itemsize`).
    pub fn is_flat_bytes(&self) -> bool {
        self.itemsize == 1
            && self.suboffsets.is_none()
            && self.ndim_out() == 1
            && self.strides.is_none_or(|s| s == [1])
    }
}

impl<'a> Plan<'a> {
    /// The whole of a layout the library made itself (a derived view's), for a view the
    /// library keeps: shape, strides, suboffsets (when indirect) and the format (when known),
    /// without re-checking what the library produced.
    pub(crate) fn of_layout(
        l: &'a crate::layout::Layout,
        readonly: bool,
        format: Option<&'a CStr>,
        table: Option<&'a [*mut u8]>,
        device: (i32, i32),
    ) -> Plan<'a> {
        let suboffsets = l.suboffsets.as_deref();
        let table = table_read(table, suboffsets.is_some(), l.buf);
        Plan {
            buf: l.buf,
            len: l.byte_len() as isize,
            itemsize: l.itemsize,
            readonly,
            internal: std::ptr::null_mut(),
            shape: Some(&l.shape),
            one: 0,
            ndim: l.ndim(),
            strides: Some(&l.strides),
            suboffsets,
            table,
            format: format_text(format),
            give_shape: true,
            give_strides: true,
            give_format: format.is_some(),
            opaque: false,
            device,
        }
    }
}

/// The text of a format as an answer or a view gives it: `"B"` (unsigned bytes) when there is
/// none. The one place that decides what a missing format means.
#[inline]
pub(crate) fn format_text(format: Option<&CStr>) -> &[u8] {
    match format {
        Some(f) => f.to_bytes(),
        None => b"B",
    }
}

/// Checks an exporter's answer to `flags` and decides what the consumer receives.
/// `who` names the exporter in messages.
pub fn plan<'a>(r: &Response<'a>, flags: Flags, who: &CStr) -> Result<Plan<'a>> {
    let who = Who(who);
    let bad = |msg: String| -> Error { err!(BadExporter, "exporter '{who}' {msg}") };
    if r.ndim > XBUF_MAX_NDIM as usize {
        return Err(bad(format!(
            "returned ndim {} (the limit is {})",
            r.ndim, XBUF_MAX_NDIM
        )));
    }
    let device = answer_device(r, flags, &who)?;
    if r.itemsize < 1 {
        return Err(bad(format!(
            "returned itemsize {} (it must be at least 1)",
            r.itemsize
        )));
    }
    if r.len < 0 {
        return Err(bad(format!("returned len {}", r.len)));
    }
    if r.buf.is_null() && r.len != 0 {
        return Err(bad(format!("returned a NULL buf with len {}", r.len)));
    }
    for (name, arr) in [
        ("shape", r.shape),
        ("strides", r.strides),
        ("suboffsets", r.suboffsets),
    ] {
        if let Some(a) = arr {
            if a.len() != r.ndim {
                return Err(bad(format!(
                    "returned {} {} entries for ndim {}",
                    a.len(),
                    name,
                    r.ndim
                )));
            }
        }
    }

    // The shape: given, or implied for a zero- or one-dimensional answer. Without XBUF_ND an
    // exporter may describe more dimensions only as `len` contiguous bytes ("opaque").
    let one = r.len / r.itemsize;
    let mut opaque = false;
    let shape_for_check: &[isize] = match (r.shape, r.ndim) {
        (Some(s), _) => s,
        (None, 0) => &[],
        (None, 1) => std::slice::from_ref(&one),
        (None, n) => {
            if flags.nd() {
                return Err(bad(format!(
                    "returned no shape for ndim {n} although XBUF_ND was requested"
                )));
            }
            if r.strides.is_some() || r.suboffsets.is_some() {
                return Err(bad("returned strides or suboffsets without a shape".into()));
            }
            opaque = true;
            &[]
        }
    };
    if opaque || r.shape.is_none() && r.ndim == 1 {
        if r.len % r.itemsize != 0 {
            return Err(bad(format!(
                "returned len {} that is not a multiple of itemsize {}",
                r.len, r.itemsize
            )));
        }
    } else {
        let expect =
            layout::byte_len(shape_for_check, r.itemsize).map_err(|e| bad(e.message.clone()))?;
        if expect != r.len {
            return Err(bad(format!(
                "returned len {} but shape {:?} with itemsize {} makes {}",
                r.len, shape_for_check, r.itemsize, expect
            )));
        }
    }

    // Suboffsets: keep only when some dimension really is indirect.
    let suboffsets = indirect_part(r.suboffsets);
    require_indirect(suboffsets.is_some(), flags, &who)?;

    // A table of the exporter's own is copied only when the layout reads it: `buf` lies in
    // it and the layout has suboffsets (a layout without them reads its items at `buf`).
    let table = table_read(r.table, suboffsets.is_some() && r.strides.is_some(), r.buf);
    if let (Some(t), Some(subs), Some(strides)) = (table, suboffsets, r.strides) {
        // Every pointer the layout reads before its first indirection lies in the table.
        let first = subs.iter().position(|&x| x >= 0).unwrap_or(0);
        let unit = std::mem::size_of::<*const u8>() as isize;
        let (lo, hi) = layout::extent(&shape_for_check[..=first], &strides[..=first], unit)
            .map_err(|e| bad(e.message.clone()))?;
        let at = (r.buf as usize - t.as_ptr() as usize) as i128;
        let size = std::mem::size_of_val(t);
        let (lo, hi) = (at + lo as i128, at + hi as i128);
        if lo < 0 || hi > size as i128 {
            return Err(bad(format!(
                "describes pointers at bytes {lo}..{hi} of its {size}-byte row-pointer table"
            )));
        }
    }

    // The memory the layout reaches must be addressable.
    if let Some(strides) = r.strides {
        let first_indirect = suboffsets.and_then(|s| s.iter().position(|&x| x >= 0));
        let dims = first_indirect.map_or(shape_for_check.len(), |d| d + 1);
        let unit = if first_indirect.is_some() {
            std::mem::size_of::<*const u8>() as isize
        } else {
            r.itemsize
        };
        let (lo, hi) = layout::extent(&shape_for_check[..dims], &strides[..dims], unit)
            .map_err(|e| bad(e.message.clone()))?;
        layout::check_address_range(r.buf as usize, lo, hi).map_err(|e| bad(e.message.clone()))?;
    } else {
        layout::check_address_range(r.buf as usize, 0, r.len)
            .map_err(|e| bad(e.message.clone()))?;
    }

    // The format: NULL means "B"; given text must agree with itemsize (checked only when the
    // consumer receives it).
    let format = format_text(r.format);
    if flags.format() {
        if r.format.is_none() && r.itemsize != 1 {
            return Err(bad(format!(
                "returned no format for itemsize {} although XBUF_FORMAT was requested",
                r.itemsize
            )));
        }
        let size = format::itemsize(format).map_err(|e| {
            err!(
                Format,
                "exporter '{who}' returned a bad format: {}",
                e.message
            )
        })?;
        if size as isize != r.itemsize {
            return Err(err!(
                Format,
                "exporter '{who}' returned format '{}' of size {} with itemsize {}",
                String::from_utf8_lossy(format),
                size,
                r.itemsize
            ));
        }
    }

    require_access(
        shape_for_check,
        r.strides,
        suboffsets.is_some(),
        r.itemsize,
        r.readonly,
        flags,
        &who,
    )?;

    Ok(Plan {
        buf: r.buf,
        len: r.len,
        itemsize: r.itemsize,
        readonly: r.readonly,
        internal: r.internal,
        shape: r.shape,
        one,
        ndim: r.ndim,
        strides: r.strides,
        suboffsets,
        table,
        format,
        give_shape: flags.nd() && !opaque,
        give_strides: flags.strides() && !opaque,
        give_format: flags.format(),
        opaque,
        device,
    })
}

/// A row-pointer table of the exporter's own, kept only when the layout reads it: it is
/// indirect (`indirect`) and `buf` lies in the table (a layout without suboffsets reads its
/// items at `buf`).
fn table_read(table: Option<&[*mut u8]>, indirect: bool, buf: *mut u8) -> Option<&[*mut u8]> {
    table.filter(|t| {
        indirect
            && t.as_ptr_range()
                .contains(&(buf as *mut *mut u8).cast_const())
    })
}

/// Suboffsets only when some dimension really is indirect.
fn indirect_part(subs: Option<&[isize]>) -> Option<&[isize]> {
    subs.filter(|s| s.iter().any(|&x| x >= 0))
}

/// The INDIRECT rule: an indirect layout only for a request with `XBUF_INDIRECT`.
fn require_indirect(indirect: bool, flags: Flags, who: &Who<'_>) -> Result<()> {
    if indirect && !flags.indirect() {
        bail!(
            Request,
            "exporter '{who}' has an indirect (suboffsets) layout but the request 0x{:x} lacks XBUF_INDIRECT",
            flags.0
        );
    }
    Ok(())
}

/// The bits that the contiguity flags add to `XBUF_STRIDES`.
const CONTIGUITY_BITS: c_int =
    (XBUF_C_CONTIGUOUS | XBUF_F_CONTIGUOUS | XBUF_ANY_CONTIGUOUS) & !XBUF_STRIDES;

/// The rules of WRITABLE, STRIDES and the CONTIGUOUS flags, for a layout of `shape` with
/// `strides` (`None`: C-contiguous).
fn require_access(
    shape: &[isize],
    strides: Option<&[isize]>,
    indirect: bool,
    itemsize: isize,
    readonly: bool,
    flags: Flags,
    who: &Who<'_>,
) -> Result<()> {
    if flags.writable() && readonly {
        bail!(
            ReadOnly,
            "exporter '{who}' has read-only memory but the request 0x{:x} asks for XBUF_WRITABLE",
            flags.0
        );
    }
    if !flags.strides() && !layout::is_contiguous(shape, strides, indirect, itemsize, Order::C) {
        bail!(
            NotContiguous,
            "exporter '{who}' has a non-C-contiguous layout but the request 0x{:x} lacks XBUF_STRIDES",
            flags.0
        );
    }
    if flags.0 & CONTIGUITY_BITS == 0 {
        // No contiguity demanded (the common STRIDES requests): nothing more to check.
        return Ok(());
    }
    for (order, name) in flags.contiguity() {
        if !layout::is_contiguous(shape, strides, indirect, itemsize, order) {
            bail!(
                NotContiguous,
                "exporter '{who}' has a layout that is not {} (shape {:?}, strides {:?}) but the request asks for {name}",
                match order {
                    Order::C => "C-contiguous",
                    Order::F => "Fortran-contiguous",
                    Order::Any => "contiguous in either order",
                },
                shape,
                strides.unwrap_or(&[])
            );
        }
    }
    Ok(())
}

/// Decides what the consumer receives for an answer the library made itself from a layout it
/// checked when it made it (a built-in exporter's, a view's: `Exporter::trusted`): only the
/// request's rules are applied, in the order [`plan`] applies them, none of the checks of an
/// exporter's answer. The answer gives its shape and strides.
pub fn grant<'a>(r: &Response<'a>, flags: Flags, who: &CStr) -> Result<Plan<'a>> {
    let Granted { device, suboffsets } = grant_rules(r, flags, who)?;
    let table = table_read(r.table, suboffsets.is_some(), r.buf);
    Ok(Plan {
        buf: r.buf,
        len: r.len,
        itemsize: r.itemsize,
        readonly: r.readonly,
        internal: r.internal,
        shape: r.shape,
        one: 0,
        ndim: r.ndim,
        strides: r.strides,
        suboffsets,
        table,
        format: format_text(r.format),
        give_shape: flags.nd(),
        give_strides: flags.strides(),
        give_format: flags.format(),
        opaque: false,
        device,
    })
}

/// What [`grant_rules`] decides beyond the request's flags: the device the consumer's view
/// names and the suboffsets it receives (only when some dimension really is indirect).
pub(crate) struct Granted<'a> {
    pub device: (i32, i32),
    pub suboffsets: Option<&'a [isize]>,
}

/// The request's rules on a trusted answer, in the order [`plan`] applies them: the one
/// decision behind [`grant`] and the direct writing of a view from a trusted answer.
#[inline]
pub(crate) fn grant_rules<'a>(r: &Response<'a>, flags: Flags, who: &CStr) -> Result<Granted<'a>> {
    // The common case decided at once: CPU memory without suboffsets, a STRIDES request
    // demanding no contiguity, and no WRITABLE demand on read-only memory. Every rule below
    // then passes.
    let strided = flags.0 & (XBUF_STRIDES | CONTIGUITY_BITS) == XBUF_STRIDES;
    if strided
        && r.suboffsets.is_none()
        && (r.device.0 == 0 || r.device.0 == XBUF_DEVICE_CPU)
        && !(r.readonly && flags.writable())
    {
        let device = if r.device.0 == 0 {
            (XBUF_DEVICE_CPU, 0)
        } else {
            r.device
        };
        return Ok(Granted {
            device,
            suboffsets: None,
        });
    }
    grant_rules_all(r, flags, who)
}

/// [`grant_rules`] rule by rule.
#[inline(never)]
fn grant_rules_all<'a>(r: &Response<'a>, flags: Flags, who: &CStr) -> Result<Granted<'a>> {
    let who = Who(who);
    let device = answer_device(r, flags, &who)?;
    let shape = r.shape.unwrap_or(&[]);
    debug_assert!(r.shape.is_some() && r.strides.is_some() && r.ndim == shape.len());
    let suboffsets = indirect_part(r.suboffsets);
    require_indirect(suboffsets.is_some(), flags, &who)?;
    require_access(
        shape,
        r.strides,
        suboffsets.is_some(),
        r.itemsize,
        r.readonly,
        flags,
        &who,
    )?;
    Ok(Granted { device, suboffsets })
}

/// The answer's device (`(0, _)`, an answer that named none, is the CPU's), checked by
/// [`check_device`] when it is not the CPU.
fn answer_device(r: &Response<'_>, flags: Flags, who: &Who<'_>) -> Result<(i32, i32)> {
    let device = match r.device {
        (0, _) => (XBUF_DEVICE_CPU, 0),
        d => d,
    };
    if device.0 != XBUF_DEVICE_CPU {
        check_device(r, flags, device, who)?;
    }
    Ok(device)
}

/// The rules for memory on a device other than the CPU: only a request with `XBUF_DEVICE`
/// receives it, and never with suboffsets (the pointer tables would have to be read).
#[cold]
fn check_device(r: &Response<'_>, flags: Flags, device: (i32, i32), who: &Who<'_>) -> Result<()> {
    if device.0 < 0 {
        bail!(
            BadExporter,
            "exporter '{who}' returned device_type {} (DLPack device codes are positive)",
            device.0
        );
    }
    if !flags.device() {
        bail!(
            Request,
            "exporter '{who}' has memory on device {} (id {}), not the CPU, but the request 0x{:x} lacks XBUF_DEVICE",
            device.0,
            device.1,
            flags.0
        );
    }
    if r.suboffsets.is_some_and(|s| s.iter().any(|&x| x >= 0)) {
        bail!(
            BadExporter,
            "exporter '{who}' returned suboffsets for memory on device {}: indirect layouts are CPU memory only",
            device.0
        );
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
