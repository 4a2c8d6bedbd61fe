//! The safe Rust API from outside the crate, as a dependent uses it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use xbuf::{ExportLayout, Exporter, MmapMode, Object, Order, Request, Slice, Status, View};

fn grid() -> Object {
    Object::from_vec((0..12).map(|x| x as f32).collect(), &[3, 4]).unwrap()
}

#[test]
fn references_and_exports() {
    let obj = Object::bytearray(b"hello").unwrap();
    assert_eq!(obj.type_name(), "bytearray");
    assert_eq!((obj.refcount(), obj.exports()), (1, 0));
    let other = obj.clone();
    assert_eq!(obj.refcount(), 2);
    drop(other);
    assert_eq!(obj.refcount(), 1);
    {
        let buf = obj.buffer(Request::SIMPLE).unwrap();
        assert_eq!(obj.exports(), 1);
        assert_eq!(buf.as_bytes().unwrap(), b"hello");
        assert_eq!(
            (buf.format(), buf.shape(), buf.strides()),
            ("B", &[5usize][..], &[1isize][..])
        );
        // Resizing is refused while the buffer lives.
        let e = obj.resize(10).unwrap_err();
        assert_eq!(e.status(), Status::Busy);
        assert!(e.message().contains("export"), "{e}");
    }
    assert_eq!(obj.exports(), 0);
    obj.resize(2).unwrap();
    assert_eq!(
        obj.buffer(Request::SIMPLE).unwrap().as_bytes().unwrap(),
        b"he"
    );
}

#[test]
fn read_only_memory_refuses_writable_requests() {
    let obj = Object::from_bytes(b"abc").unwrap();
    let e = obj.buffer(Request::WRITABLE).unwrap_err();
    assert_eq!(e.status(), Status::Readonly);
    let mut buf = obj.buffer(Request::FULL_RO).unwrap();
    assert!(buf.readonly());
    assert_eq!(
        buf.as_mut_slice::<u8>().unwrap_err().status(),
        Status::Readonly
    );
}

#[test]
fn typed_access_is_checked_against_the_format() {
    let obj = grid();
    let buf = obj.buffer(Request::FULL_RO).unwrap();
    assert_eq!(
        (buf.format(), buf.shape(), buf.strides()),
        ("f", &[3usize, 4][..], &[16isize, 4][..])
    );
    assert_eq!(buf.as_slice::<f32>().unwrap()[5], 5.0);
    let e = buf.as_slice::<i32>().unwrap_err();
    assert_eq!(e.status(), Status::Format);
    assert!(
        e.message().contains("'f'") && e.message().contains("'i'"),
        "{e}"
    );
    assert_eq!(buf.as_slice::<f64>().unwrap_err().status(), Status::Format);
    // Without FORMAT the items are bytes ("B"): f32 no longer matches.
    let raw = obj.buffer(Request::SIMPLE).unwrap();
    assert_eq!(raw.format(), "B");
    assert_eq!(raw.as_slice::<u8>().unwrap().len(), 48);
    assert!(raw.as_slice::<f32>().is_err());
}

#[test]
fn misaligned_items_are_not_a_slice() {
    let obj = Object::bytearray(&[0u8; 12]).unwrap();
    // An offset that puts the floats at an address that is not a multiple of 4.
    let base = obj.buffer(Request::SIMPLE).unwrap().as_raw().buf as usize;
    let k = (1..4).find(|k| (base + k) % 4 != 0).unwrap();
    {
        let mut w = obj.buffer(Request::CONTIG).unwrap();
        let bytes = w.as_mut_slice::<u8>().unwrap();
        bytes[k..k + 4].copy_from_slice(&1.5f32.to_ne_bytes());
        bytes[k + 4..k + 8].copy_from_slice(&2.5f32.to_ne_bytes());
    }
    let view = View::new(&obj, Request::FULL_RO).unwrap();
    let odd = view
        .slice(&[Slice::new(Some(k as isize), Some(k as isize + 8), None)])
        .unwrap();
    let odd = odd.cast("f", None).unwrap();
    let buf = odd.buffer(Request::FULL_RO).unwrap();
    let e = buf.as_slice::<f32>().unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("not aligned"), "{e}");
    // Item by item works at any address.
    assert_eq!(buf.iter::<f32>().unwrap().collect::<Vec<_>>(), [1.5, 2.5]);
}

