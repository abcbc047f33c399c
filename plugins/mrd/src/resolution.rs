//! `DiscriminatorR` (NVIDIA/BigVGAN `discriminators.py::DiscriminatorR`, after
//! UnivNet): a linear-magnitude STFT of the audio seen as a one-channel image
//! `[freq, time]`, then 2-d convs (time strided by 2 in three of them), each
//! followed by leaky ReLU 0.1, and a 1-channel `conv_post`.
//!
//! The STFT follows the reference: reflect-pad `(n_fft - hop) / 2` on both
//! sides, `center=False`, `torch.stft`'s default window (ones over
//! `win_length`, centred in `n_fft`), magnitude `|X|`. It is computed as a DFT
//! by two matmuls against cos/sin tables of the window's support, which is
//! exact in f32 and differentiable everywhere (the magnitude's square is
//! clamped at 1e-12 before the root so that silent frames give a zero, not a
//! NaN, gradient).

use mlx_rs::macros::ModuleParameters;
use mlx_rs::{Array, ops};
use sovits_core::nn::discriminator_stack::run_discriminator_stack;
use sovits_core::nn::Conv2dOpts;
use sovits_core::nn::norm_conv::NormConv2d;
use sovits_core::nn::signal::reflect_pad;
use sovits_core::{Error, Result};

/// One resolution's spectrogram discriminator.
#[derive(Debug, Clone, ModuleParameters)]
pub struct DiscriminatorR {
    /// `(3,9)` conv, three `(3,9)` convs with stride `(1,2)`, then a `(3,3)` conv.
    #[param]
    pub convs: Vec<NormConv2d>,
    /// Final `(3,3)` 1-channel conv.
    #[param]
    pub conv_post: NormConv2d,
    /// `[n_fft, hop_length, win_length]`.
    pub resolution: [i32; 3],
    /// `cos(2 pi k n / n_fft)` over the window's support, `[win, n_fft/2 + 1]`.
    cos: Array,
    /// `-sin(2 pi k n / n_fft)`, same shape.
    sin: Array,
}

impl DiscriminatorR {
    /// `DiscriminatorR(resolution)` with `channels` conv channels.
    pub fn new(resolution: [i32; 3], channels: i32, use_spectral_norm: bool) -> Result<Self> {
        let sn = use_spectral_norm;
        let c = channels;
        let o = Conv2dOpts::new;
        let convs = vec![
            NormConv2d::new(1, c, (3, 9), o().padding((1, 4)), sn)?,
            NormConv2d::new(c, c, (3, 9), o().stride((1, 2)).padding((1, 4)), sn)?,
            NormConv2d::new(c, c, (3, 9), o().stride((1, 2)).padding((1, 4)), sn)?,
            NormConv2d::new(c, c, (3, 9), o().stride((1, 2)).padding((1, 4)), sn)?,
            NormConv2d::new(c, c, (3, 3), o().padding((1, 1)), sn)?,
        ];
        let conv_post = NormConv2d::new(c, 1, (3, 3), o().padding((1, 1)), sn)?;
        let [n_fft, _, win] = resolution;
        let bins = n_fft / 2 + 1;
        let off = (n_fft - win) / 2;
        let mut cos = Vec::with_capacity((win * bins) as usize);
        let mut sin = Vec::with_capacity((win * bins) as usize);
        for j in 0..win {
            for k in 0..bins {
                // Reduce k*n mod n_fft in integers so the angle stays exact.
                let kn = ((k as i64) * ((off + j) as i64)) % n_fft as i64;
                let a = 2.0 * std::f64::consts::PI * kn as f64 / n_fft as f64;
                cos.push(a.cos() as f32);
                sin.push(-a.sin() as f32);
            }
        }
        Ok(Self {
            convs,
            conv_post,
            resolution,
            cos: Array::from_slice(&cos, &[win, bins]),
            sin: Array::from_slice(&sin, &[win, bins]),
        })
    }

    /// Linear-magnitude spectrogram.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> `[B, n_fft/2 + 1, frames]` (torch's `[B, F, TT]`), with
    /// `frames = 1 + (S + 2 * ((n_fft - hop) / 2) - n_fft) / hop`.
    pub fn spectrogram(&self, y: &Array) -> Result<Array> {
        let [n_fft, hop, win] = self.resolution;
        let pad = (n_fft - hop) / 2;
        let x = reflect_pad(y, pad, pad)?;
        let len = x.shape()[1];
        if len < n_fft {
            return Err(Error::Shape {
                what: "mrd input".into(),
                expected: format!("at least {} samples after padding for n_fft {n_fft}", n_fft),
                found: format!("{:?}", y.shape()),
            });
        }
        let frames = 1 + (len - n_fft) / hop;
        let off = (n_fft - win) / 2;
        let idx: Vec<i32> = (0..frames).flat_map(|t| (0..win).map(move |j| t * hop + off + j)).collect();
        let framed = x.take_axis(Array::from_slice(&idx, &[frames, win]), 1)?; // [B, TT, win]
        let re = ops::matmul(&framed, &self.cos)?;
        let im = ops::matmul(&framed, &self.sin)?;
        let power = ops::add(&ops::multiply(&re, &re)?, &ops::multiply(&im, &im)?)?;
        let mag = ops::sqrt(&ops::maximum(&power, Array::from_f32(1e-12))?)?;
        Ok(mag.transpose_axes(&[0, 2, 1])?)
    }

    /// Logits and feature maps.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> logits `[B, F * T']` (torch's flatten of `[B, 1, F, T']`),
    /// feature maps channels-last `[B, F, T_i, C]` (torch `[B, C, F, T_i]`).
    pub fn forward(&mut self, y: &Array) -> Result<(Array, Vec<Array>)> {
        let spec = self.spectrogram(y)?;
        let (b, f, t) = (spec.shape()[0], spec.shape()[1], spec.shape()[2]);
        let h = spec.reshape(&[b, f, t, 1])?;
        run_discriminator_stack(&mut self.convs, &mut self.conv_post, &h)
    }
}
