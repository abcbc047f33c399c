//! The period discriminator `DiscriminatorP` (HiFi-GAN, as in GPT-SoVITS
//! `GPT_SoVITS/module/models.py::DiscriminatorP`): audio reflect-padded to a
//! multiple of the period, viewed as a 2-d map `[T/p, p]`, then `(k, 1)` convs
//! strided along time only, each followed by leaky ReLU 0.1, and a
//! 1-channel `conv_post`.

use mlx_rs::Array;
use mlx_rs::macros::ModuleParameters;
use sovits_core::Result;
use sovits_core::nn::LRELU_SLOPE;
use sovits_core::nn::Conv2dOpts;
use sovits_core::nn::norm_conv::NormConv2d;
use sovits_core::nn::signal::reflect_pad;

/// `(cin, cout)` of the strided convs; kernel `(5, 1)`, stride `(3, 1)`, padding `(2, 0)`.
const STRIDED: [(i32, i32); 4] = [(1, 32), (32, 128), (128, 512), (512, 1024)];
/// Reference defaults `kernel_size=5, stride=3`, padding `get_padding(5, 1) = 2`.
const KERNEL: i32 = 5;
const STRIDE: i32 = 3;
const PAD: i32 = 2;

/// A period discriminator: `convs.0..4`, then `conv_post` (`Conv2d(1024, 1, (3, 1), 1, padding=(1, 0))`).
#[derive(Debug, Clone, ModuleParameters)]
pub struct DiscriminatorP {
    /// Five `(5, 1)` convs (four with stride `(3, 1)`), each followed by leaky ReLU.
    #[param]
    pub convs: Vec<NormConv2d>,
    /// Final 1-channel conv (no activation).
    #[param]
    pub conv_post: NormConv2d,
    /// The period `p`.
    pub period: i32,
}

impl DiscriminatorP {
    /// `DiscriminatorP(period, kernel_size=5, stride=3, use_spectral_norm)`.
    pub fn new(period: i32, use_spectral_norm: bool) -> Result<Self> {
        let sn = use_spectral_norm;
        let mut convs = STRIDED
            .iter()
            .map(|&(cin, cout)| NormConv2d::new(cin, cout, (KERNEL, 1), Conv2dOpts::new().stride((STRIDE, 1)).padding((PAD, 0)), sn))
            .collect::<Result<Vec<_>>>()?;
        convs.push(NormConv2d::new(1024, 1024, (KERNEL, 1), Conv2dOpts::new().padding((PAD, 0)), sn)?);
        let conv_post = NormConv2d::new(1024, 1, (3, 1), Conv2dOpts::new().padding((1, 0)), sn)?;
        Ok(Self { convs, conv_post, period })
    }

    /// Logits and feature maps (each conv's output after leaky ReLU, then
    /// `conv_post`'s output).
    ///
    /// # Shapes
    /// `y` `[B, S]` -> logits `[B, H' * p]` (the reference's flatten of
    /// `[B, 1, H', p]`), feature maps `[B, H_i, p, C_i]` (channels-last of
    /// torch's `[B, C_i, H_i, p]`), with `H_0 = ceil(S / p)`.
    pub fn forward(&mut self, y: &Array) -> Result<(Array, Vec<Array>)> {
        let (b, s) = (y.shape()[0], y.shape()[1]);
        let p = self.period;
        let n_pad = (p - s % p) % p;
        let x = reflect_pad(y, 0, n_pad)?;
        let rows = (s + n_pad) / p;
        // the p columns folded into the batch once, [B*p, H, C] through every
        // layer; feature maps are views of it in the reference's axis order
        let mut h = x.reshape(&[b, rows, p])?.swap_axes(1, 2)?.reshape(&[b * p, rows, 1])?;
        let unfold = |a: &Array| -> Result<Array> {
            let (n, c) = (a.shape()[1], a.shape()[2]);
            Ok(a.reshape(&[b, p, n, c])?.transpose_axes(&[0, 2, 1, 3])?)
        };
        let mut fmap = Vec::with_capacity(self.convs.len() + 1);
        for conv in &mut self.convs {
            h = mlx_rs::nn::leaky_relu(&conv.forward_columns(&h)?, LRELU_SLOPE)?;
            fmap.push(unfold(&h)?);
        }
        let last = unfold(&self.conv_post.forward_columns(&h)?)?;
        fmap.push(last.clone());
        Ok((last.reshape(&[b, -1])?, fmap))
    }
}
