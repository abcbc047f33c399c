//! A validated dataset directory: the usable items, their lengths, and reads
//! of one item's arrays at a time.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::layout::{self, Folder};
use super::metadata::{Metadata, Units, METADATA_FILE};
use super::npy;
use super::report::{Problem, Report};
use super::validate::{check_item, Rules};
use crate::error::{Error, Result};
use crate::spec::DataSpec;

/// Which content input the generator gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `ssl/` features `[768, T]` (the reference trains from these).
    Ssl,
    /// `semantic_ids/` `[T/2]` through the model's codebook (no `ssl/` folder).
    Semantic,
}

/// A usable item with its lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Utterance id.
    pub id: String,
    /// File stem.
    pub stem: String,
    /// Speaker name.
    pub speaker: String,
    /// Audio samples.
    pub samples: usize,
    /// Spectrogram frames.
    pub frames: usize,
    /// Phoneme ids.
    pub phonemes: usize,
}

/// One item's arrays in host memory, torch layout as on disk.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Linear spectrogram `[1025, frames]` row-major.
    pub spec: Vec<f32>,
    /// Spectrogram frames.
    pub frames: usize,
    /// SSL features `[768, frames]` row-major, aligned to the spec (Input::Ssl).
    pub ssl: Option<Vec<f32>>,
    /// Semantic ids `[n]` (Input::Semantic).
    pub semantic: Option<Vec<i32>>,
    /// Phoneme ids.
    pub text: Vec<i32>,
    /// Waveform.
    pub audio: Vec<f32>,
    /// Speaker-verification embedding `[20480]` when the dataset has `sv/`.
    pub sv: Option<Vec<f32>>,
}

/// A dataset directory opened and validated.
#[derive(Debug, Clone)]
pub struct Dataset {
    dir: PathBuf,
    meta: Metadata,
    items: Vec<Item>,
    input: Input,
    has_sv: bool,
    report: Report,
}

fn meta_problem(dir: &Path, item: Option<&str>, field: &str, expected: String, found: String) -> Problem {
    Problem { path: dir.join(METADATA_FILE), item: item.map(str::to_string), field: field.into(), expected, found }
}

impl Dataset {
    /// Opens `dir`, checks every item (see `validate.rs`) and builds one [`Report`].
    ///
    /// With problems, returns `Error::Data` whose message is the whole report, unless
    /// `skip_bad` is set: then bad items are left out and counted in `report().skipped`.
    /// A missing or unparseable `metadata.json`, a sampling rate or hop that differs
    /// from `spec`, or no usable item at all is always an error.
    pub fn open(dir: &Path, spec: &DataSpec, segment_size: usize, skip_bad: bool) -> Result<Self> {
        let mut ds = Self::scan(dir, spec, segment_size)?;
        if !ds.report.is_ok() {
            if !skip_bad {
                return Err(Error::Data {
                    path: dir.to_path_buf(),
                    message: format!(
                        "dataset refused (set trainer.skip_bad_items to train without the bad items)\n{}",
                        ds.report
                    ),
                });
            }
            ds.report.skipped = ds.report.bad_items.len();
        }
        if ds.items.is_empty() {
            return Err(Error::Data {
                path: dir.to_path_buf(),
                message: format!("no usable items: expected at least 1, found 0\n{}", ds.report),
            });
        }
        Ok(ds)
    }

    /// Validates `dir` and returns the full report without refusing anything:
    /// what `sovits data check DIR` prints. Errors only when `metadata.json` is
    /// unreadable or disagrees with the spec's sampling rate or hop.
    pub fn check(dir: &Path, spec: &DataSpec, segment_size: usize) -> Result<Report> {
        Ok(Self::scan(dir, spec, segment_size)?.report)
    }

    /// Reads metadata and checks every item; keeps the usable ones.
    fn scan(dir: &Path, spec: &DataSpec, segment_size: usize) -> Result<Self> {
        let meta = Metadata::load(dir)?;
        let meta_path = dir.join(METADATA_FILE);
        if meta.sampling_rate != spec.sampling_rate {
            return Err(Error::Data {
                path: meta_path,
                message: format!("field `sampling_rate`: expected {} (spec data.sampling_rate), found {}", spec.sampling_rate, meta.sampling_rate),
            });
        }
        if meta.hop_length != spec.hop_length {
            return Err(Error::Data {
                path: meta_path,
                message: format!("field `hop_length`: expected {} (spec data.hop_length), found {}", spec.hop_length, meta.hop_length),
            });
        }
        let has_ssl = dir.join(Folder::Ssl.name()).is_dir();
        let has_sv = dir.join(Folder::Sv.name()).is_dir();
        let rules = Rules { sampling_rate: meta.sampling_rate, hop_length: meta.hop_length, segment_size, has_ssl, has_sv };
        let mut report = Report { dir: dir.to_path_buf(), items: meta.items.len(), ..Report::default() };
        let mut items = Vec::with_capacity(meta.items.len());

        // Duplicate ids and stems make the files ambiguous: both items are bad.
        let mut seen_id: HashMap<&str, usize> = HashMap::new();
        let mut seen_stem: HashMap<&str, usize> = HashMap::new();
        for it in &meta.items {
            *seen_id.entry(it.id.as_str()).or_default() += 1;
            *seen_stem.entry(it.stem()).or_default() += 1;
        }

        for it in &meta.items {
            let mut problems = Vec::new();
            if seen_id.get(it.id.as_str()).copied().unwrap_or(0) > 1 {
                problems.push(meta_problem(dir, Some(&it.id), "duplicate id", "unique item ids".into(), format!("`{}` more than once", it.id)));
            }
            if seen_stem.get(it.stem()).copied().unwrap_or(0) > 1 {
                problems.push(meta_problem(dir, Some(&it.id), "duplicate stem", "unique file stems".into(), format!("`{}` more than once", it.stem())));
            }
            let (lengths, item_problems) = check_item(dir, it, &rules);
            problems.extend(item_problems);
            match lengths {
                Some(l) if problems.is_empty() => items.push(Item {
                    id: it.id.clone(),
                    stem: it.stem().to_string(),
                    speaker: it.speaker.clone(),
                    samples: l.samples,
                    frames: l.frames,
                    phonemes: l.phonemes,
                }),
                _ => {
                    report.bad_items.push(it.id.clone());
                    report.problems.extend(problems);
                }
            }
        }
        report.warnings = extra_files(dir, &meta);
        let input = if has_ssl { Input::Ssl } else { Input::Semantic };
        Ok(Self { dir: dir.to_path_buf(), meta, items, input, has_sv, report })
    }

