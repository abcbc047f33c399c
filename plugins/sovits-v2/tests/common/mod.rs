//! Shared test helpers: fixture loading (`tests/golden/sovits_v2`, copied from
//! `shared/fixtures/gpt-sovits-v2`, see its PROVENANCE.md), the tiny model and
//! tolerance checks.
#![allow(dead_code)]

pub mod pro;

use std::path::PathBuf;

use mlx_rs::{Array, ops};
use sovits_core::batch::{Batch, InferInput, VitsTrainOutput};
use sovits_core::nn::noise::RecordedNoise;
use sovits_core::nn::{load_strict, read_safetensors};
use sovits_plugin_sovits_v2::{Config, SynthesizerTrn};

/// Folder of the committed fixtures.
pub const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/sovits_v2");
/// Folder of the committed key lists.
pub const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/keys");

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(GOLDEN).join(name)
}

fn open(name: &str) -> npyz::NpyFile<std::io::BufReader<std::fs::File>> {
    let f = std::fs::File::open(path(&format!("{name}.npy"))).unwrap_or_else(|e| panic!("{name}.npy: {e}"));
    npyz::NpyFile::new(std::io::BufReader::new(f)).unwrap_or_else(|e| panic!("{name}.npy: {e}"))
}

/// A float32 fixture, as stored (torch layout).
pub fn f32_npy(name: &str) -> Array {
    let npy = open(name);
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<f32> = npy.into_vec().unwrap_or_else(|e| panic!("{name}: {e}"));
    Array::from_slice(&data, &shape)
}

/// An int64 fixture as int32.
pub fn i32_npy(name: &str) -> Array {
    let npy = open(name);
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<i64> = npy.into_vec().unwrap_or_else(|e| panic!("{name}: {e}"));
    let data: Vec<i32> = data.into_iter().map(|v| v as i32).collect();
    Array::from_slice(&data, &shape)
}

/// A torch `[B, C, T]` fixture in channels-last `[B, T, C]`.
pub fn cl(name: &str) -> Array {
    f32_npy(name).transpose_axes(&[0, 2, 1]).unwrap()
}

