//! Reads a 2-D float32 view as `&[f32]` and as an `ndarray::ArrayView2`, without `unsafe`.

#![forbid(unsafe_code)]

use xbuf::{Object, Request, Slice, View};

fn main() -> xbuf::Result<()> {
    let obj = Object::from_vec((0..6).map(|x| x as f32 * 0.5).collect(), &[2, 3])?;

    let buf = obj.buffer(Request::FULL_RO)?;
    let flat: &[f32] = buf.as_slice()?;
    assert_eq!(flat, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);

    let a: ndarray::ArrayView2<f32> = buf.as_array()?;
    assert_eq!(a, ndarray::arr2(&[[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]]));

    // A strided view (rows reversed, every second column): no slice, but an array view.
    let view = View::new(&obj, Request::FULL_RO)?;
    let strided = view.slice(&[Slice::new(None, None, Some(-1)), Slice::new(None, None, Some(2))])?;
    let sbuf = strided.buffer(Request::FULL_RO)?;
    assert!(sbuf.as_slice::<f32>().is_err());
    let s: ndarray::ArrayView2<f32> = sbuf.as_array()?;
    assert_eq!(s, ndarray::arr2(&[[1.5, 2.5], [0.0, 1.0]]));

    println!("{flat:?}\n{a}\n{s}");
    println!("dependent ok");
    Ok(())
}
