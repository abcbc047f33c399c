//! Training progress for a log file: when stderr is not a terminal (piped to a
//! file, run by a service) the progress bar draws nothing, so this observer
//! prints one plain line every `trainer.log_every` steps (and at the last
//! step): step/total, D and G totals, the mel term, seconds per step and the
//! time left (the sooner of the last step and the `--minutes` budget).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sovits_core::train::StepReport;
use sovits_core::train::run::Observer;

/// Prints a progress line to stderr every `every` steps.
pub struct LineProgress {
    every: u64,
    last_step: Option<u64>,
    first_step: u64,
    started: Instant,
    /// `export.gpt_sovits_weights`: where each save's GPT-SoVITS `.pth` goes, and the experiment name.
    weights: Option<(PathBuf, String)>,
    /// When the `--minutes` budget runs out, if one is set.
    deadline: Option<Instant>,
}

impl LineProgress {
    /// A line every `every` steps (0 is taken as 1).
    pub fn new(every: u64, weights: Option<(PathBuf, String)>) -> Self {
        Self { every: every.max(1), last_step: None, first_step: 0, started: Instant::now(), weights, deadline: None }
    }

    /// Also counts the time left against a `--minutes` budget from now.
    pub fn with_budget(mut self, minutes: Option<f64>) -> Self {
        self.deadline = minutes.filter(|m| m.is_finite()).map(|m| Instant::now() + Duration::from_secs_f64((m * 60.0).max(0.0)));
        self
    }
}

/// Raises `stop` after `minutes` (a time budget: the run then ends as on
/// Ctrl-C, after its current step, with a checkpoint). Non-positive or
/// non-finite budgets stop at once.
pub fn stop_after(minutes: f64, stop: Arc<AtomicBool>) {
    let seconds = if minutes.is_finite() { (minutes * 60.0).max(0.0) } else { 0.0 };
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        eprintln!("time budget of {minutes} min spent: finishing the current step and writing a checkpoint");
        stop.store(true, Ordering::SeqCst);
    });
}

/// `h:mm:ss` of a duration in seconds.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// One progress line; `seconds_per_step` is averaged since this process's
/// first step, and the time left is `(last - step) * seconds_per_step`, or
/// `budget_left` seconds when a time budget ends the run sooner.
pub fn line(
    step: u64,
    last: Option<u64>,
    d_total: f64,
    g_total: f64,
    mel: Option<f64>,
    seconds_per_step: f64,
    budget_left: Option<f64>,
) -> String {
    let of = last.map(|n| format!("/{n}")).unwrap_or_default();
    let mel = mel.map(|v| format!(" mel {v:.4}")).unwrap_or_default();
    let by_steps = last.filter(|_| seconds_per_step.is_finite()).map(|n| n.saturating_sub(step) as f64 * seconds_per_step);
    let eta = match (by_steps, budget_left) {
        (Some(s), Some(b)) if b < s => format!(", eta {} (time budget)", clock(b)),
        (None, Some(b)) => format!(", eta {} (time budget)", clock(b)),
        (Some(s), _) => format!(", eta {}", clock(s)),
        (None, None) => String::new(),
    };
    format!("step {step}{of}: d {d_total:.4} g {g_total:.4}{mel} | {seconds_per_step:.2} s/step{eta}")
}

impl Observer for LineProgress {
    fn start(&mut self, first_step: u64, last_step: Option<u64>) {
        self.first_step = first_step;
        self.last_step = last_step;
        self.started = Instant::now();
        eprintln!("training from step {first_step}{}", last_step.map(|n| format!(" to {n}")).unwrap_or_default());
    }

    fn step(&mut self, r: &StepReport, _items: &[String], _rate: f64) {
        if r.step % self.every != 0 && Some(r.step) != self.last_step {
            return;
        }
        let done = r.step.saturating_sub(self.first_step).max(1);
        let per_step = self.started.elapsed().as_secs_f64() / done as f64;
        let mel = r.terms.iter().find(|(k, _)| k == "g/mel-l1").map(|(_, v)| f64::from(*v));
        let budget_left = self.deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64());
        eprintln!("{}", line(r.step, self.last_step, f64::from(r.d_total), f64::from(r.g_total), mel, per_step, budget_left));
    }

    fn message(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn checkpoint_saved(&mut self, dir: &std::path::Path) {
        if let Some(line) = crate::train::save_weights_line(&self.weights, dir) {
            eprintln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn a_line_names_step_losses_speed_and_time_left() {
        let l = line(20, Some(100), 1.5, 40.25, Some(0.75), 2.5, None);
        assert_eq!(l, "step 20/100: d 1.5000 g 40.2500 mel 0.7500 | 2.50 s/step, eta 0:03:20");
        assert_eq!(line(7, None, 1.0, 2.0, None, 0.5, None), "step 7: d 1.0000 g 2.0000 | 0.50 s/step");
    }

    #[test]
    fn a_time_budget_that_ends_the_run_first_sets_the_time_left() {
        // 80 steps at 2.5 s would take 200 s; the budget has 90 s left
        let l = line(20, Some(100), 1.5, 40.25, None, 2.5, Some(90.0));
        assert_eq!(l, "step 20/100: d 1.5000 g 40.2500 | 2.50 s/step, eta 0:01:30 (time budget)");
        // a budget longer than the remaining steps changes nothing
        assert_eq!(line(20, Some(100), 1.5, 40.25, None, 2.5, Some(900.0)), "step 20/100: d 1.5000 g 40.2500 | 2.50 s/step, eta 0:03:20");
        assert_eq!(line(7, None, 1.0, 2.0, None, 0.5, Some(61.0)), "step 7: d 1.0000 g 2.0000 | 0.50 s/step, eta 0:01:01 (time budget)");
    }
}
