//! The PyTorch column of `sovits bench`: GPT-SoVITS's own training step
//! measured in the same run (when a checkout and a Python with torch are
//! configured), else the figure recorded on this machine kind, labelled as
//! recorded and dated.
//!
//! The driver, `scripts/reference_step.py`, is compiled into the binary and
//! written to a temporary file per run, so an installed `sovits` needs no
//! checkout of this repository; it imports the model from the GPT-SoVITS
//! checkout it is given and copies none of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The reference step driver (see the module doc).
const DRIVER: &str = include_str!("../../../scripts/reference_step.py");
/// Prefix of the driver's result line.
const MARKER: &str = "SOVITS_REFERENCE_RESULT ";
/// Environment variable naming the Python that runs the reference.
pub const PYTHON_ENV: &str = "SOVITS_REFERENCE_PYTHON";
/// Environment variable naming the GPT-SoVITS checkout.
pub const ROOT_ENV: &str = "SOVITS_REFERENCE_ROOT";
/// The two PyTorch figures: plain fp32 matmuls, and what `s2_train.py` sets.
pub const MATMUL_PRECISIONS: [&str; 2] = ["highest", "medium"];

/// `--reference-python` / `--reference-root` of `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReferenceArgs {
    /// Python with torch that runs GPT-SoVITS's step beside ours (or
    /// $SOVITS_REFERENCE_PYTHON); needs --reference-root too.
    #[arg(long)]
    pub reference_python: Option<PathBuf>,
    /// GPT-SoVITS checkout (the folder holding GPT_SoVITS/) (or
    /// $SOVITS_REFERENCE_ROOT).
    #[arg(long)]
    pub reference_root: Option<PathBuf>,
}

/// One PyTorch figure recorded on this machine kind, for runs without a
/// configured reference.
pub struct Recorded {
    /// Items per batch.
    pub batch: usize,
    /// Segment in samples.
    pub segment: usize,
    /// Seconds per step with `highest` (plain fp32) matmuls.
    pub highest_s: f64,
    /// Seconds per step with `medium` (what `s2_train.py` sets).
    pub medium_s: f64,
    /// Peak RSS, GiB.
    pub peak_rss_gib: f64,
}

/// When and how [`RECORDED`] was measured.
pub const RECORDED_SOURCE: &str = "recorded 2026-12-05 on this machine kind (2-core AMD EPYC, idle): \
    PyTorch 2.15, 2 threads, GPT-SoVITS v2 G + MPD, f32, 4 s inputs";

/// The recorded figures (only batch 1, segment 20480 was measured that day).
pub const RECORDED: [Recorded; 1] =
    [Recorded { batch: 1, segment: 20480, highest_s: 2.23, medium_s: 1.88, peak_rss_gib: 3.42 }];

/// A configured reference: the Python and the checkout, validated.
pub struct Reference {
    python: PathBuf,
    root: PathBuf,
    driver: PathBuf,
}

impl Reference {
    /// The reference configured by `args` or the environment; `None` when
    /// neither names a Python and a root. Naming only one is an error.
    pub fn from_args(args: &ReferenceArgs) -> Result<Option<Reference>> {
        let python = args.reference_python.clone().or_else(|| std::env::var_os(PYTHON_ENV).map(PathBuf::from));
        let root = args.reference_root.clone().or_else(|| std::env::var_os(ROOT_ENV).map(PathBuf::from));
        let (python, root) = match (python, root) {
            (None, None) => return Ok(None),
            (Some(p), Some(r)) => (p, r),
            _ => bail!("the PyTorch reference needs both --reference-python ({PYTHON_ENV}) and --reference-root ({ROOT_ENV})"),
        };
        if !root.join("GPT_SoVITS").join("configs").join("s2.json").is_file() {
            bail!("--reference-root {}: no GPT_SoVITS/configs/s2.json there (not a GPT-SoVITS checkout)", root.display());
        }
        let driver = std::env::temp_dir().join(format!("sovits-reference-step-{}.py", std::process::id()));
        std::fs::write(&driver, DRIVER).with_context(|| format!("writing {}", driver.display()))?;
        Ok(Some(Reference { python, root, driver }))
    }

    /// Runs GPT-SoVITS's step at (`batch`, `segment`) with `matmul_precision`
    /// and returns the driver's result.
    pub fn measure(&self, batch: usize, segment: usize, matmul_precision: &str, steps: usize, warmup: usize) -> Result<Value> {
        let mut cmd = Command::new(&self.python);
        // the reference runs in the environment the user gave
        crate::blas_env::user_environment(&mut cmd);
        let out = cmd
            .arg(&self.driver)
            .arg("--root")
            .arg(&self.root)
            .args(["--batch", &batch.to_string(), "--segment", &segment.to_string()])
            .args(["--steps", &steps.to_string(), "--warmup", &warmup.to_string()])
            .args(["--matmul-precision", matmul_precision])
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", self.python.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match (out.status.success(), stdout.lines().find_map(|l| l.strip_prefix(MARKER))) {
            (true, Some(line)) => serde_json::from_str(line).context("parsing the reference driver's result"),
            _ => bail!("reference step (batch {batch}, segment {segment}, {matmul_precision}) failed ({})", out.status),
        }
    }

    /// Where the reference comes from, for the report.
    pub fn describe(&self) -> String {
        format!("measured in this run: {} {} --root {}", self.python.display(), driver_name(&self.driver), self.root.display())
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.driver);
    }
}

fn driver_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Adds the PyTorch columns to our result `v`: from `measured` (matmul
/// precision -> driver result) when given, else the recorded figure for
/// this configuration if there is one.
pub fn attach(mut v: Value, measured: &[(&str, Value)]) -> Value {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let (batch, segment) = (v["batch"].as_u64().unwrap_or(0) as usize, v["segment"].as_u64().unwrap_or(0) as usize);
    let step = v["median_step_s"].as_f64().unwrap_or(f64::NAN);
    let rss = v["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN) / GIB;
    let (highest, medium, torch_rss, source) = if measured.is_empty() {
        let Some(r) = RECORDED.iter().find(|r| r.batch == batch && r.segment == segment) else { return v };
        (Some(r.highest_s), Some(r.medium_s), Some(r.peak_rss_gib), "recorded")
    } else {
        let get = |p: &str| measured.iter().find(|(q, _)| *q == p).map(|(_, r)| r);
        let secs = |p: &str| get(p).and_then(|r| r["median_step_s"].as_f64());
        let rss = measured.iter().filter_map(|(_, r)| r["peak_rss_bytes"].as_f64()).fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        v["torch_runs"] = json!(measured.iter().map(|(p, r)| json!({"matmul_precision": p, "result": r})).collect::<Vec<_>>());
        (secs("highest"), secs("medium"), rss.map(|b| b / GIB), "measured")
    };
    v["torch_source"] = json!(source);
    v["torch_highest_s"] = json!(highest);
    v["torch_medium_s"] = json!(medium);
    v["step_ratio_vs_torch_highest"] = json!(highest.map(|h| step / h));
    v["step_ratio_vs_torch_medium"] = json!(medium.map(|m| step / m));
    v["torch_peak_rss_gib"] = json!(torch_rss);
    v["rss_ratio_vs_torch"] = json!(torch_rss.map(|t| rss / t));
    v
}
