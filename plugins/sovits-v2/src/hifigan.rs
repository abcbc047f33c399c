//! The waveform decoder `dec`: HiFi-GAN generator with global conditioning.
//! Reference: GPT-SoVITS `GPT_SoVITS/module/models.py::Generator` and
//! `modules.py::{ResBlock1, ResBlock2}` (from HiFi-GAN, Kong et al. 2020).

use mlx_rs::{Array, ops};
use mlx_rs::macros::ModuleParameters;
use sovits_core::Result;
use sovits_core::nn::discriminator_stack::LRELU_SLOPE;
use sovits_core::nn::mixed::add;
use sovits_core::nn::{Conv1d, ConvOpts, WnConv1d, WnConvTranspose1d, lanes};

use crate::activations::leaky_relu;
use crate::config::Config;

/// `ResBlock1` (`convs1` dilated + `convs2` undilated pairs) or `ResBlock2`
/// (`convs`, one conv per dilation); the unused lists stay empty.
#[derive(Debug, Clone, ModuleParameters)]
pub struct ResBlock {
    /// ResBlock1: dilated convs.
    #[param]
    pub convs1: Vec<WnConv1d>,
    /// ResBlock1: undilated convs.
    #[param]
    pub convs2: Vec<WnConv1d>,
    /// ResBlock2: dilated convs.
    #[param]
    pub convs: Vec<WnConv1d>,
}

/// A weight-normed resblock conv with torch's default init (`weight_v`
/// kaiming-uniform, `weight_g = ||weight_v||`). The reference calls
/// `commons.init_weights` (`weight.data.normal_(0, 0.01)`) on these convs and
/// on `ups`, but under `torch.nn.utils.weight_norm` that writes the derived
/// `weight`, which the next forward recomputes from `weight_g`/`weight_v`: in
/// GPT-SoVITS it changes nothing (measured on a fresh GPT-SoVITS `Generator`,
/// see tests/golden/init_stats). N(0, 0.01) weights, as an earlier version
/// drew, shrink the decoder's input path ~10^4-fold in a narrow decoder.
fn wn_conv(ch: i32, k: i32, d: i32) -> Result<WnConv1d> {
    WnConv1d::new(ch, ch, k, ConvOpts::new().dilation(d).padding((k * d - d) / 2), true)
}

impl ResBlock {
    /// Type `"1"` (3 dilations) or `"2"` (2 dilations) over `ch` channels, kernel `k`.
    pub fn new(kind: &str, ch: i32, k: i32, dilations: &[i32]) -> Result<Self> {
        let mut b = Self { convs1: Vec::new(), convs2: Vec::new(), convs: Vec::new() };
        if kind == "1" {
            for &d in dilations.iter().take(3) {
                b.convs1.push(wn_conv(ch, k, d)?);
                b.convs2.push(wn_conv(ch, k, 1)?);
            }
        } else {
            for &d in dilations.iter().take(2) {
                b.convs.push(wn_conv(ch, k, d)?);
            }
        }
        Ok(b)
    }

    /// Relative cost of a forward: the summed kernel widths of its convs
    /// (all convs of a block have the same channels and length), for
    /// spreading a stage's blocks over CPU lanes.
    pub fn cost(&self) -> f64 {
        let convs = self.convs1.iter().chain(&self.convs2).chain(&self.convs);
        convs.map(|c| c.weight_v.shape().get(2).copied().unwrap_or(1) as f64).sum()
    }

    /// # Shapes
    /// `[B, T, ch]` -> `[B, T, ch]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let mut x = x.clone();
        for (c1, c2) in self.convs1.iter().zip(&self.convs2) {
            let xt = c1.forward(&leaky_relu(&x, LRELU_SLOPE)?)?;
            let xt = c2.forward(&leaky_relu(&xt, LRELU_SLOPE)?)?;
            x = add(&xt, &x)?;
        }
        for c in &self.convs {
            x = add(&c.forward(&leaky_relu(&x, LRELU_SLOPE)?)?, &x)?;
        }
        Ok(x)
    }
}

