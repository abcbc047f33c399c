//! A tiny generated corpus loads with consistent shapes: collation pads like
//! GPT-SoVITS `TextAudioSpeakerCollate`, transposes to channels-last, and the
//! background loader yields the same batches as the sampler + collate in order.

use std::sync::Arc;

use sovits_core::data::{collate, npy, BucketSampler, Cursor, Dataset, Folder, Input, Loader};
use sovits_core::spec::DataSpec;
use sovits_test_support::data_fixtures::{varied_items, write_corpus, FixtureItem, HOP};

const SEGMENT: usize = 8 * HOP;

fn open(dir: &std::path::Path) -> Dataset {
    Dataset::open(dir, &DataSpec::default(), SEGMENT, false).expect("open")
}

#[test]
fn collate_pads_and_transposes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_corpus(dir.path(), &[FixtureItem::new("a", 41), FixtureItem::new("b", 50)], true);
    let ds = open(dir.path());
    assert_eq!(ds.input(), Input::Ssl);
    let samples = vec![(0, ds.read(0)?), (1, ds.read(1)?)];
    let hb = collate(samples)?;
    // Longest first; 2 * (50 // 2 + 1) = 52 frames.
    assert_eq!(hb.items, vec![1, 0]);
    assert_eq!(hb.frames, 52);
    assert_eq!(hb.spec_lengths, vec![50, 41]);
    assert_eq!(hb.audio_lengths, vec![50 * 640 + 17, 41 * 640 + 17]);
    assert_eq!(hb.audio_len, 50 * 640 + 17);
    assert_eq!(hb.text_lengths, vec![15, 13]);
    assert_eq!(hb.text_len, 15);
    // spec[b=1 (item a), t=7, f=3] == file[3, 7] = 3 + 7/1000 + seed 1.
    let v = hb.spec[(52 + 7) * 1025 + 3];
    assert!((v - (3.0 + 0.007 + 1.0)).abs() < 1e-5, "{v}");
    // Padding is zero: item a's frame 41.
    assert_eq!(hb.spec[(52 + 41) * 1025 + 3], 0.0);
    let ssl = hb.ssl.as_ref().expect("ssl");
    assert_eq!(ssl.len(), 2 * 52 * 768);
    assert_eq!(ssl[(52 + 7) * 768 + 2], 2.0 * 0.01 + 7.0);
    assert!(hb.semantic.is_none());
    // Text rows are zero-padded after their length.
    assert_eq!(hb.text[15 + 13], 0);
    assert_eq!(hb.audio[hb.audio_len + 41 * 640 + 17], 0.0);

    let batch = hb.to_batch()?;
    assert_eq!(batch.spec.shape(), &[2, 52, 1025]);
    assert_eq!(batch.ssl.as_ref().map(|a| a.shape().to_vec()), Some(vec![2, 52, 768]));
    assert_eq!(batch.text.shape(), &[2, 15]);
    assert_eq!(batch.audio.shape(), &[2, 50 * 640 + 17]);
    assert_eq!(batch.spec_lengths.shape(), &[2]);
    assert_eq!(batch.text.dtype(), mlx_rs::Dtype::Int32);
    assert_eq!(batch.spec_lengths.dtype(), mlx_rs::Dtype::Int32);
    Ok(())
}

#[test]
fn semantic_path_without_ssl() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_corpus(dir.path(), &[FixtureItem::new("a", 41), FixtureItem::new("b", 50)], false);
    let ds = open(dir.path());
    assert_eq!(ds.input(), Input::Semantic);
    let hb = collate(vec![(0, ds.read(0)?), (1, ds.read(1)?)])?;
    let sem = hb.semantic.as_ref().expect("semantic");
    assert_eq!(sem.len(), 2 * 26);
    let batch = hb.to_batch()?;
    assert!(batch.ssl.is_none());
    assert_eq!(batch.semantic.as_ref().map(|a| a.shape().to_vec()), Some(vec![2, 26]));
    Ok(())
}

#[test]
fn ssl_one_short_is_padded_by_replication() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_corpus(dir.path(), &[FixtureItem::new("a", 40)], true);
    let v: Vec<f32> = (0..768 * 39).map(|i| i as f32).collect();
    npy::write_f32(&Folder::Ssl.file(dir.path(), "a"), &[768, 39], &v)?;
    let ds = open(dir.path());
    let s = ds.read(0)?;
    let ssl = s.ssl.expect("ssl");
    assert_eq!(ssl.len(), 768 * 40);
    // Row 0: frames 0..39 then frame 38 again.
    assert_eq!(ssl[39], ssl[38]);
    assert_eq!(ssl[40], 39.0, "row 1 starts with the file's row 1");
    Ok(())
}

#[test]
fn loader_thread_yields_sampler_batches() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_corpus(dir.path(), &varied_items(10), true);
    let ds = Arc::new(open(dir.path()));
    let sampler = BucketSampler::new(&ds.frame_lengths(), &BucketSampler::reference_boundaries(8), 3, 0, 1, 1234)?;
    let per_epoch = sampler.epoch_batches(0).len();
    let want: Vec<_> = sampler.iter_from(Cursor::default()).take(per_epoch + 2).collect();
    let mut loader = Loader::spawn(ds.clone(), sampler.clone(), Cursor::default(), 2);
    let mut seen = Vec::new();
    for (cursor, ids) in &want {
        let loaded = loader.next_batch().expect("a batch")?;
        assert_eq!(&loaded.cursor, cursor);
        let mut got = loaded.batch.items.clone();
        let mut ids = ids.clone();
        got.sort();
        ids.sort();
        assert_eq!(got, ids);
        let max = ids.iter().map(|&i| ds.items()[i].frames).max().unwrap_or(0);
        assert_eq!(loaded.batch.frames, 2 * (max / 2 + 1));
        assert_eq!(loaded.batch.spec.len(), ids.len() * loaded.batch.frames * 1025);
        if cursor.epoch == 0 {
            seen.extend(got);
        }
    }
    seen.sort();
    assert_eq!(seen, (0..10).collect::<Vec<_>>(), "epoch 0 covers every item once");
    drop(loader); // stops the thread
    // Resuming from a saved cursor continues exactly.
    let (cursor, _) = want[1].clone();
    let mut resumed = Loader::spawn(ds, sampler, cursor, 1);
    let next = resumed.next_batch().expect("a batch")?;
    assert_eq!(next.cursor, want[2].0);
    Ok(())
}
