//! Model-agnostic building blocks shared by several plugins: the one conv
//! helper (with fast CPU paths), weight- and spectral-normalised convs, the
//! discriminator layer stack, signal ops on the time axis, the STFT, PyTorch layout and
//! strict loading, gradient hygiene, and the noise source.

pub mod conv;
pub mod conv_opts;
pub mod conv_paths;
pub mod conv_rank;
pub mod custom_vjp;
mod delegate;
pub mod discriminator_stack;
pub mod grad;
pub mod grouped_conv;
pub mod init;
pub mod lanes;
pub mod matmul_nt;
pub mod plain_layers;
pub mod mixed;
mod native_call;
pub mod noise;
pub mod norm_conv;
pub mod safetensors_file;
pub mod scale_discriminator;
pub mod shifted_conv;
pub mod signal;
pub mod spectral_norm;
pub mod stft;
pub mod torch_layout;
pub mod weight_norm;

pub use conv::{conv_transpose1d, conv1d, conv2d};
pub use conv_opts::{Conv2dOpts, ConvOpts};
pub use conv_rank::{ConvRank, Rank1, Rank2};
pub use grad::contiguous;
pub use discriminator_stack::{LRELU_SLOPE, run_discriminator_stack};
pub use plain_layers::{Conv1d, Linear};
pub use norm_conv::{NormConv, NormConv1d, NormConv2d};
pub use signal::{reflect_pad, slice_segments};
pub use spectral_norm::{SnConv, SnConv1d, SnConv2d};
pub use torch_layout::{LoadReport, flatten_params, load_partial, load_strict, read_safetensors, write_safetensors};
pub use weight_norm::{WnConv, WnConv1d, WnConv2d, WnConvTranspose1d};
