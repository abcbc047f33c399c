//! The time-axis helpers against values PyTorch gives for the same calls:
//! `F.interpolate(torch.arange(4.).view(1,1,4), size=6, mode="linear")` =
//! [0, 0.5, 1.1667, 1.8333, 2.5, 3] and `mode="nearest"` picks [0,0,1,2,2,3];
//! and `infer` with `speed != 1` (int(T/speed)+1 frames).

mod common;

use mlx_rs::Array;
use sovits_core::batch::InferInput;
use sovits_core::components::Generator;
use sovits_core::nn::noise::SeededNoise;
use sovits_plugin_sovits_v2::common::{interpolate_linear, interpolate_nearest};

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
    let input = InferInput {
        semantic: common::i32_npy("decode.in.codes").reshape(&[1, 25]).unwrap(),
        text: common::i32_npy("decode.in.text"),
        text_lengths: Array::from_slice(&[18], &[1]),
        refer: common::cl("decode.in.refer"),
        refer_lengths: Array::from_slice(&[40], &[1]),
        noise_scale: 0.5,
        speed: 1.5,
        sv: None,
    };
    let o = m.infer(&input, &mut SeededNoise::new(1).unwrap()).unwrap();
    assert_eq!(o.shape(), &[1, (50.0f32 / 1.5) as i32 * 640 + 640]);
}
