//! One GPT-SoVITS stage-2 training step of the tiny v2Pro and v2ProPlus
//! generators (`s2_train.py::train_and_evaluate`: D update on the detached
//! fake, then the G update through the updated D; AdamW with s2_train's
//! parameter groups) replayed by [`Trainer::train_step_with`].
//!
//! Fixture: `tests/golden/sovits_v2pro/step.json` and `step.<version>.*.npy`,
//! made by `gen_v2pro_step.py` there (see PROVENANCE.md): the tiny Pro
//! generators of `sovits_v2pro` (tiny v2 weights + the closed-form rule of
//! `index.json`), the 7-period MPD with the MPD fixture's closed-form rule,
//! and the batch and the two random draws of the v2 trajectory's first step
//! (`tests/golden/trajectory`), plus the sv input of `index.json`. Stored per
//! G tensor: gradient sum, abs_sum, max_abs, first 8 values and the sum of the
//! update `p1 - p0`; the full-size tensors are not kept (size budget).
//!
//! Tolerances come from the reference's own float32-vs-float64 gap, which
//! the generator measured on the same step and stored beside the data:
//! - losses and grad norms: `10 gap + 1e-5 |ref|` (the gaps: <= 2.3e-5 on
//!   losses up to 210, <= 2e-7 relative; grad norms 6.6e-5 (D) and 1.1e-5
//!   (G) relative);
//! - gradient statistics per tensor: `10 gap + 1e-5 scale`, `gap` the
//!   tensor's own f32-vs-f64 difference of that field (`step.<v>.grad_gap_
//!   f32_f64.npy`), `scale` its abs_sum (sum, abs_sum) or max_abs (max_abs,
//!   first8). Gauge tensors (attention key biases: softmax ignores a per-row
//!   constant, so their exact gradient is 0 and every value is rounding
//!   noise, as `trajectory.rs` explains) are exempt from these fields; their
//!   max_abs must stay at the noise level, within 100 times the reference's;
//! - update sum: Adam's first step moves every element by `lr sign(g)` plus
//!   decay, so an element whose gradient sign is rounding noise moves the sum
//!   by 2 lr: allowed `2 lr (flips + 2) + 1e-4 lr n`, `flips` the tensor's
//!   count of gradient signs that differ between the reference's f32 and f64.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlx_rs::Array;
use serde_json::Value;
use sovits_core::Spec;
use sovits_core::batch::Batch;
use sovits_core::components::ParamMap;
use sovits_core::nn::noise::RecordedNoise;
use sovits_core::nn::read_safetensors;
use sovits_core::nn::weight_norm::norm_except_dim0;
use sovits_core::train::{Trainer, params};
use sovits_plugin_mpd::closed_form::lowbias32;
use sovits_test_support::trajectory_inputs::{channels_last, trajectory_batch};
use sovits_test_support::{read_npy, values};

fn golden(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden").join(rel)
}

fn json(rel: &str) -> Value {
    let path = golden(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("`{what}`: expected a number, found {v}"))
}

fn npy(rel: &str) -> Array {
    read_npy(golden(rel).to_str().expect("utf-8 path"))
}

/// The closed-form rule of `sovits_v2pro/index.json` (`rule`).
fn rule(e: &Value) -> Array {
    let shape: Vec<i32> = e["shape"].as_array().expect("shape").iter().map(|d| d.as_i64().expect("dim") as i32).collect();
    let k = e["k"].as_u64().expect("k") as u32;
    let (scale, offset) = (num(&e["scale"], "scale"), num(&e["offset"], "offset"));
    let base = k.wrapping_mul(0x9E37_79B9);
    let n: i32 = shape.iter().product();
    let v: Vec<f32> = (0..n as u32).map(|i| (offset + scale * (lowbias32(i.wrapping_add(base)) as f64 / 4_294_967_296.0 - 0.5) * 2.0) as f32).collect();
    Array::from_slice(&v, &shape)
}

/// The tiny Pro generator's initial weights: the tiny v2 weights, with the
/// rule's tensors (weight_g as the norm of its weight_v) in place.
fn initial_g(index: &Value, version: &str) -> ParamMap {
    let mut w = read_safetensors(&golden("sovits_v2/tiny_G.safetensors")).expect("tiny G");
    let entries = index[version]["rule_keys"].as_array().expect("rule_keys");
    for e in entries.iter().filter(|e| e.get("norm_of").is_none()) {
        w.insert(e["key"].as_str().expect("key").into(), rule(e));
    }
    for e in entries.iter().filter(|e| e.get("norm_of").is_some()) {
        let g = norm_except_dim0(&w[e["norm_of"].as_str().expect("norm_of")]).expect("norm");
        w.insert(e["key"].as_str().expect("key").into(), g);
    }
    w
}

