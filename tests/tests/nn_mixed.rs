//! bf16 reductions stay accurate (`sovits_core::nn::mixed`): MLX 0.32.2's CPU
//! backend sums bf16 in bf16, so a bias gradient over 20,000 positions, a
//! layer-norm gain gradient, a softmax and a pooled mean were 4-94% wrong.
//! Each case here compares the bf16 result with the f32 one.
//!
//! Tolerance: 1% relative (L2). Correct bf16 math keeps ~0.3% (8 mantissa
//! bits, errors averaging over the terms); the broken reductions were off
//! by 3.6% (layer-norm gain, 1,000 positions) to 94% (bias, 20,000).

use mlx_rs::{Array, Dtype, ops, transforms::value_and_grad_with_argnums};
use sovits_core::nn::ConvOpts;
use sovits_core::nn::conv::conv1d;
use sovits_core::nn::mixed;
use sovits_test_support::{values, pseudo_random};

const BF16_RTOL: f64 = 0.01;

fn arr(shape: &[i32], seed: u64, offset: f32) -> Array {
    let n: i32 = shape.iter().product();
    let v: Vec<f32> = pseudo_random(n as usize, seed).into_iter().map(|x| x + offset).collect();
    Array::from_slice(&v, shape)
}

fn rel_l2(got: &Array, want: &Array) -> f64 {
    let (g, w) = (values(&got.as_dtype(Dtype::Float32).unwrap()), values(want));
    let d: f64 = g.iter().zip(&w).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
    let n: f64 = w.iter().map(|b| (*b as f64).powi(2)).sum::<f64>().sqrt();
    d / n
}

/// Gradients of `sum(f(args) * r)` w.r.t. every argument, run once on the
/// f32 arguments and once on their bf16 casts.
fn grads_both(f: &dyn Fn(&[Array]) -> Array, args: &[Array], r: &Array) -> (Vec<Array>, Vec<Array>) {
    let run = |inputs: Vec<Array>| -> Vec<Array> {
        let loss = |a: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
            Ok(vec![ops::multiply(&f(a).as_dtype(Dtype::Float32)?, r)?.sum(None)?])
        };
        let argnums: Vec<i32> = (0..inputs.len() as i32).collect();
        let mut vg = value_and_grad_with_argnums(loss, &argnums[..]);
        vg(&inputs).expect("value_and_grad").1
    };
    let f32s = run(args.to_vec());
    let bf16s = run(args.iter().map(|a| a.as_dtype(Dtype::Bfloat16).unwrap()).collect());
    (f32s, bf16s)
}

#[test]
fn bf16_conv_bias_gradient_is_summed_in_f32() {
    let x = arr(&[1, 20000, 8], 1, 0.0);
    let w = arr(&[4, 8, 3], 2, 0.0);
    let b = arr(&[4], 3, 0.0);
    let r = arr(&[1, 20000, 4], 4, 1.0); // mean 1: the bias gradient is a large sum
    let f = |a: &[Array]| conv1d(&a[0], &a[1], Some(&a[2]), ConvOpts::new().padding(1)).unwrap();
    let (g32, g16) = grads_both(&f, &[x, w, b], &r);
    for (i, what) in ["input", "weight", "bias"].iter().enumerate() {
        let e = rel_l2(&g16[i], &g32[i]);
        assert!(e < BF16_RTOL, "bf16 conv {what} gradient {:.2}% off f32", 100.0 * e);
    }
}

#[test]
fn bf16_broadcast_add_and_multiply_gradients_are_summed_in_f32() {
    let x = arr(&[2, 5000, 16], 5, 0.0);
    let c = arr(&[2, 1, 16], 6, 0.5);
    let r = arr(&[2, 5000, 16], 7, 1.0);
    for (name, f) in [
        ("add", Box::new(|a: &[Array]| mixed::add(&a[0], &a[1]).unwrap()) as Box<dyn Fn(&[Array]) -> Array>),
        ("multiply", Box::new(|a: &[Array]| mixed::multiply(&a[0], &a[1]).unwrap())),
    ] {
        let (g32, g16) = grads_both(&*f, &[x.clone(), c.clone()], &r);
        let e = rel_l2(&g16[1], &g32[1]);
        assert!(e < BF16_RTOL, "bf16 broadcast {name}: operand gradient {:.2}% off f32", 100.0 * e);
        assert_eq!(f(&[x.as_dtype(Dtype::Bfloat16).unwrap(), c.clone()]).dtype(), Dtype::Bfloat16, "{name} keeps x's dtype");
    }
}

#[test]
fn bf16_layer_norm_softmax_and_sum_match_f32() {
    let x = arr(&[2, 500, 192], 8, 3.0);
    let gamma = arr(&[192], 9, 1.0);
    let beta = arr(&[192], 10, 0.0);
    let r = arr(&[2, 500, 192], 11, 0.0);
    let ln = |a: &[Array]| mixed::layer_norm(&a[0], &a[1], &a[2], 1e-5).unwrap();
    let (g32, g16) = grads_both(&ln, &[x.clone(), gamma, beta], &r);
    for (i, what) in ["input", "gamma", "beta"].iter().enumerate() {
        let e = rel_l2(&g16[i], &g32[i]);
        assert!(e < BF16_RTOL, "bf16 layer norm {what} gradient {:.2}% off f32", 100.0 * e);
    }

    let scores = ops::multiply(&arr(&[2, 2, 300, 300], 12, 0.0), Array::from_f32(4.0)).unwrap();
    let r = arr(&[2, 2, 300, 300], 13, 0.0);
    let sm = |a: &[Array]| mixed::softmax_last(&a[0]).unwrap();
    let (p32, p16) = (sm(&[scores.clone()]), sm(&[scores.as_dtype(Dtype::Bfloat16).unwrap()]));
    assert!(rel_l2(&p16, &p32) < BF16_RTOL, "bf16 softmax {:.2}% off f32", 100.0 * rel_l2(&p16, &p32));
    let (g32, g16) = grads_both(&sm, &[scores], &r);
    assert!(rel_l2(&g16[0], &g32[0]) < BF16_RTOL, "bf16 softmax gradient {:.2}% off", 100.0 * rel_l2(&g16[0], &g32[0]));

    let long = arr(&[1, 100000, 2], 14, 1.0);
    let (s32, s16) = (mixed::sum_axis(&long, 1, false).unwrap(), mixed::sum_axis(&long.as_dtype(Dtype::Bfloat16).unwrap(), 1, false).unwrap());
    assert!(rel_l2(&s16, &s32) < BF16_RTOL, "bf16 sum over 100,000: {:?} vs {:?}", values(&s16.as_dtype(Dtype::Float32).unwrap()), values(&s32));
}

#[test]
fn mixed_ops_are_the_plain_ops_in_f32() {
    let x = arr(&[2, 7, 5], 15, 0.0);
    let c = arr(&[5], 16, 0.0);
    assert_eq!(values(&mixed::add(&x, &c).unwrap()), values(&ops::add(&x, &c).unwrap()));
    assert_eq!(values(&mixed::multiply(&x, &c).unwrap()), values(&ops::multiply(&x, &c).unwrap()));
    assert_eq!(values(&mixed::softmax_last(&x).unwrap()), values(&ops::softmax_axis(&x, -1, None).unwrap()));
    assert_eq!(values(&mixed::sum_axis(&x, 1, true).unwrap()), values(&x.sum_axis(1, true).unwrap()));
}
