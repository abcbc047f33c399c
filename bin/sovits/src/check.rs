//! `sovits --spec FILE check`: resolves and validates a spec by building every
//! component it names, then prints the resolved spec and parameter counts.

use std::path::Path;

use anyhow::{Context, Result};
use sovits_core::Spec;
use sovits_core::gan::Gan;

/// Validates `spec` (loaded from `path`) and prints the resolved form.
pub fn run(path: &Path, spec: &Spec) -> Result<()> {
    let gan = Gan::build(spec).with_context(|| format!("building the components of {}", path.display()))?;
    println!("{}", spec.to_json());
    eprintln!(
        "ok: {} -> generator `{}` ({} parameters), {} discriminator(s) ({} parameters), {} loss term(s), frontend `{}`",
        path.display(),
        spec.generator.name,
        gan.generator_parameter_count(),
        gan.discriminators.len(),
        gan.discriminator_parameter_count(),
        gan.losses.len(),
        spec.frontend.name,
    );
    Ok(())
}
