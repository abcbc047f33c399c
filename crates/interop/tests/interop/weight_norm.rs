//! Weight-norm folding per row and splitting back.

use mlx_rs::Dtype;
use sovits_interop::fold_weight_norm;

use crate::helpers::*;

#[test]
fn weight_norm_folds_per_row_and_splits_back() -> R {
    let reference = reference_f32()?;
    let folded = fold_weight_norm(&reference)?;
    assert!(!folded.keys().any(|k| k.ends_with("weight_g") || k.ends_with("weight_v")));
    // ConvTranspose1d: g [in,1,1], v [in,out,k]; rows of the folded weight have norm g.
    let w = &folded["dec.ups.0.weight"];
    assert_eq!(w.shape(), &[32, 16, 16]);
    let g = reference["dec.ups.0.weight_g"].as_dtype(Dtype::Float32)?;
    let norms = w.square()?.sum_axes(&[1, 2], false)?.sqrt()?;
    norms.eval()?;
    g.eval()?;
    for (n, g) in norms.as_slice::<f32>().iter().zip(g.as_slice::<f32>()) {
        assert!((n - g.abs()).abs() <= 1e-5 * g.abs(), "{n} vs {g}");
    }
    let modules = sovits_interop::weight_norm_modules(&reference);
    assert!(modules.contains("dec.ups.0") && modules.contains("dec.resblocks.0.convs1.0"));
    let split = sovits_interop::split_weight_norm(&folded, &modules)?;
    assert_eq!(split["dec.ups.0.weight_g"].shape(), &[32, 1, 1]);
    let refolded = fold_weight_norm(&split)?;
    for (k, a) in &folded {
        let (d, m) = (a.subtract(&refolded[k])?.abs()?.max(None)?, a.abs()?.max(None)?);
        let (d, m) = (d.as_dtype(Dtype::Float32)?, m.as_dtype(Dtype::Float32)?);
        d.eval()?;
        m.eval()?;
        let (d, m) = (d.as_slice::<f32>()[0], m.as_slice::<f32>()[0]);
        assert!(d <= 1e-5 * m.max(1e-30), "{k}: {d}");
    }
    Ok(())
}
