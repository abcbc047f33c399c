//! Test support shared by the plugin crates' tests: golden `.npy` loading, host
//! read-back and comparisons, a `LossContext` whose unused fields are
//! placeholders, deterministic test signals and central finite differences.
//!
//! Everything here panics on failure (it is only used from tests).
#![deny(missing_docs)]

use mlx_rs::Array;
use sovits_core::components::{DiscriminatorOutput, LossContext, SpectralFrontend};
use sovits_core::{Batch, Result, VITSTrainOutput};

/// Directory of the copied loss fixtures (see its PROVENANCE.md).
pub const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../golden/losses");

/// Reads an f32 `.npy` file as an array of the file's shape; panics naming the path.
pub fn read_npy(path: &str) -> Array {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<f32> = npy.into_vec().unwrap_or_else(|e| panic!("{path}: {e}"));
    Array::from_slice(&data, &shape)
}

/// Loads `<GOLDEN>/<name>.npy` (f32) as an array of the file's shape.
pub fn golden(name: &str) -> Array {
    read_npy(&format!("{GOLDEN}/{name}.npy"))
}

/// Evaluated f32 values of `a` in row-major order (views are made contiguous).
pub fn values(a: &Array) -> Vec<f32> {
    let a = a.contiguous().expect("contiguous");
    a.eval().expect("eval");
    a.as_slice::<f32>().to_vec()
}

/// The single value of a scalar array.
pub fn scalar(a: &Array) -> f32 {
    assert_eq!(a.size(), 1, "expected a scalar, shape {:?}", a.shape());
    values(a)[0]
}

/// Asserts |got - want| <= rtol * |want| and returns the relative error.
pub fn assert_rel(what: &str, got: f32, want: f32, rtol: f64) -> f64 {
    let rel = (got as f64 - want as f64).abs() / (want as f64).abs().max(f64::MIN_POSITIVE);
    assert!(rel <= rtol, "{what}: got {got}, want {want}, rel err {rel:e} > {rtol:e}");
    println!("{what}: got {got}, want {want}, rel err {rel:e}");
    rel
}

/// A frontend that is never called by the losses under test.
pub struct NoFrontend;

impl SpectralFrontend for NoFrontend {
    fn hop_length(&self) -> usize {
        640
    }
    fn sampling_rate(&self) -> usize {
        32000
    }
    fn n_mels(&self) -> usize {
        128
    }
    fn n_freq(&self) -> usize {
        1025
    }
    fn linear(&self, _audio: &Array) -> Result<Array> {
        unreachable!("losses under test do not use the frontend")
    }
    fn mel(&self, _audio: &Array) -> Result<Array> {
        unreachable!("losses under test do not use the frontend")
    }
    fn spec_to_mel(&self, _spec: &Array) -> Result<Array> {
        unreachable!("losses under test do not use the frontend")
    }
}

/// Placeholder generator output (every tensor a zero scalar).
pub fn empty_generated() -> VITSTrainOutput {
    let z = || Array::from_f32(0.0);
    VITSTrainOutput {
        y_hat: z(),
        ids_slice: z(),
        z_mask: z(),
        z: z(),
        z_p: z(),
        m_p: z(),
        logs_p: z(),
        m_q: z(),
        logs_q: z(),
        kl_ssl: z(),
    }
}

/// Everything a `LossContext` borrows.
pub struct Fixture {
    /// Placeholder batch.
    pub batch: Batch,
    /// Placeholder audio.
    pub audio: Array,
    /// Generator outputs.
    pub generated: VITSTrainOutput,
    /// Discriminator outputs.
    pub disc: Vec<DiscriminatorOutput>,
    /// Unused frontend.
    pub frontend: NoFrontend,
}

impl Fixture {
    /// A fixture with the given generator and discriminator outputs.
    pub fn new(generated: VITSTrainOutput, disc: Vec<DiscriminatorOutput>) -> Self {
        let z = || Array::from_f32(0.0);
        let batch = Batch {
            ssl: None,
            semantic: None,
            spec: z(),
            spec_lengths: z(),
            text: z(),
            text_lengths: z(),
            audio: z(),
            audio_lengths: z(),
            sv: None,
        };
        Self { batch, audio: z(), generated, disc, frontend: NoFrontend }
    }

    /// The loss context over this fixture.
    pub fn ctx(&self) -> LossContext<'_> {
        LossContext {
            batch: &self.batch,
            y: &self.audio,
            y_hat: &self.audio,
            generated: &self.generated,
            disc: &self.disc,
            frontend: &self.frontend,
            segment_frames: 32,
        }
    }
}

/// Deterministic test signal of `n` samples: `tone(i)` plus a uniform LCG noise in
/// `[-noise / 2, noise / 2)` seeded by `seed`, computed in f64 and rounded to f32.
pub fn lcg_signal(n: usize, seed: u64, noise: f64, tone: impl Fn(f64) -> f64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * noise;
            (tone(i as f64) + noise) as f32
        })
        .collect()
}

/// Central differences `(f(x + h e_i) - f(x - h e_i)) / 2h` for every component `i` of `x`.
pub fn central_differences(x: &[f32], h: f32, mut f: impl FnMut(&[f32]) -> f32) -> Vec<f32> {
    let mut probe = x.to_vec();
    let mut numeric = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        probe[i] = x[i] + h;
        let plus = f(&probe);
        probe[i] = x[i] - h;
        let minus = f(&probe);
        probe[i] = x[i];
        numeric.push((plus - minus) / (2.0 * h));
    }
    numeric
}

/// `(||analytic - numeric||_2, ||numeric||_2)` in f32, for a norm-wise relative
/// gradient error `err / norm`.
pub fn gradient_error(analytic: &[f32], numeric: &[f32]) -> (f32, f32) {
    let err: f32 = analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (a - n) * (a - n))
        .sum::<f32>()
        .sqrt();
    let norm: f32 = numeric.iter().map(|n| n * n).sum::<f32>().sqrt();
    (err, norm)
}

/// Median milliseconds of `reps` evaluations of `f` after two warm-ups (for the
/// examples that time kernels).
pub fn median_ms(reps: usize, mut f: impl FnMut() -> Array) -> f64 {
    for _ in 0..2 {
        f().eval().expect("eval");
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = std::time::Instant::now();
            f().eval().expect("eval");
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

/// Repetition count from the first command-line argument, `default` when it is
/// absent or not a number.
pub fn reps_arg(default: usize) -> usize {
    std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(default)
}
