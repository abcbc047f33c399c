//! Functions with a hand-written backward pass (a custom vector-Jacobian
//! product). mlx-rs 0.33 has no API for this, so [`custom_vjp`] wraps mlx-c's
//! `mlx_custom_vjp` directly; all the unsafe FFI of the crate for it is in this
//! file.
//!
//! Ownership: each Rust closure is boxed and handed to mlx-c as the payload of
//! an `mlx_closure` / `mlx_closure_custom`, whose destructor frees the box when
//! the last C++ copy goes away (the traced graph of a `value_and_grad` may keep
//! the backward alive after the [`CustomVjp`] itself is dropped). Every
//! `mlx_vector_array` and `mlx_closure` handle created here is freed on every
//! path.
//!
//! Errors and panics raised inside the closures cannot cross the C boundary;
//! they are parked in a thread-local slot, the closure reports failure to
//! mlx-c, and [`CustomVjp::call`] returns the parked error (or resumes the
//! parked panic). A failure of the backward surfaces from the transform that
//! ran it (e.g. `value_and_grad`) as a generic MLX error; the original is then
//! available from [`take_backward_failure`].

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Once;

use mlx_rs::Array;
use mlx_rs::error::Exception;
use mlx_sys::{mlx_array, mlx_closure, mlx_closure_custom, mlx_vector_array};

use crate::error::{Error, Result};

/// A failure parked by a trampoline until control is back in Rust.
enum Failure {
    /// The closure returned an error.
    Error(Error),
    /// The closure panicked; the payload is resumed by the caller.
    Panic(Box<dyn Any + Send>),
}

thread_local! {
    static FAILURE: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

fn park(f: Failure) {
    FAILURE.with(|slot| *slot.borrow_mut() = Some(f));
}

fn take_parked() -> Option<Failure> {
    FAILURE.with(|slot| slot.borrow_mut().take())
}

/// The error (or panic, re-raised here) of the most recent custom backward
/// that failed on this thread, if it has not been taken yet. Transforms such as
/// `value_and_grad` only report that "mlx_closure_custom returned a non-zero
/// value"; this returns the cause.
pub fn take_backward_failure() -> Option<Error> {
    match take_parked()? {
        Failure::Error(e) => Some(e),
        Failure::Panic(p) => resume_unwind(p),
    }
}

/// mlx-rs installs its MLX error handler lazily on its first fallible op;
/// without it mlx-c's default handler exits the process on an error. Running
/// one op through mlx-rs guarantees the handler is in place before our raw
/// FFI calls.
fn ensure_error_handler() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = Array::from_f32(0.0).reshape(&[1]);
    });
}

/// mlx-rs's handler stashes the message of a failed raw FFI call in a
/// thread-local that only mlx-rs reads; a stale message there would be
/// reported against a later, unrelated failure. Failing one op through mlx-rs
/// overwrites the stash and has mlx-rs clear it.
fn drain_mlx_error() {
    let _ = Array::from_f32(0.0).reshape(&[2]);
}

/// An owned `mlx_vector_array`, freed on drop.
struct VecHandle(mlx_vector_array);

impl VecHandle {
    /// A new vector holding (new references to) `arrays`.
    fn from_arrays(arrays: &[Array]) -> Result<Self> {
        let ptrs: Vec<mlx_array> = arrays.iter().map(Array::as_ptr).collect();
        // SAFETY: `mlx_vector_array_new` has no preconditions; the handle is
        // owned by `VecHandle` and freed on drop.
        let v = VecHandle(unsafe { mlx_sys::mlx_vector_array_new() });
        // SAFETY: `ptrs` are live arrays borrowed from `arrays` for the call;
        // mlx-c copies (reference-counts) them.
        let status = unsafe { mlx_sys::mlx_vector_array_append_data(v.0, ptrs.as_ptr(), ptrs.len()) };
        if status != 0 {
            drain_mlx_error();
            return Err(custom_error("custom_vjp: building an array vector failed"));
        }
        Ok(v)
    }

    /// A new, empty vector (as out-parameter of an mlx-c call).
    fn empty() -> Self {
        // SAFETY: no preconditions; freed on drop.
        VecHandle(unsafe { mlx_sys::mlx_vector_array_new() })
    }
}

impl Drop for VecHandle {
    fn drop(&mut self) {
        // SAFETY: `self.0` was created by `mlx_vector_array_new` and is freed
        // exactly once, here.
        unsafe {
            mlx_sys::mlx_vector_array_free(self.0);
        }
    }
}

