//! Test-only loss `toy-l1` (mean |y - y_hat| on the generator side), the
//! worked example of docs/architecture.md "Adding a component": one crate with
//! its maths, its `Config` and one `register!` line, listed where it is used
//! (here `tests/Cargo.toml`; a real plugin in `plugins/all`). Core needs no change.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::ops;
use serde::{Deserialize, Serialize};
use sovits_core::components::{Loss, LossContext, LossTerms};
use sovits_core::Result;

/// Options of `toy-l1` (none; unknown fields are rejected).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// `toy-l1`: mean |y - y_hat| on the generator side.
pub struct ToyL1;

impl Loss for ToyL1 {
    /// # Shapes
    /// `ctx.y`, `ctx.y_hat` `[B, S]` -> scalar.
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        let d = ops::abs(&ops::subtract(ctx.y, ctx.y_hat)?)?;
        Ok(Some(LossTerms::scalar(d.mean(None)?)))
    }
}

sovits_core::register!(loss, "toy-l1", "test-only loss: mean |y - y_hat|", Config, |_config, _ctx| Ok(ToyL1));
