//! The GPT-SoVITS s2G export: its `config` has the keys and value types of
//! the reference-written `tests/golden/interop/tiny_G.pth` (recursively),
//! with our run strings and the spec file's decimals; and a full-size v2
//! export is classified v2 by GPT-SoVITS's version rules as docs/interop.md
//! states them (`PK` head, size >= 82,978 KiB, text embedding rows != 322).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sovits_core::{Spec, registry};
use sovits_interop::{RunStrings, export_gpt_sovits, import_pth, s2_config};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `null`, `bool`, `int`, `float`, `str`, `list`, `object`, as the pickle types them.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "object",
    }
}

/// Every difference in keys or value types between `got` and `want`.
fn type_diffs(got: &Json, want: &Json, at: &str, out: &mut Vec<String>) {
    if kind(got) != kind(want) {
        out.push(format!("{at}: {} (ours {got}) vs {} (reference {want})", kind(got), kind(want)));
        return;
    }
    match (got, want) {
        (Json::Object(g), Json::Object(w)) => {
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{at}.{k}: missing"));
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{at}.{k}: not in the reference"));
            }
            for (k, v) in g.iter().filter(|(k, _)| w.contains_key(*k)) {
                type_diffs(v, &w[k], &format!("{at}.{k}"), out);
            }
        }
        (Json::Array(g), Json::Array(w)) if g.len() == w.len() => {
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                type_diffs(a, b, &format!("{at}[{i}]"), out);
            }
        }
        (Json::Array(g), Json::Array(w)) => out.push(format!("{at}: {} items vs {}", g.len(), w.len())),
        _ => {}
    }
}

fn run_strings(name: &str) -> RunStrings {
    RunStrings {
        name: name.into(),
        exp_dir: format!("runs/{name}"),
        save_weight_dir: "weights".into(),
        save_every_weights: true,
        save_every_epoch: 4,
        ..Default::default()
    }
}

#[test]
fn exported_config_has_the_reference_keys_and_types() -> anyhow::Result<()> {
    sovits_plugins::link_all();
    let spec_file = root().join("configs/tiny.json");
    let spec = Spec::load(&spec_file, &[])?;
    let (cfg, warnings) = s2_config(&spec, &run_strings("rt-test"))?;
    let reference = import_pth(&root().join("tests/golden/interop/tiny_G.pth"))?.config.expect("the fixture has a config");
    // through the pickle: write our tiny G with this config and read it back
    let g = sovits_core::nn::read_safetensors(&root().join("tests/golden/sovits_v2/tiny_G.safetensors"))?;
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("rt.pth");
    export_gpt_sovits(&g, &cfg, "1epoch_2iteration", &out)?;
    let back = import_pth(&out)?.config.expect("our export has a config");
    assert_eq!(back, cfg, "the config changed through the pickle");
    let mut diffs = Vec::new();
    type_diffs(&back, &reference, "config", &mut diffs);
    assert!(diffs.is_empty(), "config differs from the reference's in keys or types:\n{}", diffs.join("\n"));
    // run strings are ours, numbers are the spec's decimals
    assert_eq!(back["name"], "rt-test");
    assert_eq!(back["data"]["exp_dir"], "runs/rt-test");
    assert_ne!(back["name"], reference["name"]);
    assert_eq!(back["train"]["learning_rate"].as_f64(), Some(0.0001));
    assert_eq!(back["train"]["lr_decay"].as_f64(), Some(0.999875));
    assert_eq!(back["train"]["eps"].as_f64(), Some(1e-9));
    assert_eq!(back["model"]["p_dropout"].as_f64(), Some(0.1));
    assert_eq!(back["train"]["segment_size"].as_i64(), Some(spec.trainer.segment_size as i64));
    let tiny: Json = serde_json::from_str(&std::fs::read_to_string(&spec_file)?)?;
    for (k, v) in tiny["generator"]["params"].as_object().expect("tiny.json generator params") {
        if let Some(ours) = back["model"].get(k) {
            assert_eq!(ours, v, "model.{k}");
        }
    }
    // the tiny model's MRTE sizes are hard-coded differently in GPT-SoVITS: said, not hidden
    assert!(warnings.iter().any(|w| w.contains("mrte_hidden")), "{warnings:?}");
    Ok(())
}

/// GPT-SoVITS's version rules for a file (process_ckpt.py, as docs/interop.md states them).
fn gpt_sovits_version(path: &Path, text_rows: usize) -> anyhow::Result<&'static str> {
    let bytes = std::fs::read(path)?;
    anyhow::ensure!(&bytes[..2] == b"PK", "an export must start with PK");
    let kib = bytes.len() as f64 / 1024.0;
    let by_size = if kib < 82978.0 { "v1" } else if kib < 700.0 * 1024.0 { "v2" } else { "v3" };
    Ok(match (by_size, text_rows) {
        (_, 322) => "v1",
        (v, _) => v,
    })
}

#[test]
fn full_size_export_is_v2_by_the_size_rule() -> anyhow::Result<()> {
    sovits_plugins::link_all();
    let spec = Spec::default();
    let g = registry::build_generator(&spec.generator, "generator", &spec.build_context())?;
    let weights = sovits_core::nn::flatten_params(&*g);
    // the smallest possible export: every run string empty
    let (cfg, _) = s2_config(&spec, &RunStrings::default())?;
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("x.pth");
    export_gpt_sovits(&weights, &cfg, "", &out)?;
    let back = import_pth(&out)?;
    let rows = back.weights["enc_p.text_embedding.weight"].shape()[0] as usize;
    assert!(back.weights.keys().all(|k| !k.contains("enc_q")));
    let kib = std::fs::metadata(&out)?.len() as f64 / 1024.0;
    println!("full-size export: {kib:.2} KiB, {:.2} KiB above the 82,978 KiB v1/v2 threshold", kib - 82978.0);
    assert_eq!(gpt_sovits_version(&out, rows)?, "v2");
    // docs/interop.md states the margin: at least 8 KiB for every full-size v2 export
    assert!(kib - 82978.0 >= 8.0, "margin {:.2} KiB", kib - 82978.0);
    Ok(())
}
