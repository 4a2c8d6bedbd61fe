//! The Arrow type of an item format and the Arrow layout (flat or tensor) of a view.

use std::ffi::CStr;

use crate::bail;
use crate::format::{self, ByteOrder, FieldType, Kind};
use crate::layout::Order;
use crate::status::Result;

use super::metadata::Axes;

/// The Arrow type of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    /// A primitive Arrow type by its format string.
    Primitive(&'static CStr),
    /// `arrow.bool8` on `c`.
    Bool8,
    /// Fixed-size binary of this many bytes, carrying the PEP 3118 format.
    Binary(usize),
}

/// The Arrow type for items of the PEP 3118 format `fmt` (`None`: `"B"`).
#[inline]
pub fn item_type(fmt: Option<&[u8]>, itemsize: usize) -> Result<ItemType> {
    let Some(fmt) = fmt else {
        return Ok(if itemsize == 1 {
            ItemType::Primitive(c"C")
        } else {
            ItemType::Binary(itemsize)
        });
    };
    // One native code, as most views have: no parse needed (the request already checked
    // that `itemsize` is the code's size).
    if let [code] | [b'@', code] = fmt {
        if let Some(t) = native_code(*code, itemsize) {
            return Ok(t);
        }
    }
    remembered_item_type(fmt, itemsize)
}

/// [`item_type`] of a format that is not one native code: remembered, or parsed.
#[inline(never)]
fn remembered_item_type(fmt: &[u8], itemsize: usize) -> Result<ItemType> {
    super::memo::item_type(fmt, itemsize, || parsed_item_type(fmt, itemsize))
}

/// [`item_type`] of a format that needs the parser.
pub(super) fn parsed_item_type(fmt: &[u8], itemsize: usize) -> Result<ItemType> {
    let f = format::parse(fmt)?;
    let scalar = match f.top_field() {
        Some(field) if field.shape.is_empty() && f.itemsize() == itemsize => match &field.ty {
            FieldType::Scalar(s) => Some(s),
            FieldType::Struct(_) => None,
        },
        _ => None,
    };
    let Some(s) = scalar else {
        return Ok(ItemType::Binary(itemsize));
    };
    let native = s.size == 1 || s.order == ByteOrder::NATIVE;
    if native && s.kind == Kind::Bool && s.size == 1 {
        return Ok(ItemType::Bool8);
    }
    Ok(match primitive(s.kind, s.size).filter(|_| native) {
        Some(c) => ItemType::Primitive(c),
        None => ItemType::Binary(itemsize),
    })
}

/// The Arrow type of a lone native struct code whose size is `size`; `None` for the codes that
/// need the full parse.
#[inline]
fn native_code(code: u8, size: usize) -> Option<ItemType> {
    let kind = match code {
        b'b' | b'h' | b'i' | b'l' | b'q' | b'n' => Kind::Int,
        b'B' | b'H' | b'I' | b'L' | b'Q' | b'N' => Kind::UInt,
        b'e' | b'f' | b'd' => Kind::Float,
        b'?' if size == 1 => return Some(ItemType::Bool8),
        _ => return None,
    };
    primitive(kind, size).map(ItemType::Primitive)
}

/// The Arrow format of a native scalar.
#[inline]
fn primitive(kind: Kind, size: usize) -> Option<&'static CStr> {
    Some(match (kind, size) {
        (Kind::Int, 1) => c"c",
        (Kind::Int, 2) => c"s",
        (Kind::Int, 4) => c"i",
        (Kind::Int, 8) => c"l",
        (Kind::UInt, 1) => c"C",
        (Kind::UInt, 2) => c"S",
        (Kind::UInt, 4) => c"I",
        (Kind::UInt, 8) => c"L",
        (Kind::Float, 2) => c"e",
        (Kind::Float, 4) => c"f",
        (Kind::Float, 8) => c"g",
        _ => return None,
    })
}

/// How the items of a view are laid out as an Arrow array.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// A flat array of this many items.
    Flat(isize),
    /// `arrow.fixed_shape_tensor`: `length` tensors of the physical (row-major) shape `shape`;
    /// `permutation[i]` is the physical axis of logical axis `i` (`None`: the identity).
    Tensor {
        length: isize,
        shape: Axes<isize>,
        permutation: Option<Axes<usize>>,
    },
}

