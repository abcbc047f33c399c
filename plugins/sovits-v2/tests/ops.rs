//! The time-axis helpers against values PyTorch gives for the same calls:
//! `F.interpolate(torch.arange(4.).view(1,1,4), size=6, mode="linear")` =
//! [0, 0.5, 1.1667, 1.8333, 2.5, 3] and `mode="nearest"` picks [0,0,1,2,2,3];
//! and `infer` with `speed != 1` (int(T/speed)+1 frames).

mod common;

use mlx_rs::Array;
use sovits_core::components::Generator;
use sovits_core::nn::noise::SeededNoise;
use sovits_plugin_sovits_v2::time_axis::{interpolate_linear, interpolate_nearest};

fn values(a: &Array) -> Vec<f32> {
    a.as_slice::<f32>().to_vec()
}

#[test]
fn interpolation_matches_torch() {
    let x = Array::from_slice(&[0.0f32, 1.0, 2.0, 3.0], &[1, 4, 1]);
    let lin = values(&interpolate_linear(&x, 6).unwrap());
    let want = [0.0, 0.5, 7.0 / 6.0, 11.0 / 6.0, 2.5, 3.0];
    for (g, w) in lin.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{lin:?}");
    }
    assert_eq!(values(&interpolate_nearest(&x, 6).unwrap()), vec![0.0, 0.0, 1.0, 2.0, 2.0, 3.0]);
}

#[test]
fn infer_with_speed_changes_the_length() {
    let mut m = common::tiny_model();
    let input = common::decode_input(0.5, 1.5);
    // codes are at half the frame rate: 2 frames per code, then int(T / speed) + 1 frames
    let frames = 2 * input.semantic.shape()[1];
    let o = m.infer(&input, &mut SeededNoise::new(1).unwrap()).unwrap();
    assert_eq!(o.shape(), &[1, ((frames as f32 / 1.5) as i32 + 1) * common::hop()]);
}
