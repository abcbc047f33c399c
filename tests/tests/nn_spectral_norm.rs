//! Spectral norm as torch's `spectral_norm` hook: repeated forwards converge
//! `weight_orig / sigma` to a weight with largest singular value 1, `u`/`v`
//! are updated in place, and no gradient reaches them.

use mlx_rs::Array;
use sovits_core::nn::spectral_norm::spectral_weight;

#[test]
fn power_iteration_converges_to_the_top_singular_value() {
    // W = diag(3, 1) as a [2, 1, 2] conv weight: sigma_max = 3.
    let w = Array::from_slice(&[3f32, 0., 0., 1.], &[2, 1, 2]);
    let mut u = Array::from_slice(&[0.6f32, 0.8], &[2]);
    let mut v = Array::from_slice(&[0.8f32, 0.6], &[2]);
    let mut out = w.clone();
    for _ in 0..30 {
        out = spectral_weight(&w, &mut u, &mut v).unwrap();
    }
    let o = out.as_slice::<f32>().to_vec();
    // Each iteration shrinks the error by (1/3)^2; after 30 it is below f32 eps.
    assert!((o[0] - 1.0).abs() < 1e-6 && (o[3] - 1.0 / 3.0).abs() < 1e-6, "{o:?}");
    let u = u.as_slice::<f32>().to_vec();
    assert!((u[0].abs() - 1.0).abs() < 1e-6 && u[1].abs() < 1e-6, "{u:?}");
}

#[test]
fn one_iteration_matches_the_closed_form_update() {
    // One step by hand: v = norm(W^T u), u' = norm(W v), sigma = u'.W v.
    let w = Array::from_slice(&[1f32, 2., 3., 4., 5., 6.], &[2, 3]);
    let mut u = Array::from_slice(&[1f32, 0.], &[2]);
    let mut v = Array::from_slice(&[1f32, 0., 0.], &[3]);
    let out = spectral_weight(&w, &mut u, &mut v).unwrap();
    let wt_u = [1f64, 2., 3.];
    let nv = wt_u.iter().map(|x| x * x).sum::<f64>().sqrt();
    let vv: Vec<f64> = wt_u.iter().map(|x| x / nv).collect();
    let wv = [vv[0] + 2. * vv[1] + 3. * vv[2], 4. * vv[0] + 5. * vv[1] + 6. * vv[2]];
    let nu = (wv[0] * wv[0] + wv[1] * wv[1]).sqrt();
    let sigma = (wv[0] * wv[0] + wv[1] * wv[1]) / nu;
    let got = out.as_slice::<f32>().to_vec();
    for (i, g) in got.iter().enumerate() {
        let want = (i + 1) as f64 / sigma;
        assert!((*g as f64 - want).abs() < 1e-6, "{i}: {g} vs {want}");
    }
    let u = u.as_slice::<f32>().to_vec();
    assert!((u[0] as f64 - wv[0] / nu).abs() < 1e-6 && (u[1] as f64 - wv[1] / nu).abs() < 1e-6);
}
