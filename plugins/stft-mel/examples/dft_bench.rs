//! Times the two DFT paths of `stft-mel` on a `[4, 128000]` batch (4 s at 32 kHz):
//! forward (log-mel) and forward + backward (gradient of `mean(mel)` w.r.t. the audio).
//!
//! `cargo run --release -p sovits-plugin-stft-mel --example dft_bench`

use mlx_rs::transforms::value_and_grad;
use mlx_rs::{Array, random};
use sovits_core::SpectralFrontend;
use sovits_plugin_stft_mel::{Config, DftMethod};
use sovits_test_support::{median_ms, reps_arg};

fn main() {
    let reps = reps_arg(7);
    let x = random::uniform::<_, f32>(-0.5, 0.5, &[4, 128000], None).unwrap();
    println!("device {:?}", mlx_rs::Device::default());
    for method in [DftMethod::Matmul, DftMethod::Rfft] {
        let fe = Config::default().build_with(method).unwrap();
        let fwd = median_ms(reps, || fe.mel(&x).unwrap());
        let loss = |a: &[Array]| vec![fe.mel(&a[0]).unwrap().mean(None).unwrap()];
        let mut vg = value_and_grad(loss);
        let bwd = median_ms(reps, || vg(std::slice::from_ref(&x)).unwrap().1.remove(0));
        println!("{method:?}: forward {fwd:.1} ms, forward+backward {bwd:.1} ms");
    }
}
