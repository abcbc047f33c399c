//! `x @ w^T` for a row-major weight `w` `[.., N, K]`, with a backward that
//! hands the weight's gradient back row-major too.
//!
//! The conv paths multiply im2col columns with a weight derived from
//! PyTorch's `[out, in, k]` layout. Bringing that weight into `[k*in, out]`
//! order is a full transpose (every element moves across `out` rows: 16 ms
//! for DiscriminatorP's 5.2M-element K5 weight on the 2-core CPU), and
//! autodiff of `x @ wm` returns `x^T @ dy` in that order, which the
//! transpose's backward then reads across rows again. `[out, k*in]` is only
//! a transpose inside each output row (3.8 ms), BLAS reads `w^T` through its
//! transpose flag, and the hand-written backward computes `dw = dy^T @ x`
//! directly in `[out, k*in]`. Measured with MLX 0.32.2 on the K5 1024x1024
//! layer (1520 columns, weight-norm fold included, forward + backward):
//! 480 ms -> 392 ms, gradients bit-identical; plain autodiff of `x @ w^T`
//! gains nothing (463 ms), since its weight gradient comes out transposed.

use mlx_rs::{Array, ops};

use crate::error::Result;

/// `x @ w^T` (batched over leading axes) whose weight gradient is computed
/// as `dy^T @ x`, already in `w`'s row-major layout.
///
/// # Shapes
/// `x` `[.., M, K]`, `w` `[.., N, K]` -> `[.., M, N]`.
pub fn matmul_nt(x: &Array, w: &Array) -> Result<Array> {
    let f = super::custom_vjp::custom_vjp(
        |inputs: &[Array]| Ok(vec![ops::matmul(&inputs[0], &inputs[1].swap_axes(-1, -2)?)?]),
        |primals: &[Array], cotangents: &[Array], _outputs: &[Array]| {
            let (x, w, dy) = (&primals[0], &primals[1], &cotangents[0]);
            Ok(vec![ops::matmul(dy, w)?, ops::matmul(&dy.swap_axes(-1, -2)?, x)?])
        },
    )?;
    Ok(f.call(&[x.clone(), w.clone()])?.remove(0))
}