/// HiFi-GAN `Generator`: `conv_pre`, `cond`, weight-normed `ups`,
/// `resblocks` (kernels x stages), `conv_post` (no bias), tanh.
#[derive(Debug, Clone, ModuleParameters)]
pub struct HifiGan {
    /// inter -> upsample_initial_channel, kernel 7.
    #[param]
    pub conv_pre: Conv1d,
    /// Transposed convs, channels halved at each stage.
    #[param]
    pub ups: Vec<WnConvTranspose1d>,
    /// `num_kernels` residual blocks per stage, stage-major.
    #[param]
    pub resblocks: Vec<ResBlock>,
    /// last channels -> 1, kernel 7, no bias.
    #[param]
    pub conv_post: Conv1d,
    /// gin -> upsample_initial_channel, added after `conv_pre`.
    #[param]
    pub cond: Option<Conv1d>,
    /// Residual blocks per stage.
    pub num_kernels: usize,
}

impl HifiGan {
    /// The decoder of `cfg` (input `inter_channels`).
    pub fn new(cfg: &Config) -> Result<Self> {
        let c0 = cfg.upsample_initial_channel;
        let mut ups = Vec::new();
        let mut resblocks = Vec::new();
        let mut ch = c0;
        for (i, (&u, &k)) in cfg.upsample_rates.iter().zip(&cfg.upsample_kernel_sizes).enumerate() {
            let cin = c0 >> i;
            ch = c0 >> (i + 1);
            ups.push(WnConvTranspose1d::new(cin, ch, k, u, (k - u) / 2, true)?);
            for (&rk, d) in cfg.resblock_kernel_sizes.iter().zip(&cfg.resblock_dilation_sizes) {
                resblocks.push(ResBlock::new(&cfg.resblock, ch, rk, d)?);
            }
        }
        Ok(Self {
            conv_pre: Conv1d::new(cfg.inter_channels, c0, 7, ConvOpts::new().padding(3), true)?,
            ups,
            resblocks,
            conv_post: Conv1d::new(ch, 1, 7, ConvOpts::new().padding(3), false)?,
            cond: if cfg.gin_channels > 0 {
                Some(Conv1d::new(cfg.gin_channels, c0, 1, ConvOpts::new(), true)?)
            } else {
                None
            },
            num_kernels: cfg.resblock_kernel_sizes.len(),
        })
    }

    /// # Shapes
    /// `x` `[B, T, inter]`, `g` `[B, 1, gin]` -> `[B, T * prod(upsample_rates), 1]` in (-1, 1).
    pub fn forward(&self, x: &Array, g: Option<&Array>) -> Result<Array> {
        let mut x = self.conv_pre.forward(x)?;
        if let (Some(g), Some(cond)) = (g, &self.cond) {
            x = add(&x, &cond.forward(g)?)?;
        }
        for (i, up) in self.ups.iter().enumerate() {
            x = up.forward(&leaky_relu(&x, LRELU_SLOPE)?)?;
            let blocks = &self.resblocks[i * self.num_kernels..(i + 1) * self.num_kernels];
            // a stage's blocks are independent: spread them over CPU lanes
            let lane_of = lanes::balance(&blocks.iter().map(ResBlock::cost).collect::<Vec<_>>());
            let mut xs: Option<Array> = None;
            for (b, &lane) in blocks.iter().zip(&lane_of) {
                let y = lanes::on(lane, || b.forward(&x))?;
                xs = Some(match xs {
                    Some(s) => add(&s, &y)?,
                    None => y,
                });
            }
            if let Some(s) = xs {
                x = ops::divide(&s, Array::from_f32(self.num_kernels as f32).as_dtype(s.dtype())?)?;
            }
        }
        let x = self.conv_post.forward(&leaky_relu(&x, 0.01)?)?;
        Ok(ops::tanh(&x)?)
    }
}
