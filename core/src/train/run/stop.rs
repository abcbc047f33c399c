//! Stop consensus: every rank of a data-parallel group takes the same number
//! of steps, so a rank that must stop (epoch budget spent, Ctrl-C, loader
//! exhausted) makes all of them stop before the next collective.

use crate::data::loader::Loaded;
use crate::distributed::Group;
use crate::error::Result;

/// What the ranks decided before a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Consensus {
    /// Every rank has a batch within the epoch budget: take the step.
    Continue,
    /// Some rank stops; `interrupted` when this rank stops for a signal (its
    /// own, or another rank's while this one could have gone on).
    Stop {
        /// Whether the run ends early rather than at the end of its data.
        interrupted: bool,
    },
}

/// Agrees on whether to take the next step. This rank wants to stop when it
/// has no next batch (interrupted, or the loader is done) or the batch
/// belongs to epoch `epochs` or later (the cursor is the one after the batch;
/// position 0 never occurs for a taken batch).
pub(super) fn consensus(group: Option<&Group>, next: Option<&Loaded>, interrupted: bool, epochs: u64) -> Result<Consensus> {
    let local_stop = next.is_none_or(|l| l.cursor.epoch >= epochs);
    let any_stop = match group {
        Some(g) => g.any(local_stop || interrupted)?,
        None => local_stop,
    };
    Ok(if any_stop {
        Consensus::Stop { interrupted: interrupted || (group.is_some() && !local_stop) }
    } else {
        Consensus::Continue
    })
}
