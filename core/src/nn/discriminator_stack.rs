//! The layer loop every HiFi-GAN-style sub-discriminator shares
//! (`DiscriminatorP`, `DiscriminatorS`, BigVGAN's `DiscriminatorR`): each conv
//! followed by leaky ReLU 0.1, its output kept as a feature map, then a
//! 1-channel `conv_post` whose output is both the last feature map and,
//! flattened, the logits.

use mlx_rs::Array;

use super::conv_rank::ConvRank;
use super::norm_conv::NormConv;
use crate::error::Result;

/// Negative slope of every leaky ReLU in HiFi-GAN-style models (`modules.LRELU_SLOPE`).
pub const LRELU_SLOPE: f32 = 0.1;

/// A conv layer of a discriminator stack (1-d or 2-d, any norm).
pub trait StackConv {
    /// Applies the conv, channels-last.
    ///
    /// # Shapes
    /// `[B, .., in]` -> `[B, .., out]`.
    fn forward(&mut self, x: &Array) -> Result<Array>;
}

impl<R: ConvRank> StackConv for NormConv<R> {
    fn forward(&mut self, x: &Array) -> Result<Array> {
        NormConv::forward(self, x)
    }
}

/// Runs `convs` (each followed by leaky ReLU [`LRELU_SLOPE`]) and `conv_post`,
/// returning the logits and every layer's output as feature maps.
///
/// # Shapes
/// `x` `[B, .., C_in]` -> logits `[B, N]` (torch's `torch.flatten(x, 1, -1)` of
/// `conv_post`'s 1-channel output), feature maps `[B, .., C_i]` (channels-last),
/// one per conv and the last `conv_post`'s.
pub fn run_discriminator_stack<C: StackConv>(convs: &mut [C], conv_post: &mut C, x: &Array) -> Result<(Array, Vec<Array>)> {
    let mut fmap = Vec::with_capacity(convs.len() + 1);
    let mut h = x.clone();
    for conv in convs.iter_mut() {
        h = mlx_rs::nn::leaky_relu(&conv.forward(&h)?, LRELU_SLOPE)?;
        fmap.push(h.clone());
    }
    h = conv_post.forward(&h)?;
    fmap.push(h.clone());
    let b = h.shape()[0];
    Ok((h.reshape(&[b, -1])?, fmap))
}
