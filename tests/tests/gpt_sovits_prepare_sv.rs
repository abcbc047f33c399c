//! `sovits prepare --from-gpt-sovits` on an experiment folder with
//! `7-sv_cn/` (GPT-SoVITS v2Pro speaker-verification embeddings): the
//! synthetic folder `tests/golden/gpt_sovits_exp/exp` plus `7-sv_cn/a.wav.pt`,
//! a torch-written fp16 `[1, 20480]` tensor (the CUDA half path of
//! `2-get-sv.py`; `gpt_sovits_exp/sv_cn/`, values in `sv_expected.json`, see
//! PROVENANCE.md), and `b.wav.pt`, an f32 `[1, 20480]` tensor written here in
//! the `torch.save` layout by our own writer (a torch-written one is 80 KiB,
//! over the fixture budget; torch's f32 layout is covered by `4-cnhubert`).
//! The embeddings land in `sv/` as `[20480]` f32, unchanged, the dataset
//! passes `data check` and trains one v2Pro step; an item without its
//! `7-sv_cn` file, or with a file of another shape, is a per-item problem.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sovits_core::data::layout::{Folder, SV_DIM};
use sovits_core::data::npy;
use sovits_core::{Spec, SpectralFrontend, registry};
use sovits_interop::experiment::{ExperimentOutcome, import_experiment};
use sovits_interop::tensors::{StorageType, tensor_node};
use sovits_interop::{pickle_write, zip_container};
use sovits_test_support::copy_dir;
use sovits_test_support::train_fixtures::{check_and_train_one_step, tiny_spec};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/gpt_sovits_exp")
}

/// The tiny spec switched to v2Pro (MRTE 16 wide against gin 32, as the
/// full model's 512 against 1024).
fn pro_spec() -> Spec {
    tiny_spec(&[r#"generator.params.version="v2Pro""#, "generator.params.mrte_hidden=16"])
}

fn import(exp: &Path, ds: &Path, spec: &Spec, skip_bad: bool) -> anyhow::Result<ExperimentOutcome> {
    let frontend: Box<dyn SpectralFrontend> = registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?;
    Ok(import_experiment(exp, ds, &*frontend, skip_bad, &mut |_, _| {})?)
}

/// Writes `values` as a contiguous f32 `[1, n]` tensor in the `torch.save` layout.
fn write_f32_pt(path: &Path, values: &[f32]) -> anyhow::Result<()> {
    let pickle = pickle_write::to_bytes(&tensor_node(StorageType::Float, "0", &[1, values.len()]));
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let root = path.file_stem().and_then(|s| s.to_str()).unwrap_or("archive").replace('.', "_");
    zip_container::write_pth(path, &root, &pickle, &[("0".into(), bytes)])?;
    Ok(())
}

/// The experiment folder in `dir` with `7-sv_cn/` for a.wav (torch fp16)
/// and b.wav (f32); returns it and b.wav's values.
fn experiment_with_sv(dir: &Path) -> anyhow::Result<(PathBuf, Vec<f32>)> {
    let exp = dir.join("exp");
    copy_dir(&fixture().join("exp"), &exp)?;
    let sv = exp.join("7-sv_cn");
    std::fs::create_dir_all(&sv)?;
    std::fs::copy(fixture().join("sv_cn/a.wav.pt"), sv.join("a.wav.pt"))?;
    let b: Vec<f32> = (0..SV_DIM).map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0).collect();
    write_f32_pt(&sv.join("b.wav.pt"), &b)?;
    Ok((exp, b))
}

#[test]
fn sv_embeddings_are_imported_and_a_missing_one_is_a_per_item_problem() -> anyhow::Result<()> {
    sovits_plugins::link_all();
    let spec = pro_spec();
    let expected: Json = serde_json::from_str(&std::fs::read_to_string(fixture().join("sv_expected.json"))?)?;
    let a = &expected["a.wav"];
    assert_eq!(a["shape"], serde_json::json!([1, SV_DIM]), "sv_expected.json: a.wav's shape");
    assert_eq!(a["dtype"], "torch.float16", "the fixture is the fp16 (CUDA) case");
    let dir = tempfile::tempdir()?;
    let (exp, b) = experiment_with_sv(dir.path())?;
    // c.wav has no 7-sv_cn file: GPT-SoVITS's v2Pro loader would drop it silently
    let ds = dir.path().join("ds");
    let outcome = import(&exp, &ds, &spec, false)?;
    let r = &outcome.report;
    assert!(!outcome.dataset_written && !ds.join("metadata.json").exists(), "{r}");
    assert_eq!(r.bad_items, ["c.wav"], "{r}");
    assert!(r.problems.iter().any(|p| p.item.as_deref() == Some("c.wav") && p.to_string().contains("7-sv_cn/c.wav.pt: file")), "{r}");

    let outcome = import(&exp, &ds, &spec, true)?;
    assert!(outcome.dataset_written && outcome.written == 2, "{}", outcome.report);
    let (info, sv_a) = npy::read_f32(&Folder::Sv.file(&ds, "a.wav"))?;
    assert_eq!(info.shape, vec![SV_DIM], "a.wav: sv/ holds [20480]");
    let sum: f64 = sv_a.iter().map(|&v| v as f64).sum();
    let abs_sum: f64 = sv_a.iter().map(|&v| (v as f64).abs()).sum();
    for (got, key) in [(sum, "sum_f64"), (abs_sum, "abs_sum_f64")] {
        let want = a[key].as_f64().unwrap_or(f64::NAN);
        // fp16 -> f32 is exact; only the f64 summation order differs from torch's
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "a.wav: {key} {got} vs torch {want}");
    }
    let every: Vec<f64> = a["every_1024th"].as_array().expect("every_1024th").iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
    assert_eq!(every.len(), SV_DIM / 1024);
    for (k, want) in every.iter().enumerate() {
        assert_eq!(sv_a[k * 1024] as f64, *want, "a.wav: value {} (order or widening)", k * 1024);
    }
    let (_, sv_b) = npy::read_f32(&Folder::Sv.file(&ds, "b.wav"))?;
    assert_eq!(sv_b, b, "b.wav: the f32 embedding unchanged");
    assert!(!Folder::Sv.file(&ds, "c.wav").exists(), "the bad item is left out");

    check_and_train_one_step(spec, &ds, &dir.path().join("run"));
    Ok(())
}

