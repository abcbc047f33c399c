//! The reference's effective initialisation as per-tensor statistics
//! (`tests/golden/init_stats/init_stats_v2.json`, see its PROVENANCE.md), and
//! the check that a freshly built module draws its tensors alike: same
//! element count, and mean and root-mean-square within what sampling two
//! independent draws of that size allows. Our PRNG is not torch's, so values
//! cannot match one to one; the distributions must.

use std::collections::BTreeMap;

use mlx_rs::module::ModuleParameters;

use crate::values;

/// The committed statistics file.
pub const INIT_STATS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../golden/init_stats/init_stats_v2.json");

/// One reference tensor's `numel`, `mean` and `rms`.
#[derive(Debug, Clone, Copy)]
pub struct TensorStats {
    /// Element count.
    pub numel: usize,
    /// Mean of the elements.
    pub mean: f64,
    /// Root mean square of the elements.
    pub rms: f64,
}

/// The statistics of one model (`"stats_G"` or `"stats_D"`), by state-dict key.
pub fn reference_stats(section: &str) -> BTreeMap<String, TensorStats> {
    let text = std::fs::read_to_string(INIT_STATS).unwrap_or_else(|e| panic!("{INIT_STATS}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{INIT_STATS}: {e}"));
    let rows = v[section].as_object().unwrap_or_else(|| panic!("{INIT_STATS}: no `{section}` object"));
    rows.iter()
        .map(|(k, r)| {
            let f = |i: usize| r[i].as_f64().unwrap_or_else(|| panic!("{INIT_STATS}: {section}.{k}[{i}] is not a number"));
            (k.clone(), TensorStats { numel: f(0) as usize, mean: f(1), rms: f(2) })
        })
        .collect()
}

/// Statistics of `values`.
pub fn stats_of(values: &[f32]) -> TensorStats {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&x| x as f64).sum::<f64>() / n;
    let rms = (values.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n).sqrt();
    TensorStats { numel: values.len(), mean, rms }
}

/// Compares every reference tensor of `section` with `module`'s tensor of
/// the same key; returns one line per tensor that differs (empty when all
/// agree). Bounds, for two independent draws of `n` elements: the mean
/// within `6 rms / sqrt(n)`, the rms within `2% + 4 / sqrt(n)` relative
/// (a uniform or normal draw's rms has a relative sampling error of about
/// `0.5 / sqrt(n)`), plus the 4-digit rounding of the stored values.
pub fn init_mismatches<M: ModuleParameters + ?Sized>(module: &M, section: &str) -> (usize, Vec<String>) {
    let reference = reference_stats(section);
    let ours = sovits_core::nn::flatten_params(module);
    let mut bad = Vec::new();
    for (key, want) in &reference {
        let Some(a) = ours.get(key) else {
            bad.push(format!("{key}: not in the module"));
            continue;
        };
        let got = stats_of(&values(a));
        let sqrt_n = (want.numel as f64).sqrt();
        let rounding = 1e-3 * want.rms.max(want.mean.abs()) + 1e-9;
        let mean_tol = 6.0 * want.rms / sqrt_n + rounding;
        let rms_tol = want.rms * (0.02 + 4.0 / sqrt_n) + rounding;
        if got.numel != want.numel || (got.mean - want.mean).abs() > mean_tol || (got.rms - want.rms).abs() > rms_tol {
            bad.push(format!(
                "{key}: ours numel {} mean {:.4e} rms {:.4e}, reference numel {} mean {:.4e} rms {:.4e} (tolerances {mean_tol:.2e}, {rms_tol:.2e})",
                got.numel, got.mean, got.rms, want.numel, want.mean, want.rms
            ));
        }
    }
    (reference.len(), bad)
}
