//! Checkpoint state of [`AdamW`]: `exp_avg.<key>`, `exp_avg_sq.<key>`,
//! `step.<key>` (f32 scalar, as torch stores it) per stepped parameter, plus
//! `step` (number of updates) and `learning_rate` (base lr in effect).

use std::collections::BTreeMap;

use mlx_rs::{Array, Dtype};
use crate::error::Result;
use crate::components::ParamMap;

use super::step::Moments;

/// Key of the update counter.
pub const STEP: &str = "step";
/// Key of the base learning rate.
pub const LEARNING_RATE: &str = "learning_rate";

/// What an AdamW run carries from step to step and saves in a checkpoint.
#[derive(Debug, Clone)]
pub struct TrainingState {
    /// Per-parameter moments, present only for parameters stepped at least once.
    pub moments: BTreeMap<String, Moments>,
    /// Number of `update` calls.
    pub updates: u64,
    /// Base learning rate in effect (groups multiply it).
    pub learning_rate: f32,
}

impl TrainingState {
    /// The state before the first step: no moments, no updates.
    pub fn new(learning_rate: f32) -> Self {
        Self { moments: BTreeMap::new(), updates: 0, learning_rate }
    }

    /// The state as named tensors.
    pub fn export(&self) -> ParamMap {
        let mut out = ParamMap::new();
        for (key, m) in &self.moments {
            out.insert(format!("exp_avg.{key}"), m.exp_avg.clone());
            out.insert(format!("exp_avg_sq.{key}"), m.exp_avg_sq.clone());
            out.insert(format!("step.{key}"), Array::from_f32(m.step as f32));
        }
        out.insert(STEP.into(), Array::from_f32(self.updates as f32));
        out.insert(LEARNING_RATE.into(), Array::from_f32(self.learning_rate));
        out
    }
}

/// Casts `a` to f32 unless it already is.
pub(crate) fn to_f32(a: &Array) -> Result<Array> {
    Ok(if a.dtype() == Dtype::Float32 { a.clone() } else { a.as_dtype(Dtype::Float32)? })
}

/// Why a saved state was not loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// Every unknown, incomplete or mis-shaped key, one message each.
    Invalid(Vec<String>),
    /// An array operation failed.
    Core(crate::error::Error),
}

impl From<crate::error::Error> for LoadError {
    fn from(e: crate::error::Error) -> Self {
        Self::Core(e)
    }
}

/// One parameter's pieces while loading.
#[derive(Default)]
struct Parts {
    exp_avg: Option<Array>,
    exp_avg_sq: Option<Array>,
    step: Option<u64>,
}

/// Reads a non-negative integral f32 scalar (a step count).
fn read_count(a: &Array) -> std::result::Result<u64, String> {
    if a.size() != 1 {
        return Err(format!("expected a scalar, found shape {:?}", a.shape()));
    }
    let v: f32 = to_f32(a).map_err(|e| e.to_string())?.try_item_exact().map_err(|e| e.to_string())?;
    if v < 0.0 || v.fract() != 0.0 {
        return Err(format!("expected a non-negative whole number, found {v}"));
    }
    Ok(v as u64)
}

/// Replaces `current` by `state`, whose per-parameter keys must name
/// parameters for which `owns` is true; on any problem nothing changes and
/// [`LoadError::Invalid`] lists every unknown, incomplete or mis-shaped key by name.
pub(crate) fn load(
    current: &mut TrainingState,
    state: &ParamMap,
    owns: impl Fn(&str) -> bool,
) -> std::result::Result<(), LoadError> {
    let mut problems = Vec::new();
    let mut parts: BTreeMap<&str, Parts> = BTreeMap::new();
    let (mut updates, mut lr) = (None, None);
    for (name, value) in state {
        if name == STEP {
            match read_count(value) {
                Ok(n) => updates = Some(n),
                Err(e) => problems.push(format!("`{name}`: {e}")),
            }
            continue;
        }
        if name == LEARNING_RATE {
            let item = (value.size() == 1).then(|| to_f32(value).map(|v| v.try_item_exact::<f32>()));
            match item {
                Some(Ok(Ok(v))) => lr = Some(v),
                _ => problems.push(format!("`{name}`: expected an f32 scalar, found shape {:?}", value.shape())),
            }
            continue;
        }
        let split = ["exp_avg_sq.", "exp_avg.", "step."].iter().find_map(|p| name.strip_prefix(p).map(|key| (*p, key)));
        let Some((prefix, key)) = split.filter(|(_, key)| owns(key)) else {
            problems.push(format!("unknown key `{name}`"));
            continue;
        };
        let entry = parts.entry(key).or_default();
        match prefix {
            "exp_avg." => entry.exp_avg = Some(to_f32(value)?),
            "exp_avg_sq." => entry.exp_avg_sq = Some(to_f32(value)?),
            _ => match read_count(value) {
                Ok(n) => entry.step = Some(n),
                Err(e) => problems.push(format!("`{name}`: {e}")),
            },
        }
    }
    let mut moments = BTreeMap::new();
    for (key, p) in parts {
        match (p.exp_avg, p.exp_avg_sq, p.step) {
            (Some(m), Some(v), Some(step)) if m.shape() == v.shape() => {
                moments.insert(key.to_string(), Moments { exp_avg: m, exp_avg_sq: v, step });
            }
            (Some(m), Some(v), Some(_)) => problems.push(format!(
                "`exp_avg_sq.{key}` has shape {:?} but `exp_avg.{key}` has {:?}",
                v.shape(),
                m.shape()
            )),
            _ => problems.push(format!("incomplete state for `{key}`: needs exp_avg, exp_avg_sq and step")),
        }
    }
    if !problems.is_empty() {
        return Err(LoadError::Invalid(problems));
    }
    current.moments = moments;
    if let Some(n) = updates {
        current.updates = n;
    }
    if let Some(v) = lr {
        current.learning_rate = v;
    }
    Ok(())
}
