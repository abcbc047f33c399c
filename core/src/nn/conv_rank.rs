//! The spatial rank of a convolution (1-d over time, 2-d over height and
//! width) as a type, so one generic constructor builds a weight- or
//! spectral-normalised conv of either rank: the rank gives the kernel size,
//! the options and the conv it applies.

use std::fmt::Debug;

use mlx_rs::Array;

use super::conv::{conv1d, conv2d};
use super::conv_opts::{Conv2dOpts, ConvOpts};
use crate::error::{Error, Result};

/// A conv's spatial rank: its kernel size, its options and its conv op.
pub trait ConvRank: Debug + Clone + Copy {
    /// Kernel size: `k` (1-d) or `(kh, kw)` (2-d).
    type Kernel: Copy;
    /// Conv options: [`ConvOpts`] (1-d) or [`Conv2dOpts`] (2-d).
    type Opts: Debug + Clone + Copy;
    /// The kernel's torch dims: `[k]` or `[kh, kw]`.
    fn kernel_dims(kernel: Self::Kernel) -> Vec<i32>;
    /// The number of channel groups in `opts`.
    fn groups(opts: &Self::Opts) -> i32;
    /// Applies the conv with a torch-layout weight, channels-last.
    ///
    /// # Shapes
    /// `x` `[B, .., in]`, `w` `[out, in/groups, k..]`, `bias` `[out]` -> `[B, .., out]`.
    fn conv(x: &Array, w: &Array, bias: Option<&Array>, opts: Self::Opts) -> Result<Array>;
}

/// 1-d convs (`nn.Conv1d`): kernel `k`, [`ConvOpts`].
#[derive(Debug, Clone, Copy)]
pub struct Rank1;

/// 2-d convs (`nn.Conv2d`): kernel `(kh, kw)`, [`Conv2dOpts`].
#[derive(Debug, Clone, Copy)]
pub struct Rank2;

impl ConvRank for Rank1 {
    type Kernel = i32;
    type Opts = ConvOpts;
    fn kernel_dims(kernel: i32) -> Vec<i32> {
        vec![kernel]
    }
    fn groups(opts: &ConvOpts) -> i32 {
        opts.groups
    }
    fn conv(x: &Array, w: &Array, bias: Option<&Array>, opts: ConvOpts) -> Result<Array> {
        conv1d(x, w, bias, opts)
    }
}

impl ConvRank for Rank2 {
    type Kernel = (i32, i32);
    type Opts = Conv2dOpts;
    fn kernel_dims(kernel: (i32, i32)) -> Vec<i32> {
        vec![kernel.0, kernel.1]
    }
    fn groups(opts: &Conv2dOpts) -> i32 {
        opts.groups
    }
    fn conv(x: &Array, w: &Array, bias: Option<&Array>, opts: Conv2dOpts) -> Result<Array> {
        conv2d(x, w, bias, opts)
    }
}

/// The torch weight shape `[out, in/groups, k..]` of a conv and its fan-in
/// (`in/groups * prod(k)`, PyTorch's default-init bound), after checking that
/// both channel counts divide by the groups.
pub fn conv_weight_shape<R: ConvRank>(
    in_channels: i32,
    out_channels: i32,
    kernel: R::Kernel,
    opts: &R::Opts,
) -> Result<(Vec<i32>, i32)> {
    let groups = R::groups(opts);
    check_groups(in_channels, out_channels, groups)?;
    let cig = in_channels / groups;
    let dims = R::kernel_dims(kernel);
    let fan_in = cig * dims.iter().product::<i32>();
    let mut shape = vec![out_channels, cig];
    shape.extend(dims);
    Ok((shape, fan_in))
}

/// Checks that `groups` divides both channel counts.
pub(crate) fn check_groups(in_channels: i32, out_channels: i32, groups: i32) -> Result<()> {
    if groups < 1 || in_channels % groups != 0 || out_channels % groups != 0 {
        return Err(Error::Shape {
            what: "conv channels".into(),
            expected: format!("in and out channels divisible by groups {groups}"),
            found: format!("in {in_channels}, out {out_channels}"),
        });
    }
    Ok(())
}
