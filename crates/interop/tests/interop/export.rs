//! Exporting to the reference's `.pth` layout and to safetensors, and
//! writing an imported checkpoint as this trainer's files.

use std::collections::BTreeSet;
use std::path::Path;

use mlx_rs::Dtype;
use sovits_core::nn::torch_layout::read_safetensors;
use sovits_interop::pickle_read::{self, Value};
use sovits_interop::zip_container::PthArchive;
use sovits_interop::{export_gpt_sovits, export_safetensors, import_pth};

use crate::helpers::*;

/// Entry-name pattern, sorted globals and the unpickled tree of a `.pth`.
type Structure = (Vec<String>, Vec<String>, Value);

fn structure(path: &Path) -> Result<Structure, Box<dyn std::error::Error>> {
    let mut ar = PthArchive::open(path)?;
    let names: Vec<String> = ar
        .entry_names()
        .into_iter()
        .map(|n| if n.starts_with("data/") { "data/<n>".to_string() } else { n })
        .fold(Vec::new(), |mut v, n| {
            if v.last() != Some(&n) {
                v.push(n);
            }
            v
        });
    let p = pickle_read::parse(&ar.read("data.pkl")?, "data.pkl")?;
    let mut globals = p.globals;
    globals.sort();
    Ok((names, globals, p.value))
}

#[test]
fn export_round_trips_and_matches_reference_structure() -> R {
    let dir = tmpdir("export")?;
    let reference = reference_f32()?;
    let out = dir.join("tiny_export.pth");
    export_gpt_sovits(&reference, &hps()?, "1epoch_2iteration", &out)?;
    assert_eq!(&std::fs::read(&out)?[..2], b"PK", "no version tag: loads like my_save output");
    let back = import_pth(&out)?;
    assert_fp16_equal(&back.weights, &reference)?;
    assert_eq!(back.config, Some(hps()?));
    assert_eq!(back.info.as_deref(), Some("1epoch_2iteration"));
    // Exactly at fp16: exporting the imported fp16 weights gives the same tensors.
    let again = dir.join("again.pth");
    export_gpt_sovits(&back.weights, &hps()?, "x", &again)?;
    for (k, a) in &import_pth(&again)?.weights {
        assert!(f16_bits(a)? == f16_bits(&back.weights[k])?, "{k}");
    }

    let (ref_names, ref_globals, ref_top) = structure(&golden("interop", "tiny_G.pth"))?;
    let (names, globals, top) = structure(&out)?;
    assert_eq!(names, ref_names, "zip entry pattern");
    assert_eq!(globals, ref_globals, "pickle globals");
    assert_eq!(top.str_keys(), ref_top.str_keys(), "top-level keys");
    assert!(matches!((&top, &ref_top), (Value::Dict { ordered: true, .. }, Value::Dict { ordered: true, .. })));
    let dtypes = |v: &Value| -> Vec<String> {
        match v.get("weight") {
            Some(Value::Dict { items, .. }) => items
                .iter()
                .filter_map(|(_, t)| match t {
                    Value::Object { args, .. } => match args.first() {
                        Some(Value::PersistentId(p)) => match p.as_ref() {
                            Value::Tuple(x) => x.get(1).map(|g| format!("{g:?}")),
                            _ => None,
                        },
                        _ => None,
                    },
                    _ => None,
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    };
    assert_eq!(dtypes(&top), dtypes(&ref_top));
    assert_eq!(dtypes(&top), vec!["Global(\"torch.HalfStorage\")".to_string()]);
    let hp = |v: &Value| match v.get("config") {
        Some(Value::Object { class, state: Some(s), .. }) => {
            let nested: Vec<String> = ["train", "data", "model"]
                .iter()
                .filter_map(|k| match s.get(k) {
                    Some(Value::Object { class, .. }) => Some(class.clone()),
                    _ => None,
                })
                .collect();
            (class.clone(), nested)
        }
        _ => (String::new(), Vec::new()),
    };
    assert_eq!(hp(&top), hp(&ref_top));
    assert_eq!(hp(&top).1, vec!["utils.HParams"; 3]);

    let st = dir.join("G.safetensors");
    export_safetensors(&reference, &st)?;
    let back = read_safetensors(&st)?;
    assert_eq!(back.len(), reference.len());
    for (k, a) in &reference {
        if a.dtype() == Dtype::Float32 {
            assert!(f32_bits(&back[k])? == f32_bits(a)?, "{k}");
        } else {
            assert_eq!(back[k].dtype(), a.dtype(), "{k}");
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn write_imported_writes_checkpoint_files() -> R {
    let dir = tmpdir("write")?;
    let imp = import_pth(&golden("interop", "tiny_train_ckpt_dec.pth"))?;
    sovits_interop::write_imported(&imp, &dir)?;
    let g = read_safetensors(&dir.join("G.safetensors"))?;
    assert_eq!(g.len(), 290);
    let opt = read_safetensors(&dir.join("opt_g.safetensors"))?;
    assert!(opt.contains_key("exp_avg.dec.conv_pre.weight") && opt.contains_key("step") && opt.contains_key("learning_rate"));
    let meta = json(&dir.join("interop.json"))?;
    assert_eq!(meta["layout"], "gpt-sovits-training-checkpoint");
    assert_eq!(meta["param_groups"][0]["initial_lr"], 0.0001);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
