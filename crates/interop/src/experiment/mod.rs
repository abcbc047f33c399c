//! `sovits prepare --from-gpt-sovits logs/<exp>`: a GPT-SoVITS experiment
//! folder -> a sovits dataset, without Python.
//!
//! Read (formats of GPT-SoVITS commit 48b1a01, `prepare_datasets/1-get-text.py`,
//! `2-get-hubert-wav32k.py`, `3-get-semantic.py`, `module/data_utils.py`):
//! `2-name2text.txt` (phones per item, see [`lists`]), `4-cnhubert/<name>.pt`
//! (`[1, 768, T]` HuBERT features, fp16 or f32, often a non-contiguous view
//! with `requires_grad`), `5-wav32k/<name>` (32 kHz 16-bit mono, already
//! peak-normalised: used as it is), `6-name2semantic.tsv` when present, and
//! `7-sv_cn/<name>.pt` when that folder exists (v2Pro/v2ProPlus
//! speaker-verification embeddings, `[1, 20480]` fp16 or f32, written by
//! `prepare_datasets/2-get-sv.py`). Names keep the audio extension
//! (`a.wav`, `a.wav.pt`).
//!
//! Written: `audio/ spec/ phoneme_ids/ ssl/ [semantic_ids/] [sv/]` `.npy` files
//! and `metadata.json` with `"units": "hubert"`. Phones map to ids through
//! the v2 symbol table, with no blanks between them (as GPT-SoVITS).
//! Every inconsistency is reported per item in a `data check` report:
//! an item with a feature file but no wav (or the reverse), an unknown
//! phone, a `.pt` of the wrong shape, a wav at another rate, semantic ids
//! missing or of the wrong count, an item without its `7-sv_cn` file when
//! that folder exists. Names only in the folders, or only in
//! `2-name2text.txt` with neither file (clips GPT-SoVITS's step 2 dropped),
//! and clips outside 0.6 s .. 54 s are warnings: GPT-SoVITS skips them too.

pub mod item;
pub mod lists;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mlx_rs::Array;
use sovits_core::components::SpectralFrontend;
use sovits_core::data::layout::{CODEBOOK_SIZE, Folder, MAX_SECONDS, MIN_SECONDS, SSL_DIM};
use sovits_core::data::metadata::{ItemMeta, Metadata, Units};
use sovits_core::data::npy;
use sovits_core::data::report::{Problem, Report};

use crate::error::{InteropError, Result};
use item::{Problems, align_ssl, item_path, phone_ids, read_ssl, read_sv, read_wav};