    /// The dataset directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed `metadata.json`.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Origin of the semantic ids (`kmeans-standin` marks the stand-in).
    pub fn units(&self) -> Units {
        self.meta.units
    }

    /// Which content input batches carry.
    pub fn input(&self) -> Input {
        self.input
    }

    /// The validation report (with the count of skipped items).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The usable items.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Number of usable items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is no usable item (never after a successful `open`).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Spectrogram frames of every usable item (what the sampler buckets on).
    pub fn frame_lengths(&self) -> Vec<usize> {
        self.items.iter().map(|i| i.frames).collect()
    }

    /// Reads item `index`'s arrays from disk, ssl aligned to the spec.
    ///
    /// The reference pads ssl by one replicated frame when its length differs from
    /// the spec's; here ssl is made exactly `frames` long: missing trailing frames
    /// (at most 2 after validation) repeat the last frame, extra ones are dropped.
    pub fn read(&self, index: usize) -> Result<Sample> {
        let item = self.items.get(index).ok_or_else(|| Error::Data {
            path: self.dir.clone(),
            message: format!("item index: expected < {}, found {index}", self.items.len()),
        })?;
        let stem = item.stem.as_str();
        let (_, spec) = npy::read_f32(&Folder::Spec.file(&self.dir, stem))?;
        let (_, audio) = npy::read_f32(&Folder::Audio.file(&self.dir, stem))?;
        let (_, text) = npy::read_i32(&Folder::PhonemeIds.file(&self.dir, stem))?;
        let frames = item.frames;
        let (ssl, semantic) = match self.input {
            Input::Ssl => {
                let path = Folder::Ssl.file(&self.dir, stem);
                let (info, raw) = npy::read_f32(&path)?;
                let t = info.shape.get(1).copied().unwrap_or(0);
                if t == 0 {
                    return Err(Error::Data { path, message: "ssl frames: expected at least 1, found 0".into() });
                }
                (Some(align_frames(&raw, layout::SSL_DIM, t, frames)), None)
            }
            Input::Semantic => {
                let (_, ids) = npy::read_i32(&Folder::SemanticIds.file(&self.dir, stem))?;
                (None, Some(ids))
            }
        };
        let sv = self.read_sv(stem)?;
        Ok(Sample { spec, frames, ssl, semantic, text, audio, sv })
    }

    /// True when the dataset has an `sv/` folder (GPT-SoVITS v2Pro embeddings).
    pub fn has_sv(&self) -> bool {
        self.has_sv
    }

    /// `sv/<stem>.npy` `[20480]` when the dataset has `sv/`, else `None`.
    pub fn read_sv(&self, stem: &str) -> Result<Option<Vec<f32>>> {
        if !self.has_sv {
            return Ok(None);
        }
        let path = Folder::Sv.file(&self.dir, stem);
        let (info, data) = npy::read_f32(&path)?;
        if info.shape != [layout::SV_DIM] {
            return Err(Error::Data {
                path,
                message: format!("shape: expected [{}], found {:?}", layout::SV_DIM, info.shape),
            });
        }
        Ok(Some(data))
    }
}

/// `[c, t]` row-major to `[c, frames]`: replicate the last frame or truncate.
fn align_frames(raw: &[f32], c: usize, t: usize, frames: usize) -> Vec<f32> {
    if t == frames {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(c * frames);
    for row in raw.chunks(t).take(c) {
        for j in 0..frames {
            out.push(row[j.min(t - 1)]);
        }
    }
    out
}

/// Files in the item folders that no metadata item names (warnings).
fn extra_files(dir: &Path, meta: &Metadata) -> Vec<Problem> {
    let stems: BTreeSet<String> = meta.items.iter().map(|i| format!("{}.npy", i.stem())).collect();
    let mut out = Vec::new();
    for folder in Folder::ALL {
        let Ok(entries) = std::fs::read_dir(dir.join(folder.name())) else { continue };
        let mut names: Vec<String> =
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            if !stems.contains(&name) {
                out.push(Problem {
                    path: dir.join(folder.name()).join(&name),
                    item: None,
                    field: "extra file".into(),
                    expected: "a metadata.json item with this stem".into(),
                    found: "none (file ignored)".into(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::align_frames;

    #[test]
    fn ssl_alignment_replicates_and_truncates() {
        // c = 2, t = 2: [[1, 2], [3, 4]]
        assert_eq!(align_frames(&[1., 2., 3., 4.], 2, 2, 3), vec![1., 2., 2., 3., 4., 4.]);
        assert_eq!(align_frames(&[1., 2., 3., 4.], 2, 2, 1), vec![1., 3.]);
    }
}
