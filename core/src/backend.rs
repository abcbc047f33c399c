//! Facts about the MLX backend this build links against (library location,
//! BLAS, device) and the machine's own throughput, so results from different
//! machines can be compared as ratios.

use std::time::Instant;

use mlx_rs::{Array, Device, DeviceType, error::Exception, ops, random};

/// Directory of the `libmlx.so` this binary was linked against.
pub fn mlx_lib_dir() -> &'static str {
    mlx_sys::MLX_LIB_DIR
}

/// OpenBLAS's build string: the BLAS that serves MLX's CPU matmuls.
pub fn blas_description() -> String {
    mlx_sys::openblas_config()
}

/// The `OPENBLAS_THREAD_TIMEOUT` OpenBLAS started with (0: unset, its
/// build default): how long its idle worker threads spin before sleeping.
pub fn blas_thread_timeout() -> i32 {
    mlx_sys::openblas_thread_timeout_env()
}

/// Human-readable name of the default device ("cpu" or "gpu").
pub fn device_name() -> &'static str {
    match Device::default().get_type() {
        Ok(DeviceType::Gpu) => "gpu",
        _ => "cpu",
    }
}

/// Name of the CPU model from /proc/cpuinfo, or "unknown cpu".
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|n| n.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".to_string())
}

/// Median seconds of `reps` evaluations of `f` after one warm-up call.
/// Seconds of `reps` evaluations of `f` after one warm-up, sorted ascending.
fn sorted_seconds(reps: usize, mut f: impl FnMut() -> Result<Array, Exception>) -> Result<Vec<f64>, Exception> {
    f()?.eval()?;
    let mut times = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        f()?.eval()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn median_seconds(reps: usize, f: impl FnMut() -> Result<Array, Exception>) -> Result<f64, Exception> {
    let times = sorted_seconds(reps, f)?;
    Ok(times[times.len() / 2])
}

/// f32 GFLOP/s of an `n x n` by `n x n` matmul on the default device.
pub fn matmul_gflops(n: i32, reps: usize) -> Result<f64, Exception> {
    let a = random::normal::<f32>(&[n, n], None, None, None)?;
    let b = random::normal::<f32>(&[n, n], None, None, None)?;
    let secs = median_seconds(reps, || a.matmul(&b))?;
    Ok(2.0 * f64::from(n).powi(3) / secs / 1e9)
}

/// Peak f32 GFLOP/s of an `n x n` matmul: the fastest of `reps` runs. Steadier
/// than the median on a shared machine (medians of 7 runs at n = 1024 ranged
/// over 92-180 GFLOP/s here), so benchmarks scale reference figures by it.
pub fn matmul_peak_gflops(n: i32, reps: usize) -> Result<f64, Exception> {
    let a = random::normal::<f32>(&[n, n], None, None, None)?;
    let b = random::normal::<f32>(&[n, n], None, None, None)?;
    let best = sorted_seconds(reps, || a.matmul(&b))?[0];
    Ok(2.0 * f64::from(n).powi(3) / best / 1e9)
}

/// Shape of a channels-last conv1d used for throughput measurements.
#[derive(Debug, Clone, Copy)]
pub struct Conv1dShape {
    /// Batch size.
    pub batch: i32,
    /// Input frames.
    pub time: i32,
    /// Input channels.
    pub in_channels: i32,
    /// Output channels.
    pub out_channels: i32,
    /// Kernel size.
    pub kernel: i32,
    /// Dilation.
    pub dilation: i32,
}

/// f32 GFLOP/s of MLX's own "same"-padded conv1d forward for `shape`.
pub fn conv1d_gflops(shape: Conv1dShape, reps: usize) -> Result<f64, Exception> {
    let Conv1dShape { batch, time, in_channels, out_channels, kernel, dilation } = shape;
    let x = random::normal::<f32>(&[batch, time, in_channels], None, None, None)?;
    let w = random::normal::<f32>(&[out_channels, kernel, in_channels], None, None, None)?;
    let pad = dilation * (kernel - 1) / 2;
    let secs = median_seconds(reps, || ops::conv1d(&x, &w, 1, pad, dilation, 1))?;
    let flops = 2.0 * f64::from(batch) * f64::from(time) * f64::from(out_channels)
        * f64::from(kernel) * f64::from(in_channels);
    Ok(flops / secs / 1e9)
}
