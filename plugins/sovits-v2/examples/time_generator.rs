//! Forward+backward time of the full-size GPT-SoVITS v2 generator
//! (`forward_train`, baseline shapes: 202 frames, segment 20480) and of its
//! HiFi-GAN `dec` alone, beside the machine's matmul GFLOP/s. Set
//! `SOVITS_CONV_PATHS=mlx` to time MLX's own conv ops instead of our paths.
//!
//! `cargo run --release -p sovits-plugin-sovits-v2 --example time_generator -- BATCH REPS [full|dec]`

use std::time::Instant;

use mlx_rs::error::Exception;
use mlx_rs::{Array, random};
use sovits_core::components::BuildContext;
use sovits_core::nn::noise::SeededNoise;
use sovits_core::{Batch, Generator};
use sovits_plugin_sovits_v2::{Config, build_model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let b: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1);
    let reps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let mode = args.get(2).cloned().unwrap_or_else(|| "full".into());
    let paths = if std::env::var("SOVITS_CONV_PATHS").is_ok_and(|v| v == "mlx") { "MLX ops" } else { "our paths" };
    println!("matmul 1024: {:.1} GFLOP/s; {mode}, batch {b}, {paths}", sovits_core::backend::matmul_gflops(1024, 5)?);
    let ctx = BuildContext::default();
    let mut model = build_model(&Config::default(), &ctx)?;
    let t = 202;
    let batch = Batch {
        ssl: Some(random::normal::<f32>(&[b, t, 768], None, None, None)?),
        semantic: None,
        spec: random::uniform::<_, f32>(0.0f32, 1.0f32, &[b, t, 1025], None)?,
        spec_lengths: Array::from_slice(&vec![200i32; b as usize], &[b]),
        text: Array::from_slice(&vec![5i32; (b * 50) as usize], &[b, 50]),
        text_lengths: Array::from_slice(&vec![50i32; b as usize], &[b]),
        audio: random::normal::<f32>(&[b, 128000], None, None, None)?,
        audio_lengths: Array::from_slice(&vec![128000i32; b as usize], &[b]),
        sv: None,
    };
    let z = random::normal::<f32>(&[b, 32, 192], None, None, None)?;
    let g = random::normal::<f32>(&[b, 1, 512], None, None, None)?;
    for rep in 0..reps {
        let start = Instant::now();
        let mut noise = SeededNoise::new(rep as u64)?;
        if mode == "dec" {
            let mut step = mlx_rs::nn::value_and_grad(|m: &mut sovits_plugin_sovits_v2::hifigan::HifiGan, (z, g): (Array, Array)| -> Result<Vec<Array>, Exception> {
                let y = m.forward(&z, Some(&g)).map_err(|e| Exception::custom(e.to_string()))?;
                Ok(vec![y.square()?.mean(None)?])
            });
            let (v, grads) = step(&mut model.dec, (z.clone(), g.clone()))?;
            let mut outs: Vec<&Array> = grads.values().collect();
            outs.push(&v[0]);
            mlx_rs::transforms::eval(outs)?;
        } else {
            model.set_training(true);
            let mut step = mlx_rs::nn::value_and_grad(|m: &mut sovits_plugin_sovits_v2::SynthesizerTrn, batch: &Batch| -> Result<Vec<Array>, Exception> {
                let out = m.forward_train(batch, &mut noise).map_err(|e| Exception::custom(e.to_string()))?;
                Ok(vec![out.y_hat.square()?.mean(None)?])
            });
            let (v, grads) = step(&mut model, &batch)?;
            let mut outs: Vec<&Array> = grads.values().collect();
            outs.push(&v[0]);
            mlx_rs::transforms::eval(outs)?;
        }
        println!("rep {rep}: {:.3} s", start.elapsed().as_secs_f64());
    }
    Ok(())
}
