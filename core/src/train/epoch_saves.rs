//! Epoch-based checkpoints (`trainer.checkpoint_every_epochs`), the cadence
//! GPT-SoVITS's `s2_train.py` saves with (`save_every_epoch`: after every
//! n-th completed epoch).

use std::path::Path;

use crate::spec::TrainerSpec;
use crate::train::checkpoint;

/// Whether reaching epoch `epoch` (0-based: `epoch` epochs are complete)
/// calls for a checkpoint, and none was written at `step` already.
pub fn due(trainer: &TrainerSpec, epoch: u64, step: u64, last_saved: Option<&Path>) -> bool {
    let n = trainer.checkpoint_every_epochs;
    let saved_now = last_saved.and_then(Path::file_name).is_some_and(|f| f.to_string_lossy() == checkpoint::dir_name(step));
    n > 0 && epoch > 0 && epoch % n == 0 && !saved_now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_completed_epoch_once() {
        let t = TrainerSpec { checkpoint_every_epochs: 4, ..Default::default() };
        let due_at: Vec<u64> = (0..10).filter(|&e| due(&t, e, 7, None)).collect();
        assert_eq!(due_at, [4, 8]);
        let done = std::path::PathBuf::from("run/checkpoints").join(checkpoint::dir_name(7));
        assert!(!due(&t, 4, 7, Some(&done)));
        assert!(!due(&TrainerSpec::default(), 4, 7, None));
    }
}