#[test]
fn strided_views_iterate_in_c_order() {
    let obj = grid();
    let view = View::new(&obj, Request::FULL_RO).unwrap();
    let t = view.transpose().unwrap();
    let buf = t.buffer(Request::FULL_RO).unwrap();
    assert_eq!(
        (buf.shape(), buf.strides()),
        (&[4usize, 3][..], &[4isize, 16][..])
    );
    assert_eq!(
        buf.as_slice::<f32>().unwrap_err().status(),
        Status::NotContiguous
    );
    let items: Vec<f32> = buf.iter::<f32>().unwrap().collect();
    assert_eq!(items, [0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]);
    // A contiguous request of a transposed view is refused by the library.
    assert_eq!(
        t.buffer(Request::CONTIG_RO).unwrap_err().status(),
        Status::NotContiguous
    );
    let rev = view
        .slice(&[
            Slice::new(None, None, Some(-2)),
            Slice::new(Some(-1), None, Some(-3)),
        ])
        .unwrap();
    let items: Vec<f32> = rev
        .buffer(Request::FULL_RO)
        .unwrap()
        .iter()
        .unwrap()
        .collect();
    assert_eq!(items, [11., 8., 3., 0.]);
    assert_eq!(rev.tolist().unwrap(), "[[11.0, 8.0], [3.0, 0.0]]");
    assert_eq!(buf.items().count(), 12);
}

#[test]
fn view_operations() {
    let obj = grid();
    let view = View::new(&obj, Request::FULL_RO).unwrap();
    assert_eq!(
        view.index(&[-1]).unwrap().tolist().unwrap(),
        "[8.0, 9.0, 10.0, 11.0]"
    );
    assert_eq!(view.index(&[3]).unwrap_err().status(), Status::OutOfBounds);
    let p = view.permute(&[1, 0]).unwrap();
    assert!(p.equal(&view.transpose().unwrap()).unwrap());
    assert!(!p.equal(&view).unwrap());
    assert_eq!(
        view.permute(&[0, 0]).unwrap_err().status(),
        Status::InvalidArgument
    );
    let bytes = view.cast("B", None).unwrap();
    assert_eq!(bytes.buffer(Request::FULL_RO).unwrap().shape(), &[48]);
    let as_i = view.cast("<i", Some(&[2, 6])).unwrap();
    assert_eq!(
        as_i.buffer(Request::FULL_RO)
            .unwrap()
            .as_slice::<i32>()
            .unwrap()[1],
        1.0f32.to_bits() as i32
    );
    assert_eq!(
        view.cast("<i", Some(&[5])).unwrap_err().status(),
        Status::InvalidArgument
    );
    assert_eq!(view.cast("T{", None).unwrap_err().status(), Status::Format);
    let c = view.tobytes(Order::C).unwrap();
    let f = view.tobytes(Order::F).unwrap();
    assert_eq!(c.len(), 48);
    assert_eq!(f32::from_ne_bytes(f[4..8].try_into().unwrap()), 4.0);
    let small = View::new(
        &Object::from_bytes(&[0xde, 0xad]).unwrap(),
        Request::FULL_RO,
    )
    .unwrap();
    assert_eq!(small.hex().unwrap(), "dead");
    // FNV-1a of the two bytes.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in [0xdeu8, 0xad] {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    assert_eq!(small.hash().unwrap(), h);
    small.release().unwrap();
    assert_eq!(small.tolist().unwrap_err().status(), Status::Released);
}

#[test]
fn a_view_outlives_its_object() {
    let view = View::new(&grid(), Request::FULL_RO).unwrap();
    let row = view.index(&[1]).unwrap();
    drop(view);
    assert_eq!(
        row.buffer(Request::FULL_RO)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        [4.0, 5.0, 6.0, 7.0]
    );
}

