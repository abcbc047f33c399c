//! Options of the conv helpers, PyTorch's `Conv1d`/`Conv2d` arguments with
//! their defaults: `Copy` builders, so call sites read like the reference
//! (`ConvOpts::new().padding(5).dilation(5)`,
//! `Conv2dOpts::new().stride((3, 1)).padding((2, 0))`).

/// Options of a 1-d convolution, PyTorch's `Conv1d` arguments (defaults
/// stride 1, padding 0, dilation 1, groups 1). A `Copy` builder so call sites
/// read like the reference: `ConvOpts::new().padding(5).dilation(5)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvOpts {
    /// Step between output frames.
    pub stride: i32,
    /// Zeros added on both ends of time.
    pub padding: i32,
    /// Spacing between kernel taps.
    pub dilation: i32,
    /// Number of channel groups (in and out channels must divide by it).
    pub groups: i32,
}

impl Default for ConvOpts {
    fn default() -> Self {
        Self { stride: 1, padding: 0, dilation: 1, groups: 1 }
    }
}

impl ConvOpts {
    /// The defaults: stride 1, padding 0, dilation 1, groups 1.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the stride.
    pub fn stride(self, s: i32) -> Self {
        Self { stride: s, ..self }
    }
    /// Sets the symmetric zero padding.
    pub fn padding(self, p: i32) -> Self {
        Self { padding: p, ..self }
    }
    /// Sets the dilation.
    pub fn dilation(self, d: i32) -> Self {
        Self { dilation: d, ..self }
    }
    /// Sets the number of groups.
    pub fn groups(self, g: i32) -> Self {
        Self { groups: g, ..self }
    }
}

/// Options of a 2-d convolution, PyTorch's `Conv2d` arguments as (height,
/// width) pairs (defaults stride (1, 1), padding (0, 0), groups 1; dilation
/// is always 1, as in every conv2d of the reference models).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dOpts {
    /// (height, width) step between output pixels.
    pub stride: (i32, i32),
    /// (height, width) zeros added on both ends of each axis.
    pub padding: (i32, i32),
    /// Number of channel groups (in and out channels must divide by it).
    pub groups: i32,
}

impl Default for Conv2dOpts {
    fn default() -> Self {
        Self { stride: (1, 1), padding: (0, 0), groups: 1 }
    }
}

impl Conv2dOpts {
    /// The defaults: stride (1, 1), padding (0, 0), groups 1.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the (height, width) stride.
    pub fn stride(self, s: (i32, i32)) -> Self {
        Self { stride: s, ..self }
    }
    /// Sets the (height, width) symmetric zero padding.
    pub fn padding(self, p: (i32, i32)) -> Self {
        Self { padding: p, ..self }
    }
    /// Sets the number of groups.
    pub fn groups(self, g: i32) -> Self {
        Self { groups: g, ..self }
    }
}
