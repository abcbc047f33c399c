//! Importing the reference's `.pth` files: the fp16 inference export, the
//! training checkpoint and its param-group index map.

use mlx_rs::Dtype;
use sovits_interop::{Layout, import_pth, layouts};

use crate::helpers::*;

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
