//! `infer` on GPT-SoVITS inference weights: `tests/golden/interop/tiny_G.pth`
//! (written by the reference's `process_ckpt.savee`, no `enc_q.*`) loads for
//! inference and speaks exactly what the checkpoint's f32 weights, rounded
//! to the same fp16 values, speak with their `enc_q.*` present (inference
//! never runs the posterior encoder). Any other missing or unexpected key
//! is refused. Inputs: the reference decode inputs in `tests/golden/sovits_v2/`.

use std::path::{Path, PathBuf};

use mlx_rs::{Array, Dtype};
use sovits_core::components::{Generator, ParamMap};
use sovits_core::data::npy;
use sovits_core::nn::noise::SeededNoise;
use sovits_core::{InferInput, Spec, registry};
use sovits_interop::{import_pth, load_inference_weights};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tiny_generator() -> anyhow::Result<Box<dyn Generator>> {
    sovits_plugins::link_all();
    let spec = Spec::load(&root().join("configs/tiny.json"), &[])?;
    Ok(registry::build_generator(&spec.generator, "generator", &spec.build_context())?)
}

/// An int64 `.npy` (torch's default integer type) as i32 values.
fn read_i64(path: &Path) -> anyhow::Result<Vec<i32>> {
    let f = npyz::NpyFile::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    Ok(f.into_vec::<i64>()?.into_iter().map(|v| v as i32).collect())
}

fn input() -> anyhow::Result<InferInput> {
    let g = root().join("tests/golden/sovits_v2");
    let codes = read_i64(&g.join("decode.in.codes.npy"))?;
    let text = read_i64(&g.join("decode.in.text.npy"))?;
    let (ri, refer) = npy::read_f32(&g.join("decode.in.refer.npy"))?; // [1, 1025, T]
    let (f, t) = (ri.shape[1] as i32, ri.shape[2] as i32);
    let l = text.len() as i32;
    Ok(InferInput {
        semantic: Array::from_slice(&codes, &[1, codes.len() as i32]),
        text: Array::from_slice(&text, &[1, l]),
        text_lengths: Array::from_slice(&[l], &[1]),
        refer: Array::from_slice(&refer, &[1, f, t]).transpose_axes(&[0, 2, 1])?,
        refer_lengths: Array::from_slice(&[t], &[1]),
        noise_scale: 0.0,
        speed: 1.0,
        sv: None,
    })
}

fn speak(weights: &ParamMap) -> anyhow::Result<Vec<f32>> {
    let mut g = tiny_generator()?;
    load_inference_weights(&mut *g, weights)?;
    g.set_training(false);
    let out = g.infer(&input()?, &mut SeededNoise::new(1)?)?.reshape(&[-1])?;
    out.eval()?;
    Ok(out.as_slice::<f32>().to_vec())
}

#[test]
fn infer_runs_on_inference_weights_without_enc_q_and_on_a_checkpoint() -> anyhow::Result<()> {
    let pth = import_pth(&root().join("tests/golden/interop/tiny_G.pth"))?.weights;
    assert!(pth.keys().all(|k| !k.starts_with("enc_q.")), "the fixture should lack enc_q");
    let ckpt = sovits_core::nn::read_safetensors(&root().join("tests/golden/sovits_v2/tiny_G.safetensors"))?;
    assert!(ckpt.keys().any(|k| k.starts_with("enc_q.")), "the checkpoint should hold enc_q");
    let mut rounded = ParamMap::new();
    for (k, v) in &ckpt {
        rounded.insert(k.clone(), v.as_dtype(Dtype::Float16)?.as_dtype(Dtype::Float32)?);
    }
    let from_pth = speak(&pth)?;
    let from_ckpt = speak(&rounded)?;
    assert!(!from_pth.is_empty() && from_pth.iter().all(|x| x.is_finite()));
    assert!(from_pth.iter().any(|&x| x != 0.0), "silent output");
    assert_eq!(from_pth.len(), from_ckpt.len());
    let same = from_pth.iter().zip(&from_ckpt).all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "inference without enc_q differs from inference with it");
    Ok(())
}

#[test]
fn inference_weights_refuse_any_other_missing_or_unexpected_key() -> anyhow::Result<()> {
    let pth = import_pth(&root().join("tests/golden/interop/tiny_G.pth"))?.weights;
    let mut missing = pth.clone();
    missing.remove("dec.conv_post.weight");
    let e = load_inference_weights(&mut *tiny_generator()?, &missing).expect_err("a missing decoder key must fail").to_string();
    assert!(e.contains("dec.conv_post.weight"), "{e}");
    let mut extra = pth.clone();
    extra.insert("dec.extra.weight".into(), Array::from_f32(0.0));
    let e = load_inference_weights(&mut *tiny_generator()?, &extra).expect_err("an unexpected key must fail").to_string();
    assert!(e.contains("dec.extra.weight"), "{e}");
    // with some enc_q keys present, every enc_q key is required
    let mut partial = pth;
    partial.insert("enc_q.proj.bias".into(), Array::zeros::<f32>(&[64])?);
    assert!(load_inference_weights(&mut *tiny_generator()?, &partial).is_err());
    Ok(())
}
