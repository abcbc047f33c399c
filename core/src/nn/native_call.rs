//! The one FFI pattern of our MLX CPU primitives (`sys/mlx-sys/native/`):
//! a C entry point that builds a lazy array into an out-handle and reports
//! failure as a status plus a message. Linux only (see
//! [`super::shifted_conv::available`]).

use mlx_rs::Array;

use crate::error::{Error, Result};

/// The signature every primitive's entry point is wrapped into: the output
/// handle, the stream, and the message buffer with its length.
#[cfg(target_os = "linux")]
pub(crate) type Entry<'a> =
    dyn FnOnce(*mut mlx_sys::mlx_array, mlx_sys::mlx_stream, *mut std::os::raw::c_char, usize) -> std::os::raw::c_int + 'a;

/// Calls `entry` on the current stream and wraps its result; `what` names
/// the op in errors.
#[cfg(target_os = "linux")]
pub(crate) fn call(what: &str, entry: Box<Entry<'_>>) -> Result<Array> {
    let stream = mlx_rs::Stream::thread_local_or_default();
    let mut message = [0 as std::os::raw::c_char; 512];
    // SAFETY: `mlx_array_new` has no preconditions; on success the C side has
    // stored a new array in `raw`, which `Array::from_ptr` then owns. On
    // failure `raw` is still empty and is wrapped the same way, so it is
    // freed by `Array`'s drop (mlx-c frees an empty handle as a no-op). The
    // entry borrows its input handles and the stream for the call only.
    let (status, out) = unsafe {
        let mut raw = mlx_sys::mlx_array_new();
        let status = entry(&mut raw, stream.as_ptr(), message.as_mut_ptr(), message.len());
        (status, Array::from_ptr(raw))
    };
    if status == 0 {
        return Ok(out);
    }
    // SAFETY: the C side NUL-terminates whatever it writes within the buffer.
    let text = unsafe { std::ffi::CStr::from_ptr(message.as_ptr()) }.to_string_lossy().into_owned();
    Err(Error::Shape { what: what.into(), expected: "valid inputs".into(), found: text })
}

/// The error for a primitive asked for where it is not compiled in.
#[cfg(not(target_os = "linux"))]
pub(crate) fn unavailable(what: &str) -> Error {
    Error::Shape {
        what: what.into(),
        expected: "a Linux build (the primitive is compiled by sovits's mlx-sys)".into(),
        found: std::env::consts::OS.into(),
    }
}