#[test]
fn writable_buffers_borrow_exclusively() {
    let obj = Object::from_vec(vec![0u16; 6], &[2, 3]).unwrap();
    let view = View::new(&obj, Request::FULL).unwrap();
    {
        let mut w = obj.buffer(Request::FULL).unwrap();
        w.as_mut_slice::<u16>()
            .unwrap()
            .copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        let e = obj.buffer(Request::FULL_RO).unwrap_err();
        assert_eq!(e.status(), Status::Busy);
        assert!(e.message().contains("overlaps a writable buffer"), "{e}");
        // Reads through a view of the same memory wait for the borrow too.
        assert_eq!(view.tolist().unwrap_err().status(), Status::Busy);
        assert_eq!(w.as_slice::<u16>().unwrap(), [1, 2, 3, 4, 5, 6]);
    }
    assert_eq!(view.tolist().unwrap(), "[[1, 2, 3], [4, 5, 6]]");
    // Shared buffers coexist; a writable one cannot join them.
    let a = obj.buffer(Request::FULL_RO).unwrap();
    let b = view.index(&[1]).unwrap();
    let b = b.buffer(Request::FULL_RO).unwrap();
    assert_eq!(b.as_slice::<u16>().unwrap(), [4, 5, 6]);
    assert_eq!(
        obj.buffer(Request::FULL).unwrap_err().status(),
        Status::Busy
    );
    drop((a, b));
    // A shared buffer gives no mutable slice even on writable memory.
    let mut r = obj.buffer(Request::FULL_RO).unwrap();
    assert!(!r.readonly());
    assert_eq!(
        r.as_mut_slice::<u16>().unwrap_err().status(),
        Status::Readonly
    );
}

#[test]
fn mmap_files() {
    let path = std::env::temp_dir().join(format!("xbuf-api-mmap-{}", std::process::id()));
    std::fs::write(&path, 1.5f64.to_le_bytes()).unwrap();
    {
        let obj = Object::mmap(&path, MmapMode::Read).unwrap();
        let view = View::new(&obj, Request::FULL_RO)
            .unwrap()
            .cast("<d", None)
            .unwrap();
        assert_eq!(view.tolist().unwrap(), "[1.5]");
        assert_eq!(
            obj.buffer(Request::WRITABLE).unwrap_err().status(),
            Status::Readonly
        );
        let copy = Object::mmap(&path, MmapMode::Copy).unwrap();
        let mut b = copy.buffer(Request::CONTIG).unwrap();
        b.as_mut_slice::<u8>().unwrap()[0] = 9;
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        1.5f64.to_le_bytes(),
        "a copy-on-write mapping changed the file"
    );
    std::fs::remove_file(&path).unwrap();
    let e = Object::mmap(&path, MmapMode::Read).unwrap_err();
    assert_eq!(e.status(), Status::Io);
    assert!(e.message().contains("xbuf-api-mmap"), "{e}");
}

/// A column of a row-major matrix, lent upside down: a negative stride.
struct Column {
    data: Vec<i64>,
    shape: [isize; 1],
    strides: [isize; 1],
    dropped: Arc<AtomicBool>,
    panic: bool,
}

// SAFETY: `data` owns the memory, is never resized, and the exporter never touches it.
unsafe impl Exporter for Column {
    fn layout(&self) -> ExportLayout<'_> {
        if self.panic {
            panic!("exporter bug");
        }
        ExportLayout {
            // The last row's element: the item with index 0.
            buf: self.data[self.data.len() - 3..].as_ptr() as *mut u8,
            readonly: true,
            format: c"q",
            itemsize: 8,
            shape: &self.shape,
            strides: &self.strides,
        }
    }

    fn name(&self) -> &str {
        "column"
    }
}

impl Drop for Column {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

fn column(panic: bool) -> (Object, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicBool::new(false));
    let e = Column {
        data: (0..12).collect(),
        shape: [4],
        strides: [-24],
        dropped: dropped.clone(),
        panic,
    };
    (Object::from_exporter(e).unwrap(), dropped)
}

