//! `sovits smoke`: proves the MLX build works on this machine and prints the
//! figures that make later benchmarks comparable (BLAS, GFLOP/s).

use anyhow::{Context, Result, ensure};
use mlx_rs::{Array, transforms::value_and_grad};
use sovits_core::backend::{self, Conv1dShape};

/// Runs the smoke demo and prints one line per fact.
pub fn run() -> Result<()> {
    println!("device: {} ({})", backend::device_name(), backend::cpu_name());
    println!("libmlx: {}", backend::mlx_lib_dir());
    println!("blas: {}", backend::blas_description());
    let timeout = backend::blas_thread_timeout();
    let who = match (crate::blas_env::thread_timeout_set_by_sovits(), timeout) {
        (true, _) => "set by sovits: idle workers sleep at once",
        (false, 0) => "unset: OpenBLAS's default spin",
        (false, _) => "set by the user",
    };
    println!("blas idle threads: {}={timeout} ({who})", crate::blas_env::THREAD_TIMEOUT_VAR);
    use crate::malloc_policy::MallocPolicy;
    let malloc = match crate::malloc_policy::in_effect() {
        Some(MallocPolicy::KeepFreed) => "glibc keeps freed memory (mmap threshold 32 MiB, trim threshold 2 GiB)",
        Some(MallocPolicy::UserSet) => "glibc's malloc variables as the user set them",
        Some(MallocPolicy::Unsupported) | None => "the system allocator's defaults",
    };
    println!("malloc: {malloc}");

    // d/dx sum(x^3) = 3x^2 at x = [1, 2, 3]
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]);
    let mut vg = value_and_grad(|p: &[Array]| vec![p[0].power(&Array::from_f32(3.0)).unwrap().sum(None).unwrap()]);
    let (value, grads) = vg(&[x]).context("value_and_grad")?;
    let g = grads[0].as_slice::<f32>().to_vec();
    ensure!(g == [3.0, 12.0, 27.0], "gradient of sum(x^3) is {g:?}, expected [3, 12, 27]");
    println!("autodiff: sum(x^3) = {} at [1,2,3], gradient {:?} (ok)", value[0].item_cast::<f32>(), g);

    let gflops = backend::matmul_gflops(1024, 5)?;
    println!("matmul 1024x1024 f32: {gflops:.1} GFLOP/s");
    let shape = Conv1dShape { batch: 1, time: 2560, in_channels: 128, out_channels: 128, kernel: 11, dilation: 1 };
    let conv = backend::conv1d_gflops(shape, 3)?;
    println!("conv1d C128 T2560 K11: {conv:.1} GFLOP/s");
    Ok(())
}
