//! Per-item checks: every file of one metadata item against the layout's rules.
//!
//! Rules (facts from GPT-SoVITS `module/data_utils.py` and `mel_processing.py`):
//! * dtypes and ranks as in [`Folder`]; phoneme ids in `0..732`, semantic ids in `0..1024`.
//! * spec frames == samples // hop exactly: the reference computes the spec from the
//!   audio (`center=False`, reflect pad (n_fft - hop)/2 = 704 each side), which gives
//!   exactly samples // hop frames, so there is no tolerance.
//! * |ssl frames - samples // hop| < 3 (the reference's assert in `random_slice`);
//!   the loader then aligns ssl to the spec frame for frame (see `dataset.rs`).
//! * semantic ids are the quantizer's 25 Hz codes of the ssl (`ssl_proj` has kernel 2,
//!   stride 2), so their count is ssl frames // 2: with the ssl tolerance, within
//!   `(T - 2) // 2 ..= (T + 2) // 2` for T spec frames.
//! * every value finite; 0.6 s < duration < 54 s (the reference's filter); more frames
//!   than the segment (the reference's sampler drops items with <= 32 frames, its
//!   first bucket boundary = segment frames).
//! * lengths given in `metadata.json` equal the files'.

use std::path::{Path, PathBuf};

use super::layout::{self, Folder};
use super::metadata::ItemMeta;
use super::npy::{self, Elem, NpyInfo};
use super::report::Problem;
use crate::error::Error;

/// The numbers an item is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Sampling rate in Hz.
    pub sampling_rate: usize,
    /// Samples per frame.
    pub hop_length: usize,
    /// Training segment in samples.
    pub segment_size: usize,
    /// True when the dataset has an `ssl/` folder (then every item needs one).
    pub has_ssl: bool,
    /// The dataset has an `sv/` folder: every item needs `sv/<stem>.npy`.
    pub has_sv: bool,
}

/// Lengths of a valid item, read from its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lengths {
    /// Audio samples.
    pub samples: usize,
    /// Spectrogram frames.
    pub frames: usize,
    /// Phoneme ids.
    pub phonemes: usize,
}

struct Checker<'a> {
    dir: &'a Path,
    item: &'a ItemMeta,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn push(&mut self, path: PathBuf, field: &str, expected: impl Into<String>, found: impl Into<String>) {
        self.problems.push(Problem {
            path,
            item: Some(self.item.id.clone()),
            field: field.to_string(),
            expected: expected.into(),
            found: found.into(),
        });
    }

    fn path(&self, folder: Folder) -> PathBuf {
        folder.file(self.dir, self.item.stem())
    }

    /// Header of `folder`'s file, with missing-file, dtype and rank checks.
    /// `None` when the file is unusable (problems already recorded).
    fn header(&mut self, folder: Folder, elems: &[Elem], rank: usize, shape_doc: &str) -> Option<NpyInfo> {
        let path = self.path(folder);
        if !path.is_file() {
            let rel = format!("{}/{}.npy", folder.name(), self.item.stem());
            self.push(path, "missing file", rel, "no such file");
            return None;
        }
        let info = match npy::header(&path) {
            Ok(i) => i,
            Err(e) => {
                let found = match e {
                    Error::Data { message, .. } => message,
                    other => other.to_string(),
                };
                self.push(path, "npy header", "a valid .npy file", found);
                return None;
            }
        };
        let mut ok = true;
        if !elems.contains(&info.elem) {
            let want: Vec<&str> = elems.iter().map(|e| e.descr()).collect();
            self.push(path.clone(), "dtype", want.join(" or "), info.descr.clone());
            ok = false;
        }
        if info.shape.len() != rank {
            self.push(path, "shape", format!("rank {rank} {shape_doc}"), format!("{:?}", info.shape));
            ok = false;
        }
        ok.then_some(info)
    }

    fn finite(&mut self, folder: Folder, data: &[f32]) {
        let mut bad = data.iter().enumerate().filter(|(_, v)| !v.is_finite());
        if let Some((i, v)) = bad.next() {
            let n = 1 + bad.count();
            self.push(self.path(folder), "non-finite value", "finite values", format!("{v} at index {i} ({n} non-finite)"));
        }
    }

    /// Audio must lie in [-1, 1] (docs/data-format.md).
    fn unit_range(&mut self, folder: Folder, data: &[f32]) {
        let mut bad = data.iter().enumerate().filter(|(_, v)| v.abs() > 1.0);
        if let Some((i, v)) = bad.next() {
            let n = 1 + bad.count();
            self.push(self.path(folder), "audio range", "samples in [-1, 1]", format!("{v} at index {i} ({n} outside)"));
        }
    }

    fn read_f32(&mut self, folder: Folder) -> Option<Vec<f32>> {
        match npy::read_f32(&self.path(folder)) {
            Ok((_, d)) => Some(d),
            Err(e) => {
                self.push(self.path(folder), "npy data", "readable float32 data", e.to_string());
                None
            }
        }
    }

    fn read_i32(&mut self, folder: Folder) -> Option<Vec<i32>> {
        match npy::read_i32(&self.path(folder)) {
            Ok((_, d)) => Some(d),
            Err(e) => {
                self.push(self.path(folder), "npy data", "readable int32 data", e.to_string());
                None
            }
        }
    }

    fn ids_below(&mut self, folder: Folder, field: &str, ids: &[i32], limit: i32, table: &str) {
        let mut bad = ids.iter().enumerate().filter(|(_, v)| **v < 0 || **v >= limit);
        if let Some((i, v)) = bad.next() {
            let n = 1 + bad.count();
            self.push(self.path(folder), field, format!("0 <= id < {limit} ({table})"), format!("{v} at index {i} ({n} out of range)"));
        }
    }

    fn meta_len(&mut self, field: &str, given: Option<u64>, actual: usize, source: Folder) {
        if let Some(g) = given {
            if g != actual as u64 {
                let path = self.dir.join(super::metadata::METADATA_FILE);
                self.push(path, field, format!("{actual} (from {}/{}.npy)", source.name(), self.item.stem()), format!("{g} for item `{}`", self.item.id));
            }
        }
    }
}

