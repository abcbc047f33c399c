//! The residual vector quantizer of the semantic tokens (1 codebook of 1024 x
//! 768 in v2), in its frozen (eval) form: nearest-codeword encoding and
//! codebook lookup, no straight-through estimator, no EMA update. Reference:
//! GPT-SoVITS `GPT_SoVITS/module/quantize.py::ResidualVectorQuantizer` and
//! `core_vq.py::{ResidualVectorQuantization, VectorQuantization,
//! EuclideanCodebook}` (from EnCodec). The codebook tensors are buffers in the
//! reference; here they are parameters the generator lists as frozen.

use mlx_rs::{Array, Dtype, ops, stop_gradient};
use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use sovits_core::{Error, Result};

use crate::checks::expect_channels;

/// `EuclideanCodebook` buffers (`inited`, `cluster_size`, `embed`, `embed_avg`).
#[derive(Debug, Clone, ModuleParameters)]
pub struct EuclideanCodebook {
    /// 1 once the codebook was initialised `[1]`.
    #[param]
    pub inited: Param<Array>,
    /// EMA usage counts `[bins]`.
    #[param]
    pub cluster_size: Param<Array>,
    /// Codewords `[bins, dim]`.
    #[param]
    pub embed: Param<Array>,
    /// EMA codeword sums `[bins, dim]`.
    #[param]
    pub embed_avg: Param<Array>,
}

/// `VectorQuantization`: holds `_codebook` (no projection: codebook dim = dim).
#[derive(Debug, Clone, ModuleParameters)]
pub struct VectorQuantization {
    /// The codebook.
    #[param]
    pub _codebook: EuclideanCodebook,
}

/// `ResidualVectorQuantization`: `layers.0..n_q`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct ResidualVectorQuantization {
    /// One quantizer per residual stage.
    #[param]
    pub layers: Vec<VectorQuantization>,
}

/// `ResidualVectorQuantizer` (`quantizer.vq.layers.N._codebook.*`).
#[derive(Debug, Clone, ModuleParameters)]
pub struct ResidualVectorQuantizer {
    /// The stages.
    #[param]
    pub vq: ResidualVectorQuantization,
    /// Feature width.
    pub dim: i32,
}

impl VectorQuantization {
    fn embed(&self) -> Result<Array> {
        Ok(stop_gradient(&*self._codebook.embed)?)
    }

    /// Index of the nearest codeword (largest `-(|x|^2 - 2 x.e + |e|^2)`).
    ///
    /// # Shapes
    /// `[B, T, D]` -> `[B, T]` int32.
    pub fn encode(&self, x: &Array) -> Result<Array> {
        let e = self.embed()?;
        let x = stop_gradient(x)?;
        let x2 = ops::multiply(&x, &x)?.sum_axis(-1, true)?;
        let xe = ops::matmul(&x, e.t())?;
        let e2 = ops::multiply(&e, &e)?.sum_axis(-1, false)?;
        let dist = ops::negative(&ops::add(&ops::subtract(&x2, &ops::multiply(&xe, Array::from_f32(2.0))?)?, &e2)?)?;
        Ok(ops::indexing::argmax_axis(&dist, -1, None)?.as_dtype(Dtype::Int32)?)
    }

    /// Codebook lookup.
    ///
    /// # Shapes
    /// `[B, T]` int -> `[B, T, D]`.
    pub fn decode(&self, codes: &Array) -> Result<Array> {
        Ok(self.embed()?.take_axis(&codes.as_dtype(Dtype::Int32)?, 0)?)
    }
}

impl ResidualVectorQuantizer {
    /// `n_q` stages of `bins` codewords of width `dim`, zero codebooks as the
    /// reference before its k-means init (load real codebooks from a checkpoint).
    pub fn new(dim: i32, n_q: usize, bins: i32) -> Result<Self> {
        let layer = || -> Result<VectorQuantization> {
            Ok(VectorQuantization {
                _codebook: EuclideanCodebook {
                    inited: Param::new(Array::zeros::<f32>(&[1])?),
                    cluster_size: Param::new(Array::zeros::<f32>(&[bins])?),
                    embed: Param::new(Array::zeros::<f32>(&[bins, dim])?),
                    embed_avg: Param::new(Array::zeros::<f32>(&[bins, dim])?),
                },
            })
        };
        Ok(Self { vq: ResidualVectorQuantization { layers: (0..n_q).map(|_| layer()).collect::<Result<_>>()? }, dim })
    }

