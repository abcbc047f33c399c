//! Length-bucketed, shard-aware batch sampler with an exact-resume cursor.
//!
//! Like GPT-SoVITS `DistributedBucketSampler` (`module/data_utils.py`): items are
//! grouped by spectrogram frames into buckets `(b[i], b[i+1]]`, every batch comes
//! from one bucket, bucket contents and batch order are shuffled per epoch. Two
//! deliberate differences, both so that nothing is dropped or repeated silently:
//! * items outside the boundaries go to the first or last bucket instead of being
//!   dropped (validation already rejects clips shorter than the segment);
//! * buckets are not padded with repeated items to a multiple of `batch * world`:
//!   every item is yielded exactly once per epoch over all ranks, so a bucket's last
//!   batch may be smaller, and ranks may get a different number of batches (by at
//!   most one per bucket).
//!
//! Sharding: each bucket's shuffled items are cut into global batches of
//! `batch_size * world` items; rank `r` takes every `world`-th item of each global
//! batch starting at `r`. The global batch order is the same on every rank (same
//! seed), so ranks step through buckets in lockstep.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The reference's bucket boundaries in frames (`s2_train.py`), after the first.
/// The first boundary is the segment in frames.
pub const REFERENCE_BOUNDARIES: [usize; 17] =
    [300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900];

/// Where training is in the data: resuming from a cursor yields exactly the batches
/// that had not been yielded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cursor {
    /// Epoch (0-based); the shuffle of each epoch is a function of seed and epoch.
    pub epoch: u64,
    /// Batches of this rank already taken in `epoch`.
    pub position: usize,
}

/// SplitMix64: a small, fast, well-mixed generator; enough for shuffling.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (n > 0), without modulo bias worth noting for n << 2^64.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// The bucketed sampler for one rank.
#[derive(Debug, Clone)]
pub struct BucketSampler {
    buckets: Vec<Vec<usize>>,
    boundaries: Vec<usize>,
    batch_size: usize,
    rank: usize,
    world: usize,
    seed: u64,
    shuffle: bool,
}

impl BucketSampler {
    /// Buckets `lengths` (frames per item) by `boundaries` (ascending; bucket `i` is
    /// `(b[i], b[i+1]]`). Empty buckets are removed.
    pub fn new(
        lengths: &[usize],
        boundaries: &[usize],
        batch_size: usize,
        rank: usize,
        world: usize,
        seed: u64,
    ) -> Result<Self> {
        let bad = |field: &str, message: String| Error::SpecValue { field: field.into(), message };
        if batch_size == 0 {
            return Err(bad("trainer.batch_size", "expected >= 1, found 0".into()));
        }
        if world == 0 || rank >= world {
            return Err(bad("sampler.rank", format!("expected rank < world, found rank {rank}, world {world}")));
        }
        if boundaries.len() < 2 || boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("sampler.boundaries", format!("expected >= 2 strictly ascending values, found {boundaries:?}")));
        }
        let n_buckets = boundaries.len() - 1;
        let mut buckets = vec![Vec::new(); n_buckets];
        for (i, &len) in lengths.iter().enumerate() {
            // First b with len <= b[k+1], clamped to the first and last bucket.
            let k = boundaries[1..].iter().position(|&b| len <= b).unwrap_or(n_buckets - 1);
            buckets[k].push(i);
        }
        let mut kept_bounds = vec![boundaries[0]];
        let mut kept = Vec::new();
        for (k, b) in buckets.into_iter().enumerate() {
            if !b.is_empty() {
                kept.push(b);
                kept_bounds.push(boundaries[k + 1]);
            }
        }
        Ok(Self { buckets: kept, boundaries: kept_bounds, batch_size, rank, world, seed, shuffle: true })
    }

    /// The reference boundaries with `segment_frames` first: `[32, 300, ..., 1900]`
    /// for the default 20480-sample segment.
    pub fn reference_boundaries(segment_frames: usize) -> Vec<usize> {
        let mut b = vec![segment_frames];
        b.extend(REFERENCE_BOUNDARIES.iter().copied().filter(|&x| x > segment_frames));
        b
    }

    /// Turns shuffling off (items in bucket order, batches in bucket order): for evaluation.
    pub fn without_shuffle(mut self) -> Self {
        self.shuffle = false;
        self
    }

    /// Item indices per non-empty bucket.
    pub fn buckets(&self) -> &[Vec<usize>] {
        &self.buckets
    }

    /// Boundaries of the non-empty buckets.
    pub fn boundaries(&self) -> &[usize] {
        &self.boundaries
    }

    /// This rank's batches of `epoch`, in order; a pure function of (seed, epoch).
    pub fn epoch_batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = SplitMix64::new(self.seed ^ epoch.wrapping_mul(0xA24B_AED4_963E_E407));
        let global = self.batch_size * self.world;
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for bucket in &self.buckets {
            let mut ids = bucket.clone();
            if self.shuffle {
                rng.shuffle(&mut ids);
            }
            for chunk in ids.chunks(global) {
                batches.push(chunk.to_vec());
            }
        }
        if self.shuffle {
            rng.shuffle(&mut batches);
        }
        batches
            .into_iter()
            .map(|g| g.into_iter().skip(self.rank).step_by(self.world).collect::<Vec<_>>())
            .filter(|b| !b.is_empty())
            .collect()
    }

    /// Iterates `(cursor after the batch, batch)` forever from `cursor`, epoch after epoch.
    pub fn iter_from(&self, cursor: Cursor) -> SamplerIter<'_> {
        SamplerIter { sampler: self, epoch: cursor.epoch, position: cursor.position, batches: None }
    }
}

/// Endless iterator over batches; see [`BucketSampler::iter_from`].
#[derive(Debug)]
pub struct SamplerIter<'a> {
    sampler: &'a BucketSampler,
    epoch: u64,
    position: usize,
    batches: Option<Vec<Vec<usize>>>,
}

impl Iterator for SamplerIter<'_> {
    type Item = (Cursor, Vec<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        // A rank with no items at all would loop forever: stop instead.
        for _ in 0..2 {
            let batches = self.batches.get_or_insert_with(|| self.sampler.epoch_batches(self.epoch));
            if let Some(b) = batches.get(self.position) {
                let b = b.clone();
                self.position += 1;
                return Some((Cursor { epoch: self.epoch, position: self.position }, b));
            }
            self.epoch += 1;
            self.position = 0;
            self.batches = None;
        }
        None
    }
}
