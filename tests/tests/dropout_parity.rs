//! Training-mode parity of the tiny SoVITS v2 generator with dropout ACTIVE:
//! outputs and gradients of GPT-SoVITS `SynthesizerTrn.forward` in `train()`
//! mode, with the reference's own dropout masks (every `nn.Dropout` call, in
//! call order), posterior noise and segment draw injected into ours.
//!
//! Fixture: `tests/golden/dropout/` (`gen_dropout.py`, see its PROVENANCE.md):
//! the tiny model and inputs of `tests/golden/sovits_v2/`, a segment of
//! `meta.json`'s `segment_frames`, the loss `c_mel * mel L1 + c_kl * KL` of
//! `s2_train.py` (the generator's non-adversarial terms: they reach every
//! trained parameter, through the mel of the generated audio too), and per
//! parameter gradient statistics.
//!
//! Tolerances: a fixed multiple [`K`] of the reference's own float32-vs-float64
//! gap, measured by the generating script on the same masks and draws and
//! stored in `meta.json` (`f32_vs_f64`): per output its max abs gap, for
//! gradients the worst relative gap of any statistic over all non-gauge
//! tensors, for the two losses their relative gap. Two independent float32
//! implementations can each be one gap from float64, so 2x is the least
//! defensible; [`K`] = 16 leaves room for our different summation orders
//! (MLX GEMM, STFT). Gauge tensors (attention key biases, exactly zero true
//! gradient) are only checked finite.
//!
//! A control runs the same forward in eval mode (no dropout) and requires
//! the outputs to miss the reference by far more than the tolerance, so the
//! fixture does exercise dropout. A second test checks that our seeded
//! masks are fresh for every call and every pass, with the rate `p`.
//!
//! Runtime: ~10 s in debug on 2 shared cores (`cargo test -p sovits-tests
//! --test dropout_parity`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlx_rs::error::Exception;
use mlx_rs::transforms::value_and_grad_with_argnums;
use mlx_rs::{Array, Dtype, ops};
use serde_json::Value;
use sovits_core::Spec;
use sovits_core::batch::Batch;
use sovits_core::components::{Generator, LossContext, ParamMap};
use sovits_core::nn::noise::{NoiseSource, RecordedNoise, SeededNoise};
use sovits_core::nn::{load_strict, read_safetensors};
use sovits_core::registry;
use sovits_core::train::params;
use sovits_test_support::dropout_replay::{MaskReplay, unpack_calls};
use sovits_test_support::values as host;

/// Allowed multiple of the reference's float32-vs-float64 gap.
const K: f64 = 16.0;

fn golden(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden").join(dir).join(name)
}

