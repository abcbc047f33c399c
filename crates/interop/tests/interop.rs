//! GPT-SoVITS `.pth` interop against files written by the reference code.
//!
//! Fixtures (tests/golden/interop/PROVENANCE.md, tests/golden/sovits_v2/):
//! `tiny_G.pth` (process_ckpt.savee v2 layout), `tiny_G.safetensors` (the same
//! weights in f32), `tiny_train_ckpt_dec.pth` + `.json` (utils.save_checkpoint
//! layout, dec.* extract, with f64 sums), `tiny_train_ckpt.layout.json`
//! (the full checkpoint's param groups and index -> name map), `tiny_config.json`.
//!
//! Tolerances: fp16 import/export and safetensors export are compared bit
//! for bit. Checkpoint sums are recomputed here in f64 from the same f32
//! values the reference summed in f64 (`t.double().sum()`); only the order
//! of the additions differs, so the gap is bounded by n * 2^-53 * sum|x|
//! (n <= 1.3e5 here): we allow 1e-9 * (1 + sum|x|), well above that bound
//! and far below any real mismatch (one flipped f32 ulp of one element of a
//! tensor is ~1e-8 relative). Weight-norm folding runs in f32: rel 1e-5.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use half::f16;
use mlx_rs::{Array, Dtype};
use serde_json::Value as Json;
use sovits_core::components::ParamMap;
use sovits_core::nn::torch_layout::read_safetensors;
use sovits_interop::pickle_read::{self, Value};
use sovits_interop::zip_container::{PthArchive, write_pth};
use sovits_interop::{InteropError, Layout, export_gpt_sovits, export_safetensors, fold_weight_norm, import_pth, layouts};

type R = Result<(), Box<dyn std::error::Error>>;

fn golden(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden").join(dir).join(name)
}

fn tmpdir(tag: &str) -> Result<PathBuf, std::io::Error> {
    let d = std::env::temp_dir().join(format!("sovits-interop-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn json(path: &Path) -> Result<Json, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn f16_bits(a: &Array) -> Result<Vec<u16>, Box<dyn std::error::Error>> {
    let a = a.as_dtype(Dtype::Float16)?;
    a.eval()?;
    Ok(a.as_slice::<f16>().iter().map(|x| x.to_bits()).collect())
}

fn f32_bits(a: &Array) -> Result<Vec<u32>, Box<dyn std::error::Error>> {
    assert_eq!(a.dtype(), Dtype::Float32);
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|x| x.to_bits()).collect())
}

fn sum_f64(a: &Array) -> Result<f64, Box<dyn std::error::Error>> {
    let a = a.as_dtype(Dtype::Float32)?;
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|&x| x as f64).sum())
}

fn sum_abs_f64(a: &Array) -> Result<f64, Box<dyn std::error::Error>> {
    let a = a.as_dtype(Dtype::Float32)?;
    a.eval()?;
    Ok(a.as_slice::<f32>().iter().map(|&x| (x as f64).abs()).sum())
}

fn reference_f32() -> Result<ParamMap, Box<dyn std::error::Error>> {
    Ok(read_safetensors(&golden("sovits_v2", "tiny_G.safetensors"))?)
}

fn hps() -> Result<Json, Box<dyn std::error::Error>> {
    Ok(json(&golden("sovits_v2", "tiny_config.json"))?["hps"].clone())
}