/// configs/tiny.json switched to `version` with everything the reference
/// configured read from the fixtures.
fn build_spec(step: &Value, index: &Value, version: &str, probe_groups: &[sovits_core::components::ParamGroup]) -> Spec {
    let c = &step["config"];
    let v = &step[version];
    let groups = if v["optim_g_param_groups"].is_string() { &step["v2Pro"]["optim_g_param_groups"] } else { &v["optim_g_param_groups"] };
    let groups = groups.as_array().expect("groups");
    let base_lr = num(&groups[0]["lr"], "lr");
    let mut scales: BTreeMap<String, f64> = BTreeMap::new();
    for g in &groups[1..] {
        let names: Vec<&str> = g["names"].as_array().expect("names").iter().map(|n| n.as_str().expect("name")).collect();
        let owner = probe_groups
            .iter()
            .find(|d| names.iter().all(|n| d.prefixes.iter().any(|p| n.starts_with(p.as_str()))))
            .unwrap_or_else(|| panic!("reference group {names:?} is inside no declared generator group"));
        scales.insert(owner.name.clone(), num(&g["lr"], "lr") / base_lr);
    }
    let adam = |lr: &Value, wd: &Value| serde_json::json!({"name": "adamw", "learning_rate": lr, "params": {"betas": c["betas"], "eps": c["eps"], "weight_decay": wd}});
    let mut opt_g = adam(&groups[0]["lr"], &groups[0]["weight_decay"]);
    opt_g["groups"] = scales.iter().map(|(n, s)| serde_json::json!({"name": n, "lr_scale": s})).collect();
    let losses = serde_json::json!([
        {"name": "lsgan", "weight": 1.0}, {"name": "feature-matching", "weight": 2.0},
        {"name": "mel-l1", "weight": c["c_mel"]}, {"name": "kl", "weight": c["c_kl"]}, {"name": "kl-ssl", "weight": 1.0},
    ]);
    let args = &index[version]["synthesizer_args"];
    assert!(v["dropout_modules_forced_to_zero"].as_array().is_some_and(|a| !a.is_empty()), "ref_enc dropout forced to 0 in the reference");
    let hop = &c["hop_length"];
    let sets = vec![
        r#"discriminators=[{"name":"mpd","params":{"periods":[2,3,5,7,11,17,23],"use_spectral_norm":false}}]"#.to_string(),
        format!("losses={losses}"),
        format!("optimizer_g={opt_g}"),
        format!("optimizer_d={}", adam(&v["optim_d"]["lr"], &v["optim_d"]["weight_decay"])),
        format!("generator.params.version={}", args["version"]),
        format!("generator.params.p_dropout={}", args["p_dropout"]),
        "generator.params.ref_enc_dropout=0.0".to_string(),
        format!("generator.params.mrte_hidden={}", index[version]["mrte_hidden"]),
        format!("generator.params.upsample_initial_channel={}", args["upsample_initial_channel"]),
        format!("generator.params.upsample_kernel_sizes={}", args["upsample_kernel_sizes"]),
        format!("trainer.segment_size={}", c["segment_size_samples"]),
        format!("trainer.batch_size={}", c["batch_size"]),
        "trainer.grad_clip=null".to_string(),
        format!("data.hop_length={hop}"),
        format!("frontend.params.hop_length={hop}"),
        "schedule.warmup_steps=0".to_string(),
    ];
    let spec = Spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tiny.json"), &sets).expect("pro step spec");
    assert_eq!(spec.segment_frames() as f64, num(&c["segment_frames"], "segment_frames"));
    spec
}

fn batch(step: &Value) -> Batch {
    trajectory_batch(&golden("trajectory"), Some(rule(&step["sv_input"])))
}

/// Attention key biases, whose exact gradient is 0.
fn is_gauge(key: &str) -> bool {
    key.ends_with("conv_k.bias") || key == "ref_enc.slf_attn.w_ks.bias"
}

fn term(r: &[(String, f32)], key: &str) -> f64 {
    r.iter().find(|(k, _)| k == key).map(|(_, v)| *v as f64).unwrap_or_else(|| panic!("no term `{key}`"))
}

/// Failures collected over the whole run, and the worst tolerance ratios.
#[derive(Default)]
struct Log {
    failures: Vec<String>,
    worst: BTreeMap<&'static str, (f64, String)>,
}

