//! `value_and_grad` through a small conv1d + linear model against central
//! finite differences. Step h = 1e-2 on an f32 model whose loss is O(1):
//! truncation error ~h^2 = 1e-4 and rounding ~eps*|L|/h ~ 1e-5, both well
//! inside the norm-wise bound ||g - g_fd|| / ||g_fd|| <= 1e-3.

use mlx_rs::{Array, ops, transforms::value_and_grad};
use sovits_test_support::{values, pseudo_random};

const STEP: f32 = 1e-2;

/// loss = mean(tanh(conv1d(x, w_conv, pad 1) reshaped [B, T*Co] @ w_lin)^2)
fn loss(params: &[Array], x: &Array) -> Array {
    let h = ops::conv1d(x, &params[0], 1, 1, 1, 1).unwrap();
    let h = ops::tanh(&h).unwrap();
    let shape = h.shape().to_vec();
    let flat = ops::reshape(&h, &[shape[0], shape[1] * shape[2]]).unwrap();
    let y = flat.matmul(&params[1]).unwrap();
    ops::mean(&y.square().unwrap(), None).unwrap()
}

#[test]
fn conv_linear_gradients_match_central_differences() {
    let (b, t, ci, co, k, out) = (2, 8, 3, 4, 3, 2);
    let x = Array::from_slice(&pseudo_random(b * t * ci, 11), &[b as i32, t as i32, ci as i32]);
    let w_conv = pseudo_random(co * k * ci, 12);
    let w_lin: Vec<f32> = pseudo_random(t * co * out, 13).iter().map(|v| v * 0.5).collect();
    let params = vec![
        Array::from_slice(&w_conv, &[co as i32, k as i32, ci as i32]),
        Array::from_slice(&w_lin, &[(t * co) as i32, out as i32]),
    ];

    let xc = x.clone();
    let mut vg = value_and_grad(move |p: &[Array]| vec![loss(p, &xc)]);
    let (_, grads) = vg(&params).unwrap();
    let analytic: Vec<f32> = grads.iter().flat_map(values).collect();

    let flat_params: Vec<Vec<f32>> = vec![w_conv, w_lin];
    let mut numeric = Vec::new();
    for which in 0..2 {
        for i in 0..flat_params[which].len() {
            let eval_at = |delta: f32| {
                let mut ps = params.clone();
                let mut v = flat_params[which].clone();
                v[i] += delta;
                ps[which] = Array::from_slice(&v, params[which].shape());
                values(&loss(&ps, &x))[0]
            };
            numeric.push((eval_at(STEP) - eval_at(-STEP)) / (2.0 * STEP));
        }
    }
    let diff: f32 = analytic.iter().zip(&numeric).map(|(a, n)| (a - n).powi(2)).sum::<f32>().sqrt();
    let norm: f32 = numeric.iter().map(|n| n * n).sum::<f32>().sqrt();
    assert!(norm > 1e-3, "finite-difference gradient is degenerate (norm {norm})");
    let rel = diff / norm;
    assert!(rel <= 1e-3, "relative gradient error {rel} > 1e-3 (||g_fd|| = {norm})");
}
