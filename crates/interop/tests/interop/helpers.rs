//! Fixture paths, temporary folders and bit/sum views shared by the interop tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use half::f16;
use mlx_rs::{Array, Dtype};
use serde_json::Value as Json;
use sovits_core::components::ParamMap;
use sovits_core::nn::torch_layout::read_safetensors;

pub(crate) type R = Result<(), Box<dyn std::error::Error>>;

pub(crate) fn golden(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden").join(dir).join(name)
}

pub(crate) fn tmpdir(tag: &str) -> Result<PathBuf, std::io::Error> {
    let d = std::env::temp_dir().join(format!("sovits-interop-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

pub(crate) fn json(path: &Path) -> Result<Json, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

pub(crate) fn f16_bits(a: &Array) -> Result<Vec<u16>, Box<dyn std::error::Error>> {
    let a = a.as_dtype(Dtype::Float16)?;
    a.eval()?;
    Ok(a.as_slice::<f16>().iter().map(|x| x.to_bits()).collect())
}

pub(crate) fn f32_bits(a: &Array) -> Result<Vec<u32>, Box<dyn std::error::Error>> {
    assert_eq!(a.dtype(), Dtype::Float32);
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|x| x.to_bits()).collect())
}

pub(crate) fn sum_f64(a: &Array) -> Result<f64, Box<dyn std::error::Error>> {
    let a = a.as_dtype(Dtype::Float32)?;
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|&x| x as f64).sum())
}

pub(crate) fn sum_abs_f64(a: &Array) -> Result<f64, Box<dyn std::error::Error>> {
    let a = a.as_dtype(Dtype::Float32)?;
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|&x| (x as f64).abs()).sum())
}

pub(crate) fn reference_f32() -> Result<ParamMap, Box<dyn std::error::Error>> {
    Ok(read_safetensors(&golden("sovits_v2", "tiny_G.safetensors"))?)
}

pub(crate) fn hps() -> Result<Json, Box<dyn std::error::Error>> {
    Ok(json(&golden("sovits_v2", "tiny_config.json"))?["hps"].clone())
}

/// Every key except enc_q, each the reference rounded to fp16, bit for bit.
pub(crate) fn assert_fp16_equal(got: &ParamMap, reference: &ParamMap) -> R {
    let want: BTreeSet<&String> = reference.keys().filter(|k| !k.contains("enc_q")).collect();
    let have: BTreeSet<&String> = got.keys().collect();
    assert_eq!(have, want);
    assert_eq!(have.len(), 529);
    for (k, a) in got {
        assert_eq!(a.dtype(), Dtype::Float16, "{k}");
        assert_eq!(a.shape(), reference[k].shape(), "{k}");
        assert!(f16_bits(a)? == f16_bits(&reference[k])?, "{k} differs from the f32 reference rounded to fp16");
    }
    Ok(())
}
