//! Running a discriminator on real and generated audio as one batch (or,
//! in the generator update, as two: [`with_constant_real`]): the shared
//! half of every `Discriminator::forward` (HiFi-GAN's
//! `forward(y, y_hat) -> (y_d_rs, y_d_gs, fmap_rs, fmap_gs)`), so a new
//! discriminator writes only its one-batch forward.

use std::cell::Cell;

use mlx_rs::{Array, ops};

use super::DiscriminatorOutput;
use crate::error::{Error, Result};

thread_local! {
    static REAL_IS_CONSTANT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with [`forward_real_fake`] running real and fake audio as two
/// batches instead of one. For the generator update: there no gradient
/// flows through the real audio (it does not depend on the generator, the
/// discriminators' parameters are constants, and feature matching detaches
/// the real maps), so only the fake half needs a backward; in one `[2B]`
/// batch autodiff would run it over both halves, twice the reference's
/// work.
pub fn with_constant_real<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            REAL_IS_CONSTANT.set(self.0);
        }
    }
    let _reset = Reset(REAL_IS_CONSTANT.replace(true));
    f()
}

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

/// Runs `f` on real and fake audio as one batch `[2B, S]` (two `[B, S]`
/// batches under [`with_constant_real`]) and splits every
/// output back into real and fake halves.
///
/// # Shapes
/// `y`, `y_hat` `[B, S]` (same shape) -> every logit and feature map of
/// `f`'s `[2B, ..]` output as two `[B, ..]` halves.
pub fn forward_real_fake<F>(y: &Array, y_hat: &Array, mut f: F) -> Result<DiscriminatorOutput>
where
    F: FnMut(&Array) -> Result<SubOutputs>,
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
    if REAL_IS_CONSTANT.get() {
        let (real_logits, real_maps) = f(&mlx_rs::stop_gradient(y)?)?;
        let (fake_logits, fake_maps) = f(y_hat)?;
        return Ok(DiscriminatorOutput {
            y_d_real: real_logits,
            y_d_fake: fake_logits,
            fmap_real: real_maps,
            fmap_fake: fake_maps,
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

#[cfg(test)]
mod tests {
    use mlx_rs::Array;

    use super::{REAL_IS_CONSTANT, SubOutputs, forward_real_fake, with_constant_real};

    /// Under [`with_constant_real`] the discriminator sees real and fake as
    /// two `[B]` batches and returns the same logits and maps as the one
    /// `[2B]` batch; the mode ends with the call.
    #[test]
    fn constant_real_runs_two_batches_with_the_same_outputs() -> crate::Result<()> {
        let y = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let y_hat = Array::from_slice(&[-1.0f32, 0.5, 0.0, 2.5, 7.0, -3.0], &[2, 3]);
        let mut batches = Vec::new();
        let mut judge = |x: &Array| -> crate::Result<SubOutputs> {
            batches.push(x.shape()[0]);
            Ok((vec![(x * 2.0f32).sum_axis(1, true)?], vec![vec![x + 1.0f32, x * x]]))
        };
        let one = forward_real_fake(&y, &y_hat, &mut judge)?;
        let two = with_constant_real(|| forward_real_fake(&y, &y_hat, &mut judge))?;
        assert_eq!(batches, [4, 2, 2]);
        assert!(!REAL_IS_CONSTANT.get());
        let flat = |v: &[Array]| v.iter().map(|a| a.as_slice::<f32>().to_vec()).collect::<Vec<_>>();
        assert_eq!(flat(&one.y_d_real), flat(&two.y_d_real));
        assert_eq!(flat(&one.y_d_fake), flat(&two.y_d_fake));
        assert_eq!(flat(&one.fmap_real[0]), flat(&two.fmap_real[0]));
        assert_eq!(flat(&one.fmap_fake[0]), flat(&two.fmap_fake[0]));
        Ok(())
    }
}