/// What [`import_experiment`] did.
#[derive(Debug, Clone, Default)]
pub struct ExperimentOutcome {
    /// Per-item problems and warnings, as `data check` prints them.
    pub report: Report,
    /// Items written into the dataset.
    pub written: usize,
    /// Whether `metadata.json` was written (no problems, or `skip_bad`).
    pub dataset_written: bool,
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> InteropError {
    InteropError::Io { action, path: path.to_path_buf(), source }
}

/// File names in `dir` (empty when it does not exist).
fn names(dir: &Path) -> Result<BTreeSet<String>> {
    if !dir.is_dir() {
        return Ok(BTreeSet::new());
    }
    let rd = std::fs::read_dir(dir).map_err(|e| io("list", dir, e))?;
    Ok(rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
}

fn warn(report: &mut Report, path: &Path, item: &str, field: &str, expected: &str, found: impl Into<String>) {
    report.warnings.push(Problem { path: path.to_path_buf(), item: Some(item.into()), field: field.into(), expected: expected.into(), found: found.into() });
}

/// Converts experiment folder `exp` into a dataset at `out`, computing
/// spectrograms with `frontend`. `progress(done, total)` is called after
/// each item. With problems, `metadata.json` is written only when
/// `skip_bad` (then without the bad items).
pub fn import_experiment(
    exp: &Path,
    out: &Path,
    frontend: &dyn SpectralFrontend,
    skip_bad: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ExperimentOutcome> {
    let text_file = exp.join("2-name2text.txt");
    let (lines, notes) = lists::name2text(&text_file)?;
    let (hubert, wavs) = (exp.join("4-cnhubert"), exp.join("5-wav32k"));
    let (pt_names, wav_names) = (names(&hubert)?, names(&wavs)?);
    let sv_dir = exp.join("7-sv_cn");
    let with_sv = sv_dir.is_dir();
    let sem_file = exp.join("6-name2semantic.tsv");
    let semantic = if sem_file.is_file() { Some(lists::name2semantic(&sem_file)?) } else { None };
    let mut report = Report { dir: out.to_path_buf(), items: lines.len(), ..Default::default() };
    for (line, fields) in notes {
        let found = format!("{fields} (line skipped, as GPT-SoVITS does)");
        warn(&mut report, &text_file, "", &format!("line {line}: tab-separated fields"), "4 (name, phones, word2ph, text)", found);
    }
    let listed: BTreeSet<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    for (dir, pts) in [(&hubert, pt_names), (&sv_dir, names(&sv_dir)?)] {
        for pt in &pts {
            let name = pt.strip_suffix(".pt").unwrap_or(pt);
            if !listed.contains(name) {
                warn(&mut report, &dir.join(pt), name, "name", "a line in 2-name2text.txt", "none (not imported)");
            }
        }
    }
    for w in wav_names.iter().filter(|w| !listed.contains(w.as_str())) {
        warn(&mut report, &wavs.join(w), w, "name", "a line in 2-name2text.txt", "none (not imported)");
    }
    let mut folders = vec![Folder::Audio, Folder::Spec, Folder::PhonemeIds, Folder::Ssl];
    if semantic.is_some() {
        folders.push(Folder::SemanticIds);
    }
    if with_sv {
        folders.push(Folder::Sv);
    }
    for f in &folders {
        let d = out.join(f.name());
        std::fs::create_dir_all(&d).map_err(|e| io("create", &d, e))?;
    }
    let (sr, hop) = (frontend.sampling_rate(), frontend.hop_length());
    let mut items = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        progress(i, lines.len());
        let mut p = Problems { item: l.name.clone(), list: Vec::new() };
        let (pt, wav) = (item_path(&hubert, &l.name, ".pt"), item_path(&wavs, &l.name, ""));
        match (pt.is_file(), wav.is_file()) {
            (false, false) => {
                warn(&mut report, &text_file, &l.name, &format!("line {}", l.line), "4-cnhubert and 5-wav32k files", "neither (skipped, as GPT-SoVITS does)");
                continue;
            }
            (true, false) => p.push(&wav, "file", "the item's 32 kHz wav (it has a 4-cnhubert file)", "missing"),
            (false, true) => p.push(&pt, "file", "the item's HuBERT features (it has a 5-wav32k file)", "missing"),
            (true, true) => {}
        }
        let ids = phone_ids(&l.phones, &text_file, l.line, &mut p);
        let sem = match semantic.as_ref().map(|s| s.get(&l.name)) {
            None => None,
            Some(None) => {
                p.push(&sem_file, "item", "a line for the item", "none");
                None
            }
            Some(Some(s)) => match &s.ids {
                Err(tok) => {
                    p.push(&sem_file, &format!("line {}: semantic id", s.line), "an integer", format!("`{tok}`"));
                    None
                }
                Ok(v) => Some((s.line, v.clone())),
            },
        };
        let x = if wav.is_file() { read_wav(&wav, sr, &mut p) } else { None };
        let ssl = if pt.is_file() { read_ssl(&pt, &mut p) } else { None };
        let svp = item_path(&sv_dir, &l.name, ".pt");
        let sv = match (with_sv, svp.is_file()) {
            (false, _) => None,
            (true, true) => read_sv(&svp, &mut p),
            (true, false) => {
                p.push(&svp, "file", "the item's speaker-verification embedding (7-sv_cn exists)", "missing");
                None
            }
        };
        if let Some(x) = &x {
            let secs = x.len() as f64 / sr as f64;
            if !(secs > MIN_SECONDS && secs < MAX_SECONDS) {
                warn(&mut report, &wav, &l.name, "duration", "0.6 s .. 54 s (GPT-SoVITS skips others)", format!("{secs:.3} s (skipped)"));
                continue;
            }
        }
        let (Some(x), Some((ssl, frames)), Some(ids)) = (x, ssl, ids) else {
            report.problems.extend(p.list);
            report.bad_items.push(l.name.clone());
            continue;
        };
        let t = x.len() / hop;
        let aligned = align_ssl(&ssl, frames, t, &pt, &mut p);
        if let Some((line, v)) = &sem {
            let want = frames / 2;
            if v.len() != want {
                p.push(&sem_file, &format!("line {line}: semantic length"), format!("{want} (4-cnhubert frames {frames} // 2)"), v.len().to_string());
            }
            if let Some(bad) = v.iter().find(|&&c| !(0..CODEBOOK_SIZE).contains(&c)) {
                p.push(&sem_file, &format!("line {line}: semantic id"), format!("0..{CODEBOOK_SIZE}"), bad.to_string());
            }
        }
        let Some(aligned) = aligned.filter(|_| p.list.is_empty()) else {
            report.problems.extend(p.list);
            report.bad_items.push(l.name.clone());
            continue;
        };
        let extra = Extra { sem: sem.as_ref().map(|s| s.1.as_slice()), sv: sv.as_deref() };
        write_item(out, &l.name, &x, &aligned, t, &ids, extra, frontend)?;
        items.push(ItemMeta { id: l.name.clone(), speaker: String::new(), text: l.text.clone(), stem: None, samples: Some(x.len() as u64), frames: Some(t as u64), phonemes: Some(ids.len() as u64) });
    }
    progress(lines.len(), lines.len());
    let written = items.len();
    let dataset_written = report.problems.is_empty() || skip_bad;
    if dataset_written {
        Metadata { version: 1, sampling_rate: sr, hop_length: hop, units: Units::Hubert, items }.save(out)?;
    }
    Ok(ExperimentOutcome { report, written, dataset_written })
}

/// An item's optional data: semantic ids, sv embedding.
struct Extra<'a> {
    sem: Option<&'a [i32]>,
    sv: Option<&'a [f32]>,
}

/// Writes one item's `.npy` files (`ssl` is `[768, t]` row-major).
#[allow(clippy::too_many_arguments)]
fn write_item(out: &Path, stem: &str, x: &[f32], ssl: &[f32], t: usize, ids: &[i32], extra: Extra, frontend: &dyn SpectralFrontend) -> Result<()> {
    let lin = frontend.linear(&Array::from_slice(x, &[1, x.len() as i32]))?; // [1, T, F]
    let nf = frontend.n_freq();
    let spec = lin.reshape(&[t as i32, nf as i32])?.transpose_axes(&[1, 0])?.reshape(&[-1])?;
    spec.eval()?;
    let file = |f: Folder| -> PathBuf { f.file(out, stem) };
    npy::write_f32(&file(Folder::Audio), &[x.len()], x)?;
    npy::write_f32(&file(Folder::Spec), &[nf, t], spec.as_slice::<f32>())?;
    npy::write_i32(&file(Folder::PhonemeIds), &[ids.len()], ids)?;
    npy::write_f32(&file(Folder::Ssl), &[SSL_DIM, t], ssl)?;
    if let Some(sem) = extra.sem {
        npy::write_i32(&file(Folder::SemanticIds), &[sem.len()], sem)?;
    }
    if let Some(sv) = extra.sv {
        npy::write_f32(&file(Folder::Sv), &[sv.len()], sv)?;
    }
    Ok(())
}
