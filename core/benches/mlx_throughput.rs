//! `cargo bench -p sovits-core --bench mlx_throughput`: the machine's f32
//! matmul and MLX conv1d GFLOP/s, the yardsticks every other benchmark is
//! reported against. Conv shapes are the GPT-SoVITS v2 decoder's.

use sovits_core::backend::{self, Conv1dShape};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("device: {} ({}); blas: {}", backend::device_name(), backend::cpu_name(), backend::blas_description());
    for n in [512, 1024, 2048] {
        println!("matmul {n}x{n} f32: {:.1} GFLOP/s", backend::matmul_gflops(n, 7)?);
    }
    let shapes = [
        Conv1dShape { batch: 1, time: 2560, in_channels: 128, out_channels: 128, kernel: 11, dilation: 1 },
        Conv1dShape { batch: 1, time: 320, in_channels: 256, out_channels: 256, kernel: 11, dilation: 5 },
        Conv1dShape { batch: 1, time: 20480, in_channels: 16, out_channels: 16, kernel: 11, dilation: 5 },
    ];
    for s in shapes {
        println!(
            "conv1d C{} T{} K{} d{} (MLX op): {:.1} GFLOP/s",
            s.in_channels, s.time, s.kernel, s.dilation,
            backend::conv1d_gflops(s, 5)?
        );
    }
    Ok(())
}
