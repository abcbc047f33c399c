//! Cuts the real audio at the generator's random segment (GPT-SoVITS
//! `commons.slice_segments(y, ids_slice * hop, segment_size)`).

use mlx_rs::{Array, ops};

use crate::error::Result;

/// Returns `audio[b, ids_slice[b]*hop .. + segment]` for every item.
///
/// # Shapes
/// audio `[B, S]`, ids_slice `[B]` int32 (frames) -> `[B, segment]`.
pub fn slice_audio(audio: &Array, ids_slice: &Array, hop: usize, segment: usize) -> Result<Array> {
    let starts = ops::multiply(&ids_slice.as_dtype(mlx_rs::Dtype::Int32)?, &Array::from_int(hop as i32))?;
    let offsets = Array::arange::<i32, i32>(0, segment as i32, None)?;
    let index = ops::add(&starts.reshape(&[-1, 1])?, &offsets.reshape(&[1, -1])?)?;
    Ok(audio.take_along_axis(&index, 1)?)
}
