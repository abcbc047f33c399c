//! bf16 on a CPU device is a trap: MLX 0.32.2's CPU backend has no fast
//! bf16 path for matmuls and convolutions (measured per op by
//! `scripts/bf16_ops.py`, docs/performance.md), so a bf16 training step
//! there is several times slower than f32 while saving little memory.
//! `train` and `bench` say so when bf16 is chosen on a CPU.

use mlx_rs::{Device, DeviceType};

/// The measured cost, quoted in the warning.
pub const MEASURED: &str = "a full step at batch 1, segment 20480 took 46.6-47.3 s in bf16 against ~5 s in f32 \
    on the same 2-core CPU (9x slower; 2026-12-05)";

/// A warning to print when `bf16` is chosen and the default device is the
/// CPU; `None` otherwise (f32, or a GPU, where bf16 is the fast option).
pub fn warning(bf16: bool) -> Option<String> {
    let cpu = matches!(Device::default().get_type(), Ok(DeviceType::Cpu));
    (bf16 && cpu).then(|| {
        format!(
            "bf16 on a CPU device is slow: MLX's CPU backend has no fast bf16 matmul or convolution; {MEASURED}. \
             Use trainer.precision = f32 on a CPU; bf16 is the GPU option."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_for_bf16_on_a_cpu() {
        // the tests run on MLX's CPU backend
        assert!(matches!(Device::default().get_type(), Ok(DeviceType::Cpu)));
        let w = warning(true).expect("bf16 on a CPU warns");
        assert!(w.contains("9x slower") && w.contains("f32"), "{w}");
        assert_eq!(warning(false), None);
    }
}