#[test]
fn rust_exporters() {
    let (obj, dropped) = column(false);
    assert_eq!(obj.type_name(), "column");
    let buf = obj.buffer(Request::FULL_RO).unwrap();
    assert_eq!(
        (buf.shape(), buf.strides()),
        (&[4usize][..], &[-24isize][..])
    );
    assert_eq!(buf.iter::<i64>().unwrap().collect::<Vec<_>>(), [9, 6, 3, 0]);
    // What the layout cannot give is refused with the matching status.
    assert_eq!(
        obj.buffer(Request::CONTIG_RO).unwrap_err().status(),
        Status::NotContiguous
    );
    let e = obj.buffer(Request::FULL).unwrap_err();
    assert_eq!(e.status(), Status::Readonly);
    assert!(e.message().contains("column"), "{e}");
    drop(buf);
    // The exporter lives until the last reference and the last export (here a view's) are
    // gone.
    let view = View::new(&obj, Request::FULL_RO).unwrap();
    drop(obj);
    assert!(!dropped.load(Ordering::SeqCst));
    assert_eq!(view.tolist().unwrap(), "[9, 6, 3, 0]");
    drop(view);
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_panicking_exporter_is_an_error() {
    let (obj, _) = column(true);
    let e = obj.buffer(Request::FULL_RO).unwrap_err();
    assert_eq!(e.status(), Status::Panic);
    assert!(e.message().contains("panicked"), "{e}");
}

#[test]
fn objects_are_shared_between_threads() {
    let obj = grid();
    let sums: Vec<f32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let obj = obj.clone();
                s.spawn(move || {
                    let view = View::new(&obj, Request::FULL_RO).unwrap();
                    let row = view.index(&[(t % 3) as isize]).unwrap();
                    let buf = row.buffer(Request::FULL_RO).unwrap();
                    buf.as_slice::<f32>().unwrap().iter().sum::<f32>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sums, [6.0, 22.0, 38.0, 6.0]);
    assert_eq!((obj.refcount(), obj.exports()), (1, 0));
}

#[cfg(feature = "ndarray")]
mod with_ndarray {
    use ndarray::{arr2, Array2, Axis, Ix1, Ix2, IxDyn};

    use super::*;

    #[test]
    fn buffers_as_arrays() {
        let obj = grid();
        let view = View::new(&obj, Request::FULL_RO).unwrap();
        let flipped = view
            .slice(&[
                Slice::new(None, None, Some(-1)),
                Slice::new(None, None, Some(-2)),
            ])
            .unwrap();
        let buf = flipped.buffer(Request::FULL_RO).unwrap();
        let a = buf.as_array::<f32, Ix2>().unwrap();
        assert_eq!(a, arr2(&[[11.0, 9.0], [7.0, 5.0], [3.0, 1.0]]));
        let d = buf.as_array::<f32, IxDyn>().unwrap();
        assert_eq!(d.shape(), &[3, 2]);
        assert_eq!(
            buf.as_array::<f32, Ix1>().unwrap_err().status(),
            Status::InvalidArgument
        );
        assert_eq!(
            buf.as_array::<f64, Ix2>().unwrap_err().status(),
            Status::Format
        );
        // Strides that are not whole items have no ndarray form.
        let odd = Object::from_exporter(Odd(vec![0u16; 8])).unwrap();
        let b = odd.buffer(Request::FULL_RO).unwrap();
        assert_eq!(b.iter::<u16>().unwrap().count(), 3);
        let e = b.as_array::<u16, Ix1>().unwrap_err();
        assert_eq!(e.status(), Status::Unsupported);
        assert!(e.message().contains("stride 5"), "{e}");
    }

    /// Three u16 items, 5 bytes apart.
    struct Odd(Vec<u16>);

    // SAFETY: the vector owns the memory and is never changed.
    unsafe impl Exporter for Odd {
        fn layout(&self) -> ExportLayout<'_> {
            ExportLayout {
                buf: self.0.as_ptr() as *mut u8,
                readonly: true,
                format: c"=H",
                itemsize: 2,
                shape: &[3],
                strides: &[5],
            }
        }
    }

    #[test]
    fn arrays_as_objects() {
        let mut a: Array2<i32> = Array2::from_shape_fn((3, 4), |(r, c)| (r * 10 + c) as i32);
        a.invert_axis(Axis(0));
        let t = a.reversed_axes();
        let obj = Object::from_array(t.clone()).unwrap();
        let buf = obj.buffer(Request::FULL_RO).unwrap();
        assert_eq!(buf.shape(), &[4, 3]);
        assert_eq!(buf.strides(), &[4, -16]);
        assert_eq!(buf.as_array::<i32, Ix2>().unwrap(), t);
        assert_eq!(
            View::new(&obj, Request::FULL_RO)
                .unwrap()
                .index(&[0])
                .unwrap()
                .tolist()
                .unwrap(),
            "[20, 10, 0]"
        );
    }
}
