//! `sovits prepare --from-gpt-sovits logs/<exp>` on the synthetic experiment
//! folder `tests/golden/gpt_sovits_exp/exp` (torch-written `.pt` files: a
//! non-contiguous `requires_grad` f32 tensor, an fp16 one, a plain one; see
//! its PROVENANCE.md). The dataset holds the phone ids GPT-SoVITS's own
//! `cleaned_text_to_sequence` gave (`expected.json`), the features and audio
//! unchanged, passes `data check` and trains one step; a broken folder gives
//! a per-item report and no dataset.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sovits_core::data::layout::Folder;
use sovits_core::data::npy;
use sovits_core::{SpectralFrontend, registry};
use sovits_interop::experiment::import_experiment;
use sovits_test_support::copy_dir;
use sovits_test_support::train_fixtures::{check_and_train_one_step, tiny_spec};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/gpt_sovits_exp")
}

fn frontend(spec: &sovits_core::Spec) -> anyhow::Result<Box<dyn SpectralFrontend>> {
    Ok(registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?)
}

#[test]
fn prepare_from_gpt_sovits_passes_data_check_and_trains_one_step() -> anyhow::Result<()> {
    sovits_plugins::link_all();
    let spec = tiny_spec(&[]);
    let expected: Json = serde_json::from_str(&std::fs::read_to_string(fixture().join("expected.json"))?)?;
    let items = expected.as_object().expect("expected.json: one entry per item");
    let dir = tempfile::tempdir()?;
    let ds = dir.path().join("ds");
    let mut calls = Vec::new();
    let outcome = import_experiment(&fixture().join("exp"), &ds, &*frontend(&spec)?, false, &mut |d, n| calls.push((d, n)))?;
    assert!(outcome.report.problems.is_empty(), "{}", outcome.report);
    assert!(outcome.dataset_written);
    assert_eq!(outcome.written, items.len());
    assert_eq!(calls.last(), Some(&(items.len(), items.len())), "progress reaches the end");
    // the 2-field line GPT-SoVITS skips is reported, not silently dropped
    assert!(outcome.report.warnings.iter().any(|w| w.field.contains("line 4")), "{}", outcome.report);
    let semantic = std::fs::read_to_string(fixture().join("exp/6-name2semantic.tsv"))?;
    for (name, e) in items {
        let (_, ids) = npy::read_i32(&Folder::PhonemeIds.file(&ds, name))?;
        let want: Vec<i32> = e["phone_ids"].as_array().expect("phone_ids").iter().map(|v| v.as_i64().unwrap_or(-1) as i32).collect();
        assert_eq!(ids, want, "{name}: phone ids differ from GPT-SoVITS's");
        let (ai, audio) = npy::read_f32(&Folder::Audio.file(&ds, name))?;
        assert_eq!(ai.shape, vec![e["samples"].as_u64().unwrap_or(0) as usize], "{name}: samples");
        let audio_sum: f64 = audio.iter().map(|&v| v as f64).sum();
        assert_eq!(audio_sum, e["audio_sum_f64"].as_f64().unwrap_or(f64::NAN), "{name}: audio changed (normalised again?)");
        let frames = e["ssl_shape"][2].as_u64().unwrap_or(0) as usize;
        let (si, ssl) = npy::read_f32(&Folder::Ssl.file(&ds, name))?;
        let t = audio.len() / 640;
        assert_eq!(si.shape, vec![768, t], "{name}: ssl aligned to the spec frames");
        let sum: f64 = (0..768).flat_map(|c| (0..frames).map(move |j| c * t + j)).map(|i| ssl[i] as f64).sum();
        let want_sum = e["ssl_sum_f64"].as_f64().unwrap_or(f64::NAN);
        assert!((sum - want_sum).abs() <= 1e-9 * want_sum.abs().max(1.0), "{name}: ssl sum {sum} vs torch {want_sum}");
        let (_, sem) = npy::read_i32(&Folder::SemanticIds.file(&ds, name))?;
        let line = semantic.lines().find(|l| l.split('\t').next() == Some(name)).expect("tsv line");
        let want_sem: Vec<i32> = line.split('\t').nth(1).unwrap_or("").split(' ').map(|v| v.parse().unwrap_or(-1)).collect();
        assert_eq!(sem, want_sem, "{name}: semantic ids");
    }
    check_and_train_one_step(spec, &ds, &dir.path().join("run"));
    Ok(())
}

#[test]
fn a_broken_experiment_folder_gives_a_per_item_report() -> anyhow::Result<()> {
    sovits_plugins::link_all();
    let spec = tiny_spec(&[]);
    let dir = tempfile::tempdir()?;
    let exp = dir.path().join("exp");
    copy_dir(&fixture().join("exp"), &exp)?;
    // a.wav: features but no wav
    std::fs::remove_file(exp.join("5-wav32k/a.wav"))?;
    // b.wav: a phone outside the v2 table (line 2)
    let text = std::fs::read_to_string(exp.join("2-name2text.txt"))?;
    let text = text.replacen("n i3 h ao3", "n QQ h ao3", 1);
    // e.wav: a 16 kHz wav, valid features, no semantic ids
    let text = format!("{text}e.wav\tAA1\t1\tah\n");
    std::fs::write(exp.join("2-name2text.txt"), text)?;
    std::fs::copy(exp.join("4-cnhubert/a.wav.pt"), exp.join("4-cnhubert/e.wav.pt"))?;
    let mut w = hound::WavWriter::create(exp.join("5-wav32k/e.wav"), hound::WavSpec { channels: 1, sample_rate: 16000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int })?;
    for i in 0..16000 {
        w.write_sample(((i % 100) * 50) as i16)?;
    }
    w.finalize()?;
    // c.wav: a .pt that holds a dict, not a tensor
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/interop/d_sample_pretrained.pth"), exp.join("4-cnhubert/c.wav.pt"))?;
    let ds = dir.path().join("ds");
    let outcome = import_experiment(&exp, &ds, &*frontend(&spec)?, false, &mut |_, _| {})?;
    let r = &outcome.report;
    assert!(!outcome.dataset_written && !ds.join("metadata.json").exists(), "a broken folder must not give a dataset");
    assert_eq!(r.bad_items, ["a.wav", "b.wav", "c.wav", "e.wav"], "{r}");
    let text = r.to_string();
    let has = |item: &str, needle: &str| r.problems.iter().any(|p| p.item.as_deref() == Some(item) && p.to_string().contains(needle));
    assert!(has("a.wav", "a.wav: file"), "{text}");
    assert!(has("b.wav", "2-name2text.txt: line 2 (b.wav): phone") && has("b.wav", "`QQ`"), "{text}");
    assert!(has("c.wav", "expected a tensor"), "{text}");
    assert!(has("e.wav", "16000 Hz") && has("e.wav", "6-name2semantic.tsv"), "{text}");
    Ok(())
}
