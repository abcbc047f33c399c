//! Test support shared by this crate's tests: golden `.npy` loading and a
//! `LossContext` whose unused fields are placeholders.
#![allow(dead_code)]

use mlx_rs::Array;
use sovits_core::components::{DiscriminatorOutput, LossContext, SpectralFrontend};
use sovits_core::{Batch, Result, VITSTrainOutput};

/// Directory of the copied loss fixtures (see its PROVENANCE.md).
pub const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/losses");

/// Loads `<GOLDEN>/<name>.npy` (f32) as an array of the file's shape.
pub fn golden(name: &str) -> Array {
    let path = format!("{GOLDEN}/{name}.npy");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<f32> = npy.into_vec().unwrap_or_else(|e| panic!("{path}: {e}"));
    Array::from_slice(&data, &shape)
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
