//! Input checks that name the offending input: channel counts and id ranges
//! (the latter read scalars back from the device).

use mlx_rs::Array;
use sovits_core::{Error, Result};

/// Checks that `x` has rank 3 with last axis `c`, naming `what` on failure.
pub fn expect_channels(x: &Array, c: i32, what: &str) -> Result<()> {
    let s = x.shape();
    if s.len() != 3 || s[2] != c {
        return Err(Error::Shape { what: what.into(), expected: format!("[B, T, {c}]"), found: format!("{s:?}") });
    }
    Ok(())
}

/// The value of a scalar array as i32 (evaluates it).
pub fn scalar_i32(a: &Array) -> Result<i32> {
    a.try_item_cast::<i32>()
        .map_err(|e| Error::Plugin { plugin: "sovits-v2".into(), message: format!("reading a scalar: {e}") })
}
