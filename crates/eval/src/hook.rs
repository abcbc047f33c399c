//! The run loop's evaluator: scores the trainer's generator on the held-out
//! items with the spec's frontend and writes samples and plots.

use std::path::Path;

use sovits_core::Result;
use sovits_core::data::dataset::Dataset;
use sovits_core::registry;
use sovits_core::spec::Spec;
use sovits_core::train::Trainer;
use sovits_core::train::evaluate::Evaluator;

use crate::held_out::evaluate;
use crate::scores::Scorer;

/// [`Evaluator`] for `sovits_core::train::run::run` (`RunHooks::with_evaluator`).
pub struct HeldOutEvaluator {
    scorer: Scorer,
    seed: u64,
}

impl HeldOutEvaluator {
    /// Builds the scorer from `spec`'s frontend; draws are seeded with `trainer.seed`.
    pub fn new(spec: &Spec) -> Result<Self> {
        let frontend = registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?;
        Ok(Self { scorer: Scorer::new(frontend)?, seed: spec.trainer.seed })
    }
}

impl Evaluator for HeldOutEvaluator {
    fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        dataset: &Dataset,
        items: &[usize],
        samples_dir: &Path,
    ) -> Result<Vec<(String, f64)>> {
        let result = evaluate(&mut *trainer.gan.generator, &self.scorer, dataset, items, self.seed, Some(samples_dir));
        trainer.gan.generator.set_training(true);
        Ok(result?.pairs())
    }
}
