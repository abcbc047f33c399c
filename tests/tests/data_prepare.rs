//! `prepare::run` round trip: what it writes, the loader reads with consistent
//! shapes. Needs `espeak-ng` on PATH (installed by setup); skipped without it.
//! The frontend here is a stand-in with the right framing (T = samples // 640),
//! so the test checks the pipeline, not the spectra.

use std::path::Path;

use mlx_rs::Array;
use sovits_core::data::metadata::Units;
use sovits_core::data::prepare::{run, PrepareOptions, PrepareUnits};
use sovits_core::data::Dataset;
use sovits_core::spec::DataSpec;
use sovits_core::{Result, SpectralFrontend};

struct FakeFrontend;

impl FakeFrontend {
    fn frames(audio: &Array, width: usize) -> Array {
        let s = audio.shape()[1] as usize;
        let t = s / 640;
        audio.eval().expect("eval");
        let x = audio.as_slice::<f32>();
        let v: Vec<f32> = (0..t * width).map(|i| x[(i / width) * 640].abs() + (i % width) as f32 * 1e-3).collect();
        Array::from_slice(&v, &[1, t as i32, width as i32])
    }
}

impl SpectralFrontend for FakeFrontend {
    fn hop_length(&self) -> usize {
        640
    }
    fn sampling_rate(&self) -> usize {
        32000
    }
    fn n_mels(&self) -> usize {
        8
    }
    fn n_freq(&self) -> usize {
        1025
    }
    fn linear(&self, audio: &Array) -> Result<Array> {
        Ok(Self::frames(audio, 1025))
    }
    fn mel(&self, audio: &Array) -> Result<Array> {
        Ok(Self::frames(audio, 8))
    }
    fn spec_to_mel(&self, spec: &Array) -> Result<Array> {
        Ok(spec.clone())
    }
}

