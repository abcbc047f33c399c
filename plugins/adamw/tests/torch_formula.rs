//! AdamW against torch's formula computed in f64 on the host
//! (torch.optim.AdamW docs, `amsgrad=False`; `shared/notes/reference.md`
//! "Optimizer"), with per-parameter step counts as torch keeps them.
//!
//! Tolerance rtol 1e-6 on parameters and moments: the plugin runs each step
//! in f32 (about 10 roundings of ~6e-8 per element per step), so three steps
//! accumulate a few 1e-7 relative at most; a wrong bias correction, decay or
//! group lr moves the result by >= 1e-4 relative with lr 0.1.

use std::collections::BTreeMap;

use mlx_rs::Array;
use sovits_core::components::{GroupAssignment, Optimizer, OptimizerContext, ParamMap};
use sovits_plugin_adamw::{AdamW, Config};

const RTOL: f64 = 1e-6;
const LR: f32 = 0.1;

/// f64 host state of one parameter.
#[derive(Clone, Debug)]
struct Host {
    p: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u32,
}

impl Host {
    fn new(p: Vec<f64>) -> Self {
        let n = p.len();
        Self { p, m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    /// torch AdamW, one step, in f64.
    fn step(&mut self, g: &[f64], lr: f64, c: &Config) {
        let (b1, b2, eps, wd) = (c.betas[0] as f64, c.betas[1] as f64, c.eps as f64, c.weight_decay as f64);
        self.t += 1;
        let (bc1, bc2) = (1.0 - b1.powi(self.t as i32), 1.0 - b2.powi(self.t as i32));
        for (i, p) in self.p.iter_mut().enumerate() {
            *p *= 1.0 - lr * wd;
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            *p -= lr * (self.m[i] / bc1) / (self.v[i].sqrt() / bc2.sqrt() + eps);
        }
    }
}

fn host(a: &Array) -> Vec<f64> {
    let a = a.contiguous().unwrap();
    a.eval().unwrap();
    a.as_slice::<f32>().iter().map(|&x| x as f64).collect()
}

fn bits(a: &Array) -> Vec<u32> {
    host(a).iter().map(|&x| (x as f32).to_bits()).collect()
}

/// Max relative difference; asserts it is within `rtol`.
fn check(what: &str, got: &Array, want: &[f64], rtol: f64) -> f64 {
    let got = host(got);
    assert_eq!(got.len(), want.len(), "{what}: length");
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs() / w.abs().max(1e-30)).fold(0.0, f64::max);
    assert!(worst <= rtol, "{what}: max rel diff {worst:e} > {rtol:e}\n got {got:?}\nwant {want:?}");
    println!("{what}: max rel diff {worst:e}");
    worst
}

fn ramp(n: usize, scale: f32, phase: f32) -> Vec<f32> {
    (0..n).map(|i| scale * ((i as f32) * 0.7 + phase).sin()).collect()
}

fn groups() -> OptimizerContext {
    OptimizerContext {
        learning_rate: LR,
        groups: vec![
            GroupAssignment { name: "default".into(), lr_scale: 1.0, params: vec!["a.weight".into()] },
            GroupAssignment { name: "text".into(), lr_scale: 0.4, params: vec!["b.weight".into(), "c.unused".into()] },
        ],
    }
}

fn initial() -> ParamMap {
    let mut p = ParamMap::new();
    p.insert("a.weight".into(), Array::from_slice(&ramp(6, 1.0, 0.3), &[2, 3]));
    p.insert("b.weight".into(), Array::from_slice(&ramp(4, 2.0, 1.1), &[4]));
    p.insert("c.unused".into(), Array::from_slice(&[0.5f32, -0.5], &[2]));
    p.insert("frozen.weight".into(), Array::from_slice(&ramp(3, 1.0, 2.0), &[3]));
    p
}

/// Gradients of step `k` (0-based). `a.weight`'s is a transposed (column-major)
/// view; `b.weight` has none on step 1; `c.unused` never has one; the frozen
/// parameter gets one it must ignore.
fn grads(k: usize) -> ParamMap {
    let mut g = ParamMap::new();
    let a_t = Array::from_slice(&ramp(6, 0.5, k as f32), &[3, 2]);
    g.insert("a.weight".into(), a_t.transpose_axes(&[1, 0]).unwrap());
    if k != 1 {
        g.insert("b.weight".into(), Array::from_slice(&ramp(4, 0.05 * (k as f32 + 1.0), 0.2 * k as f32), &[4]));
    }
    g.insert("frozen.weight".into(), Array::from_slice(&[1.0f32, 1.0, 1.0], &[3]));
    g
}

/// Runs `n` steps starting at step `from` (0-based) on `opt`.
fn run(opt: &mut dyn Optimizer, params: &mut ParamMap, from: usize, n: usize) {
    for k in from..from + n {
        opt.update(params, &grads(k)).unwrap();
        for v in params.values() {
            v.eval().unwrap();
        }
    }
}

/// A default AdamW and the initial parameters after its first `n` steps.
fn stepped(n: usize) -> (AdamW, ParamMap) {
    let mut opt = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let mut params = initial();
    run(&mut opt, &mut params, 0, n);
    (opt, params)
}

#[test]
fn three_steps_match_torch_formula_in_f64() {
    let cfg = Config::default();
    let mut opt = AdamW::new("adamw", cfg, &groups()).unwrap();
    let mut params = initial();
    let mut want: BTreeMap<&str, (Host, f64)> = BTreeMap::new();
    want.insert("a.weight", (Host::new(host(&params["a.weight"])), LR as f64));
    want.insert("b.weight", (Host::new(host(&params["b.weight"])), LR as f64 * 0.4f32 as f64));
    for k in 0..3 {
        let g = grads(k);
        for (key, (h, lr)) in want.iter_mut() {
            if let Some(g) = g.get(*key) {
                h.step(&host(g), *lr, &cfg);
            }
        }
        run(&mut opt, &mut params, k, 1);
    }
    let state = opt.state().unwrap();
    for (key, (h, _)) in &want {
        check(&format!("param {key}"), &params[*key], &h.p, RTOL);
        check(&format!("exp_avg {key}"), &state[&format!("exp_avg.{key}")], &h.m, RTOL);
        check(&format!("exp_avg_sq {key}"), &state[&format!("exp_avg_sq.{key}")], &h.v, RTOL);
        check(&format!("step {key}"), &state[&format!("step.{key}")], &[h.t as f64], 0.0);
    }
    assert_eq!(want["b.weight"].0.t, 2, "b.weight had no gradient on step 2");
    assert_eq!(opt.step_count(), 3);
    assert!(opt.moments("c.unused").is_none(), "a listed parameter never given a gradient has no state");
    assert_eq!(bits(&params["c.unused"]), bits(&initial()["c.unused"]));
}

#[test]
fn frozen_parameter_is_bit_identical_and_stateless() {
    let mut opt = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let mut params = initial();
    run(&mut opt, &mut params, 0, 3);
    assert_eq!(bits(&params["frozen.weight"]), bits(&initial()["frozen.weight"]));
    let state = opt.state().unwrap();
    assert!(state.keys().all(|k| !k.ends_with("frozen.weight") && !k.ends_with("c.unused")), "{:?}", state.keys());
}

#[test]
fn no_gradient_means_no_update_and_no_decay() {
    let mut opt = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let mut params = initial();
    run(&mut opt, &mut params, 0, 1);
    let after_1 = bits(&params["b.weight"]);
    run(&mut opt, &mut params, 1, 1);
    assert_eq!(bits(&params["b.weight"]), after_1, "step 2 has no gradient for b.weight");
    assert_eq!(opt.moments("b.weight").map(|m| m.step), Some(1));
    assert_eq!(opt.moments("a.weight").map(|m| m.step), Some(2));
}

#[test]
fn resume_from_state_is_bit_exact() {
    let (straight, p_straight) = stepped(4);
    let (first, mut p_resumed) = stepped(3);
    let saved = first.state().unwrap();
    let mut fresh =
        AdamW::new("adamw", Config::default(), &OptimizerContext { learning_rate: 1.0, ..groups() }).unwrap();
    fresh.load_state(&saved).unwrap();
    assert_eq!(fresh.learning_rate(), LR, "the base lr is part of the state");
    assert_eq!(fresh.step_count(), 3);
    run(&mut fresh, &mut p_resumed, 3, 1);

    for key in p_straight.keys() {
        assert_eq!(bits(&p_resumed[key]), bits(&p_straight[key]), "param {key}");
    }
    let (a, b) = (fresh.state().unwrap(), straight.state().unwrap());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for key in a.keys() {
        assert_eq!(bits(&a[key]), bits(&b[key]), "state {key}");
    }
}

#[test]
fn load_state_names_unknown_and_misshaped_keys() {
    let mut opt = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let mut params = initial();
    run(&mut opt, &mut params, 0, 1);
    let mut state = opt.state().unwrap();
    state.insert("exp_avg.nope.weight".into(), Array::from_f32(0.0));
    state.insert("exp_avg_sq.a.weight".into(), Array::zeros::<f32>(&[3, 2]).unwrap());
    state.insert("step.b.weight".into(), Array::from_f32(1.5));
    let mut fresh = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let err = fresh.load_state(&state).expect_err("must fail").to_string();
    for needle in ["exp_avg.nope.weight", "exp_avg_sq.a.weight", "step.b.weight"] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    assert_eq!(fresh.step_count(), 0, "a failed load changes nothing");
    assert!(fresh.moments("a.weight").is_none());
}

#[test]
fn bad_config_and_duplicate_keys_are_rejected() {
    use sovits_core::registry::build_optimizer;
    use sovits_core::spec::ComponentSpec;
    let spec = ComponentSpec::named("adamw").with_params(serde_json::json!({"betas": [0.8, 1.0]}));
    let err = build_optimizer(&spec, "optimizers.g", &groups()).err().expect("beta 1.0").to_string();
    assert!(err.contains("betas[1]") && err.contains('1'), "{err}");
    let mut ctx = groups();
    ctx.groups[1].params.push("a.weight".into());
    let err = AdamW::new("adamw", Config::default(), &ctx).expect_err("duplicate").to_string();
    assert!(err.contains("a.weight"), "{err}");
    assert!(build_optimizer(&ComponentSpec::named("adamw"), "optimizers.g", &groups()).is_ok());
}

/// Every state entry's bits, by key.
fn state_bits(opt: &AdamW) -> BTreeMap<String, Vec<u32>> {
    opt.state().unwrap().iter().map(|(k, v)| (k.clone(), bits(v))).collect()
}

fn all_bits(params: &ParamMap) -> BTreeMap<String, Vec<u32>> {
    params.iter().map(|(k, v)| (k.clone(), bits(v))).collect()
}

/// `grads(k)` with every value NaN: what a diverged loss hands the optimizer.
fn nan_grads(k: usize) -> ParamMap {
    grads(k).into_iter().map(|(key, g)| (key, g.multiply(Array::from_f32(f32::NAN)).unwrap())).collect()
}

/// The training step's mask: whether the gradients are finite, unevaluated.
fn finite(grads: &ParamMap) -> Array {
    let total = grads.values().fold(Array::from_f32(0.0), |acc, g| acc.add(g.sum(None).unwrap()).unwrap());
    total.is_finite().unwrap()
}

/// A masked step: built lazily, evaluated, settled with the evaluated mask.
fn masked_step(opt: &mut AdamW, params: &mut ParamMap, grads: &ParamMap) -> bool {
    let apply = finite(grads);
    let pending = opt.update_where(params, grads, &apply).unwrap();
    for v in params.values() {
        v.eval().unwrap();
    }
    let applied = apply.item::<bool>();
    opt.settle(pending, applied).unwrap();
    applied
}

#[test]
fn masked_step_that_applies_is_bit_identical_to_update() {
    let (plain, p_plain) = stepped(3);
    let mut masked = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let mut p_masked = initial();
    for k in 0..3 {
        assert!(masked_step(&mut masked, &mut p_masked, &grads(k)));
    }
    assert_eq!(all_bits(&p_masked), all_bits(&p_plain));
    assert_eq!(state_bits(&masked), state_bits(&plain));
    assert_eq!(masked.step_count(), plain.step_count());
}

#[test]
fn masked_step_on_nan_gradients_leaves_parameters_and_state_as_they_were() {
    // straight: steps 0, 1, 2; masked: steps 0, 1, a NaN step, then 2
    let (straight, p_straight) = stepped(3);
    let (mut opt, mut params) = stepped(2);
    let (p_before, s_before, n_before) = (all_bits(&params), state_bits(&opt), opt.step_count());
    assert!(!masked_step(&mut opt, &mut params, &nan_grads(2)), "NaN gradients must mask the step");
    assert_eq!(all_bits(&params), p_before, "a masked step changed a parameter");
    assert_eq!(state_bits(&opt), s_before, "a masked step changed the state (moments or step counts)");
    assert_eq!(opt.step_count(), n_before);
    run(&mut opt, &mut params, 2, 1);
    assert_eq!(all_bits(&params), all_bits(&p_straight), "the run after a masked step differs from one without it");
    assert_eq!(state_bits(&opt), state_bits(&straight));
}

#[test]
fn masked_first_step_leaves_no_moments() {
    let mut opt = AdamW::new("adamw", Config::default(), &groups()).unwrap();
    let fresh = state_bits(&opt);
    let mut params = initial();
    assert!(!masked_step(&mut opt, &mut params, &nan_grads(0)));
    assert_eq!(state_bits(&opt), fresh, "a parameter never stepped has no state");
    assert!(opt.moments("a.weight").is_none());
    assert_eq!(all_bits(&params), all_bits(&initial()));
}