/// The arrays of a borrowed `mlx_vector_array`, as new Rust references.
///
/// # Safety
/// `v` must be a live `mlx_vector_array`.
unsafe fn arrays_of(v: mlx_vector_array) -> Result<Vec<Array>> {
    // SAFETY: `v` is live (caller's contract).
    let n = unsafe { mlx_sys::mlx_vector_array_size(v) };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: `mlx_array_new` has no preconditions; the handle is wrapped
        // in an `Array` right away so it is freed on every path.
        let mut raw = unsafe { mlx_sys::mlx_array_new() };
        // SAFETY: `v` is live and `i < size`; `raw` is a valid out-parameter.
        let status = unsafe { mlx_sys::mlx_vector_array_get(&mut raw, v, i) };
        // SAFETY: `raw` is an owned handle (empty or filled), freed by `Array`.
        let a = unsafe { Array::from_ptr(raw) };
        if status != 0 {
            drain_mlx_error();
            return Err(custom_error("custom_vjp: reading an array vector failed"));
        }
        out.push(a);
    }
    Ok(out)
}

fn custom_error(msg: &str) -> Error {
    Error::from(Exception::custom(msg))
}

/// Writes `result` into the out-vector `ret` (which mlx-c pre-allocates), or
/// parks the failure; returns the status mlx-c expects (0 = success).
///
/// # Safety
/// `ret` must point to a live `mlx_vector_array`.
unsafe fn finish(ret: *mut mlx_vector_array, result: std::thread::Result<Result<Vec<Array>>>) -> c_int {
    match result {
        Ok(Ok(arrays)) => {
            let ptrs: Vec<mlx_array> = arrays.iter().map(Array::as_ptr).collect();
            // SAFETY: `ret` points to a live handle (caller's contract; mlx-c
            // hands over an unallocated one, which `set_data` allocates and
            // mlx-c frees); mlx-c takes new references to the arrays, ours are
            // dropped after the call.
            let status = unsafe { mlx_sys::mlx_vector_array_set_data(ret, ptrs.as_ptr(), ptrs.len()) };
            if status != 0 {
                park(Failure::Error(custom_error("custom_vjp: returning the closure's arrays failed")));
            }
            status
        }
        Ok(Err(e)) => {
            park(Failure::Error(e));
            1
        }
        Err(p) => {
            park(Failure::Panic(p));
            1
        }
    }
}

/// Boxed forward closure (payload of an `mlx_closure`).
type ForwardFn = Box<dyn Fn(&[Array]) -> Result<Vec<Array>>>;
/// Boxed backward closure (payload of an `mlx_closure_custom`).
type BackwardFn = Box<dyn Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>>>;

unsafe extern "C" fn forward_trampoline(ret: *mut mlx_vector_array, input: mlx_vector_array, payload: *mut c_void) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `payload` is the `ForwardFn` boxed in `custom_vjp`, alive as
        // long as the closure (freed only by `drop_payload`).
        let f = unsafe { &*(payload as *const ForwardFn) };
        // SAFETY: mlx-c passes a live vector.
        let inputs = unsafe { arrays_of(input) }?;
        f(&inputs)
    }));
    // SAFETY: mlx-c passes a live, pre-allocated out-vector.
    unsafe { finish(ret, result) }
}

unsafe extern "C" fn backward_trampoline(
    ret: *mut mlx_vector_array,
    primals: mlx_vector_array,
    cotangents: mlx_vector_array,
    outputs: mlx_vector_array,
    payload: *mut c_void,
) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `payload` is the `BackwardFn` boxed in `custom_vjp`.
        let g = unsafe { &*(payload as *const BackwardFn) };
        // SAFETY: mlx-c passes live vectors.
        let (p, c, o) = unsafe { (arrays_of(primals)?, arrays_of(cotangents)?, arrays_of(outputs)?) };
        g(&p, &c, &o)
    }));
    // SAFETY: mlx-c passes a live, pre-allocated out-vector.
    unsafe { finish(ret, result) }
}

unsafe extern "C" fn drop_payload<T>(payload: *mut c_void) {
    if payload.is_null() {
        return;
    }
    // A panicking destructor must not unwind into C++; its payload is dropped.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `payload` came from `Box::into_raw(Box<T>)` and mlx-c calls
        // the destructor exactly once.
        drop(unsafe { Box::from_raw(payload as *mut T) });
    }));
}

