//! GPT-SoVITS v2 multi-period discriminator, registered as `"mpd"`.
//!
//! Reference: HiFi-GAN (Kong et al., 2020) as used by GPT-SoVITS,
//! `GPT_SoVITS/module/models.py::MultiPeriodDiscriminator`: a scale
//! discriminator ([`DiscriminatorS`], grouped convs with groups 4, 16, 64, 256)
//! at `discriminators.0`, then one [`DiscriminatorP`] per period at
//! `discriminators.1..`, all weight-normalised (spectral norm by option).
//! Parameter names and shapes are the s2D state-dict's, so a pretrained
//! GPT-SoVITS discriminator loads with `sovits_core::nn::load_strict`.
//!
//! The crate also exports the building blocks the `msd` plugin reuses:
//! [`DiscriminatorS::with_layers`], [`norm`] and [`spectral`].
#![deny(missing_docs)]

mod delegate;

pub mod closed_form;
pub mod config;
pub mod error;
pub mod norm;
pub mod period;
pub mod scale;
pub mod spectral;

use mlx_rs::macros::ModuleParameters;
use mlx_rs::{Array, ops};
use sovits_core::components::BuildContext;
use sovits_core::registry::{Factory, Kind, Registration};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Discriminator, DiscriminatorOutput, Result};

pub use config::Config;
pub use error::MpdError;
pub use period::DiscriminatorP;
pub use scale::DiscriminatorS;

/// One entry of `discriminators`: the scale discriminator or a period one.
#[derive(Debug, Clone)]
pub enum SubDiscriminator {
    /// `DiscriminatorS` (always index 0).
    Scale(DiscriminatorS),
    /// `DiscriminatorP(period)`.
    Period(DiscriminatorP),
}

delegate_module_parameters!(SubDiscriminator: Scale, Period);

impl SubDiscriminator {
    /// Logits and feature maps of one sub-discriminator.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> logits `[B, N]`, feature maps channels-last (see
    /// [`DiscriminatorS::forward`], [`DiscriminatorP::forward`]).
    pub fn forward(&mut self, y: &Array) -> Result<(Array, Vec<Array>)> {
        match self {
            Self::Scale(d) => {
                let (b, s) = (y.shape()[0], y.shape()[1]);
                d.forward(&y.reshape(&[b, s, 1])?)
            }
            Self::Period(d) => d.forward(y),
        }
    }
}

/// The multi-period discriminator: `discriminators.0` = scale, `1..` = periods.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Mpd {
    /// Scale discriminator, then one period discriminator per configured period.
    #[param]
    pub discriminators: Vec<SubDiscriminator>,
}

impl Mpd {
    /// Builds the discriminator from a validated config (PyTorch default init
    /// from MLX's global PRNG).
    pub fn new(config: &Config) -> Result<Self> {
        config.validate()?;
        let sn = config.use_spectral_norm;
        let mut discriminators = vec![SubDiscriminator::Scale(DiscriminatorS::new(sn)?)];
        for &p in &config.periods {
            discriminators.push(SubDiscriminator::Period(DiscriminatorP::new(p, sn)?));
        }
        Ok(Self { discriminators })
    }

    /// Runs every sub-discriminator on one batch of audio.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> per sub-discriminator: logits `[B, N_i]` and feature maps.
    pub fn forward_one(&mut self, y: &Array) -> Result<(Vec<Array>, Vec<Vec<Array>>)> {
        check_audio("y", y)?;
        // independent sub-discriminators on alternating CPU lanes
        let lanes = self.discriminators.iter_mut().enumerate();
        unzip_outputs(lanes.map(|(i, d)| sovits_core::nn::lanes::on(i, || d.forward(y))))
    }
}

fn check_audio(what: &str, y: &Array) -> Result<()> {
    if y.ndim() != 2 || y.shape()[1] < 2 {
        return Err(MpdError::Input {
            what: format!("discriminator input `{what}`"),
            expected: "[B, S] audio with S >= 2".into(),
            found: format!("{:?}", y.shape()),
        }
        .into());
    }
    Ok(())
}

/// Splits every array of a batch `[2B, ..]` into its first and second halves.
pub(crate) fn split_halves(a: &Array) -> Result<(Array, Array)> {
    let mut parts = ops::split_equal(a, 2, 0)?.into_iter();
    match (parts.next(), parts.next()) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(sovits_core::Error::Shape {
            what: "discriminator batch split".into(),
            expected: "two halves".into(),
            found: format!("{:?}", a.shape()),
        }),
    }
}

/// Collects per-sub-discriminator `(logits, feature maps)` in order into the
/// `(logits, feature maps)` lists that [`forward_real_fake`] splits, stopping at
/// the first error.
pub fn unzip_outputs<I>(outputs: I) -> Result<(Vec<Array>, Vec<Vec<Array>>)>
where
    I: IntoIterator<Item = Result<(Array, Vec<Array>)>>,
{
    let outputs = outputs.into_iter();
    let mut logits = Vec::with_capacity(outputs.size_hint().0);
    let mut fmaps = Vec::with_capacity(outputs.size_hint().0);
    for out in outputs {
        let (l, f) = out?;
        logits.push(l);
        fmaps.push(f);
    }
    Ok((logits, fmaps))
}

/// Runs `f` on real and fake audio as one batch `[2B, S]` and splits every
/// output back into real and fake halves.
pub fn forward_real_fake<F>(y: &Array, y_hat: &Array, f: F) -> Result<DiscriminatorOutput>
where
    F: FnOnce(&Array) -> Result<(Vec<Array>, Vec<Vec<Array>>)>,
{
    check_audio("y", y)?;
    check_audio("y_hat", y_hat)?;
    if y.shape() != y_hat.shape() {
        return Err(MpdError::Input {
            what: "discriminator input `y_hat`".into(),
            expected: format!("the shape of `y`, {:?}", y.shape()),
            found: format!("{:?}", y_hat.shape()),
        }
        .into());
    }
    let both = ops::concatenate(&[y, y_hat], 0)?;
    let (logits, fmaps) = f(&both)?;
    let mut out = DiscriminatorOutput::default();
    for l in &logits {
        let (r, g) = split_halves(l)?;
        out.y_d_real.push(r);
        out.y_d_fake.push(g);
    }
    for maps in &fmaps {
        let (mut r, mut g) = (Vec::with_capacity(maps.len()), Vec::with_capacity(maps.len()));
        for m in maps {
            let (a, b) = split_halves(m)?;
            r.push(a);
            g.push(b);
        }
        out.fmap_real.push(r);
        out.fmap_fake.push(g);
    }
    Ok(out)
}

impl Discriminator for Mpd {
    /// Real and fake run as one batch of `2B`; feature maps are channels-last
    /// (`[B, T, C]` for the scale discriminator, `[B, T/p, p, C]` for periods).
    fn forward(&mut self, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput> {
        forward_real_fake(y, y_hat, |both| self.forward_one(both))
    }
}

fn default_config() -> serde_json::Value {
    serde_json::to_value(Config::default()).unwrap_or(serde_json::Value::Null)
}

fn build(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Discriminator>> {
    let config: Config = spec.parse_params(Kind::Discriminator)?;
    Ok(Box::new(Mpd::new(&config)?))
}

inventory::submit! {
    Registration::new(
        "mpd",
        "GPT-SoVITS v2 multi-period discriminator (scale + period sub-discriminators)",
        default_config,
        Factory::Discriminator(build),
    )
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
