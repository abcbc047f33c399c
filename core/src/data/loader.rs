//! Background loading: a thread reads and collates the next batches while the
//! training step runs, so the step never waits on disk.
//!
//! The thread only builds host buffers ([`HostBatch`]); MLX arrays are made by
//! the consumer with [`HostBatch::to_batch`], on the training thread. At most
//! `depth` batches are buffered (a bounded channel), so memory stays bounded for
//! any corpus size. Dropping the [`Loader`] stops the thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::collate::{HostBatch, collate};
use super::dataset::Dataset;
use super::sampler::{BucketSampler, Cursor};
use crate::error::Result;

/// One loaded batch with the cursor to save for resuming after it.
#[derive(Debug)]
pub struct Loaded {
    /// Cursor after this batch: resuming from it yields the next batch.
    pub cursor: Cursor,
    /// The padded batch.
    pub batch: HostBatch,
}

/// A running background loader.
#[derive(Debug)]
pub struct Loader {
    rx: Option<Receiver<Result<Loaded>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn produce(dataset: &Dataset, sampler: &BucketSampler, cursor: Cursor, tx: &SyncSender<Result<Loaded>>, stop: &AtomicBool) {
    for (cursor, ids) in sampler.iter_from(cursor) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let loaded = ids
            .iter()
            .map(|&i| dataset.read(i).map(|s| (i, s)))
            .collect::<Result<Vec<_>>>()
            .and_then(collate)
            .map(|batch| Loaded { cursor, batch });
        let failed = loaded.is_err();
        // A closed channel means the consumer is gone; an error ends the stream.
        if tx.send(loaded).is_err() || failed {
            return;
        }
    }
}

impl Loader {
    /// Starts loading from `cursor`, keeping up to `depth` (>= 1) batches ready.
    /// Batches continue across epochs without end; the trainer decides when to stop.
    pub fn spawn(dataset: Arc<Dataset>, sampler: BucketSampler, cursor: Cursor, depth: usize) -> Self {
        let (tx, rx) = sync_channel(depth.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("sovits-data".into())
            .spawn(move || produce(&dataset, &sampler, cursor, &tx, &flag))
            .ok();
        Self { rx: Some(rx), stop, handle }
    }

    /// The next batch; blocks only if the thread has not finished it yet. `None`
    /// when the stream ended (after an error was returned, or no batch exists).
    pub fn next_batch(&mut self) -> Option<Result<Loaded>> {
        self.rx.as_ref()?.recv().ok()
    }
}

impl Iterator for Loader {
    type Item = Result<Loaded>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing the receiver unblocks a thread waiting to send.
        self.rx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
