//! The reference's GAN losses (GPT-SoVITS `module/losses.py`) written out on
//! MLX arrays, so parity tests can differentiate them against the fixtures.

use mlx_rs::error::Exception;
use mlx_rs::{Array, ops};

/// GPT-SoVITS `generator_loss`: sum_i mean((1 - D(G(z))_i)^2).
pub fn generator_loss(fake: &[Array]) -> Result<Array, Exception> {
    let mut total = Array::from_f32(0.0);
    for dg in fake {
        total = &total + ops::mean(&ops::square(&ops::subtract(Array::from_f32(1.0), dg)?)?, None)?;
    }
    Ok(total)
}

/// GPT-SoVITS `feature_loss` (with its x2): 2 * sum mean|real.detach() - fake|.
pub fn feature_loss(real: &[Vec<Array>], fake: &[Vec<Array>]) -> Result<Array, Exception> {
    let mut total = Array::from_f32(0.0);
    for (rs, gs) in real.iter().zip(fake) {
        for (r, g) in rs.iter().zip(gs) {
            let d = ops::subtract(&mlx_rs::stop_gradient(r)?, g)?;
            total = &total + ops::mean(&ops::abs(&d)?, None)?;
        }
    }
    Ok(&total * 2.0f32)
}

/// GPT-SoVITS `discriminator_loss`: sum_i mean((1 - D(y)_i)^2) + mean(D(G(z))_i^2).
pub fn discriminator_loss(real: &[Array], fake: &[Array]) -> Result<Array, Exception> {
    let mut total = Array::from_f32(0.0);
    for (dr, dg) in real.iter().zip(fake) {
        total = &total + ops::mean(&ops::square(&ops::subtract(Array::from_f32(1.0), dr)?)?, None)?;
        total = &total + ops::mean(&ops::square(dg)?, None)?;
    }
    Ok(total)
}
