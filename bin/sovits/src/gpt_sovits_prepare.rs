//! `sovits prepare --from-gpt-sovits logs/<exp> --out DIR [--skip-bad]`: a
//! GPT-SoVITS experiment folder -> a sovits dataset, with a progress bar and
//! the per-item report `data check` prints.

use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sovits_core::{Spec, registry};

/// Runs the conversion; exits non-zero when items have problems.
pub fn run(spec: &Spec, exp: &Path, out: &Path, skip_bad: bool) -> Result<()> {
    let frontend = registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} item {pos}/{len} [{elapsed_precise} < {eta_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let outcome = sovits_interop::experiment::import_experiment(exp, out, &*frontend, skip_bad, &mut progress)
        .with_context(|| format!("converting {}", exp.display()))?;
    bar.finish_and_clear();
    let r = &outcome.report;
    if !r.problems.is_empty() || !r.warnings.is_empty() {
        println!("{r}");
    }
    if !outcome.dataset_written {
        eprintln!(
            "{} item(s) of {} have problems (listed above); no dataset written. Fix them, or pass --skip-bad to leave them out.",
            r.bad_items.len(),
            exp.display()
        );
        std::process::exit(1);
    }
    println!("prepared {} item(s) from {} into {} (units: hubert)", outcome.written, exp.display(), out.display());
    Ok(())
}
