//! The only unsafe code of the distributed layer: calls into mlx-c's
//! `distributed_group.h` and `distributed.h` through `mlx_sys`.
//!
//! mlx-c reports failures through one process-wide error handler. mlx-rs
//! installs its own, which keeps the message where only mlx-rs can read it;
//! around [`init`] this file installs a capturing handler instead (so the
//! caller sees MLX's own words, e.g. which env var the ring backend missed) and
//! then puts mlx-rs's handler back.

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::Mutex;

use mlx_rs::{Array, Stream};

/// The message of the last mlx-c failure seen while [`capture`] was installed.
static CAPTURED: Mutex<Option<String>> = Mutex::new(None);

extern "C" fn capture(msg: *const c_char, _data: *mut c_void) {
    if msg.is_null() {
        return;
    }
    // SAFETY: mlx-c passes a NUL-terminated message valid for this call.
    let text = unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned();
    if let Ok(mut slot) = CAPTURED.lock() {
        *slot = Some(text);
    }
}

unsafe extern "C" {
    /// mlx-rs's handler, exported unmangled by mlx-rs (error.rs); restored
    /// after each captured call so mlx-rs keeps reporting its own errors.
    fn default_mlx_error_handler(msg: *const c_char, data: *mut c_void);
}

/// Runs `f` with the capturing handler installed; returns its status and
/// the captured message, if any.
fn captured(f: impl FnOnce() -> i32) -> (i32, Option<String>) {
    if let Ok(mut slot) = CAPTURED.lock() {
        *slot = None;
    }
    // SAFETY: both handlers are plain functions with the signature mlx-c
    // expects and need no user data.
    unsafe { mlx_sys::mlx_set_error_handler(Some(capture), std::ptr::null_mut(), None) };
    let status = f();
    unsafe { mlx_sys::mlx_set_error_handler(Some(default_mlx_error_handler), std::ptr::null_mut(), None) };
    let msg = CAPTURED.lock().ok().and_then(|mut s| s.take());
    (status, msg)
}

/// An owned mlx-c distributed group handle (freed on drop).
pub(super) struct RawGroup(mlx_sys::mlx_distributed_group);

impl Drop for RawGroup {
    fn drop(&mut self) {
        // SAFETY: the handle came from mlx_distributed_init and is freed once.
        unsafe { mlx_sys::mlx_distributed_group_free(self.0) };
    }
}

/// Whether libmlx was built with `backend` ("ring", "mpi", "nccl", "jaccl", "any").
pub(super) fn is_available(backend: &str) -> bool {
    let Ok(name) = CString::new(backend) else { return false };
    // SAFETY: `name` is a valid C string for the duration of the call.
    unsafe { mlx_sys::mlx_distributed_is_available(name.as_ptr()) }
}

/// `mlx_distributed_init(strict, backend)`; the error is MLX's own message.
pub(super) fn init(backend: &str, strict: bool) -> Result<RawGroup, String> {
    let name = CString::new(backend).map_err(|_| format!("backend name {backend:?} contains a NUL byte"))?;
    // SAFETY: an empty group handle is what mlx_distributed_init fills in.
    let mut group = unsafe { mlx_sys::mlx_distributed_group_new() };
    let (status, msg) = captured(|| unsafe { mlx_sys::mlx_distributed_init(&mut group, strict, name.as_ptr()) });
    if status != 0 || group.ctx.is_null() {
        if !group.ctx.is_null() {
            drop(RawGroup(group));
        }
        return Err(msg.unwrap_or_else(|| format!("mlx_distributed_init(strict={strict}, {backend:?}) returned {status}")));
    }
    Ok(RawGroup(group))
}

/// This process's rank in `group`.
pub(super) fn rank(group: &RawGroup) -> i32 {
    // SAFETY: a live group handle.
    unsafe { mlx_sys::mlx_distributed_group_rank(group.0) }
}

/// The number of processes in `group`.
pub(super) fn size(group: &RawGroup) -> i32 {
    // SAFETY: a live group handle.
    unsafe { mlx_sys::mlx_distributed_group_size(group.0) }
}

/// The lazy sum of `x` over every process of `group`, on the default stream.
pub(super) fn all_sum(group: &RawGroup, x: &Array) -> Result<Array, String> {
    let stream = Stream::thread_local_or_default();
    // SAFETY: `res` is a fresh handle owned by the returned Array on success
    // and freed here on failure; `x`, the group and the stream outlive the call.
    unsafe {
        let mut res = mlx_sys::mlx_array_new();
        let (status, msg) = captured(|| mlx_sys::mlx_distributed_all_sum(&mut res, x.as_ptr(), group.0, stream.as_ptr()));
        if status != 0 {
            mlx_sys::mlx_array_free(res);
            return Err(format!(
                "all_sum of an array of shape {:?}: {}",
                x.shape(),
                msg.unwrap_or_else(|| format!("mlx_distributed_all_sum returned {status}"))
            ));
        }
        Ok(Array::from_ptr(res))
    }
}
