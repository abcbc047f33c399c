//! Model-agnostic building blocks shared by several plugins: the one conv
//! helper (with fast CPU paths), weight-normalised convs, PyTorch layout and
//! strict loading, gradient hygiene, and the noise source.

pub mod conv;
pub mod conv_paths;
pub mod custom_vjp;
pub mod grad;
pub mod init;
pub mod layers;
pub mod mixed;
pub mod noise;
pub mod safetensors_file;
pub mod torch_layout;
pub mod weight_norm;

pub use conv::{ConvOpts, conv_transpose1d, conv1d, conv2d};
pub use grad::contiguous;
pub use layers::{Conv1d, Linear};
pub use torch_layout::{LoadReport, flatten_params, load_strict, read_safetensors, write_safetensors};
pub use weight_norm::{WnConv1d, WnConv2d, WnConvTranspose1d};
