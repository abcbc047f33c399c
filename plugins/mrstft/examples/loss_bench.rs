//! Times forward+backward of the generator's spectral losses at batch 4 x 20480
//! samples (the v2 training segment): the mel L1 (same ops as `mel-l1`: log-mel of
//! y_hat against a fixed target) plus `mrstft` with its default resolutions, for
//! each DFT path.
//!
//! `cargo run --release -p sovits-plugin-mrstft --example loss_bench [reps]`

use mlx_rs::transforms::value_and_grad;
use mlx_rs::{Array, random};
use sovits_core::SpectralFrontend;
use sovits_plugin_mrstft::Config as MrstftConfig;
use sovits_plugin_stft_mel::{Config as MelConfig, DftMethod};
use sovits_test_support::{median_ms, reps_arg};

fn main() {
    let reps = reps_arg(7);
    let y = random::uniform::<_, f32>(-0.5, 0.5, &[4, 20480], None).unwrap();
    let y_hat = random::uniform::<_, f32>(-0.5, 0.5, &[4, 20480], None).unwrap();
    println!("device {:?}", mlx_rs::Device::default());
    for dft in [DftMethod::Matmul, DftMethod::Rfft] {
        let fe = MelConfig {
            dft,
            ..MelConfig::default()
        }
        .build()
        .unwrap();
        let mr = MrstftConfig {
            dft,
            ..MrstftConfig::default()
        }
        .build()
        .unwrap();
        let target = fe.mel(&y).unwrap();
        let mel_l1 = |a: &Array| {
            fe.mel(a)
                .unwrap()
                .subtract(&target)
                .unwrap()
                .abs()
                .unwrap()
                .mean(None)
                .unwrap()
        };
        let mut g_mel = value_and_grad(|a: &[Array]| vec![mel_l1(&a[0])]);
        let mut g_mr = value_and_grad(|a: &[Array]| vec![mr.forward(&y, &a[0]).unwrap().value]);
        let mut g_both = value_and_grad(|a: &[Array]| {
            vec![
                mel_l1(&a[0])
                    .add(mr.forward(&y, &a[0]).unwrap().value)
                    .unwrap(),
            ]
        });
        let mel = median_ms(reps, || {
            g_mel(std::slice::from_ref(&y_hat)).unwrap().1.remove(0)
        });
        let mrs = median_ms(reps, || {
            g_mr(std::slice::from_ref(&y_hat)).unwrap().1.remove(0)
        });
        let both = median_ms(reps, || {
            g_both(std::slice::from_ref(&y_hat)).unwrap().1.remove(0)
        });
        println!("{dft:?}: fwd+bwd mel-l1 {mel:.1} ms, mrstft {mrs:.1} ms, both {both:.1} ms");
    }
}
