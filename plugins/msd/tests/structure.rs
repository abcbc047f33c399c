//! `msd` structure against HiFi-GAN's `MultiScaleDiscriminator`
//! (jik876/hifi-gan `models.py`): parameter counts, keys, output and
//! feature-map shapes for a 20480-sample input, and a finite, non-zero input
//! gradient.

use mlx_rs::error::Exception;
use mlx_rs::module::ModuleParameters;
use mlx_rs::{Array, ops};
use sovits_core::Discriminator;
use sovits_core::nn::flatten_params;
use sovits_plugin_msd::{Config, Msd, mean_pool};

#[test]
fn parameter_counts_match_hifigan() {
    let msd = Msd::new(&Config::default()).unwrap();
    let params = flatten_params(&msd);
    let count = |f: &dyn Fn(&str) -> bool| -> usize { params.iter().filter(|(k, _)| f(k)).map(|(_, v)| v.size()).sum() };
    let wb = |k: &str| k.ends_with("bias") || k.ends_with("weight_orig") || (k.ends_with("weight_v") && !k.starts_with("discriminators.0."));
    for i in 0..3 {
        let p = format!("discriminators.{i}.");
        assert_eq!(count(&|k| k.starts_with(&p) && wb(k)), 9_870_209, "scale {i}");
    }
    assert_eq!(count(&|k| wb(k)), 29_610_627);
    assert_eq!(count(&|k| k.ends_with("weight_g")), 8_194);
    let trainable: usize = msd.trainable_parameters().flatten().values().map(|a| a.size()).sum();
    assert_eq!(trainable, 29_610_627 + 8_194);
    assert_eq!(params["discriminators.0.convs.1.weight_orig"].shape(), &[128, 32, 41]);
    assert_eq!(params["discriminators.0.convs.1.weight_u"].shape(), &[128]);
    assert_eq!(params["discriminators.0.convs.1.weight_v"].shape(), &[32 * 41]);
    assert_eq!(params["discriminators.2.convs.5.weight_v"].shape(), &[1024, 64, 41]);
}

#[test]
fn mean_pool_is_torch_avgpool_4_2_2() {
    // torch: AvgPool1d(4, 2, padding=2)(arange(1., 7.)) = [0.75, 2.5, 4.5, 2.75]
    let x = Array::from_slice(&[1f32, 2., 3., 4., 5., 6.], &[1, 6, 1]);
    let y = mean_pool(&x).unwrap();
    assert_eq!(y.shape(), &[1, 4, 1]);
    assert_eq!(y.as_slice::<f32>(), &[0.75, 2.5, 4.5, 2.75]);
}

fn out_len(t: i32, k: i32, s: i32, p: i32) -> i32 {
    (t + 2 * p - k) / s + 1
}

#[test]
fn shapes_and_input_gradient_at_20480() {
    let mut msd = Msd::new(&Config::default()).unwrap();
    let y = ops::multiply(mlx_rs::random::normal::<f32>(&[1, 20480], None, None, None).unwrap(), Array::from_f32(0.3)).unwrap();
    let y_hat = ops::multiply(mlx_rs::random::normal::<f32>(&[1, 20480], None, None, None).unwrap(), Array::from_f32(0.3)).unwrap();
    let out = msd.forward(&y, &y_hat).unwrap();
    let mut t = 20480;
    for i in 0..3 {
        if i > 0 {
            t = out_len(t, 4, 2, 2);
        }
        let mut h = t;
        for (j, l) in sovits_core::nn::scale_discriminator::HIFIGAN_LAYERS.iter().enumerate() {
            h = out_len(h, l.kernel, l.stride, l.padding);
            assert_eq!(out.fmap_real[i][j].shape(), &[1, h, l.cout], "scale {i} layer {j}");
        }
        assert_eq!(out.fmap_fake[i][7].shape(), &[1, h, 1]);
        assert_eq!(out.y_d_fake[i].shape(), &[1, h]);
    }
    assert_eq!(out.y_d_real[0].shape(), &[1, 320]);
    assert_eq!(out.y_d_real[2].shape(), &[1, 81]);

    let y_c = y.clone();
    let mut f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let o = msd.forward(&y_c, &args[0]).map_err(|e| Exception::custom(e.to_string()))?;
        let mut total = Array::from_f32(0.0);
        for dg in &o.y_d_fake {
            total = &total + ops::mean(&ops::square(&ops::subtract(Array::from_f32(1.0), dg)?)?, None)?;
        }
        Ok(vec![total])
    };
    let (v, g) = mlx_rs::transforms::value_and_grad(&mut f)(&[y_hat]).unwrap();
    assert!(v[0].item_exact::<f32>().is_finite());
    let g = g[0].contiguous().unwrap();
    let g = g.as_slice::<f32>();
    assert!(g.iter().all(|x| x.is_finite()));
    assert!(g.iter().filter(|x| **x != 0.0).count() > 20000, "gradient reaches almost every sample");
}
