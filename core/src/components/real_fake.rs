//! Running a discriminator on real and generated audio as one batch: the
//! shared half of every `Discriminator::forward` (HiFi-GAN's
//! `forward(y, y_hat) -> (y_d_rs, y_d_gs, fmap_rs, fmap_gs)`), so a new
//! discriminator writes only its one-batch forward.

use mlx_rs::{Array, ops};

use super::DiscriminatorOutput;
use crate::error::{Error, Result};

/// Per sub-discriminator, in order: logits `[N, ..]` and feature maps.
pub type SubOutputs = (Vec<Array>, Vec<Vec<Array>>);

/// Checks that `y` is `[B, S]` audio with `S >= 2`, naming `what` on failure.
pub fn check_audio(what: &str, y: &Array) -> Result<()> {
    if y.ndim() != 2 || y.shape()[1] < 2 {
        return Err(Error::Shape {
            what: format!("discriminator input `{what}`"),
            expected: "[B, S] audio with S >= 2".into(),
            found: format!("{:?}", y.shape()),
        });
    }
    Ok(())
}

/// Splits an array of batch `[2B, ..]` into its first and second halves.
fn split_halves(a: &Array) -> Result<(Array, Array)> {
    let mut parts = ops::split_equal(a, 2, 0)?.into_iter();
    match (parts.next(), parts.next()) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(Error::Shape {
            what: "discriminator batch split".into(),
            expected: "two halves".into(),
            found: format!("{:?}", a.shape()),
        }),
    }
}

/// Collects per-sub-discriminator `(logits, feature maps)` in order into the
/// lists that [`forward_real_fake`] splits, stopping at the first error.
pub fn unzip_outputs<I>(outputs: I) -> Result<SubOutputs>
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
///
/// # Shapes
/// `y`, `y_hat` `[B, S]` (same shape) -> every logit and feature map of
/// `f`'s `[2B, ..]` output as two `[B, ..]` halves.
pub fn forward_real_fake<F>(y: &Array, y_hat: &Array, f: F) -> Result<DiscriminatorOutput>
where
    F: FnOnce(&Array) -> Result<SubOutputs>,
{
    check_audio("y", y)?;
    check_audio("y_hat", y_hat)?;
    if y.shape() != y_hat.shape() {
        return Err(Error::Shape {
            what: "discriminator input `y_hat`".into(),
            expected: format!("the shape of `y`, {:?}", y.shape()),
            found: format!("{:?}", y_hat.shape()),
        });
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
