//! Gradients of the training forward on the tiny model: every parameter the
//! reference trains gets a non-zero gradient except the gauge key biases
//! (softmax is invariant to them); ssl_proj and the quantizer (frozen in the
//! reference: eval-mode codebook lookup, no straight-through) get exactly
//! zero. Also prints the fwd+bwd time of `forward_train`.

mod common;

use std::time::Instant;

use mlx_rs::error::Exception;
use mlx_rs::{Array, ops};
use sovits_core::components::Generator;
use sovits_core::nn::contiguous;
use sovits_core::nn::noise::SeededNoise;
use sovits_plugin_sovits_v2::SynthesizerTrn;

fn mean_sq(a: &Array) -> Result<Array, Exception> {
    ops::multiply(a, a)?.mean(None)
}

#[test]
fn gradients_reach_trained_parameters_only() {
    let mut m = common::tiny_model();
    m.set_training(true);
    let b = common::forward_batch(true);
    let mut noise = SeededNoise::new(3).unwrap();
    let loss = move |m: &mut SynthesizerTrn, _: &Array| -> Result<Vec<Array>, Exception> {
        let o = m.forward_train(&b, &mut noise).map_err(|e| Exception::custom(e.to_string()))?;
        let mut l = mean_sq(&o.y_hat)?;
        for a in [&o.z_p, &o.m_p, &o.logs_p, &o.logs_q] {
            l = ops::add(&l, &mean_sq(a)?)?;
        }
        Ok(vec![l])
    };
    let mut vg = mlx_rs::nn::value_and_grad(loss);
    let dummy = Array::from_f32(0.0);
    let mut times = Vec::new();
    let mut grads = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        let (v, g) = vg(&mut m, &dummy).unwrap();
        v[0].eval().unwrap();
        for a in g.values() {
            a.eval().unwrap();
        }
        times.push(t0.elapsed().as_secs_f64());
        grads = Some(g);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!("tiny forward_train fwd+bwd (B=2, T=60, segment 32 frames): {:.3} s median of {:?}", times[1], times);
    let grads = grads.unwrap();
    let mut dead = Vec::new();
    for (k, g) in &grads {
        let n = ops::abs(contiguous(g).unwrap()).unwrap().max(None).unwrap().item_cast::<f32>();
        assert!(n.is_finite(), "{k}: non-finite gradient");
        let frozen = k.starts_with("ssl_proj.") || k.starts_with("quantizer.");
        let gauge = k.ends_with("conv_k.bias") || k.as_ref() == "ref_enc.slf_attn.w_ks.bias";
        if frozen {
            assert_eq!(n, 0.0, "{k} is frozen in the reference but got gradient");
        } else if n == 0.0 && !gauge {
            dead.push(k.to_string());
        }
    }
    assert!(dead.is_empty(), "parameters without gradient: {dead:?}");
    assert!(grads.len() >= 600);
}