fn npy(dir: &str, name: &str) -> npyz::NpyFile<std::io::BufReader<std::fs::File>> {
    let p = golden(dir, &format!("{name}.npy"));
    let f = std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    npyz::NpyFile::new(std::io::BufReader::new(f)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn shape_of<R: std::io::Read>(n: &npyz::NpyFile<R>) -> Vec<i32> {
    n.shape().iter().map(|&d| d as i32).collect()
}

/// A float32 array as stored (torch layout).
fn f32_npy(dir: &str, name: &str) -> Array {
    let n = npy(dir, name);
    let shape = shape_of(&n);
    Array::from_slice(&n.into_vec::<f32>().unwrap_or_else(|e| panic!("{name}: {e}")), &shape)
}

/// An int64 array as int32.
fn i32_npy(dir: &str, name: &str) -> Array {
    let n = npy(dir, name);
    let shape = shape_of(&n);
    let v: Vec<i32> = n.into_vec::<i64>().unwrap_or_else(|e| panic!("{name}: {e}")).into_iter().map(|x| x as i32).collect();
    Array::from_slice(&v, &shape)
}

/// torch `[B, C, T]` -> channels-last `[B, T, C]`.
fn cl(a: &Array) -> Array {
    a.transpose_axes(&[0, 2, 1]).expect("transpose")
}

fn meta() -> Value {
    let p = golden("dropout", "meta.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("meta.json")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("expected a number, found {v}"))
}

/// configs/tiny.json with the fixture's segment and dropout rates.
fn spec(m: &Value) -> Spec {
    let calls = m["dropout_calls"].as_array().expect("dropout_calls");
    let rate = |pre: &str| -> f64 {
        let ps: Vec<f64> = calls.iter().filter(|c| c["module"].as_str().is_some_and(|s| s.starts_with(pre))).map(|c| num(&c["p"])).collect();
        assert!(!ps.is_empty() && ps.iter().all(|&p| p == ps[0]), "{pre} dropout rates {ps:?}");
        ps[0]
    };
    assert_eq!(rate("enc_p."), num(&m["p_dropout"]));
    let hop = num(&m["hop_length"]) as usize;
    let sets = [
        format!("trainer.segment_size={}", num(&m["segment_frames"]) as usize * hop),
        format!("generator.params.p_dropout={}", rate("enc_p.")),
        format!("generator.params.ref_enc_dropout={}", rate("ref_enc.")),
    ];
    let s = Spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tiny.json"), &sets).expect("tiny spec");
    assert_eq!(s.data.hop_length, hop, "hop of configs/tiny.json vs the fixture");
    s
}

fn batch() -> Batch {
    let spec = cl(&f32_npy("sovits_v2", "ref_enc.in.spec"));
    let (b, t) = (spec.shape()[0], spec.shape()[1]);
    Batch {
        ssl: Some(cl(&f32_npy("sovits_v2", "ssl_quant.in.ssl"))),
        semantic: None,
        spec,
        spec_lengths: i32_npy("sovits_v2", "forward.in.y_lengths"),
        text: i32_npy("sovits_v2", "forward.in.text"),
        text_lengths: i32_npy("sovits_v2", "forward.in.text_lengths"),
        audio: Array::zeros::<f32>(&[b, t * 640]).expect("audio"),
        audio_lengths: Array::from_slice(&vec![t * 640; b as usize], &[b]),
        sv: None,
    }
}

/// The reference's masks, posterior noise and segment draw.
fn replay(m: &Value) -> MaskReplay {
    let calls = m["dropout_calls"].as_array().expect("dropout_calls").iter().map(|c| {
        let shape = c["shape"].as_array().expect("shape").iter().map(|d| num(d) as i32).collect();
        (c["module"].as_str().expect("module").to_string(), c["parent"].as_str().expect("parent").to_string(), shape)
    });
    let bits: Vec<u8> = npy("dropout", "masks").into_vec().expect("masks.npy");
    let mut others = RecordedNoise::new();
    others.push("enc_q.noise", cl(&f32_npy("dropout", "in.noise_enc_q")));
    others.push("rand_slice", f32_npy("dropout", "in.rand_slice_u"));
    MaskReplay::new(unpack_calls(&bits, calls.collect()), others)
}

fn tiny_generator(s: &Spec) -> Box<dyn Generator> {
    let mut g = registry::build_generator(&s.generator, "generator", &s.build_context()).expect("tiny generator");
    let w = read_safetensors(&golden("sovits_v2", "tiny_G.safetensors")).expect("tiny G");
    load_strict(&mut *g, &w).expect("strict load of tiny_G");
    g
}

/// Names of the outputs returned after the loss, in order.
const OUTS: [&str; 7] = ["y_hat", "z", "z_p", "m_p", "logs_p", "m_q", "logs_q"];

/// `[loss, mel, kl, ids_slice, OUTS..]` (torch layout) and the gradient per key.
fn run(s: &Spec, g: Box<dyn Generator>, noise: &mut dyn NoiseSource, c_mel: f32, c_kl: f32) -> (Vec<Array>, ParamMap) {
    let ctx = s.build_context();
    let frontend = registry::build_frontend(&s.frontend, "frontend", &ctx).expect("frontend");
    let loss = |name: &str| {
        let l = s.losses.iter().find(|l| l.name == name).unwrap_or_else(|| panic!("tiny spec has no `{name}` loss"));
        registry::build_loss(l, "losses", &ctx).expect("loss")
    };
    let (mel_l1, kl) = (loss("mel-l1"), loss("kl"));
    let b = batch();
    let keys: Vec<String> = params::collect_trainable(&*g, "").into_keys().collect();
    let inputs: Vec<Array> = {
        let all = params::collect_trainable(&*g, "");
        keys.iter().map(|k| all[k].clone()).collect()
    };
    let g = RefCell::new(g);
    let noise = RefCell::new(noise);
    let frames = s.segment_frames();
    let closure = |xs: &[Array]| -> Result<Vec<Array>, Exception> {
        let e = |e: sovits_core::Error| Exception::custom(e.to_string());
        let map: ParamMap = keys.iter().cloned().zip(xs.iter().cloned()).collect();
        let mut g = g.borrow_mut();
        params::assign(&mut **g, "", &map);
        let out = g.forward_train(&b, &mut **noise.borrow_mut()).map_err(e)?;
        let y = Array::zeros::<f32>(out.y_hat.shape())?;
        let lc = LossContext { batch: &b, y: &y, y_hat: &out.y_hat, generated: &out, disc: &[], frontend: &*frontend, segment_frames: frames };
        let mel = mel_l1.generator(&lc).map_err(e)?.expect("mel-l1 generator term").value;
        let klv = kl.generator(&lc).map_err(e)?.expect("kl generator term").value;
        let total = ops::add(&ops::multiply(&mel, Array::from_f32(c_mel))?, &ops::multiply(&klv, Array::from_f32(c_kl))?)?;
        let mut v = vec![total, mel, klv, out.ids_slice.as_dtype(Dtype::Float32)?, out.y_hat.expand_dims(1)?];
        v.extend([&out.z, &out.z_p, &out.m_p, &out.logs_p, &out.m_q, &out.logs_q].into_iter().map(cl));
        Ok(v)
    };
    let argnums: Vec<i32> = (0..inputs.len() as i32).collect();
    let mut vg = value_and_grad_with_argnums(closure, &argnums[..]);
    let (values, grads) = vg(&inputs).expect("value_and_grad");
    drop(vg);
    (values, keys.into_iter().zip(grads).collect())
}

fn max_abs_diff(a: &Array, b: &Array) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shape");
    sovits_test_support::max_abs_diff(&host(a), &host(b)) as f64
}

/// Sum, abs-sum, max-abs and first 8 of a gradient, in f64.
fn stats(g: &Array) -> (f64, f64, f64, Vec<f64>) {
    let v: Vec<f64> = host(g).into_iter().map(f64::from).collect();
    let abs_sum = v.iter().map(|x| x.abs()).sum();
    (v.iter().sum(), abs_sum, v.iter().fold(0.0f64, |m, x| m.max(x.abs())), v.iter().take(8).copied().collect())
}

#[test]
fn training_mode_forward_and_gradients_match_the_reference() {
    sovits_plugins::link_all();
    let t0 = std::time::Instant::now();
    let m = meta();
    let s = spec(&m);
    let gap = &m["f32_vs_f64"];
    let (c_mel, c_kl) = (num(&m["c_mel"]) as f32, num(&m["c_kl"]) as f32);
    let mut g = tiny_generator(&s);
    g.set_training(true);
    let ours_frozen = g.frozen_prefixes();
    let mut noise = replay(&m);
    let (v, grads) = run(&s, g, &mut noise, c_mel, c_kl);
    assert_eq!(noise.remaining(), (0, vec![]), "recorded draws left unused");
    assert_eq!(noise.log.len(), m["dropout_calls"].as_array().expect("calls").len());
    let mut failures = Vec::new();
    let mut check = |ok: bool, line: String| {
        println!("{} {line}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(line);
        }
    };

    let ids = host(&v[3]);
    let want_ids = host(&i32_npy("dropout", "out.ids_slice").as_dtype(Dtype::Float32).expect("ids"));
    check(ids == want_ids, format!("ids_slice {ids:?} vs {want_ids:?}"));
    for (i, name) in ["loss", "loss_mel", "loss_kl"].iter().enumerate() {
        let ours = v[i].item_cast::<f32>() as f64 * [1.0, c_mel as f64, c_kl as f64][i];
        let want = num(&m["losses_f32"][name]);
        let tol = K * num(&gap["losses_rel"][name]).max(f32::EPSILON as f64);
        let rel = (ours - want).abs() / want.abs();
        check(rel <= tol, format!("{name}: ours {ours} ref {want} rel {rel:.2e} (tol {tol:.2e})"));
    }
    for (i, name) in OUTS.iter().enumerate() {
        let d = max_abs_diff(&v[4 + i], &f32_npy("dropout", &format!("out.{name}")));
        let tol = K * num(&gap["outputs_max_abs"][name]);
        check(d <= tol, format!("{name}: max abs diff {d:.3e} (tol {tol:.3e})"));
    }

    // gradients: every parameter the reference trains, by its statistics
    let p = golden("dropout", "grads.stats.json");
    let want: BTreeMap<String, Value> = serde_json::from_str(&std::fs::read_to_string(&p).expect("grads.stats.json")).expect("json");
    let gauge: Vec<&str> = gap["gauge"].as_array().expect("gauge").iter().map(|x| x.as_str().expect("name")).collect();
    let frozen: Vec<&str> = m["grads_with_none"].as_array().expect("grads_with_none").iter().map(|x| x.as_str().expect("name")).collect();
    let worst_grad = gap["grads_worst_excluding_gauge"].as_object().expect("grads_worst").values().map(num).fold(0.0, f64::max);
    let rtol = K * worst_grad;
    let (mut n_checked, mut worst) = (0, (0.0f64, String::new()));
    for (k, gk) in &grads {
        let (sum, abs_sum, max_abs, first8) = stats(gk);
        // frozen here: no gradient in the reference (ssl_proj) or a buffer there (the codebook)
        if ours_frozen.iter().any(|p| k.starts_with(p.as_str())) {
            let known = frozen.contains(&k.as_str()) || !want.contains_key(k);
            check(known && max_abs == 0.0, format!("{k}: frozen, reference grad none {known}, ours max |g| {max_abs:e}"));
            continue;
        }
        let Some(w) = want.get(k) else {
            check(false, format!("{k}: trained here, absent from the reference's gradients"));
            continue;
        };
        if gauge.contains(&k.as_str()) {
            check(abs_sum.is_finite(), format!("{k} (gauge): finite"));
            continue;
        }
        let (ws, wa, wm) = (num(&w["sum"]), num(&w["abs_sum"]), num(&w["max_abs"]));
        let d8 = first8.iter().zip(w["first8"].as_array().expect("first8")).map(|(a, b)| (a - num(b)).abs()).fold(0.0, f64::max);
        let rel = [(sum - ws).abs() / wa, (abs_sum - wa).abs() / wa, (max_abs - wm).abs() / wm, d8 / wm].into_iter().fold(0.0, f64::max);
        if rel > worst.0 {
            worst = (rel, k.clone());
        }
        if rel > rtol {
            check(false, format!("{k}: gradient stats rel diff {rel:.2e} (tol {rtol:.2e}): sum {sum} vs {ws}, abs_sum {abs_sum} vs {wa}"));
        }
        n_checked += 1;
    }
    let missing: Vec<&String> = want.keys().filter(|k| !grads.contains_key(*k)).collect();
    check(missing.is_empty(), format!("reference-trained tensors we lack: {missing:?}"));
    check(n_checked > 500, format!("{n_checked} gradients checked; worst rel diff {:.2e} at `{}` (tol {rtol:.2e})", worst.0, worst.1));

    // control: without dropout the outputs miss the reference by far more
    let mut g = tiny_generator(&s);
    g.set_training(false);
    let mut eval_noise = replay(&m);
    let (e, _) = run(&s, g, &mut eval_noise, c_mel, c_kl);
    for (i, name) in OUTS.iter().enumerate().filter(|(_, n)| ["y_hat", "m_p", "logs_p"].contains(n)) {
        let d = max_abs_diff(&e[4 + i], &f32_npy("dropout", &format!("out.{name}")));
        let tol = K * num(&gap["outputs_max_abs"][*name]);
        check(d > 100.0 * tol, format!("control (eval mode) {name}: max abs diff {d:.3e} > 100 x tol"));
    }
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} check(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// A seeded source that keeps a host copy of every dropout draw.
struct Logged {
    inner: SeededNoise,
    draws: Vec<Vec<f32>>,
}

impl NoiseSource for Logged {
    fn normal(&mut self, what: &str, shape: &[i32]) -> sovits_core::Result<Array> {
        self.inner.normal(what, shape)
    }

    fn uniform(&mut self, what: &str, shape: &[i32]) -> sovits_core::Result<Array> {
        let a = self.inner.uniform(what, shape)?;
        if what.starts_with("dropout.") {
            self.draws.push(host(&a));
        }
        Ok(a)
    }
}

/// Our own masks in training: every call and every pass draws a new one,
/// keeping `1 - p` of the elements, independently of every other mask: two
/// independent masks agree on `(1-p)^2 + p^2` of their elements, a repeated
/// mask on all of them (each bound is 6 binomial sigmas).
#[test]
fn seeded_masks_are_fresh_per_call_and_pass_with_rate_p() {
    sovits_plugins::link_all();
    let m = meta();
    let s = spec(&m);
    let p = num(&m["p_dropout"]) as f32;
    let mut g = tiny_generator(&s);
    g.set_training(true);
    let mut noise = Logged { inner: SeededNoise::new(s.trainer.seed).expect("seed"), draws: Vec::new() };
    let b = batch();
    for _ in 0..2 {
        g.forward_train(&b, &mut noise).expect("training forward");
    }
    let calls = m["dropout_calls"].as_array().expect("calls").len();
    assert_eq!(noise.draws.len(), 2 * calls, "dropout draws in two passes");
    let masks: Vec<Vec<bool>> = noise.draws.iter().map(|d| d.iter().map(|&u| u >= p).collect()).collect();
    let n: usize = masks.iter().map(Vec::len).sum();
    let kept = masks.iter().flatten().filter(|&&k| k).count() as f64 / n as f64;
    let q = 1.0 - p as f64;
    let sigma = (q * (1.0 - q) / n as f64).sqrt();
    assert!((kept - q).abs() < 6.0 * sigma, "kept fraction {kept} vs 1 - p = {q} (sigma {sigma:.1e})");
    let agree_want = q * q + (1.0 - q) * (1.0 - q);
    let mut pairs = 0;
    for i in 0..masks.len() {
        for j in i + 1..masks.len() {
            if masks[i].len() != masks[j].len() {
                continue;
            }
            let len = masks[i].len() as f64;
            let agree = masks[i].iter().zip(&masks[j]).filter(|(a, b)| a == b).count() as f64 / len;
            let sd = (agree_want * (1.0 - agree_want) / len).sqrt();
            assert!((agree - agree_want).abs() < 6.0 * sd, "draws {i} and {j} agree on {agree:.4} (independent: {agree_want:.4} +- {sd:.1e})");
            pairs += 1;
        }
    }
    assert!(pairs >= calls, "only {pairs} same-shape pairs compared");
}
