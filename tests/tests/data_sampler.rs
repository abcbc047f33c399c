//! The bucketed sampler: every item once per epoch, batches within one length
//! bucket, disjoint shards, reproducible from the seed, exact resume from a cursor.

use std::collections::BTreeSet;

use sovits_core::data::{BucketSampler, Cursor};

fn lengths(n: usize) -> Vec<usize> {
    (0..n).map(|i| 33 + (i * 97) % 1200).collect()
}

fn bounds() -> Vec<usize> {
    BucketSampler::reference_boundaries(32)
}

#[test]
fn every_item_once_per_epoch() -> anyhow::Result<()> {
    let lens = lengths(103);
    let s = BucketSampler::new(&lens, &bounds(), 8, 0, 1, 1234)?;
    for epoch in 0..3 {
        let mut seen: Vec<usize> = s.epoch_batches(epoch).into_iter().flatten().collect();
        seen.sort();
        assert_eq!(seen, (0..103).collect::<Vec<_>>(), "epoch {epoch}");
    }
    Ok(())
}

#[test]
fn items_outside_boundaries_are_kept() -> anyhow::Result<()> {
    // 10 frames is below the first boundary, 5000 above the last: neither is dropped.
    let lens = vec![10, 50, 5000, 400];
    let s = BucketSampler::new(&lens, &bounds(), 2, 0, 1, 1)?;
    let mut seen: Vec<usize> = s.epoch_batches(0).into_iter().flatten().collect();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2, 3]);
    Ok(())
}

#[test]
fn batches_stay_within_one_bucket() -> anyhow::Result<()> {
    let lens = lengths(200);
    let b = bounds();
    let s = BucketSampler::new(&lens, &b, 6, 0, 1, 7)?;
    let bucket_of = |len: usize| b[1..].iter().position(|&x| len <= x).unwrap_or(b.len() - 2);
    for batch in s.epoch_batches(0) {
        assert!(batch.len() <= 6 && !batch.is_empty());
        let ks: BTreeSet<usize> = batch.iter().map(|&i| bucket_of(lens[i])).collect();
        assert_eq!(ks.len(), 1, "batch {batch:?} spans buckets {ks:?}");
    }
    // Each bucket holds only lengths in (b[i], b[i+1]].
    for (k, bucket) in s.buckets().iter().enumerate() {
        let (lo, hi) = (s.boundaries()[k], s.boundaries()[k + 1]);
        assert!(bucket.iter().all(|&i| lens[i] > lo && lens[i] <= hi), "bucket {k} ({lo}, {hi}]");
    }
    Ok(())
}

#[test]
fn shards_are_disjoint_and_cover_everything() -> anyhow::Result<()> {
    let lens = lengths(101);
    let world = 3;
    let mut all = Vec::new();
    let mut per_rank = Vec::new();
    for rank in 0..world {
        let s = BucketSampler::new(&lens, &bounds(), 4, rank, world, 99)?;
        let items: Vec<usize> = s.epoch_batches(5).into_iter().flatten().collect();
        per_rank.push(items.iter().copied().collect::<BTreeSet<_>>());
        all.extend(items);
    }
    for a in 0..world {
        for b in a + 1..world {
            assert!(per_rank[a].is_disjoint(&per_rank[b]), "ranks {a} and {b} share items");
        }
    }
    all.sort();
    assert_eq!(all, (0..101).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn reproducible_from_the_seed() -> anyhow::Result<()> {
    let lens = lengths(80);
    let a = BucketSampler::new(&lens, &bounds(), 5, 0, 1, 42)?;
    let b = BucketSampler::new(&lens, &bounds(), 5, 0, 1, 42)?;
    let c = BucketSampler::new(&lens, &bounds(), 5, 0, 1, 43)?;
    assert_eq!(a.epoch_batches(3), b.epoch_batches(3));
    assert_ne!(a.epoch_batches(3), c.epoch_batches(3), "another seed shuffles differently");
    assert_ne!(a.epoch_batches(0), a.epoch_batches(1), "epochs shuffle differently");
    Ok(())
}

#[test]
fn cursor_resumes_exactly() -> anyhow::Result<()> {
    let lens = lengths(50);
    let s = BucketSampler::new(&lens, &bounds(), 4, 0, 1, 3)?;
    let straight: Vec<_> = s.iter_from(Cursor::default()).take(40).collect();
    // Stop after 17 batches (crossing no epoch yet or one, depending on count), resume.
    let (cursor, _) = straight[16].clone();
    let resumed: Vec<_> = s.iter_from(cursor).take(23).collect();
    assert_eq!(&straight[17..], &resumed[..]);
    // The cursor advances to the next epoch after the last batch of one.
    let per_epoch = s.epoch_batches(0).len();
    assert_eq!(straight[per_epoch].0, Cursor { epoch: 1, position: 1 });
    Ok(())
}

#[test]
fn bad_arguments_name_the_field() {
    let e = BucketSampler::new(&[40], &bounds(), 0, 0, 1, 1).unwrap_err().to_string();
    assert!(e.contains("trainer.batch_size"), "{e}");
    let e = BucketSampler::new(&[40], &bounds(), 2, 3, 2, 1).unwrap_err().to_string();
    assert!(e.contains("rank 3, world 2"), "{e}");
    let e = BucketSampler::new(&[40], &[5, 5], 2, 0, 1, 1).unwrap_err().to_string();
    assert!(e.contains("strictly ascending"), "{e}");
}