#[test]
fn a_malformed_sv_file_is_a_per_item_problem() -> anyhow::Result<()> {
    sovits_plugins::link_all();
    let spec = pro_spec();
    let dir = tempfile::tempdir()?;
    let (exp, _) = experiment_with_sv(dir.path())?;
    // c.wav: HuBERT features [1, 768, T] where the embedding belongs
    std::fs::copy(exp.join("4-cnhubert/c.wav.pt"), exp.join("7-sv_cn/c.wav.pt"))?;
    // b.wav: 20479 values
    write_f32_pt(&exp.join("7-sv_cn/b.wav.pt"), &vec![0.5; SV_DIM - 1])?;
    // an embedding of no listed item
    std::fs::copy(fixture().join("sv_cn/a.wav.pt"), exp.join("7-sv_cn/z.wav.pt"))?;
    let ds = dir.path().join("ds");
    let outcome = import(&exp, &ds, &spec, false)?;
    let r = &outcome.report;
    assert!(!outcome.dataset_written, "{r}");
    assert_eq!(r.bad_items, ["b.wav", "c.wav"], "{r}");
    let has = |item: &str, needle: &str| r.problems.iter().any(|p| p.item.as_deref() == Some(item) && p.to_string().contains(needle));
    let exp_json: Json = serde_json::from_str(&std::fs::read_to_string(fixture().join("expected.json"))?)?;
    let c_shape: Vec<u64> = exp_json["c.wav"]["ssl_shape"].as_array().expect("ssl_shape").iter().map(|v| v.as_u64().unwrap_or(0)).collect();
    assert!(has("c.wav", "7-sv_cn/c.wav.pt: shape") && has("c.wav", &format!("{c_shape:?}")), "{r}");
    assert!(has("b.wav", "7-sv_cn/b.wav.pt: shape") && has("b.wav", "[1, 20479]"), "{r}");
    assert!(r.warnings.iter().any(|w| w.to_string().contains("7-sv_cn/z.wav.pt")), "{r}");
    Ok(())
}
