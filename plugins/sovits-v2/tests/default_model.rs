//! The full-size v2 model (default config, fresh init) runs the training
//! forward and inference on a short item with the shapes the trainer and
//! losses expect (`core/src/batch.rs`): y_hat `[B, segment_size]`, statistics
//! `[B, T, 192]`, mask `[B, T, 1]`, ids_slice `[B]` int32 in range.

use std::time::Instant;

use mlx_rs::{Array, Dtype, random};
use sovits_core::batch::{Batch, InferInput};
use sovits_core::components::{BuildContext, Generator};
use sovits_core::nn::noise::SeededNoise;
use sovits_plugin_sovits_v2::{Config, build_model};

#[test]
fn default_model_forward_and_infer_shapes() {
    let mut m = build_model(&Config::default(), &BuildContext::default()).unwrap();
    let (b, t) = (1, 36);
    let key = random::key(5).unwrap();
    let batch = Batch {
        ssl: Some(random::normal::<f32>(&[b, t, 768], None, None, &key).unwrap()),
        semantic: None,
        spec: random::uniform::<_, f32>(0.0f32, 1.0f32, &[b, t, 1025], &key).unwrap(),
        spec_lengths: Array::from_slice(&[t], &[b]),
        text: Array::from_slice(&[5, 17, 300, 731, 2, 9, 44, 0], &[b, 8]),
        text_lengths: Array::from_slice(&[7], &[b]),
        audio: Array::zeros::<f32>(&[b, t * 640]).unwrap(),
        audio_lengths: Array::from_slice(&[t * 640], &[b]),
        sv: None,
    };
    let mut noise = SeededNoise::new(1).unwrap();
    let t0 = Instant::now();
    let o = m.forward_train(&batch, &mut noise).unwrap();
    o.y_hat.eval().unwrap();
    println!("default model forward_train (B=1, T=36): {:.2} s", t0.elapsed().as_secs_f64());
    assert_eq!(o.y_hat.shape(), &[b, 20480]);
    for a in [&o.z, &o.z_p, &o.m_p, &o.logs_p, &o.m_q, &o.logs_q] {
        assert_eq!(a.shape(), &[b, t, 192]);
    }
    assert_eq!(o.z_mask.shape(), &[b, t, 1]);
    assert_eq!(o.ids_slice.dtype(), Dtype::Int32);
    let id = o.ids_slice.item_cast::<i32>();
    assert!((0..=t - 32).contains(&id));
    let peak = o.y_hat.abs().unwrap().max(None).unwrap().item_cast::<f32>();
    assert!(peak.is_finite() && peak < 1.0);

    let input = InferInput {
        semantic: Array::from_slice(&[3i32; 10], &[1, 10]),
        text: Array::from_slice(&[5, 17, 300], &[1, 3]),
        text_lengths: Array::from_slice(&[3], &[1]),
        refer: batch.spec.clone(),
        refer_lengths: Array::from_slice(&[t], &[1]),
        noise_scale: 0.5,
        speed: 1.0,
        sv: None,
    };
    let y = m.infer(&input, &mut noise).unwrap();
    assert_eq!(y.shape(), &[1, 20 * 640]);
}
