//! The trajectory fixture (`tests/golden/trajectory/`): its arrays and JSON,
//! the reference's AdamW groups resolved against the generator's declared
//! ones, the spec and batch they configure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlx_rs::Array;
use serde_json::Value;
use sovits_core::Spec;
use sovits_core::batch::Batch;

/// Folder of the committed trajectory fixture.
pub(crate) fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/trajectory")
}

pub(crate) fn npy_open(name: &str) -> npyz::NpyFile<std::io::BufReader<std::fs::File>> {
    let path = dir().join(name);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(std::io::BufReader::new(f)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A float32 array as stored (torch layout).
pub(crate) fn f32_npy(name: &str) -> Array {
    let npy = npy_open(name);
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<f32> = npy.into_vec().unwrap_or_else(|e| panic!("{name}: {e}"));
    Array::from_slice(&data, &shape)
}

pub(crate) use sovits_test_support::trajectory_inputs::channels_last;

pub(crate) fn json(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn num(v: &Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("trajectory field `{what}`: expected a number, found {v}"))
}

/// Attention key biases: their exact gradient is 0 (softmax ignores a
/// per-row constant), so float32 rounding noise drives them (README section 9).
pub(crate) fn is_gauge(key: &str) -> bool {
    key.ends_with("conv_k.bias") || key == "ref_enc.slf_attn.w_ks.bias"
}

/// The reference's group membership, resolved against our generator's
/// declared groups: (spec `groups` entries as JSON, lr of each G key).
pub(crate) struct Groups {
    pub(crate) spec_groups: Vec<Value>,
    /// Reference lr of every named (non-default) G parameter.
    pub(crate) named_lr: BTreeMap<String, f64>,
    pub(crate) base_lr: f64,
}

/// Maps the reference's AdamW groups 1.. onto the generator's declared groups
/// (by prefix); every reference group must fall inside one declared group and
/// all reference groups sharing a declared group must share one lr.
pub(crate) fn resolve_groups(traj: &Value, declared: &[sovits_core::components::ParamGroup]) -> Groups {
    let groups = traj["optim_g_param_groups"].as_array().expect("optim_g_param_groups is a list");
    let base_lr = num(&groups[0]["lr"], "optim_g_param_groups[0].lr");
    assert!(groups[0]["names"].is_null(), "group 0 must be the default group (names null)");
    let mut scale: BTreeMap<String, f64> = BTreeMap::new();
    let mut named_lr = BTreeMap::new();
    for (i, g) in groups.iter().enumerate().skip(1) {
        let lr = num(&g["lr"], &format!("optim_g_param_groups[{i}].lr"));
        let names: Vec<&str> = g["names"].as_array().expect("group names").iter().map(|n| n.as_str().expect("name")).collect();
        let owner = declared
            .iter()
            .find(|d| names.iter().all(|n| d.prefixes.iter().any(|p| n.starts_with(p.as_str()))))
            .unwrap_or_else(|| panic!("reference group {i} ({names:?}) is inside no declared generator group"));
        let s = lr / base_lr;
        if let Some(prev) = scale.insert(owner.name.clone(), s) {
            assert!((prev - s).abs() < 1e-12, "groups sharing `{}` have different lrs", owner.name);
        }
        for n in names {
            named_lr.insert(n.to_string(), lr);
        }
    }
    let spec_groups = scale.iter().map(|(n, s)| serde_json::json!({"name": n, "lr_scale": s})).collect();
    Groups { spec_groups, named_lr, base_lr }
}

/// The spec of the trajectory: configs/tiny.json with every value the
/// reference configured taken from `trajectory.json`.
pub(crate) fn build_spec(traj: &Value, groups: &Groups) -> Spec {
    let c = &traj["config"];
    let g0 = &traj["optim_g_param_groups"][0];
    let d = &traj["optim_d"];
    let dropout = num(&c["G_p_dropout"], "config.G_p_dropout");
    // ref_enc's hard-coded dropout modules were forced to 0 in the reference
    let forced = c["dropout_modules_forced_to_zero"].as_array().is_some_and(|a| !a.is_empty());
    let ref_enc_dropout = if forced { 0.0 } else { 0.1 };
    assert!(c["fp16_run"] == Value::Bool(false), "fp16 trajectories are not supported");
    assert_eq!(num(&c["scheduler_steps_inside"], "config.scheduler_steps_inside"), 0.0, "scheduler stepped inside");
    let hop = &c["hop_length"];
    let losses = serde_json::json!([
        {"name": "lsgan", "weight": 1.0},
        {"name": "feature-matching", "weight": 2.0},
        {"name": "mel-l1", "weight": c["c_mel"]},
        {"name": "kl", "weight": c["c_kl"]},
        {"name": "kl-ssl", "weight": 1.0},
    ]);
    let adam = |lr: &Value, g: &Value| {
        serde_json::json!({
            "name": "adamw",
            "learning_rate": lr,
            "params": {"betas": g.get("betas").unwrap_or(&c["betas"]), "eps": g.get("eps").unwrap_or(&c["eps"]), "weight_decay": g["weight_decay"]},
        })
    };
    let mut opt_g = adam(&g0["lr"], g0);
    opt_g["groups"] = Value::Array(groups.spec_groups.clone());
    let sets = [
        r#"discriminators=[{"name":"mpd","params":{"periods":[2,3,5,7,11],"use_spectral_norm":false}}]"#.to_string(),
        format!("losses={losses}"),
        format!("optimizer_g={opt_g}"),
        format!("optimizer_d={}", adam(&d["lr"], d)),
        format!("generator.params.p_dropout={dropout}"),
        format!("generator.params.ref_enc_dropout={ref_enc_dropout}"),
        format!("trainer.segment_size={}", c["segment_size_samples"]),
        format!("trainer.batch_size={}", c["batch_size"]),
        format!("trainer.grad_clip={}", c["grad_clip"]),
        format!("data.hop_length={hop}"),
        format!("frontend.params.hop_length={hop}"),
        "schedule.warmup_steps=0".to_string(),
    ];
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tiny.json");
    let spec = Spec::load(&path, &sets).expect("trajectory spec");
    assert_eq!(spec.segment_frames() as f64, num(&c["segment_frames"], "config.segment_frames"));
    assert!((spec.optimizer_g.learning_rate as f64 - groups.base_lr).abs() <= 1e-9);
    spec
}

pub(crate) fn batch() -> Batch {
    sovits_test_support::trajectory_inputs::trajectory_batch(&dir(), None)
}


/// `commons.slice_segments(mel, ids_slice, frames)` on channels-last mel.
pub(crate) fn slice_frames(mel: &Array, ids: &Array, frames: usize) -> Array {
    let b = mel.shape()[0];
    let c = mel.shape()[2];
    let offsets = Array::from_iter(0..frames as i32, &[1, frames as i32, 1]);
    let starts = ids.as_dtype(mlx_rs::Dtype::Int32).expect("ids").reshape(&[b, 1, 1]).expect("reshape");
    let idx = mlx_rs::ops::broadcast_to(mlx_rs::ops::add(&starts, &offsets).expect("add"), &[b, frames as i32, c]).expect("broadcast");
    mel.take_along_axis(&idx, 1).expect("take")
}
