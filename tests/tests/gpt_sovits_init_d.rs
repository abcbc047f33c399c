//! Fine-tuning from a GPT-SoVITS pair: `train --init-from s2G.pth
//! --init-d-from s2D.pth`. A full v2 discriminator with the closed-form
//! weights of `tests/golden/mpd` (rule and torch parameter order in its
//! `index.json`) is written at test time in both layouts GPT-SoVITS reads a D
//! from (`pretrained_s2D`: `{"weight"}`; `D_*.pth`: `utils.save_checkpoint`),
//! whose pickle structure must match the reference-written samples
//! `tests/golden/interop/d_sample_{pretrained,train}.pth`; loading it must
//! reproduce every D parameter bit for bit. A named but missing or
//! unreadable D is an error; a G-only source says D stays random.

use std::path::{Path, PathBuf};

use mlx_rs::Array;
use serde_json::{Value as Json, json};
use sovits_core::components::ParamMap;
use sovits_core::nn::flatten_params;
use sovits_core::train::checkpoint::load_weights;
use sovits_core::train::Trainer;
use sovits_core::Spec;
use sovits_interop::export_d::{AdamwGroup, export_pretrained, export_training_checkpoint};
use sovits_interop::pickle_read::{self, Value};
use sovits_interop::prepare_init;
use sovits_interop::zip_container::PthArchive;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tiny generator with the full v2 MPD (configs/tiny.json's default).
fn trainer() -> anyhow::Result<Trainer> {
    sovits_plugins::link_all();
    let spec = Spec::load(&root().join("configs/tiny.json"), &["trainer.batch_size=1".into()])?;
    Ok(Trainer::new(spec)?)
}

/// torch's `named_parameters()` order from the fixture's index (bias, weight_g, weight_v per conv).
fn torch_order() -> anyhow::Result<Vec<String>> {
    let index: Json = serde_json::from_str(&std::fs::read_to_string(root().join("tests/golden/mpd/index.json"))?)?;
    let mut by_name = std::collections::BTreeMap::new();
    for p in index["mpd"]["weights"]["params"].as_array().expect("mpd.weights.params") {
        let (name, idx) = (p["name"].as_str().expect("name").to_string(), p["idx"].as_i64().expect("idx"));
        if let Some(conv) = name.strip_suffix(".weight_v") {
            by_name.entry(format!("{conv}.weight_g")).or_insert(idx - 1);
        }
        by_name.insert(name, idx);
    }
    let mut named: Vec<(i64, String)> = by_name.into_iter().map(|(n, i)| (i, n)).collect();
    named.sort();
    Ok(named.into_iter().map(|(_, n)| n).collect())
}

/// The pickle's structure: containers and keys, scalar types, tensor dtypes
/// (state dicts and optimizer states collapse to their first entry's shape).
fn skeleton(v: &Value) -> Json {
    match v {
        Value::Dict { ordered, items } => {
            let tensors = !items.is_empty() && items.iter().all(|(_, x)| sovits_interop::tensors::is_tensor(x));
            let int_keys = !items.is_empty() && items.iter().all(|(k, _)| matches!(k, Value::Int(_)));
            if tensors {
                json!({"state_dict": ordered, "of": skeleton(&items[0].1)})
            } else if int_keys {
                json!({"int_keyed": skeleton(&items[0].1)})
            } else {
                let mut m = serde_json::Map::new();
                m.insert("<ordered>".into(), json!(ordered));
                for (k, x) in items {
                    m.insert(format!("{k:?}"), skeleton(x));
                }
                Json::Object(m)
            }
        }
        Value::List(items) if items.iter().all(|x| matches!(x, Value::Int(_))) => json!("int list"),
        Value::List(items) => json!({"list_of": items.first().map(skeleton)}),
        Value::Tuple(items) => Json::Array(items.iter().map(skeleton).collect()),
        t if sovits_interop::tensors::is_tensor(t) => {
            let r = sovits_interop::tensors::tensor_ref(t, "skeleton").expect("tensor");
            json!(format!("tensor {:?}", r.dtype))
        }
        other => json!(other.kind()),
    }
}

fn structure(path: &Path) -> anyhow::Result<(Json, Vec<String>)> {
    let mut a = PthArchive::open(path)?;
    let top = pickle_read::parse(&a.read("data.pkl")?, &path.display().to_string())?.value;
    let root = format!("{}/", a.root());
    let mut entries: Vec<String> =
        a.entry_names().iter().map(|e| e.strip_prefix(&root).unwrap_or(e).to_string()).filter(|e| !e.starts_with("data/")).collect();
    entries.sort();
    Ok((skeleton(&top), entries))
}

fn bits(a: &Array) -> anyhow::Result<Vec<u32>> {
    let a = a.as_dtype(mlx_rs::Dtype::Float32)?.reshape(&[-1])?;
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|x| x.to_bits()).collect())
}