/// Plans the Arrow layout of a view (`strides` `None`: C-contiguous).
pub fn plan(shape: &[isize], strides: Option<&[isize]>, itemsize: isize) -> Result<Plan> {
    let Some(strides) = strides else {
        return Ok(match shape {
            [] => Plan::Flat(1),
            [n] => Plan::Flat(*n),
            [n, rest @ ..] => Plan::Tensor {
                length: *n,
                shape: Axes::from_slice(rest),
                permutation: None,
            },
        });
    };
    match shape {
        [] => return Ok(Plan::Flat(1)),
        [n] if *n <= 1 || strides[0] == itemsize => return Ok(Plan::Flat(*n)),
        [n] => bail!(
            NotContiguous,
            "the view's {n} items lie {} bytes apart, not {itemsize}: an Arrow array needs \
             contiguous items (copy the view first)",
            strides[0]
        ),
        _ => {}
    }
    let n = shape.len();
    let tensor = 1..n;
    if shape.contains(&0) {
        return Ok(Plan::Tensor {
            length: shape[0],
            shape: Axes::from_slice(&shape[1..]),
            permutation: None,
        });
    }
    if c_strides_exactly(shape, strides, itemsize)
        || crate::layout::is_contiguous(shape, Some(strides), false, itemsize, Order::C)
    {
        return Ok(Plan::Tensor {
            length: shape[0],
            shape: Axes::from_slice(&shape[1..]),
            permutation: None,
        });
    }
    // The tensor axes of extent > 1 from the outermost (largest stride) in; then those of
    // extent 1 (whose strides never matter) each before the first axis after it in logical
    // order, so that a C-contiguous layout gets the identity.
    let mut order: Axes<usize> = Axes::new();
    for d in tensor.clone().filter(|&d| shape[d] > 1) {
        order.push(d);
    }
    order.sort_by_key(|&d| std::cmp::Reverse(strides[d]));
    for d in tensor.clone().filter(|&d| shape[d] == 1) {
        let at = order.iter().position(|&e| e > d).unwrap_or(order.len());
        order.push(d);
        order[at..].rotate_right(1);
    }
    // Arrow needs axis 0 outermost, so that each tensor is one contiguous run.
    let mut step = itemsize;
    let mut runs = true;
    for &d in order.iter().rev() {
        if shape[d] > 1 && strides[d] != step {
            runs = false;
            break;
        }
        step = step.saturating_mul(shape[d]);
    }
    if !runs || (shape[0] > 1 && strides[0] != step) {
        if !layout_contiguous_any(shape, strides, itemsize) {
            bail!(
                NotContiguous,
                "shape {shape:?} with strides {strides:?} is not contiguous in any order of \
                 the axes (copy the view first)"
            );
        }
        bail!(
            NotContiguous,
            "shape {shape:?} with strides {strides:?}: axis 0 is not the outermost axis, but \
             an Arrow tensor array stores each of its {} tensors as one contiguous run (copy \
             the view to C order, or transpose it, first)",
            shape[0]
        );
    }
    let mut physical: Axes<isize> = Axes::new();
    for &d in order.iter() {
        physical.push(shape[d]);
    }
    let mut permutation: Axes<usize> = Axes::from_slice(&order);
    for (j, &d) in order.iter().enumerate() {
        permutation[d - 1] = j;
    }
    let identity = permutation.iter().enumerate().all(|(i, &p)| i == p);
    Ok(Plan::Tensor {
        length: shape[0],
        shape: physical,
        permutation: (!identity).then_some(permutation),
    })
}

/// Whether `strides` are exactly the C-order strides of `shape` for items of `itemsize` bytes
/// (every axis, extent 1 included): the common C-contiguous layout, recognised without the
/// general check (which also accepts any stride on an axis of extent 1).
#[inline]
pub(super) fn c_strides_exactly(shape: &[isize], strides: &[isize], itemsize: isize) -> bool {
    let mut step = itemsize;
    for (&n, &s) in shape.iter().zip(strides).rev() {
        if s != step {
            return false;
        }
        match step.checked_mul(n) {
            Some(next) => step = next,
            None => return false,
        }
    }
    true
}

fn layout_contiguous_any(shape: &[isize], strides: &[isize], itemsize: isize) -> bool {
    let mut dims: Vec<usize> = (0..shape.len()).filter(|&d| shape[d] > 1).collect();
    dims.sort_by_key(|&d| std::cmp::Reverse(strides[d]));
    let mut step = itemsize;
    for &d in dims.iter().rev() {
        if strides[d] != step {
            return false;
        }
        match step.checked_mul(shape[d]) {
            Some(s) => step = s,
            None => return false,
        }
    }
    true
}
