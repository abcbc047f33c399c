//! Weight norm is a real reparametrisation with the reference's norm axes:
//! forward equals the plain conv with the folded weight, `weight_g` has the
//! torch shapes, a fresh layer folds back to `weight_v`, and gradients reach
//! both `weight_g` and `weight_v`.

use mlx_rs::module::ModuleParameters;
use mlx_rs::{Array, ops, transforms::value_and_grad_with_argnums};
use sovits_core::nn::conv::{conv_transpose1d, conv1d, conv2d};
use sovits_core::nn::{Conv2dOpts, ConvOpts};
use sovits_core::nn::weight_norm::fold_weight;
use sovits_core::nn::{WnConv1d, WnConv2d, WnConvTranspose1d, flatten_params};
use sovits_test_support::{assert_close, values, pseudo_random};

fn arr(shape: &[i32], seed: u64) -> Array {
    let n: i32 = shape.iter().product();
    Array::from_slice(&pseudo_random(n as usize, seed), shape)
}

#[test]
fn shapes_and_keys_follow_torch() {
    let c1 = WnConv1d::new(8, 6, 5, ConvOpts::new().groups(2), true).unwrap();
    assert_eq!(c1.weight_g.shape(), &[6, 1, 1]);
    assert_eq!(c1.weight_v.shape(), &[6, 4, 5]);
    let c2 = WnConv2d::new(4, 8, (5, 1), Conv2dOpts::new().stride((3, 1)).padding((2, 0)), true).unwrap();
    assert_eq!(c2.weight_g.shape(), &[8, 1, 1, 1]);
    assert_eq!(c2.weight_v.shape(), &[8, 4, 5, 1]);
    let ct = WnConvTranspose1d::new(8, 4, 16, 8, 4, true).unwrap();
    assert_eq!(ct.weight_g.shape(), &[8, 1, 1]);
    assert_eq!(ct.weight_v.shape(), &[8, 4, 16]);
    let keys: Vec<String> = flatten_params(&ct).into_keys().collect();
    assert_eq!(keys, ["bias", "weight_g", "weight_v"]);
    let nobias = WnConv1d::new(4, 4, 3, ConvOpts::new(), false).unwrap();
    assert_eq!(flatten_params(&nobias).len(), 2);
}

#[test]
fn fresh_layer_folds_to_weight_v() {
    let c = WnConv1d::new(6, 5, 7, ConvOpts::new(), true).unwrap();
    assert_close("fold", &values(&c.weight().unwrap()), &values(&c.weight_v), 1e-6, 1e-5);
}

#[test]
fn forward_equals_conv_with_folded_weight() {
    // Hand-checked fold on a 2x1x2 weight: rows [3,4] (norm 5) and [0,2] (norm 2).
    let v = Array::from_slice(&[3.0f32, 4.0, 0.0, 2.0], &[2, 1, 2]);
    let g = Array::from_slice(&[10.0f32, 0.5], &[2, 1, 1]);
    assert_close("fold by hand", &values(&fold_weight(&g, &v).unwrap()), &[6.0, 8.0, 0.0, 0.5], 1e-6, 0.0);

    let mut c1 = WnConv1d::new(6, 4, 3, ConvOpts::new().dilation(2).padding(2), true).unwrap();
    c1.weight_g.value = arr(&[4, 1, 1], 3);
    let x = arr(&[2, 20, 6], 4);
    let w = fold_weight(&c1.weight_g, &c1.weight_v).unwrap();
    let want = conv1d(&x, &w, c1.bias.value.as_ref(), c1.opts).unwrap();
    assert_close("wn conv1d", &values(&c1.forward(&x).unwrap()), &values(&want), 1e-5, 1e-5);

    let mut c2 = WnConv2d::new(3, 5, (5, 1), Conv2dOpts::new().stride((3, 1)).padding((2, 0)), true).unwrap();
    c2.weight_g.value = arr(&[5, 1, 1, 1], 5);
    let x2 = arr(&[1, 18, 2, 3], 6);
    let want = conv2d(&x2, &c2.weight().unwrap(), c2.bias.value.as_ref(), c2.opts).unwrap();
    assert_close("wn conv2d", &values(&c2.forward(&x2).unwrap()), &values(&want), 1e-5, 1e-5);

    let mut ct = WnConvTranspose1d::new(6, 3, 4, 2, 1, true).unwrap();
    ct.weight_g.value = arr(&[6, 1, 1], 7);
    let want = conv_transpose1d(&x, &ct.weight().unwrap(), ct.bias.value.as_ref(), 2, 1).unwrap();
    assert_close("wn convT", &values(&ct.forward(&x).unwrap()), &values(&want), 1e-5, 1e-5);
}

#[test]
fn gradients_reach_g_and_v() {
    let c = WnConv1d::new(4, 3, 3, ConvOpts::new().padding(1), true).unwrap();
    let x = arr(&[1, 10, 4], 8);
    let opts = c.opts;
    let loss = move |args: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
        let w = fold_weight(&args[0], &args[1]).map_err(|e| mlx_rs::error::Exception::custom(e.to_string()))?;
        let y = conv1d(&x, &w, None, opts).map_err(|e| mlx_rs::error::Exception::custom(e.to_string()))?;
        Ok(vec![ops::multiply(&y, &y)?.sum(None)?])
    };
    let mut vg = value_and_grad_with_argnums(loss, &[0, 1][..]);
    let (_, grads) = vg(&[c.weight_g.value.clone(), c.weight_v.value.clone()]).unwrap();
    assert_eq!(grads[0].shape(), &[3, 1, 1]);
    assert_eq!(grads[1].shape(), &[3, 4, 3]);
    assert!(values(&grads[0]).iter().any(|v| v.abs() > 1e-6));
    // d/dv is orthogonal to v per output channel (the norm removes the radial part).
    let (gv, v) = (values(&grads[1]), values(&c.weight_v));
    for o in 0..3 {
        let dot: f32 = (0..12).map(|i| gv[o * 12 + i] * v[o * 12 + i]).sum();
        assert!(dot.abs() < 1e-4, "channel {o}: <dL/dv, v> = {dot}");
    }
    let _ = c.num_parameters();
}
