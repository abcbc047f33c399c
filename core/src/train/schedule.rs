//! Learning-rate schedule: optional linear warm-up over steps, then
//! ExponentialLR stepped once per epoch (GPT-SoVITS: gamma 0.999875).

use crate::spec::ScheduleSpec;

/// Learning rate for `base` at (`epoch`, `step`), both counted from 0.
pub fn learning_rate(spec: &ScheduleSpec, base: f32, epoch: u64, step: u64) -> f32 {
    let decay = f64::from(spec.gamma).powf(epoch as f64);
    let warm = if spec.warmup_steps > 0 { ((step + 1) as f64 / spec.warmup_steps as f64).min(1.0) } else { 1.0 };
    (f64::from(base) * decay * warm) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_per_epoch_and_warms_up_per_step() {
        let s = ScheduleSpec { gamma: 0.5, warmup_steps: 0 };
        assert_eq!(learning_rate(&s, 1.0, 0, 7), 1.0);
        assert_eq!(learning_rate(&s, 1.0, 2, 0), 0.25);
        let w = ScheduleSpec { gamma: 1.0, warmup_steps: 4 };
        assert_eq!(learning_rate(&w, 1.0, 0, 0), 0.25);
        assert_eq!(learning_rate(&w, 1.0, 0, 3), 1.0);
        assert_eq!(learning_rate(&w, 1.0, 0, 100), 1.0);
    }
}
