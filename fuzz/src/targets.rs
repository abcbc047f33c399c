//! The loaders every fuzz target drives, one function per target: each
//! writes the input bytes to a file in a fresh temporary directory and calls
//! the loader a user's file reaches. An `Err` is the expected answer to a bad
//! file; a panic (or an abort) is the bug. `fuzz/fuzz_targets/*.rs` and the
//! stable suite (`tests/tests/fuzz_replay.rs`) include this one file
//! (`#[path]`), so both call these same functions.

use std::path::{Path, PathBuf};

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file), the
/// function and the fixture files that seed its corpus.
pub struct Target {
    /// Name of the cargo-fuzz target and of its corpus folder.
    pub name: &'static str,
    /// The loader under test.
    pub run: fn(&[u8]) -> Result<(), String>,
    /// Seed inputs: repository files, relative to the workspace root.
    pub seeds: &'static [&'static str],
}

/// Every target, in the order of the fuzz/README table.
pub const TARGETS: [Target; 8] = [
    Target { name: "npy", run: npy, seeds: &["tests/golden/losses/loss.in.disc_gen.2.npy", "tests/golden/losses/loss.in.kl.z_mask.npy", "fuzz/seeds/phoneme_ids.npy", "fuzz/seeds/spec_fortran.npy"] },
    Target { name: "metadata", run: metadata, seeds: &["fuzz/seeds/metadata.json"] },
    Target { name: "spec", run: spec, seeds: &["configs/ablations/no-fm.json", "configs/ablations/mpd-mrd.json", "configs/ablations/grad-clip-bf16.json"] },
    Target { name: "pth", run: pth, seeds: &["tests/golden/interop/tiny_train_ckpt_dec.pth", "tests/golden/interop/d_sample_pretrained.pth"] },
    Target { name: "safetensors", run: safetensors, seeds: &["tests/golden/trajectory/D_after_step1.small.safetensors"] },
    Target { name: "wav", run: wav, seeds: &["tests/golden/flac/tone.wav"] },
    Target { name: "flac", run: flac, seeds: &["tests/golden/flac/tone.flac"] },
    Target { name: "hostfile", run: hostfile, seeds: &["fuzz/seeds/hostfile.json", "fuzz/seeds/hostfile_object.json"] },
];

/// The workspace root (for seeds, corpora and saved crashes).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn with_file<T, E: std::fmt::Display>(name: &str, bytes: &[u8], f: impl FnOnce(&Path) -> Result<T, E>) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    f(&path).map(|_| ()).map_err(|e| e.to_string())
}

/// `.npy` header and data as float32 and as int32.
pub fn npy(bytes: &[u8]) -> Result<(), String> {
    use sovits_core::data::npy;
    with_file("x.npy", bytes, |p| match npy::header(p)?.elem {
        npy::Elem::I32 => npy::read_i32(p).map(|_| ()),
        _ => npy::read_f32(p).map(|_| ()),
    })
}

/// `metadata.json` of a dataset directory.
pub fn metadata(bytes: &[u8]) -> Result<(), String> {
    with_file("metadata.json", bytes, |p| sovits_core::data::metadata::Metadata::load(p.parent().unwrap_or(Path::new("."))))
}

/// A spec file in `configs/ablations/` that may extend `../vits_default.json`,
/// `../tiny.json` or itself, resolved and validated.
pub fn spec(bytes: &[u8]) -> Result<(), String> {
    sovits_plugins::link_all();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(configs.join("ablations")).map_err(|e| e.to_string())?;
    std::fs::write(configs.join("vits_default.json"), include_str!("../../configs/vits_default.json")).map_err(|e| e.to_string())?;
    std::fs::write(configs.join("tiny.json"), include_str!("../../configs/tiny.json")).map_err(|e| e.to_string())?;
    let path = configs.join("ablations").join("fuzz.json");
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    sovits_core::Spec::load(&path, &[]).map(|_| ()).map_err(|e| e.to_string())
}

/// A GPT-SoVITS `.pth` (torch zip + pickle) through the importer.
pub fn pth(bytes: &[u8]) -> Result<(), String> {
    with_file("x.pth", bytes, sovits_interop::import_pth)
}

/// A safetensors checkpoint file through the validated reader.
pub fn safetensors(bytes: &[u8]) -> Result<(), String> {
    with_file("G.safetensors", bytes, sovits_core::nn::torch_layout::read_safetensors)
}

/// A wav file through the decoder `sovits prepare` uses.
pub fn wav(bytes: &[u8]) -> Result<(), String> {
    with_file("x.wav", bytes, sovits_core::data::prepare::read_wav)
}

/// A flac file through the decoder `sovits prepare` uses.
pub fn flac(bytes: &[u8]) -> Result<(), String> {
    with_file("x.flac", bytes, sovits_core::data::prepare::read_flac)
}

/// An MLX launcher host file, and the ring file made from it.
pub fn hostfile(bytes: &[u8]) -> Result<(), String> {
    use sovits_core::distributed::hostfile::LaunchHostfile;
    let path = Path::new("hosts.json");
    let h = LaunchHostfile::parse(path, &String::from_utf8_lossy(bytes)).map_err(|e| e.to_string())?;
    h.ring_json(5520).map(|_| ()).map_err(|e| e.to_string())
}