/// Every key except enc_q, each the reference rounded to fp16, bit for bit.
fn assert_fp16_equal(got: &ParamMap, reference: &ParamMap) -> R {
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

#[test]
fn tiny_g_pth_imports_bit_equal_to_fp16_reference() -> R {
    let imp = import_pth(&golden("interop", "tiny_G.pth"))?;
    assert_eq!(imp.layout, Layout::InferenceWeights);
    assert_eq!(imp.info.as_deref(), Some("1epoch_2iteration"));
    assert_eq!(imp.zip_root, "1795618820.1042454");
    assert_fp16_equal(&imp.weights, &reference_f32()?)?;
    let config = imp.config.ok_or("no config")?;
    let hps = hps()?;
    assert_eq!(config["model"]["upsample_rates"], hps["model"]["upsample_rates"]);
    assert_eq!(config["data"]["max_wav_value"].as_f64(), Some(32768.0));
    assert_eq!(config["train"]["segment_size"], 20480);
    assert_eq!(config["model"]["version"], "v2");
    assert_eq!(config, hps, "the whole pickled HParams equals tiny_config.json's hps");
    Ok(())
}

#[test]
fn training_checkpoint_matches_reference_sums() -> R {
    let imp = import_pth(&golden("interop", "tiny_train_ckpt_dec.pth"))?;
    let want = json(&golden("interop", "tiny_train_ckpt_dec.json"))?;
    assert_eq!(imp.layout, Layout::TrainingCheckpoint);
    assert_eq!(imp.iteration, want["iteration"].as_i64());
    assert_eq!(imp.learning_rate, want["learning_rate"].as_f64());
    let close = |got: f64, want: f64, scale: f64| (got - want).abs() <= 1e-9 * (1.0 + scale);
    let model = want["model"].as_object().ok_or("model")?;
    assert_eq!(imp.weights.len(), model.len());
    let idx = want["optimizer"]["index_to_name"].as_object().ok_or("index_to_name")?;
    let model_order: Vec<String> = (0..idx.len()).filter_map(|i| idx[&i.to_string()].as_str().map(String::from)).collect();
    assert_eq!(imp.key_order, model_order, "file (model) order kept");
    for (k, m) in model {
        let a = &imp.weights[k];
        assert_eq!(a.dtype(), Dtype::Float32, "{k}");
        let shape: Vec<i32> = m["shape"].as_array().ok_or("shape")?.iter().filter_map(|x| x.as_i64()).map(|x| x as i32).collect();
        assert_eq!(a.shape(), shape.as_slice(), "{k}");
        let (s, sa) = (sum_f64(a)?, sum_abs_f64(a)?);
        assert!(close(s, m["sum"].as_f64().ok_or("sum")?, sa), "{k}: sum {s} vs {}", m["sum"]);
    }
    let opt = imp.optimizer.ok_or("no optimizer")?;
    let names = want["optimizer"]["index_to_name"].as_object().ok_or("index_to_name")?;
    let states = want["optimizer"]["state"].as_object().ok_or("state")?;
    assert_eq!(states.len(), 290);
    for (i, st) in states {
        let name = names[i].as_str().ok_or("name")?;
        let step = &opt.state[&format!("step.{name}")];
        step.eval()?;
        assert_eq!(step.as_slice::<f32>()[0] as f64, st["step"].as_f64().ok_or("step")?, "{name}");
        for field in ["exp_avg", "exp_avg_sq"] {
            let a = &opt.state[&format!("{field}.{name}")];
            assert_eq!(a.shape(), imp.weights[name].shape(), "{field}.{name}");
            let (s, sa) = (sum_f64(a)?, sum_abs_f64(a)?);
            assert!(close(s, st[field].as_f64().ok_or("sum")?, sa), "{field}.{name}: {s} vs {}", st[field]);
        }
    }
    assert_eq!(opt.state.len(), 3 * 290 + 2, "per-param triples + step + learning_rate");
    let groups = opt.param_groups.as_array().ok_or("groups")?;
    let want_groups = want["optimizer"]["param_groups"].as_array().ok_or("groups")?;
    assert_eq!(groups.len(), want_groups.len());
    for (g, w) in groups.iter().zip(want_groups) {
        for (field, value) in w.as_object().ok_or("group")? {
            assert_eq!(&g[field], value, "param group field {field}");
        }
        let first = g["param_names"][0].as_str().ok_or("param_names")?;
        assert_eq!(first, names["0"].as_str().ok_or("0")?);
    }
    Ok(())
}

/// The s2_train param-group split of the full checkpoint: rebuild its model
/// key order (tiny_G.pth's order plus the enc_q parameters, which the
/// layout file places) and check the index -> name map it records.
#[test]
fn full_checkpoint_index_map_follows_s2_train_groups() -> R {
    let layout = json(&golden("interop", "tiny_train_ckpt.layout.json"))?;
    let index_names: Vec<String> =
        layout["optimizer"]["param_index_names"].as_array().ok_or("names")?.iter().filter_map(|x| x.as_str().map(String::from)).collect();
    let sizes: Vec<usize> = layout["optimizer"]["param_groups"]
        .as_array()
        .ok_or("groups")?
        .iter()
        .map(|g| g["params"]["count"].as_u64().map(|c| c as usize).or_else(|| g["params"].as_array().map(Vec::len)))
        .collect::<Option<_>>()
        .ok_or("sizes")?;
    assert_eq!(sizes, vec![577, 1, 36, 14]);
    let mut keys = import_pth(&golden("interop", "tiny_G.pth"))?.key_order;
    for (pos, name) in index_names.iter().enumerate().take(sizes[0]) {
        if name.contains("enc_q") {
            let prev = &index_names[pos - 1];
            let at = keys.iter().position(|k| k == prev).ok_or("predecessor")?;
            keys.insert(at + 1, name.clone());
        }
    }
    assert_eq!(keys.len(), 632);
    assert_eq!(layouts::optimizer_param_names(&keys, &sizes, "layout")?, index_names);
    Ok(())
}

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

fn import_err(path: &Path) -> String {
    match import_pth(path) {
        Ok(_) => panic!("{} imported", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn corrupt_truncated_and_foreign_files_fail_clearly() -> R {
    let dir = tmpdir("bad")?;
    // Random bytes (a fixed LCG, so the test is reproducible).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect();
    let p = dir.join("junk.pth");
    std::fs::write(&p, &junk)?;
    let e = import_err(&p);
    assert!(e.contains("junk.pth") && e.contains("not a PyTorch .pth zip checkpoint"), "{e}");

    let full = std::fs::read(golden("interop", "tiny_G.pth"))?;
    let p = dir.join("half.pth");
    std::fs::write(&p, &full[..full.len() / 2])?;
    let e = import_err(&p);
    assert!(e.contains("half.pth") && e.contains("damaged or truncated zip container"), "{e}");

    // A zip that is not a torch checkpoint.
    let p = dir.join("foreign.zip");
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(&p)?);
        z.start_file("readme.txt", zip::write::SimpleFileOptions::default())?;
        z.write_all(b"hello")?;
        z.finish()?;
    }
    let e = import_err(&p);
    assert!(e.contains("no `<root>/data.pkl` entry") && e.contains("readme.txt"), "{e}");

    // A pickle that would run os.system("touch ...") under pickle.load.
    let marker = dir.join("pwned");
    let cmd = format!("touch {}", marker.display());
    let mut evil = b"\x80\x02cos\nsystem\nq\x00X".to_vec();
    evil.extend((cmd.len() as u32).to_le_bytes());
    evil.extend(cmd.as_bytes());
    evil.extend(b"\x85R.");
    let p = dir.join("evil.pth");
    write_pth(&p, "evil", &evil, &[])?;
    let e = import_err(&p);
    assert!(e.contains("refusing pickle global `os.system`") && e.contains("evil.pth"), "{e}");
    assert!(!marker.exists(), "nothing is executed");

    // Unknown opcode, and a valid pickle of the wrong layout.
    let p = dir.join("op.pth");
    write_pth(&p, "op", b"\x80\x02\xff.", &[])?;
    assert!(import_err(&p).contains("unsupported pickle opcode 0xff"));
    let p = dir.join("layout.pth");
    write_pth(&p, "layout", b"\x80\x02}q\x00X\x03\x00\x00\x00fooq\x01K\x01s.", &[])?;
    let e = import_err(&p);
    assert!(e.contains("unknown layout: top-level keys [foo]"), "{e}");

    // Errors convert into the core error type, keeping the message.
    let core: sovits_core::Error = InteropError::Layout { what: "f.pth".into(), message: "m".into() }.into();
    assert_eq!(core.to_string(), "f.pth: m");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn weight_norm_folds_per_row_and_splits_back() -> R {
    let reference = reference_f32()?;
    let folded = fold_weight_norm(&reference)?;
    assert!(!folded.keys().any(|k| k.ends_with("weight_g") || k.ends_with("weight_v")));
    // ConvTranspose1d: g [in,1,1], v [in,out,k]; rows of the folded weight have norm g.
    let w = &folded["dec.ups.0.weight"];
    assert_eq!(w.shape(), &[32, 16, 16]);
    let g = reference["dec.ups.0.weight_g"].as_dtype(Dtype::Float32)?;
    let norms = w.square()?.sum_axes(&[1, 2], false)?.sqrt()?;
    norms.eval()?;
    g.eval()?;
    for (n, g) in norms.as_slice::<f32>().iter().zip(g.as_slice::<f32>()) {
        assert!((n - g.abs()).abs() <= 1e-5 * g.abs(), "{n} vs {g}");
    }
    let modules = sovits_interop::weight_norm_modules(&reference);
    assert!(modules.contains("dec.ups.0") && modules.contains("dec.resblocks.0.convs1.0"));
    let split = sovits_interop::split_weight_norm(&folded, &modules)?;
    assert_eq!(split["dec.ups.0.weight_g"].shape(), &[32, 1, 1]);
    let refolded = fold_weight_norm(&split)?;
    for (k, a) in &folded {
        let (d, m) = (a.subtract(&refolded[k])?.abs()?.max(None)?, a.abs()?.max(None)?);
        let (d, m) = (d.as_dtype(Dtype::Float32)?, m.as_dtype(Dtype::Float32)?);
        d.eval()?;
        m.eval()?;
        let (d, m) = (d.as_slice::<f32>()[0], m.as_slice::<f32>()[0]);
        assert!(d <= 1e-5 * m.max(1e-30), "{k}: {d}");
    }
    Ok(())
}
