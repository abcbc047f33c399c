//! `mrd` against BigVGAN's `MultiResolutionDiscriminator` structure:
//! parameter counts, the STFT magnitude against MLX's `rfft` of explicitly
//! windowed frames, output shapes, finite outputs and input gradients.

use mlx_rs::error::Exception;
use mlx_rs::module::ModuleParameters;
use mlx_rs::{Array, ops};
use sovits_core::Discriminator;
use sovits_core::nn::flatten_params;
use sovits_core::nn::signal::reflect_pad;
use sovits_plugin_mrd::{Config, Mrd};

fn audio(shape: &[i32]) -> Array {
    ops::multiply(mlx_rs::random::normal::<f32>(shape, None, None, None).unwrap(), Array::from_f32(0.3)).unwrap()
}

#[test]
fn parameter_counts_match_bigvgan() {
    let mrd = Mrd::new(&Config::default()).unwrap();
    let params = flatten_params(&mrd);
    let wb: usize = params.iter().filter(|(k, _)| !k.ends_with("weight_g")).map(|(_, v)| v.size()).sum();
    let g: usize = params.iter().filter(|(k, _)| k.ends_with("weight_g")).map(|(_, v)| v.size()).sum();
    assert_eq!(wb, 280_419);
    assert_eq!(g, 3 * (5 * 32 + 1));
    let first: usize = params.iter().filter(|(k, _)| k.starts_with("discriminators.0.") && !k.ends_with("weight_g")).map(|(_, v)| v.size()).sum();
    assert_eq!(first, 93_473);
    assert_eq!(params["discriminators.1.convs.1.weight_v"].shape(), &[32, 32, 3, 9]);
    assert_eq!(mrd.trainable_parameters().flatten().len(), params.len());
}

#[test]
fn spectrogram_equals_rfft_of_windowed_frames() {
    let mrd = Mrd::new(&Config::default()).unwrap();
    let y = audio(&[2, 4000]);
    for d in &mrd.discriminators {
        let [n_fft, hop, win] = d.resolution;
        let ours = d.spectrogram(&y).unwrap();
        // Independent path: frame the padded signal at full n_fft, multiply
        // by torch's default window (ones over win, centred), rfft, |.|.
        let pad = (n_fft - hop) / 2;
        let x = reflect_pad(&y, pad, pad).unwrap();
        let frames = 1 + (x.shape()[1] - n_fft) / hop;
        let off = (n_fft - win) / 2;
        let window: Vec<f32> = (0..n_fft).map(|i| if i >= off && i < off + win { 1.0 } else { 0.0 }).collect();
        let idx: Vec<i32> = (0..frames).flat_map(|t| (0..n_fft).map(move |j| t * hop + j)).collect();
        let framed = x.take_axis(Array::from_slice(&idx, &[frames, n_fft]), 1).unwrap();
        let framed = ops::multiply(&framed, Array::from_slice(&window, &[n_fft])).unwrap();
        let spec = mlx_rs::fft::rfft(&framed, None, -1).unwrap();
        let want = ops::abs(&spec).unwrap().transpose_axes(&[0, 2, 1]).unwrap();
        assert_eq!(ours.shape(), want.shape());
        let (a, b) = (ours.contiguous().unwrap(), want.contiguous().unwrap());
        let (a, b) = (a.as_slice::<f32>(), b.as_slice::<f32>());
        let scale = b.iter().fold(0f32, |m, x| m.max(x.abs()));
        let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        println!("n_fft {n_fft}: max |diff| {diff:e}, scale {scale}");
        // f32 DFT sums of up to 1200 terms, in two different algorithms: 1e-5 of scale.
        assert!(diff <= 1e-5 * scale, "n_fft {n_fft}: {diff} vs scale {scale}");
    }
}

#[test]
fn forward_on_2x8192_is_finite_with_expected_shapes() {
    let mut mrd = Mrd::new(&Config::default()).unwrap();
    let (y, y_hat) = (audio(&[2, 8192]), audio(&[2, 8192]));
    let out = mrd.forward(&y, &y_hat).unwrap();
    for (i, &[n_fft, hop, _]) in Config::default().resolutions.iter().enumerate() {
        let pad = (n_fft - hop) / 2;
        let frames = 1 + (8192 + 2 * pad - n_fft) / hop;
        let f = n_fft / 2 + 1;
        let mut t = frames;
        assert_eq!(out.fmap_real[i][0].shape(), &[2, f, t, 32]);
        for j in 1..4 {
            t = (t + 2 * 4 - 9) / 2 + 1;
            assert_eq!(out.fmap_real[i][j].shape(), &[2, f, t, 32], "res {i} layer {j}");
        }
        assert_eq!(out.fmap_fake[i][5].shape(), &[2, f, t, 1]);
        assert_eq!(out.y_d_fake[i].shape(), &[2, f * t]);
        for a in std::iter::once(&out.y_d_real[i]).chain(out.fmap_fake[i].iter()) {
            let a = a.contiguous().unwrap();
            assert!(a.as_slice::<f32>().iter().all(|x| x.is_finite()), "res {i}");
        }
    }
}

#[test]
fn input_gradient_at_20480_is_finite_and_nonzero() {
    let mut mrd = Mrd::new(&Config::default()).unwrap();
    let (y, y_hat) = (audio(&[1, 20480]), audio(&[1, 20480]));
    let mut f = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let o = mrd.forward(&y, &args[0]).map_err(|e| Exception::custom(e.to_string()))?;
        let mut total = Array::from_f32(0.0);
        for (dg, (fr, fg)) in o.y_d_fake.iter().zip(o.fmap_real.iter().zip(&o.fmap_fake)) {
            total = &total + ops::mean(&ops::square(&ops::subtract(Array::from_f32(1.0), dg)?)?, None)?;
            for (r, g) in fr.iter().zip(fg) {
                total = &total + ops::mean(&ops::abs(&ops::subtract(r, g)?)?, None)?;
            }
        }
        Ok(vec![total])
    };
    let (v, g) = mlx_rs::transforms::value_and_grad(&mut f)(&[y_hat]).unwrap();
    assert!(v[0].item_exact::<f32>().is_finite());
    let g = g[0].contiguous().unwrap();
    let g = g.as_slice::<f32>();
    assert!(g.iter().all(|x| x.is_finite()));
    assert!(g.iter().filter(|x| **x != 0.0).count() > 20000);
}
