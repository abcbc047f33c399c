//! Signal ops of `sovits_core::nn::signal` against torch: reflect padding as
//! `F.pad(.., mode="reflect")` and `commons.slice_segments`.

use mlx_rs::{Array, Dtype};
use sovits_core::Error;
use sovits_core::nn::signal::{reflect_pad, slice_segments};

#[test]
fn reflect_pad_is_torch_reflect() -> Result<(), Error> {
    // torch: F.pad(arange(5.), (2, 3), "reflect") = [2,1,0,1,2,3,4,3,2,1]
    let x = Array::from_slice(&[0f32, 1., 2., 3., 4.], &[1, 5]);
    let y = reflect_pad(&x, 2, 3)?;
    assert_eq!(y.as_slice::<f32>(), &[2., 1., 0., 1., 2., 3., 4., 3., 2., 1.]);
    // torch: F.pad(arange(5.), (0, 2), "reflect") = [0,1,2,3,4,3,2] (period padding)
    let right = reflect_pad(&x, 0, 2)?;
    assert_eq!(right.as_slice::<f32>(), &[0., 1., 2., 3., 4., 3., 2.]);
    Ok(())
}

#[test]
fn reflect_pad_needs_more_samples_than_the_pad() {
    let x = Array::from_slice(&[0f32, 1., 2.], &[1, 3]);
    match reflect_pad(&x, 0, 3) {
        Err(Error::Shape { what, found, .. }) => assert!(what.contains("reflect") && found.contains("[1, 3]"), "{what} {found}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn slice_segments_picks_each_items_window() -> Result<(), Error> {
    let x = Array::from_iter(0..24, &[2, 6, 2]).as_dtype(Dtype::Float32)?;
    let s = slice_segments(&x, &Array::from_slice(&[1, 3], &[2]), 2)?;
    assert_eq!(s.as_slice::<f32>(), &[2.0, 3.0, 4.0, 5.0, 18.0, 19.0, 20.0, 21.0]);
    Ok(())
}