/// Checks every file of `item`; returns its lengths (when readable) and all problems.
pub fn check_item(dir: &Path, item: &ItemMeta, rules: &Rules) -> (Option<Lengths>, Vec<Problem>) {
    let mut c = Checker { dir, item, problems: Vec::new() };
    let hop = rules.hop_length.max(1);

    // Audio: everything else is measured against its length.
    let mut samples = None;
    if let Some(info) = c.header(Folder::Audio, &[Elem::F32], 1, "[samples]") {
        let n = info.shape[0];
        samples = Some(n);
        if let Some(data) = c.read_f32(Folder::Audio) {
            c.finite(Folder::Audio, &data);
            c.unit_range(Folder::Audio, &data);
        }
        c.meta_len("metadata samples", item.samples, n, Folder::Audio);
        let secs = n as f64 / rules.sampling_rate as f64;
        if !(secs > layout::MIN_SECONDS && secs < layout::MAX_SECONDS) {
            c.push(
                c.path(Folder::Audio),
                "duration",
                format!("{} s < duration < {} s", layout::MIN_SECONDS, layout::MAX_SECONDS),
                format!("{secs:.3} s ({n} samples at {} Hz)", rules.sampling_rate),
            );
        }
    }
    let want_frames = samples.map(|s| s / hop);

    let mut frames = None;
    if let Some(info) = c.header(Folder::Spec, &[Elem::F32], 2, "[1025, T]") {
        let (f, t) = (info.shape[0], info.shape[1]);
        if f != layout::N_FREQ {
            c.push(c.path(Folder::Spec), "shape", format!("[{}, T] (n_fft 2048)", layout::N_FREQ), format!("{:?}", info.shape));
        } else {
            frames = Some(t);
            if let Some(data) = c.read_f32(Folder::Spec) {
                c.finite(Folder::Spec, &data);
            }
        }
        if let (Some(s), Some(w)) = (samples, want_frames) {
            if t != w {
                c.push(c.path(Folder::Spec), "spec frames", format!("{w} (= {s} samples // {hop})"), t.to_string());
            }
        }
        c.meta_len("metadata frames", item.frames, t, Folder::Spec);
        let seg_frames = rules.segment_size / hop;
        if t <= seg_frames {
            c.push(
                c.path(Folder::Spec),
                "segment",
                format!("more than {seg_frames} frames (segment {} samples / {hop})", rules.segment_size),
                format!("{t} frames"),
            );
        }
    }

    let mut phonemes = None;
    if let Some(info) = c.header(Folder::PhonemeIds, &[Elem::I32], 1, "[L]") {
        let l = info.shape[0];
        if l == 0 {
            c.push(c.path(Folder::PhonemeIds), "shape", "at least one phoneme id", "[0]");
        } else {
            phonemes = Some(l);
        }
        if let Some(ids) = c.read_i32(Folder::PhonemeIds) {
            c.ids_below(Folder::PhonemeIds, "phoneme id", &ids, layout::N_SYMBOLS, "GPT-SoVITS v2 symbol table");
        }
        c.meta_len("metadata phonemes", item.phonemes, l, Folder::PhonemeIds);
    }

    if rules.has_ssl {
        if let Some(info) = c.header(Folder::Ssl, &[Elem::F32], 2, "[768, T]") {
            let (d, t) = (info.shape[0], info.shape[1]);
            if d != layout::SSL_DIM {
                c.push(c.path(Folder::Ssl), "shape", format!("[{}, T] (HuBERT features)", layout::SSL_DIM), format!("{:?}", info.shape));
            } else if let Some(data) = c.read_f32(Folder::Ssl) {
                c.finite(Folder::Ssl, &data);
            }
            if let (Some(s), Some(w)) = (samples, want_frames) {
                if t.abs_diff(w) >= layout::SSL_TOLERANCE {
                    c.push(
                        c.path(Folder::Ssl),
                        "ssl frames",
                        format!("|ssl frames - {w}| < {} ({w} = {s} samples // {hop})", layout::SSL_TOLERANCE),
                        t.to_string(),
                    );
                }
            }
        }
    }

    // semantic_ids: required without ssl/, checked when present.
    let sem_path = c.path(Folder::SemanticIds);
    if !rules.has_ssl || sem_path.is_file() {
        if c.header(Folder::SemanticIds, &[Elem::I32], 1, "[T/2]").is_some() {
            if let Some(ids) = c.read_i32(Folder::SemanticIds) {
                c.ids_below(Folder::SemanticIds, "semantic id", &ids, layout::CODEBOOK_SIZE, "codebook size");
                let n = ids.len();
                let expected = frames.or(want_frames).map(|t| {
                    let (lo, hi) = (t.saturating_sub(2) / 2, (t + 2) / 2);
                    (lo, hi, format!("{lo}..={hi} (ssl frames // 2 with |ssl - {t}| < 3)"))
                });
                if let Some((lo, hi, doc)) = expected {
                    if n < lo || n > hi {
                        c.push(c.path(Folder::SemanticIds), "semantic length", doc, n.to_string());
                    }
                }
            }
        }
    }

    // bert_features: optional and unused by SoVITS; checked when present.
    if rules.has_sv {
        if let Some(info) = c.header(Folder::Sv, &[Elem::F32], 1, "[20480]") {
            if info.shape != [layout::SV_DIM] {
                c.push(c.path(Folder::Sv), "shape", format!("[{}] (speaker-verification embedding)", layout::SV_DIM), format!("{:?}", info.shape));
            } else if let Some(data) = c.read_f32(Folder::Sv) {
                c.finite(Folder::Sv, &data);
            }
        }
    }

    if c.path(Folder::BertFeatures).is_file() {
        if let Some(info) = c.header(Folder::BertFeatures, &[Elem::F32, Elem::F16], 2, "[1024, L]") {
            if let Some(l) = phonemes {
                if info.shape != [layout::BERT_DIM, l] {
                    c.push(c.path(Folder::BertFeatures), "shape", format!("[{}, {l}] (one column per phoneme id)", layout::BERT_DIM), format!("{:?}", info.shape));
                }
            }
        }
    }

    let lengths = match (samples, frames, phonemes) {
        (Some(samples), Some(frames), Some(phonemes)) if c.problems.is_empty() => {
            Some(Lengths { samples, frames, phonemes })
        }
        _ => None,
    };
    (lengths, c.problems)
}