/// A 16-bit mono PCM wav.
fn write_wav(path: &Path, rate: u32, x: &[f32]) {
    let data: Vec<u8> = x.iter().flat_map(|v| ((v * 32767.0) as i16).to_le_bytes()).collect();
    let mut b = Vec::new();
    b.extend(b"RIFF");
    b.extend((36 + data.len() as u32).to_le_bytes());
    b.extend(b"WAVEfmt ");
    b.extend(16u32.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(rate.to_le_bytes());
    b.extend((rate * 2).to_le_bytes());
    b.extend(2u16.to_le_bytes());
    b.extend(16u16.to_le_bytes());
    b.extend(b"data");
    b.extend((data.len() as u32).to_le_bytes());
    b.extend(data);
    std::fs::write(path, b).expect("wav");
}

#[test]
fn prepared_corpus_loads() -> anyhow::Result<()> {
    if std::process::Command::new("espeak-ng").arg("--version").output().is_err() {
        eprintln!("skipped: espeak-ng is not installed");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let audio_dir = tmp.path().join("wav");
    std::fs::create_dir_all(&audio_dir)?;
    let tone = |secs: f32, rate: u32| -> Vec<f32> {
        (0..(secs * rate as f32) as usize).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect()
    };
    write_wav(&audio_dir.join("a.wav"), 22050, &tone(1.5, 22050));
    write_wav(&audio_dir.join("b.wav"), 32000, &tone(2.0, 32000));
    write_wav(&audio_dir.join("short.wav"), 32000, &tone(0.3, 32000));
    let transcripts = tmp.path().join("t.txt");
    std::fs::write(&transcripts, "a|Hello there, friend.\nb|The river bends sharply.\nshort|Hi.\n")?;
    let out = tmp.path().join("ds");
    let opts = PrepareOptions {
        audio_dir,
        transcripts,
        out: out.clone(),
        units: PrepareUnits::Kmeans { k: 4 },
        voice: "en-us".into(),
        speaker: "test".into(),
        seed: 1,
    };
    let summary = run(&opts, &FakeFrontend)?;
    assert_eq!(summary.written, 2);
    assert_eq!(summary.dropped.len(), 1, "the 0.3 s clip is dropped and counted");
    assert!(summary.warnings[0].contains("NOT HuBERT"));
    let ds = Dataset::open(&out, &DataSpec::default(), 8 * 640, false)?;
    assert_eq!(ds.units(), Units::KmeansStandin);
    assert_eq!(ds.len(), 2);
    for (i, it) in ds.items().iter().enumerate() {
        let s = ds.read(i)?;
        assert_eq!(it.frames, it.samples / 640);
        assert_eq!(s.spec.len(), 1025 * it.frames);
        assert_eq!(s.text.len(), it.phonemes);
    }
    Ok(())
}

/// `--units ssl`: provided SSL features are written to `ssl/` and quantized by
/// the given quantizer into `semantic_ids/` (here a stand-in quantizer that
/// records its input shape and returns frame indices), and the dataset is
/// marked as HuBERT units; a missing feature file is named.
#[test]
fn prepared_corpus_with_ssl_features_loads() -> anyhow::Result<()> {
    if std::process::Command::new("espeak-ng").arg("--version").output().is_err() {
        eprintln!("skipped: espeak-ng is not installed");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let audio_dir = tmp.path().join("wav");
    let ssl_dir = tmp.path().join("ssl_in");
    std::fs::create_dir_all(&audio_dir)?;
    std::fs::create_dir_all(&ssl_dir)?;
    let samples = 32000 * 2;
    write_wav(&audio_dir.join("b.wav"), 32000, &(0..samples).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect::<Vec<_>>());
    let frames = samples / 640; // 100; one frame short is within the reference's tolerance
    let feats: Vec<f32> = (0..768 * (frames - 1)).map(|i| (i % 7) as f32).collect();
    sovits_core::data::npy::write_f32(&ssl_dir.join("b.npy"), &[768, frames - 1], &feats)?;
    let transcripts = tmp.path().join("t.txt");
    std::fs::write(&transcripts, "b|The river bends sharply.\n")?;
    let out = tmp.path().join("ds");
    let opts = PrepareOptions {
        audio_dir,
        transcripts,
        out: out.clone(),
        units: PrepareUnits::Ssl { dir: ssl_dir.clone() },
        voice: "en-us".into(),
        speaker: "test".into(),
        seed: 1,
    };
    assert!(run(&opts, &FakeFrontend).is_err(), "ssl units without a quantizer must be refused");
    let seen = std::cell::RefCell::new(Vec::new());
    let mut quantize = |x: &mlx_rs::Array| -> sovits_core::Result<mlx_rs::Array> {
        seen.borrow_mut().push(x.shape().to_vec());
        let half = x.shape()[1] / 2;
        Ok(mlx_rs::Array::from_iter(0..half, &[1, half]))
    };
    sovits_core::data::prepare::run_with(&opts, &FakeFrontend, Some(&mut quantize))?;
    assert_eq!(*seen.borrow(), vec![vec![1, frames as i32, 768]], "features padded to the spec frames, channels-last");
    let ds = Dataset::open(&out, &DataSpec::default(), 8 * 640, false)?;
    assert_eq!(ds.units(), Units::Hubert);
    let s = ds.read(0)?;
    assert_eq!(s.ssl.as_ref().map(Vec::len), Some(768 * frames));
    // the loader reads ssl when present; the quantizer's codes are on disk
    let (_, codes) = sovits_core::data::npy::read_i32(&out.join("semantic_ids").join("b.npy"))?;
    assert_eq!(codes, (0..(frames / 2) as i32).collect::<Vec<_>>());

    std::fs::remove_file(ssl_dir.join("b.npy"))?;
    let err = sovits_core::data::prepare::run_with(&opts, &FakeFrontend, Some(&mut quantize)).err().expect("missing features");
    assert!(err.to_string().contains("b.npy"), "{err}");
    Ok(())
}

/// FLAC input decodes to exactly the samples of the same clip as 16-bit wav
/// (`tests/golden/flac/`, written by `gen_flac.py`), and `read_audio` falls
/// back to `<stem>.flac` when there is no wav.
#[test]
fn flac_decodes_like_the_same_wav() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/flac");
    let (flac, rate_f) = sovits_core::data::prepare::read_flac(&dir.join("tone.flac"))?;
    let (wav, rate_w) = sovits_core::data::prepare::read_wav(&dir.join("tone.wav"))?;
    assert_eq!((rate_f, rate_w), (22050, 22050));
    assert_eq!(flac, wav);
    let tmp = tempfile::tempdir()?;
    std::fs::copy(dir.join("tone.flac"), tmp.path().join("x.flac"))?;
    let (x, _, used) = sovits_core::data::prepare::read_audio(tmp.path(), "x")?;
    assert_eq!(x, wav);
    assert!(used.ends_with("x.flac"));
    let err = sovits_core::data::prepare::read_flac(&dir.join("tone.wav")).err().expect("a wav is not flac").to_string();
    assert!(err.contains("tone.wav") && err.contains("cannot decode flac"), "{err}");
    Ok(())
}
