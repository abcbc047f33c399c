//! `adamw-bf16`: f32 master weights follow torch's AdamW given bf16 gradients;
//! the model gets bf16 copies.
//!
//! Tolerance on the master weights: rtol 1e-6 (relative to the larger of the
//! result and the start value) against the f64 host formula fed the same
//! bf16-rounded gradients (the update runs in f32, ~1e-7 relative per step);
//! bf16 rounding itself (~4e-3) would fail it, so the master weights must
//! really be f32.

use mlx_rs::{Array, Dtype};
use sovits_core::components::{GroupAssignment, Optimizer, OptimizerContext, ParamMap};
use sovits_core::optim::adamw::{AdamW, Config};
use sovits_plugin_adamw_bf16::AdamWBf16;

const LR: f32 = 0.1;

fn host(a: &Array) -> Vec<f64> {
    let a = a.as_dtype(Dtype::Float32).unwrap().contiguous().unwrap();
    a.eval().unwrap();
    a.as_slice::<f32>().iter().map(|&x| x as f64).collect()
}

fn bits(a: &Array) -> Vec<u32> {
    host(a).iter().map(|&x| (x as f32).to_bits()).collect()
}

fn ctx() -> OptimizerContext {
    OptimizerContext {
        learning_rate: LR,
        groups: vec![
            GroupAssignment { name: "default".into(), lr_scale: 1.0, params: vec!["w".into()] },
            GroupAssignment { name: "text".into(), lr_scale: 0.4, params: vec!["t".into()] },
        ],
    }
}

fn params() -> ParamMap {
    let mut p = ParamMap::new();
    p.insert("w".into(), Array::from_slice(&[1.0f32, -0.75, 0.3333, 2.5, -1.2, 0.01], &[2, 3]));
    p.insert("t".into(), Array::from_slice(&[0.123456f32, -3.0], &[2]));
    p.insert("frozen".into(), Array::from_slice(&[0.7f32], &[1]));
    p
}

/// bf16 gradients of step `k`.
fn grads(k: usize) -> ParamMap {
    let s = k as f32 + 1.0;
    let mut g = ParamMap::new();
    g.insert("w".into(), Array::from_slice(&[0.3 * s, -0.2, 0.05, -0.4 / s, 0.7, 0.011 * s], &[2, 3]));
    g.insert("t".into(), Array::from_slice(&[-0.5f32 / s, 0.25 * s], &[2]));
    g.values_mut().for_each(|a| *a = a.as_dtype(Dtype::Bfloat16).unwrap());
    g
}

/// torch AdamW in f64 for one parameter over `steps` gradients.
fn torch_adamw(p0: &[f64], gs: &[Vec<f64>], lr: f64, c: &Config) -> Vec<f64> {
    let (b1, b2, eps, wd) = (c.betas[0] as f64, c.betas[1] as f64, c.eps as f64, c.weight_decay as f64);
    let (mut p, mut m, mut v) = (p0.to_vec(), vec![0.0; p0.len()], vec![0.0; p0.len()]);
    for (t, g) in gs.iter().enumerate() {
        let t = t as i32 + 1;
        for i in 0..p.len() {
            p[i] *= 1.0 - lr * wd;
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            p[i] -= lr * (m[i] / (1.0 - b1.powi(t))) / (v[i].sqrt() / (1.0 - b2.powi(t)).sqrt() + eps);
        }
    }
    p
}

#[test]
fn master_weights_follow_torch_formula_with_bf16_grads() {
    let cfg = Config::default();
    let mut opt = AdamWBf16::new(cfg, &ctx()).unwrap();
    let mut p = params();
    for k in 0..3 {
        opt.update(&mut p, &grads(k)).unwrap();
    }
    for (key, lr) in [("w", LR as f64), ("t", LR as f64 * 0.4f32 as f64)] {
        assert_eq!(p[key].dtype(), Dtype::Float32, "master {key} stays f32");
        let gs: Vec<Vec<f64>> = (0..3).map(|k| host(&grads(k)[key])).collect();
        let want = torch_adamw(&host(&params()[key]), &gs, lr, &cfg);
        let (got, p0) = (host(&p[key]), host(&params()[key]));
        // Relative to the larger of the result and the start value: an element
        // that moves from 0.33 to 0.03 carries the f32 rounding of 0.33.
        let worst =
            (0..got.len()).map(|i| (got[i] - want[i]).abs() / want[i].abs().max(p0[i].abs())).fold(0.0, f64::max);
        println!("master {key}: max rel diff {worst:e}");
        assert!(worst <= 1e-6, "master {key}: {worst:e}\n got {got:?}\nwant {want:?}");
    }
    assert_eq!(bits(&p["frozen"]), bits(&params()["frozen"]));
}

#[test]
fn same_update_as_adamw_on_upcast_grads() {
    let mut bf = AdamWBf16::new(Config::default(), &ctx()).unwrap();
    let mut f32_opt = AdamW::new("adamw", Config::default(), &ctx()).unwrap();
    let (mut p_bf, mut p_f32) = (params(), params());
    for k in 0..3 {
        bf.update(&mut p_bf, &grads(k)).unwrap();
        let up: ParamMap = grads(k).into_iter().map(|(n, g)| (n, g.as_dtype(Dtype::Float32).unwrap())).collect();
        f32_opt.update(&mut p_f32, &up).unwrap();
    }
    for key in ["w", "t"] {
        assert_eq!(bits(&p_bf[key]), bits(&p_f32[key]), "{key}");
    }
}

#[test]
fn compute_params_are_bf16_copies_of_the_masters() {
    let mut opt = AdamWBf16::new(Config::default(), &ctx()).unwrap();
    let mut p = params();
    opt.update(&mut p, &grads(0)).unwrap();
    let compute = opt.compute_params(&p).unwrap();
    assert_eq!(compute.keys().collect::<Vec<_>>(), p.keys().collect::<Vec<_>>());
    for (key, c) in &compute {
        assert_eq!(c.dtype(), Dtype::Bfloat16, "{key}");
        assert_eq!(bits(c), bits(&p[key].as_dtype(Dtype::Bfloat16).unwrap()), "{key}");
    }
    // The masters differ from their bf16 copies (the update is finer than bf16).
    assert_ne!(bits(&compute["t"]), bits(&p["t"]));
}

#[test]
fn bf16_params_become_f32_masters() {
    let mut opt = AdamWBf16::new(Config::default(), &ctx()).unwrap();
    let mut p = params();
    p.insert("w".into(), p["w"].as_dtype(Dtype::Bfloat16).unwrap());
    opt.update(&mut p, &grads(0)).unwrap();
    assert_eq!(p["w"].dtype(), Dtype::Float32);
}

#[test]
fn registered_with_state_keys_of_adamw() {
    use sovits_core::registry::build_optimizer;
    use sovits_core::spec::ComponentSpec;
    let mut opt = build_optimizer(&ComponentSpec::named("adamw-bf16"), "optimizers.g", &ctx()).unwrap();
    let mut p = params();
    opt.update(&mut p, &grads(0)).unwrap();
    let keys: Vec<String> = opt.state().unwrap().into_keys().collect();
    assert_eq!(
        keys,
        ["exp_avg.t", "exp_avg.w", "exp_avg_sq.t", "exp_avg_sq.w", "learning_rate", "step", "step.t", "step.w"]
    );
}
