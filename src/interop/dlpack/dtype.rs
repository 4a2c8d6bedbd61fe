//! PEP 3118 item formats and DLPack data types, both ways, and the devices an import accepts.

use std::ffi::CStr;

use crate::status::Result;
use crate::{bail, err};

use super::{code, device, DLDataType, DLDevice};

/// The DLPack data type of one item of format `fmt` (`itemsize` bytes, already checked against
/// the format by the library): a single integer, float, complex or bool scalar in native byte
/// order. Anything else is refused with a message saying why.
pub(crate) fn dtype_of_format(fmt: &[u8], itemsize: isize) -> Result<DLDataType> {
    let (order, rest) = match fmt.first() {
        Some(&c @ (b'@' | b'=' | b'<' | b'>' | b'!')) => (c, &fmt[1..]),
        _ => (b'@', fmt),
    };
    let native_little = cfg!(target_endian = "little");
    let native = match order {
        b'<' => native_little,
        b'>' | b'!' => !native_little,
        _ => true,
    };
    let kind = match rest {
        [b'b' | b'h' | b'i' | b'l' | b'q' | b'n'] => Some(code::INT),
        [b'B' | b'H' | b'I' | b'L' | b'Q' | b'N'] => Some(code::UINT),
        [b'e' | b'f' | b'd'] => Some(code::FLOAT),
        [b'Z', b'f' | b'd'] => Some(code::COMPLEX),
        [b'?'] => Some(code::BOOL),
        _ => None,
    };
    let text = || String::from_utf8_lossy(fmt).into_owned();
    match kind {
        Some(_) if !native => bail!(
            Format,
            "format '{}' is in non-native byte order; DLPack tensors hold native-order items",
            text()
        ),
        Some(code) => {
            let bits = itemsize
                .checked_mul(8)
                .and_then(|b| u8::try_from(b).ok())
                .ok_or_else(|| err!(Format, "format '{}' has {itemsize}-byte items", text()))?;
            Ok(DLDataType {
                code,
                bits,
                lanes: 1,
            })
        }
        None => Err(format_refusal(fmt)),
    }
}

/// Why a format has no DLPack data type.
#[cold]
fn format_refusal(fmt: &[u8]) -> crate::status::Error {
    let text = String::from_utf8_lossy(fmt);
    let body = match fmt.first() {
        Some(b'@' | b'=' | b'<' | b'>' | b'!') => &fmt[1..],
        _ => fmt,
    };
    let why = if body.contains(&b'T') && body.contains(&b'{') {
        "a struct (T{...}) has no DLPack data type"
    } else if body.contains(&b':') {
        "named fields have no DLPack data type"
    } else if body.contains(&b'(') {
        "a sub-array ((n)x) has no DLPack data type; cast the view to add its dimensions"
    } else if body == b"g" || body == b"Zg" {
        "long double ('g') has no DLPack data type"
    } else if body == b"Ze" {
        "complex half ('Ze') has no DLPack data type"
    } else if body.first().is_some_and(u8::is_ascii_digit) {
        "a repeat count makes several values per item; DLPack items are one scalar"
    } else {
        "only the integer codes b B h H i I l L q Q n N, the floats e f d, the complex Zf Zd and the bool ? have DLPack data types"
    };
    err!(
        Format,
        "format '{text}' cannot be exported to DLPack: {why}"
    )
}

/// The PEP 3118 format (native, fixed size) of a DLPack data type, and its item size.
pub(crate) fn format_of_dtype(t: DLDataType) -> Result<(&'static CStr, isize)> {
    if t.lanes != 1 {
        bail!(
            Unsupported,
            "DLPack data type (code {}, bits {}) has {} lanes; vector types have no PEP 3118 format",
            t.code,
            t.bits,
            t.lanes
        );
    }
    if t.bits == 0 || t.bits % 8 != 0 {
        bail!(
            Unsupported,
            "DLPack data type (code {}) has {} bits; sub-byte types are not supported",
            t.code,
            t.bits
        );
    }
    let f: Option<&'static CStr> = match (t.code, t.bits) {
        (code::INT, 8) => Some(c"b"),
        (code::INT, 16) => Some(c"h"),
        (code::INT, 32) => Some(c"i"),
        (code::INT, 64) => Some(c"q"),
        (code::UINT, 8) => Some(c"B"),
        (code::UINT, 16) => Some(c"H"),
        (code::UINT, 32) => Some(c"I"),
        (code::UINT, 64) => Some(c"Q"),
        (code::FLOAT, 16) => Some(c"e"),
        (code::FLOAT, 32) => Some(c"f"),
        (code::FLOAT, 64) => Some(c"d"),
        (code::COMPLEX, 64) => Some(c"Zf"),
        (code::COMPLEX, 128) => Some(c"Zd"),
        (code::BOOL, 8) => Some(c"?"),
        _ => None,
    };
    match f {
        Some(f) => Ok((f, isize::from(t.bits / 8))),
        None => {
            let name = match t.code {
                code::INT => "int",
                code::UINT => "uint",
                code::FLOAT => "float",
                code::OPAQUE_HANDLE => "opaque handle",
                code::BFLOAT => "bfloat",
                code::COMPLEX => "complex",
                code::BOOL => "bool",
                _ => "unknown",
            };
            bail!(
                Unsupported,
                "DLPack data type {name} (code {}) of {} bits has no PEP 3118 format",
                t.code,
                t.bits
            )
        }
    }
}

/// Refuses devices whose `data` is not an address (an opaque handle) or whose code this
/// library does not know.
pub(crate) fn check_import_device(d: DLDevice) -> Result<()> {
    match d.device_type {
        device::OPENCL | device::VULKAN | device::METAL | device::WEBGPU => bail!(
            Unsupported,
            "DLPack device type {} keeps an opaque handle in data, not an address",
            d.device_type
        ),
        device::EXT_DEV => bail!(
            Unsupported,
            "DLPack device type {} (kDLExtDev) has no defined memory semantics",
            d.device_type
        ),
        t if !(device::CPU..=device::LAST_KNOWN).contains(&t) || t == 5 || t == 6 => bail!(
            Unsupported,
            "DLPack device type {t} is not a device type this library knows"
        ),
        _ => Ok(()),
    }
}