impl Log {
    /// Checks |got - want| <= tol, keeping the worst ratio per `kind`.
    fn check(&mut self, kind: &'static str, what: &str, got: f64, want: f64, tol: f64) {
        let d = (got - want).abs();
        let ratio = if tol > 0.0 { d / tol } else if d == 0.0 { 0.0 } else { f64::INFINITY };
        let pass = d <= tol; // false for NaN
        if !pass {
            self.failures.push(format!("{what}: ours {got:.9e} ref {want:.9e} diff {d:.3e} > tol {tol:.3e}"));
        }
        let w = self.worst.entry(kind).or_insert((0.0, String::new()));
        if ratio > w.0 {
            *w = (ratio, what.to_string());
        }
    }
}

fn one_version(step: &Value, index: &Value, version: &str, log: &mut Log) {
    let tag = version.to_lowercase();
    let v = &step[version];
    let probe_spec = Spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tiny.json"), &[]).expect("tiny spec");
    let probe = sovits_core::registry::build_generator(&probe_spec.generator, "generator", &probe_spec.build_context()).expect("probe");
    let spec = build_spec(step, index, version, &probe.parameter_groups());
    drop(probe);
    let b1 = num(&step["config"]["betas"][0], "betas[0]");
    let mut t = Trainer::new(spec).expect("trainer");
    let g0 = initial_g(index, version);
    let mut d0 = sovits_plugin_mpd::closed_form::closed_form_params(&*t.gan.discriminators[0].model).expect("closed-form D");
    // the first six sub-discriminators' exact reference weight_g (f64 norm rounded once)
    for (k, w) in read_safetensors(&golden("mpd/mpd_small_params.safetensors")).expect("D small") {
        assert!(d0.contains_key(&k), "`{k}` is not a D parameter");
        d0.insert(k, w);
    }
    t.set_weights(&g0, &d0).expect("set weights");
    drop(d0);
    let mut noise = RecordedNoise::new();
    noise.push("enc_q.noise", channels_last(&npy("trajectory/step1.noise_enc_q.npy")));
    noise.push("rand_slice", npy("trajectory/step1.rand_slice_u.npy"));
    let r = t.train_step_with(&batch(step), &mut noise).expect("train step");
    assert!(noise.remaining().is_empty(), "{version}: unused draws {:?}", noise.remaining());
    assert!(r.skipped.is_none(), "{version}: step skipped {:?}", r.skipped);
    let ids: Vec<f64> = values(r.ids_slice.as_ref().expect("ids_slice")).iter().map(|&x| x as f64).collect();
    let want_ids: Vec<f64> = v["ids_slice"].as_array().expect("ids_slice").iter().map(|x| num(x, "ids")).collect();
    assert_eq!(ids, want_ids, "{version}: ids_slice");

    let (s, gap) = (&v["scalars"], &v["scalars_f32_vs_f64"]);
    let mut scalar = |name: &str, got: f64, want: &Value, gap: &Value| {
        let want = num(want, name);
        log.check("scalar", &format!("{version} {name}"), got, want, 10.0 * num(gap, name) + 1e-5 * want.abs());
    };
    let c = &step["config"];
    scalar("loss_disc_all", r.d_total as f64, &s["loss_disc_all"], &gap["loss_disc_all"]);
    scalar("loss_gen", term(&r.terms, "g/lsgan"), &s["loss_gen"], &gap["loss_gen"]);
    scalar("loss_fm", 2.0 * term(&r.terms, "g/feature-matching"), &s["loss_fm"], &gap["loss_fm"]);
    scalar("loss_mel", num(&c["c_mel"], "c_mel") * term(&r.terms, "g/mel-l1"), &s["loss_mel"], &gap["loss_mel"]);
    scalar("loss_kl", num(&c["c_kl"], "c_kl") * term(&r.terms, "g/kl"), &s["loss_kl"], &gap["loss_kl"]);
    scalar("loss_gen_all", r.g_total as f64, &s["loss_gen_all"], &gap["loss_gen_all"]);
    scalar("grad_norm_d", r.d_grad_norm as f64, &s["grad_norm_d"], &gap["grad_norm_d"]);
    scalar("grad_norm_g", r.g_grad_norm as f64, &s["grad_norm_g"], &gap["grad_norm_g"]);
    for (list, key) in [("r_losses", "d/lsgan/0.{i}.real"), ("g_losses", "d/lsgan/0.{i}.fake"), ("gen_losses", "g/lsgan/0.{i}")] {
        for (i, w) in s[list].as_array().expect("list").iter().enumerate() {
            scalar(&format!("{list}[{i}]"), term(&r.terms, &key.replace("{i}", &i.to_string())), w, &gap[list]);
        }
    }

    // per-tensor gradient statistics (g = exp_avg / (1 - b1) after Adam's first step) and update sums
    let keys = if v["keys"].is_string() { &step["v2Pro"]["keys"] } else { &v["keys"] };
    let keys: Vec<&str> = keys.as_array().expect("keys").iter().map(|k| k.as_str().expect("key")).collect();
    let stats = values(&npy(&format!("sovits_v2pro/step.{tag}.grad_stats.npy")));
    let gaps = values(&npy(&format!("sovits_v2pro/step.{tag}.grad_gap_f32_f64.npy")));
    let (ns, ng) = (stats.len() / keys.len(), gaps.len() / keys.len());
    assert_eq!((ns, ng), (12, 4), "{version}: stats columns (step.json -> stats_columns, gap_columns)");
    let state = t.opt_g.state().expect("G optimizer state");
    let after = params::collect(&*t.gan.generator, "");
    let groups = if v["optim_g_param_groups"].is_string() { &step["v2Pro"]["optim_g_param_groups"] } else { &v["optim_g_param_groups"] };
    let groups = groups.as_array().expect("groups");
    let lr_of = |key: &str| {
        groups[1..]
            .iter()
            .find(|g| g["names"].as_array().is_some_and(|n| n.iter().any(|x| x.as_str() == Some(key))))
            .map_or(num(&groups[0]["lr"], "lr"), |g| num(&g["lr"], "lr"))
    };
    assert_eq!(keys.len(), t.g_master.len(), "{version}: tensors with a gradient (reference) vs our trainable tensors");
    for (i, key) in keys.iter().enumerate() {
        let (want, gap) = (&stats[i * ns..(i + 1) * ns], &gaps[i * ng..(i + 1) * ng]);
        let Some(m) = state.get(&format!("exp_avg.{key}")) else {
            log.failures.push(format!("{version} `{key}`: no optimizer state in ours"));
            continue;
        };
        let g: Vec<f64> = values(m).iter().map(|&x| x as f64 / (1.0 - b1)).collect();
        let sum: f64 = g.iter().sum();
        let abs_sum: f64 = g.iter().map(|x| x.abs()).sum();
        let max_abs = g.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        let (w_abs, w_max) = (want[1] as f64, want[2] as f64);
        let what = format!("{version} `{key}`");
        if is_gauge(key) {
            log.check("gauge grad max_abs", &format!("{what} gauge grad max_abs"), max_abs, 0.0, 100.0 * w_max);
        }
        for (kind, field, got, want, tol) in [
            ("grad sum", "sum", sum, want[0] as f64, 10.0 * gap[0] as f64 + 1e-5 * w_abs),
            ("grad abs_sum", "abs_sum", abs_sum, w_abs, 10.0 * gap[1] as f64 + 1e-5 * w_abs),
            ("grad max_abs", "max_abs", max_abs, w_max, 10.0 * gap[2] as f64 + 1e-5 * w_max),
        ] {
            if !is_gauge(key) {
                log.check(kind, &format!("{what} grad {field}"), got, want, tol);
            }
        }
        for (j, &w) in want[3..3 + g.len().min(8)].iter().enumerate().filter(|_| !is_gauge(key)) {
            log.check("grad first8", &format!("{what} grad[{j}]"), g[j], w as f64, 10.0 * gap[2] as f64 + 1e-5 * w_max);
        }
        let p1 = values(&after[*key]);
        let p0 = values(&g0[*key]);
        let d_sum: f64 = p1.iter().zip(&p0).map(|(a, b)| *a as f64 - *b as f64).sum();
        let lr = lr_of(key);
        log.check("update sum", &format!("{what} update sum"), d_sum, want[11] as f64, 2.0 * lr * (gap[3] as f64 + 2.0) + 1e-4 * lr * p0.len() as f64);
    }
}

#[test]
fn one_reference_training_step_of_each_pro_generator() {
    sovits_plugins::link_all();
    let started = std::time::Instant::now();
    let step = json("sovits_v2pro/step.json");
    let index = json("sovits_v2pro/index.json");
    let mut log = Log::default();
    for version in ["v2Pro", "v2ProPlus"] {
        one_version(&step, &index, version, &mut log);
    }
    for (kind, (ratio, what)) in &log.worst {
        println!("worst {kind}: {ratio:.3} of tolerance at {what}");
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    assert!(log.failures.is_empty(), "{} check(s) failed:\n{}", log.failures.len(), log.failures.join("\n"));
}
