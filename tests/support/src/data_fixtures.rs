//! Tiny generated datasets in the npy layout, for the data tests. Values are
//! deterministic (seeded LCG) so every test run writes the same files.

use std::path::Path;

use sovits_core::data::metadata::{ItemMeta, Metadata, Units};
use sovits_core::data::npy;
use sovits_core::data::Folder;

use crate::signals::pseudo_random;

/// Dataset facts the fixtures use (the spec's defaults).
pub const SR: usize = 32000;
/// Samples per frame.
pub const HOP: usize = 640;

/// How to write one item.
#[derive(Debug, Clone)]
pub struct FixtureItem {
    /// Id and stem.
    pub id: String,
    /// Spectrogram frames; audio gets `frames * HOP + extra` samples.
    pub frames: usize,
    /// Phoneme ids.
    pub phonemes: usize,
}

impl FixtureItem {
    /// An item `id` of `frames` frames and `frames / 4 + 3` phonemes.
    pub fn new(id: &str, frames: usize) -> Self {
        Self { id: id.to_string(), frames, phonemes: frames / 4 + 3 }
    }
}

fn dirs(dir: &Path, ssl: bool) {
    for f in Folder::ALL {
        if (f != Folder::Ssl || ssl) && f != Folder::Sv {
            std::fs::create_dir_all(dir.join(f.name())).expect("create fixture folder");
        }
    }
}

/// Writes every file of one item (ssl only when `ssl`), consistent with the rules.
pub fn write_item(dir: &Path, item: &FixtureItem, ssl: bool, seed: u64) {
    let t = item.frames;
    let samples = t * HOP + 17;
    let audio: Vec<f32> = pseudo_random(samples, seed).iter().map(|v| v * 0.5).collect();
    npy::write_f32(&Folder::Audio.file(dir, &item.id), &[samples], &audio).expect("audio");
    // spec[f, t] = f + t / 1000 (recognizable after transposition), plus seed.
    let spec: Vec<f32> = (0..1025 * t).map(|i| (i / t) as f32 + (i % t) as f32 / 1000.0 + seed as f32).collect();
    npy::write_f32(&Folder::Spec.file(dir, &item.id), &[1025, t], &spec).expect("spec");
    let ids: Vec<i32> = (0..item.phonemes).map(|i| ((i as u64 * 7 + seed) % 731 + 1) as i32).collect();
    npy::write_i32(&Folder::PhonemeIds.file(dir, &item.id), &[item.phonemes], &ids).expect("phonemes");
    let sem: Vec<i32> = (0..t / 2).map(|i| ((i as u64 * 13 + seed) % 1024) as i32).collect();
    npy::write_i32(&Folder::SemanticIds.file(dir, &item.id), &[t / 2], &sem).expect("semantic");
    if ssl {
        let feats: Vec<f32> = (0..768 * t).map(|i| (i / t) as f32 * 0.01 + (i % t) as f32).collect();
        npy::write_f32(&Folder::Ssl.file(dir, &item.id), &[768, t], &feats).expect("ssl");
    }
}

/// Writes a whole dataset: folders, every item, and `metadata.json`.
pub fn write_corpus(dir: &Path, items: &[FixtureItem], ssl: bool) -> Metadata {
    dirs(dir, ssl);
    for (i, it) in items.iter().enumerate() {
        write_item(dir, it, ssl, i as u64 + 1);
    }
    let meta = Metadata {
        version: 1,
        sampling_rate: SR,
        hop_length: HOP,
        units: Units::Hubert,
        items: items
            .iter()
            .map(|it| ItemMeta {
                id: it.id.clone(),
                speaker: "fixture".into(),
                text: format!("item {}", it.id),
                stem: None,
                samples: Some((it.frames * HOP + 17) as u64),
                frames: Some(it.frames as u64),
                phonemes: Some(it.phonemes as u64),
            })
            .collect(),
    };
    meta.save(dir).expect("metadata");
    meta
}

/// `n` items named `item_00..`, with frames cycling through short, medium and long.
pub fn varied_items(n: usize) -> Vec<FixtureItem> {
    (0..n).map(|i| FixtureItem::new(&format!("item_{i:02}"), 40 + (i * 37) % 120)).collect()
}
