//! The README's Rust example, compiled and run; the second test fails when the README's
//! ```rust block is not, line for line, the body of the first.

#![cfg(feature = "ndarray")]

#[test]
fn readme_rust_example() -> xbuf::Result<()> {
    // README begin
    use xbuf::{Object, Request, Slice, View};

    // A 2x3 float32 array, lent without copying.
    let obj = Object::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    // A buffer of it, read as &[f32] (checked against the format "f") and as an ndarray view
    // (feature "ndarray").
    let buf = obj.buffer(Request::FULL_RO)?;
    let values: &[f32] = buf.as_slice()?;
    let a: ndarray::ArrayView2<f32> = buf.as_array()?;
    // memoryview's operations, in every dimension: rows reversed, every second column.
    let flip = Slice::new(None, None, Some(-1));
    let every_2nd = Slice::new(None, None, Some(2));
    let view = View::new(&obj, Request::FULL_RO)?.slice(&[flip, every_2nd])?;
    assert_eq!(view.tolist()?, "[[4.0, 6.0], [1.0, 3.0]]");
    // README end
    assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(a[[1, 2]], 6.0);
    Ok(())
}

#[test]
fn the_readme_shows_this_example() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```rust\n")
        .expect("README.md has no ```rust block")
        + 8;
    let block = &readme[start..];
    let block = &block[..block.find("```\n").expect("unterminated block")];
    let me = include_str!("readme_rust.rs");
    let body =
        &me[me.find("// README begin\n").unwrap() + 16..me.find("    // README end").unwrap()];
    let body: String = body
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert_eq!(block, body);
}
