//! Gradient hygiene. MLX 0.32.2's CPU backend computes wrong element-wise
//! results when one operand is a column-major view (as conv vjps return
//! weight gradients) and the other a dense but permuted array
//! (`shared/notes/performance.md`). Making either operand contiguous fixes it,
//! so gradients pass through [`contiguous`] before they are combined
//! (accumulated, clipped, compared).

use mlx_rs::Array;

use crate::error::Result;

/// A row-major contiguous copy of `a` (shares the buffer when `a` already is).
pub fn contiguous(a: &Array) -> Result<Array> {
    Ok(a.contiguous()?)
}

/// [`contiguous`] applied to every array of a map, keys unchanged.
pub fn contiguous_map(m: &crate::components::ParamMap) -> Result<crate::components::ParamMap> {
    let lanes = super::lanes::by_size(m.values());
    m.iter().zip(lanes).map(|((k, v), l)| Ok((k.clone(), super::lanes::on(l, || contiguous(v))?))).collect()
}
