//! The scale sub-discriminator `DiscriminatorS` (VITS / GPT-SoVITS
//! `GPT_SoVITS/module/models.py::DiscriminatorS`; HiFi-GAN's
//! `jik876/hifi-gan models.py::DiscriminatorS` has the same structure with a
//! different layer list): strided, grouped 1-d convs on raw audio, each
//! followed by leaky ReLU 0.1, then a 1-channel `conv_post`. A building
//! block of two registered discriminators: `mpd` (GPT-SoVITS layers, at
//! `discriminators.0`) and `msd` (HiFi-GAN layers, one per scale).

use mlx_rs::Array;
use mlx_rs::macros::ModuleParameters;

use super::conv_opts::ConvOpts;
use super::discriminator_stack::run_discriminator_stack;
use super::norm_conv::NormConv1d;
use crate::error::Result;

/// One `Conv1d(cin, cout, kernel, stride, groups=groups, padding=padding)` of a scale discriminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleLayer {
    /// Input channels.
    pub cin: i32,
    /// Output channels.
    pub cout: i32,
    /// Kernel size.
    pub kernel: i32,
    /// Stride.
    pub stride: i32,
    /// Channel groups.
    pub groups: i32,
    /// Symmetric zero padding.
    pub padding: i32,
}

const fn layer(cin: i32, cout: i32, kernel: i32, stride: i32, groups: i32, padding: i32) -> ScaleLayer {
    ScaleLayer { cin, cout, kernel, stride, groups, padding }
}

/// GPT-SoVITS (= VITS) `DiscriminatorS.convs`: 5,637,953 weights and biases
/// plus 3,409 weight-norm gains with `conv_post`.
pub const GPT_SOVITS_LAYERS: [ScaleLayer; 6] = [
    layer(1, 16, 15, 1, 1, 7),
    layer(16, 64, 41, 4, 4, 20),
    layer(64, 256, 41, 4, 16, 20),
    layer(256, 1024, 41, 4, 64, 20),
    layer(1024, 1024, 41, 4, 256, 20),
    layer(1024, 1024, 5, 1, 1, 2),
];

/// HiFi-GAN `DiscriminatorS.convs`: 9,870,209 weights and biases with `conv_post`.
pub const HIFIGAN_LAYERS: [ScaleLayer; 7] = [
    layer(1, 128, 15, 1, 1, 7),
    layer(128, 128, 41, 2, 4, 20),
    layer(128, 256, 41, 2, 16, 20),
    layer(256, 512, 41, 4, 16, 20),
    layer(512, 1024, 41, 4, 16, 20),
    layer(1024, 1024, 41, 1, 16, 20),
    layer(1024, 1024, 5, 1, 1, 2),
];

/// A scale discriminator: `convs.N` then `conv_post` (`Conv1d(C, 1, 3, 1, padding=1)`).
#[derive(Debug, Clone, ModuleParameters)]
pub struct DiscriminatorS {
    /// The strided/grouped convs, each followed by leaky ReLU.
    #[param]
    pub convs: Vec<NormConv1d>,
    /// Final 1-channel conv (no activation).
    #[param]
    pub conv_post: NormConv1d,
}

impl DiscriminatorS {
    /// GPT-SoVITS v2's `DiscriminatorS(use_spectral_norm)`.
    pub fn new(use_spectral_norm: bool) -> Result<Self> {
        Self::with_layers(&GPT_SOVITS_LAYERS, use_spectral_norm)
    }

    /// A scale discriminator with the given conv list (the last layer's
    /// `cout` feeds `conv_post`).
    pub fn with_layers(layers: &[ScaleLayer], use_spectral_norm: bool) -> Result<Self> {
        let convs = layers
            .iter()
            .map(|l| {
                let opts = ConvOpts::new().stride(l.stride).padding(l.padding).groups(l.groups);
                NormConv1d::new(l.cin, l.cout, l.kernel, opts, use_spectral_norm)
            })
            .collect::<Result<Vec<_>>>()?;
        let last = layers.last().map_or(1, |l| l.cout);
        let conv_post = NormConv1d::new(last, 1, 3, ConvOpts::new().padding(1), use_spectral_norm)?;
        Ok(Self { convs, conv_post })
    }

    /// Logits and feature maps (each conv's output after leaky ReLU, then
    /// `conv_post`'s output).
    ///
    /// # Shapes
    /// `x` `[B, T, 1]` -> logits `[B, T']` (the reference's flatten of
    /// `[B, 1, T']`), feature maps `[B, T_i, C_i]` (channels-last), the last `[B, T', 1]`.
    pub fn forward(&mut self, x: &Array) -> Result<(Array, Vec<Array>)> {
        run_discriminator_stack(&mut self.convs, &mut self.conv_post, x)
    }
}
