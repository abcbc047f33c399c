//! CPU stream lanes: independent parts of the step (sub-discriminators, the
//! generator's prior path vs its posterior path and decoder, HiFi-GAN
//! resblocks, loss terms, per-parameter norms and optimizer updates) are
//! built on different MLX CPU streams so they run on different cores.
//!
//! MLX's CPU backend runs every stream on its own thread and tracks the
//! dependencies between streams, so a graph whose ops are spread over
//! several streams computes the same values (the same kernels on the same
//! inputs) while using more than one core. The backward of an op runs on its
//! forward's stream (our hand-written backwards re-enter the lane they were
//! built in, [`crate::nn::custom_vjp`]).
//!
//! Lane 0 is the thread's default stream, so with one lane (or on a GPU,
//! where MLX's own scheduling is kept) nothing changes. The lanes are set
//! once per thread by [`configure`] (the trainer does it from
//! `trainer.cpu_streams`); code that has independent work wraps each part in
//! [`on`] with its lane index, which wraps around the configured count.

use std::cell::RefCell;

use mlx_rs::{Device, DeviceType, Stream};

thread_local! {
    /// Streams of every lane, lane 0 being the default CPU stream at
    /// [`configure`] time; empty when there is one lane.
    static LANES: RefCell<Vec<Stream>> = const { RefCell::new(Vec::new()) };
}

/// Sets the number of lanes for this thread: `count` CPU streams when the
/// default device is the CPU, else one (GPU streams keep MLX's own order).
/// Returns the number of lanes in effect.
pub fn configure(count: usize) -> usize {
    let cpu = matches!(Device::default().get_type(), Ok(DeviceType::Cpu));
    let n = if cpu { count.max(1) } else { 1 };
    LANES.with_borrow_mut(|lanes| {
        if n == 1 {
            lanes.clear();
            return;
        }
        if lanes.is_empty() {
            lanes.push(Stream::try_default_on_device(&Device::cpu()).unwrap_or_else(|_| Stream::cpu()));
        }
        lanes.truncate(n);
        while lanes.len() < n {
            lanes.push(Stream::new_with_device(&Device::cpu()));
        }
    });
    n
}

/// Lanes configured on this thread (at least one).
pub fn count() -> usize {
    LANES.with_borrow(|lanes| lanes.len().max(1))
}

/// The stream of lane `index` (modulo the lane count); `None` (build as is)
/// for lane 0 outside any lane's scope, and with one lane.
fn stream_of(index: usize) -> Option<Stream> {
    LANES.with_borrow(|lanes| match index % lanes.len().max(1) {
        _ if lanes.is_empty() => None,
        0 if mlx_rs::thread_local_default_stream().is_none() => None,
        i => Some(lanes[i].clone()),
    })
}

/// Runs `f` with every MLX op it builds placed on lane `index` (modulo the
/// lane count). Lane 0 outside another lane's scope runs `f` as is.
pub fn on<T>(index: usize, f: impl FnOnce() -> T) -> T {
    Lane(stream_of(index)).run(f)
}

/// A captured lane: the stream ops were being built on when
/// [`current`] was called, re-entered by [`Lane::run`] (hand-written
/// backwards run later, outside the forward's scope).
#[derive(Clone)]
pub struct Lane(Option<Stream>);

/// The lane ops are being built on now (a scope of [`on`], else lane 0).
pub fn current() -> Lane {
    Lane(mlx_rs::thread_local_default_stream())
}

impl Lane {
    /// Runs `f` on this lane: mlx-rs's scoped stream for the ops `f` builds,
    /// and MLX's own default stream too, which keys compiled functions (a
    /// function compiled on one lane is traced again for another, else its
    /// ops would keep the first lane's stream).
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        let Some(stream) = &self.0 else { return f() };
        let _default = DefaultStreamGuard::set(stream);
        mlx_rs::with_stream(stream, f)
    }
}

/// Makes `stream` MLX's default stream for its device until dropped, then
/// restores the previous one.
struct DefaultStreamGuard(Option<Stream>);

impl DefaultStreamGuard {
    fn set(stream: &Stream) -> Self {
        let previous = Stream::try_default_on_device(&Device::cpu()).ok();
        // SAFETY: `stream` is a live handle; MLX copies it.
        unsafe { mlx_sys::mlx_set_default_stream(stream.as_ptr()) };
        Self(previous)
    }
}

impl Drop for DefaultStreamGuard {
    fn drop(&mut self) {
        if let Some(previous) = &self.0 {
            // SAFETY: `previous` is a live handle; MLX copies it.
            unsafe { mlx_sys::mlx_set_default_stream(previous.as_ptr()) };
        }
    }
}

/// Assigns jobs of the given `costs` to lanes, longest first onto the least
/// loaded lane (so three resblocks of kernel 3, 7, 11 on two lanes become
/// {11} and {7, 3}). Returns the lane of each job, in input order.
pub fn balance(costs: &[f64]) -> Vec<usize> {
    let n = count();
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]));
    let mut load = vec![0.0; n];
    let mut lane = vec![0; costs.len()];
    for job in order {
        let (best, _) = load.iter().enumerate().fold((0, f64::INFINITY), |acc, (i, &l)| if l < acc.1 { (i, l) } else { acc });
        lane[job] = best;
        load[best] += costs[job];
    }
    lane
}

/// [`balance`] of `arrays` by element count: the lane of each array, for
/// per-parameter work (gradient copies, norms, optimizer updates). The same
/// arrays get the same lanes every time, so a parameter's chain of such work
/// stays on one lane.
pub fn by_size<'a>(arrays: impl IntoIterator<Item = &'a mlx_rs::Array>) -> Vec<usize> {
    balance(&arrays.into_iter().map(|a| a.size() as f64).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlx_rs::{Array, ops};

    #[test]
    fn lanes_compute_what_one_stream_computes() -> crate::Result<()> {
        let x = mlx_rs::random::normal::<f32>(&[64, 96], None, None, None)?;
        let chain = |x: &Array| -> crate::Result<Array> {
            let y = ops::tanh(&ops::matmul(x, &x.t())?)?;
            Ok(ops::sum(&ops::multiply(&y, &y)?, None)?)
        };
        configure(1);
        let one = chain(&x)?;
        assert_eq!(configure(2), 2);
        let a = on(0, || chain(&x))?;
        let b = on(1, || chain(&x))?;
        let both = ops::add(&a, &b)?;
        assert_eq!(both.item_cast::<f32>(), 2.0 * one.item_cast::<f32>());
        assert_eq!(b.item_cast::<f32>(), one.item_cast::<f32>());
        configure(1);
        Ok(())
    }

    #[test]
    fn balance_puts_the_longest_job_alone() {
        configure(2);
        assert_eq!(balance(&[3.0, 7.0, 11.0]), vec![1, 1, 0]);
        configure(1);
        assert_eq!(balance(&[3.0, 7.0]), vec![0, 0]);
    }
}