/// The tiny model's config: `hps.model` of tiny_config.json plus its MRTE override.
pub fn tiny_config() -> Config {
    let text = std::fs::read_to_string(path("tiny_config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut model = v["hps"]["model"].clone();
    let o = &v["mrte_override"];
    let m = model.as_object_mut().unwrap();
    m.insert("mrte_content_channels".into(), o["content_enc_channels"].clone());
    m.insert("mrte_hidden".into(), o["hidden_size"].clone());
    m.insert("mrte_out".into(), o["out_channels"].clone());
    m.insert("mrte_heads".into(), o["n_heads"].clone());
    serde_json::from_value(model).unwrap()
}

/// Samples per frame of the tiny model (the product of its upsample rates).
pub fn hop() -> i32 {
    tiny_config().upsample_factor()
}

/// An integer fixture with a leading axis of 1 dropped (the reference's
/// `[1, B, T]` codes as `[B, T]`), whatever its lengths.
pub fn squeeze_first(a: Array) -> Array {
    let shape = a.shape()[1..].to_vec();
    a.reshape(&shape).unwrap()
}

/// A 1-d integer fixture's values (lengths).
pub fn i32_values(name: &str) -> Vec<i32> {
    i32_npy(name).as_slice::<i32>().to_vec()
}

/// The training batch of the `forward.*` fixtures: SSL features (or, without
/// them, the reference's codes), spectra and text with their lengths, and
/// silent audio of `y_lengths * hop` samples. Every length comes from the fixtures.
pub fn forward_batch(with_ssl: bool) -> Batch {
    let spec = cl("ref_enc.in.spec");
    let hop = hop();
    let audio_lengths: Vec<i32> = i32_values("forward.in.y_lengths").iter().map(|&t| t * hop).collect();
    let (b, frames) = (spec.shape()[0], spec.shape()[1]);
    Batch {
        ssl: with_ssl.then(|| cl("ssl_quant.in.ssl")),
        semantic: (!with_ssl).then(|| squeeze_first(i32_npy("ssl_quant.out.codes"))),
        spec,
        spec_lengths: i32_npy("forward.in.y_lengths"),
        text: i32_npy("forward.in.text"),
        text_lengths: i32_npy("forward.in.text_lengths"),
        audio: Array::zeros::<f32>(&[b, frames * hop]).unwrap(),
        audio_lengths: Array::from_slice(&audio_lengths, &[b]),
        sv: None,
    }
}

/// The inference input of the `decode.*` fixtures (one item; lengths are the
/// fixtures' full lengths).
pub fn decode_input(noise_scale: f32, speed: f32) -> InferInput {
    let text = i32_npy("decode.in.text");
    let refer = cl("decode.in.refer");
    let (text_len, refer_len) = (text.shape()[1], refer.shape()[1]);
    InferInput {
        semantic: squeeze_first(i32_npy("decode.in.codes")),
        text,
        text_lengths: Array::from_slice(&[text_len], &[1]),
        refer,
        refer_lengths: Array::from_slice(&[refer_len], &[1]),
        noise_scale,
        speed,
        sv: None,
    }
}

/// The tiny model with the fixture weights (strict load), in eval mode.
pub fn tiny_model() -> SynthesizerTrn {
    let mut m = SynthesizerTrn::new(&tiny_config(), 32).unwrap();
    let w = read_safetensors(&path("tiny_G.safetensors")).unwrap();
    load_strict(&mut m, &w).unwrap();
    m.training = false;
    m
}

/// max |a - b| after checking the shapes agree.
pub fn max_abs(a: &Array, b: &Array) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shape mismatch");
    let d = ops::abs(ops::subtract(a, b).unwrap()).unwrap();
    d.max(None).unwrap().item_cast::<f32>()
}

/// Asserts `|got - want| <= atol + rtol * |want|` elementwise; returns max |got - want|.
pub fn assert_close(what: &str, got: &Array, want: &Array, atol: f32, rtol: f32) -> f32 {
    let got = got.as_dtype(mlx_rs::Dtype::Float32).unwrap();
    let want = want.as_dtype(mlx_rs::Dtype::Float32).unwrap();
    let diff = max_abs(&got, &want);
    let excess = ops::subtract(
        ops::abs(ops::subtract(&got, &want).unwrap()).unwrap(),
        ops::add(Array::from_f32(atol), ops::multiply(ops::abs(&want).unwrap(), Array::from_f32(rtol)).unwrap())
            .unwrap(),
    )
    .unwrap();
    let worst = excess.max(None).unwrap().item_cast::<f32>();
    println!("{what}: max |diff| = {diff:.3e}");
    assert!(worst <= 0.0, "{what}: max |diff| {diff:.3e} exceeds atol {atol:e} + rtol {rtol:e}");
    diff
}

/// Asserts exact equality of two integer/float arrays.
pub fn assert_exact(what: &str, got: &Array, want: &Array) {
    let d = max_abs(&got.as_dtype(mlx_rs::Dtype::Float32).unwrap(), &want.as_dtype(mlx_rs::Dtype::Float32).unwrap());
    println!("{what}: max |diff| = {d:e}");
    assert_eq!(d, 0.0, "{what} differs");
}

/// The recorded draws of the `forward.*` fixtures (enc_q noise, segment uniform).
pub fn fixture_noise() -> RecordedNoise {
    let mut noise = RecordedNoise::new();
    noise.push("enc_q.noise", cl("forward.in.noise_enc_q"));
    noise.push("rand_slice", f32_npy("forward.in.rand_slice_u"));
    noise
}

/// GPT-SoVITS `losses.kl_loss` on a training forward's outputs.
pub fn kl(o: &VitsTrainOutput) -> f32 {
    let d = ops::subtract(&o.z_p, &o.m_p).unwrap();
    let t = ops::add(
        ops::subtract(ops::subtract(&o.logs_p, &o.logs_q).unwrap(), Array::from_f32(0.5)).unwrap(),
        ops::multiply(
            ops::multiply(ops::multiply(&d, &d).unwrap(), Array::from_f32(0.5)).unwrap(),
            ops::exp(ops::multiply(&o.logs_p, Array::from_f32(-2.0)).unwrap()).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let num = ops::multiply(&t, &o.z_mask).unwrap().sum(None).unwrap();
    ops::divide(&num, o.z_mask.sum(None).unwrap()).unwrap().item_cast::<f32>()
}