#[test]
fn init_d_from_loads_a_full_d_bit_exactly_in_both_layouts() -> anyhow::Result<()> {
    let mut t = trainer()?;
    let closed = sovits_plugin_mpd::closed_form::closed_form_params(&*t.gan.discriminators[0].model)?;
    let order = torch_order()?;
    assert_eq!(order.len(), closed.len(), "index.json lists every D parameter");
    // optimizer state as after one step on the sample's parameters (torch keeps none for the others)
    let sample_keys = ["discriminators.0.convs.0.bias", "discriminators.1.conv_post.weight_v"];
    let mut state = ParamMap::new();
    for k in sample_keys {
        state.insert(format!("step.{k}"), Array::from_f32(1.0));
        state.insert(format!("exp_avg.{k}"), mlx_rs::ops::zeros_like(&closed[k])?);
        state.insert(format!("exp_avg_sq.{k}"), mlx_rs::ops::zeros_like(&closed[k])?);
    }
    let group = AdamwGroup { lr: 1e-4, betas: (0.8, 0.99), eps: 1e-9, weight_decay: 0.01 };
    let dir = tempfile::tempdir()?;
    let golden = root().join("tests/golden/interop");
    let g_pth = golden.join("tiny_G.pth");
    for layout in ["pretrained", "train"] {
        let d_pth = dir.path().join(format!("s2D_{layout}.pth"));
        if layout == "pretrained" {
            export_pretrained(&closed, &order, &d_pth)?;
        } else {
            export_training_checkpoint(&closed, &order, &state, &group, 1, &d_pth)?;
        }
        let (ours, ours_entries) = structure(&d_pth)?;
        let (want, want_entries) = structure(&golden.join(format!("d_sample_{layout}.pth")))?;
        assert_eq!(ours, want, "{layout}: pickle structure differs from the reference sample");
        assert_eq!(ours_entries, want_entries, "{layout}: zip entries differ from the reference sample");
        // D zeroed first, so every value must come from the file
        let zeros: ParamMap = closed.iter().map(|(k, v)| (k.clone(), mlx_rs::ops::zeros_like(v).expect("zeros"))).collect();
        sovits_core::nn::load_strict(&mut *t.gan.discriminators[0].model, &zeros)?;
        let t2 = &mut t;
        let run = dir.path().join(format!("run_{layout}"));
        let plan = prepare_init(&g_pth, Some(&d_pth), &run)?;
        assert!(plan.has_d, "{:?}", plan.notes);
        load_weights(t2, &plan.source, &plan.g_may_lack)?;
        let loaded = flatten_params(&*t2.gan.discriminators[0].model);
        assert_eq!(loaded.len(), closed.len());
        for (k, v) in &closed {
            assert!(bits(&loaded[k])? == bits(v)?, "{layout}: {k} differs from the closed-form weights");
            assert!(bits(&t2.d_master[k])? == bits(v)?, "{layout}: master copy of {k} differs");
        }
        // 2 x 187 MB per layout: free the disk before the next one
        std::fs::remove_file(&d_pth)?;
        std::fs::remove_dir_all(&run)?;
    }
    Ok(())
}

#[test]
fn init_d_from_refuses_missing_unreadable_or_generator_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let g_pth = root().join("tests/golden/interop/tiny_G.pth");
    let missing = dir.path().join("nope.pth");
    let e = prepare_init(&g_pth, Some(&missing), &dir.path().join("r1")).expect_err("missing D").to_string();
    assert!(e.contains("nope.pth") && e.contains("does not exist"), "{e}");
    let garbage = dir.path().join("garbage.pth");
    std::fs::write(&garbage, b"not a zip at all")?;
    let e = prepare_init(&g_pth, Some(&garbage), &dir.path().join("r2")).expect_err("unreadable D").to_string();
    assert!(e.contains("garbage.pth"), "{e}");
    let e = prepare_init(&g_pth, Some(&g_pth), &dir.path().join("r3")).expect_err("G given as D").to_string();
    assert!(e.contains("generator"), "{e}");
    // G only: D stays random, and the notes say so
    let plan = prepare_init(&g_pth, None, &dir.path().join("r4"))?;
    assert!(!plan.has_d);
    assert!(plan.notes.iter().any(|n| n.contains("random")), "{:?}", plan.notes);
    assert_eq!(plan.g_may_lack, vec!["enc_q.".to_string()]);
    Ok(())
}
