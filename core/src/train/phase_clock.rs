//! Per-phase wall-clock timing of a training step, for `sovits bench`.
//! When on, each mark evaluates the phase's outputs first (a host sync), so
//! the lazy graph's work is charged to the phase that built it.

use std::time::Instant;

use mlx_rs::Array;

use crate::error::Result;

/// Collects `(phase, seconds)` pairs; does nothing when off.
pub struct PhaseClock {
    on: bool,
    last: Instant,
    phases: Vec<(&'static str, f64)>,
}

impl PhaseClock {
    /// A clock that records only when `on`.
    pub fn new(on: bool) -> Self {
        Self { on, last: Instant::now(), phases: Vec::new() }
    }

    /// Evaluates `outputs` and records the time since the previous mark as `phase`.
    pub fn mark<'a>(&mut self, phase: &'static str, outputs: impl IntoIterator<Item = &'a Array>) -> Result<()> {
        if !self.on {
            return Ok(());
        }
        mlx_rs::transforms::eval(outputs)?;
        let now = Instant::now();
        self.phases.push((phase, (now - self.last).as_secs_f64()));
        self.last = now;
        Ok(())
    }

    /// The recorded phases, in order.
    pub fn finish(self) -> Vec<(&'static str, f64)> {
        self.phases
    }
}
