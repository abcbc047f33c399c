//! Loss aggregation for one side of the GAN (`s2_train.py`'s `loss_gen_all`
//! and `loss_disc_all`): the spec's weighted losses of that side summed in
//! f32, with each unweighted term kept for the logs.

use mlx_rs::{Array, Dtype, ops};

use crate::components::{LossContext, Side};
use crate::error::Result;
use crate::gan::Gan;
use crate::nn::lanes;

/// `[weighted total, each unweighted term...]` of `side`; `names` receives
/// the log key of each returned term (`g/<loss>`, `d/<loss>/<part>`).
pub(crate) fn weighted_losses(gan: &Gan, side: Side, ctx: &LossContext<'_>, names: &mut Vec<String>) -> Result<Vec<Array>> {
    names.clear();
    let prefix = match side {
        Side::Generator => "g",
        Side::Discriminator => "d",
    };
    let mut total = Array::from_f32(0.0);
    let mut terms = Vec::new();
    for (i, wl) in gan.losses.iter().enumerate() {
        // the terms are independent: alternate CPU lanes (`nn::lanes`)
        let value = lanes::on(i, || match side {
            Side::Generator => wl.loss.generator(ctx),
            Side::Discriminator => wl.loss.discriminator(ctx),
        })?;
        // a side the loss lacks is `None` (the trait's default)
        let Some(t) = value else { continue };
        // totals in f32 whatever precision a loss returned (a no-op for f32)
        let value = t.value.as_dtype(Dtype::Float32)?;
        total = ops::add(&total, &ops::multiply(&value, &Array::from_f32(wl.weight))?)?;
        names.push(format!("{prefix}/{}", wl.name));
        terms.push(value);
        for (part, v) in t.parts {
            names.push(format!("{prefix}/{}/{part}", wl.name));
            terms.push(v.as_dtype(Dtype::Float32)?);
        }
    }
    let mut out = vec![total];
    out.extend(terms);
    Ok(out)
}