/// Frees an `mlx_closure` on drop.
struct ClosureHandle(mlx_closure);

impl Drop for ClosureHandle {
    fn drop(&mut self) {
        // SAFETY: created by mlx-c and freed exactly once, here.
        unsafe {
            mlx_sys::mlx_closure_free(self.0);
        }
    }
}

/// Frees an `mlx_closure_custom` on drop.
struct CustomClosureHandle(mlx_closure_custom);

impl Drop for CustomClosureHandle {
    fn drop(&mut self) {
        // SAFETY: created by mlx-c and freed exactly once, here.
        unsafe {
            mlx_sys::mlx_closure_custom_free(self.0);
        }
    }
}

/// A function whose gradient is given by a hand-written backward instead of
/// autodiff of its forward; see [`custom_vjp`]. Not `Send`: MLX closures are
/// used on the thread that made them.
pub struct CustomVjp {
    closure: ClosureHandle,
}

impl CustomVjp {
    /// Runs the forward on `inputs`. Under a transform (`value_and_grad`,
    /// `vjp`) the gradient with respect to `inputs` comes from the backward.
    pub fn call(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        ensure_error_handler();
        let _ = take_parked();
        let input = VecHandle::from_arrays(inputs)?;
        let mut out = VecHandle::empty();
        // SAFETY: all three handles are live; `out.0` is a valid out-parameter
        // (mlx-c overwrites its contents, the handle stays owned by `out`).
        let status = unsafe { mlx_sys::mlx_closure_apply(&mut out.0, self.closure.0, input.0) };
        if status != 0 {
            drain_mlx_error();
            return Err(match take_parked() {
                Some(Failure::Error(e)) => e,
                Some(Failure::Panic(p)) => resume_unwind(p),
                None => custom_error("custom_vjp: forward failed inside MLX"),
            });
        }
        // SAFETY: `out.0` is live.
        unsafe { arrays_of(out.0) }
    }
}

/// Builds a function that computes `forward(inputs)` but whose vector-Jacobian
/// product is `backward(primals, cotangents, outputs)`: `primals` are the
/// inputs, `cotangents` one per output, `outputs` the forward's results; it
/// must return one gradient per input, shaped like it.
pub fn custom_vjp(
    forward: impl Fn(&[Array]) -> Result<Vec<Array>> + 'static,
    backward: impl Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + 'static,
) -> Result<CustomVjp> {
    ensure_error_handler();
    // the backward runs later, outside the forward's lane scope: re-enter it
    let lane = crate::nn::lanes::current();
    let backward = move |p: &[Array], c: &[Array], o: &[Array]| lane.run(|| backward(p, c, o));
    let fwd: *mut ForwardFn = Box::into_raw(Box::new(Box::new(forward) as ForwardFn));
    // SAFETY: mlx-c owns `fwd` from here on and frees it with `drop_payload`
    // (also when creation fails: the shared_ptr is made before anything can
    // throw).
    let fwd_cls = ClosureHandle(unsafe {
        mlx_sys::mlx_closure_new_func_payload(Some(forward_trampoline), fwd as *mut c_void, Some(drop_payload::<ForwardFn>))
    });
    let bwd: *mut BackwardFn = Box::into_raw(Box::new(Box::new(backward) as BackwardFn));
    // SAFETY: as above, for the backward.
    let bwd_cls = CustomClosureHandle(unsafe {
        mlx_sys::mlx_closure_custom_new_func_payload(
            Some(backward_trampoline),
            bwd as *mut c_void,
            Some(drop_payload::<BackwardFn>),
        )
    });
    if fwd_cls.0.ctx.is_null() || bwd_cls.0.ctx.is_null() {
        drain_mlx_error();
        return Err(custom_error("custom_vjp: creating the MLX closures failed"));
    }
    // SAFETY: no preconditions; owned by the handle.
    let mut res = ClosureHandle(unsafe { mlx_sys::mlx_closure_new() });
    // SAFETY: the three handles are live; the result copies (shares) both
    // closures, so `fwd_cls` and `bwd_cls` can be freed when this returns.
    let status = unsafe { mlx_sys::mlx_custom_vjp(&mut res.0, fwd_cls.0, bwd_cls.0) };
    if status != 0 {
        drain_mlx_error();
        return Err(custom_error("custom_vjp: mlx_custom_vjp failed"));
    }
    Ok(CustomVjp { closure: res })
}
