//! Data-parallel training on MLX's own distributed layer (the ring backend
//! over TCP; MPI/NCCL where libmlx provides them): a process [`Group`] from
//! MLX's env/hostfile mechanism, `all_sum`, and the gradient averaging the
//! trainer applies before clipping and the optimizer step ([`average_grads`]).
//!
//! How ranks find each other is MLX's business: the ring backend reads
//! `MLX_RANK` and `MLX_HOSTFILE` (see [`hostfile`]); `sovits train
//! --distributed HOSTFILE` sets both for every rank it starts.

mod ffi;
pub mod hostfile;
mod reduce;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mlx_rs::Array;

use crate::error::{Error, Result};

pub use reduce::{GradReducer, average_grads};

/// Exit status of a process whose peers did not connect within the timeout
/// given to [`Group::init_within`].
pub const EXIT_CONNECT_TIMEOUT: i32 = 75;

/// One process's membership of a distributed group.
pub struct Group {
    raw: ffi::RawGroup,
    rank: usize,
    size: usize,
    backend: String,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Group {{ backend: {}, rank: {}, size: {} }}", self.backend, self.rank, self.size)
    }
}

impl Group {
    /// Whether libmlx was built with `backend` (`ring`, `mpi`, `nccl`, `jaccl`, `any`).
    pub fn is_available(backend: &str) -> bool {
        ffi::is_available(backend)
    }

    /// Joins the group described by the environment with `backend`. Strict:
    /// a backend that cannot start is an error carrying MLX's message, never
    /// a silent group of one. For `ring`, `MLX_RANK` and `MLX_HOSTFILE` are
    /// checked first so a mistake names the variable or file. Blocks until
    /// every peer has connected (see [`Group::init_within`] for a bound).
    pub fn init(backend: &str) -> Result<Group> {
        if !ffi::is_available(backend) {
            return Err(Error::Distributed(format!(
                "libmlx has no `{backend}` backend (mlx_distributed_is_available(\"{backend}\") returned false)"
            )));
        }
        let expected = if backend == "ring" { Some(hostfile::check_ring_env()?) } else { None };
        // Any mlx-rs call registers mlx-rs's error handler first, so mlx-c never
        // falls back to its default handler (which ends the process).
        Array::from_f32(0.0).eval()?;
        let raw = ffi::init(backend, true).map_err(|msg| Error::Distributed(format!("cannot start the `{backend}` backend: {msg}")))?;
        let (rank, size) = (ffi::rank(&raw), ffi::size(&raw));
        let (rank, size) = (usize::try_from(rank).unwrap_or(usize::MAX), usize::try_from(size).unwrap_or(0));
        if let Some((r, w)) = expected
            && (r, w) != (rank, size)
        {
            return Err(Error::Distributed(format!("MLX_RANK/MLX_HOSTFILE say rank {r} of {w}, MLX reports rank {rank} of {size}")));
        }
        Ok(Group { raw, rank, size, backend: backend.to_string() })
    }

    /// [`Group::init`], ending the process with status
    /// [`EXIT_CONNECT_TIMEOUT`] and a message naming this rank and the host
    /// file when the peers have not all connected within `timeout`. MLX's ring
    /// waits for the left neighbour without a time limit, and a blocked
    /// `accept` cannot be cancelled from Rust: ending the process is the only
    /// bounded way out.
    pub fn init_within(backend: &str, timeout: Duration) -> Result<Group> {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let who = format!(
            "rank {} (MLX_HOSTFILE {})",
            std::env::var("MLX_RANK").unwrap_or_else(|_| "?".into()),
            std::env::var("MLX_HOSTFILE").unwrap_or_else(|_| "?".into())
        );
        std::thread::spawn(move || {
            std::thread::sleep(timeout);
            if !flag.load(Ordering::SeqCst) {
                eprintln!(
                    "error: distributed: {who}: the peers did not all connect within {} s; \
                     check that every rank was started and that the listed ip:port addresses are reachable",
                    timeout.as_secs()
                );
                std::process::exit(EXIT_CONNECT_TIMEOUT);
            }
        });
        let group = Group::init(backend);
        done.store(true, Ordering::SeqCst);
        group
    }

    /// This process's rank (0-based).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The backend this group runs on.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// True on rank 0, the one that writes checkpoints and logs.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// The element-wise sum of `x` over every rank (lazy, like any MLX op;
    /// every rank must call it with the same shape and dtype).
    pub fn all_sum(&self, x: &Array) -> Result<Array> {
        ffi::all_sum(&self.raw, x).map_err(Error::Distributed)
    }

    /// True when `flag` is true on any rank (a collective: every rank must call it).
    pub fn any(&self, flag: bool) -> Result<bool> {
        let total = self.all_sum(&Array::from_f32(if flag { 1.0 } else { 0.0 }))?;
        total.eval()?;
        Ok(total.item_cast::<f32>() > 0.0)
    }
}