    /// Fills every codebook that is all zero with N(0, 1) vectors drawn
    /// from a key made of `seed` (not MLX's global PRNG, so the draw does not
    /// shift the model's other random state), `embed_avg` alike and
    /// `inited` = 1, `cluster_size` = 1 per code. Returns whether any stage
    /// was filled. See [`sovits_core::components::Generator::seed_zero_codebook`].
    pub fn seed_zero_codebooks(&mut self, seed: u64) -> Result<bool> {
        let mut filled = false;
        for (i, layer) in self.vq.layers.iter_mut().enumerate() {
            let cb = &mut layer._codebook;
            let zero = ops::all(&ops::eq(&*cb.embed, Array::from_f32(0.0))?, None)?.item_exact::<bool>();
            if !zero {
                continue;
            }
            let key = mlx_rs::random::key(seed.wrapping_add(i as u64))?;
            let shape = cb.embed.shape().to_vec();
            let fresh = mlx_rs::random::normal::<f32>(&shape, None, None, &key)?;
            *cb.embed = fresh.clone();
            *cb.embed_avg = fresh;
            *cb.cluster_size = Array::ones::<f32>(&[shape[0]])?;
            *cb.inited = Array::ones::<f32>(&[1])?;
            filled = true;
        }
        Ok(filled)
    }

    /// Eval-mode `forward`: residual encoding; returns the quantized sum (no
    /// gradient reaches `x`, as in the reference's eval mode) and the codes.
    ///
    /// # Shapes
    /// `x` `[B, T, D]` -> (`[B, T, D]`, codes `[n_q, B, T]` int32).
    pub fn forward(&self, x: &Array) -> Result<(Array, Array)> {
        expect_channels(x, self.dim, "quantizer input")?;
        let mut residual = stop_gradient(x)?;
        let mut out: Option<Array> = None;
        let mut codes = Vec::new();
        for layer in &self.vq.layers {
            let c = layer.encode(&residual)?;
            let q = layer.decode(&c)?;
            residual = ops::subtract(&residual, &q)?;
            out = Some(match out {
                Some(o) => ops::add(&o, &q)?,
                None => q,
            });
            codes.push(c);
        }
        let out = out.ok_or_else(|| Error::Plugin { plugin: "sovits-v2".into(), message: "quantizer has no layers".into() })?;
        Ok((out, ops::stack(&codes, 0)?))
    }

    /// `decode`: sum of the codeword lookups of the given stages.
    ///
    /// # Shapes
    /// `codes` `[n, B, T]` int (n <= n_q) -> `[B, T, D]`.
    pub fn decode(&self, codes: &Array) -> Result<Array> {
        let n = codes.shape().first().copied().unwrap_or(0);
        if codes.ndim() != 3 || n < 1 || n as usize > self.vq.layers.len() {
            return Err(Error::Shape {
                what: "semantic codes".into(),
                expected: format!("[n_q <= {}, B, T]", self.vq.layers.len()),
                found: format!("{:?}", codes.shape()),
            });
        }
        let bins = self.vq.layers[0]._codebook.embed.shape()[0];
        let c = codes.as_dtype(Dtype::Int32)?;
        let lo = crate::checks::scalar_i32(&c.min(None)?)?;
        let hi = crate::checks::scalar_i32(&c.max(None)?)?;
        if lo < 0 || hi >= bins {
            return Err(Error::Shape {
                what: "semantic codes".into(),
                expected: format!("ids in [0, {bins})"),
                found: format!("ids in [{lo}, {hi}]"),
            });
        }
        let mut out: Option<Array> = None;
        for (i, layer) in self.vq.layers.iter().take(n as usize).enumerate() {
            let ci = c.take_axis(Array::from_int(i as i32), 0)?;
            let q = layer.decode(&ci)?;
            out = Some(match out {
                Some(o) => ops::add(&o, &q)?,
                None => q,
            });
        }
        out.ok_or_else(|| Error::Plugin { plugin: "sovits-v2".into(), message: "no codes to decode".into() })
    }
}
