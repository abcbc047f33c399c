//! Hostile or broken input: every loader answers a malformed file with an
//! error naming the file and the problem: no panic, no allocation beyond the
//! file's size, no path outside the dataset or output directory. Each input
//! is built here byte by byte (a header field away from a valid file).

use std::path::Path;

use sovits_core::data::dataset::Dataset;
use sovits_core::data::metadata::Metadata;
use sovits_core::data::{Folder, npy, prepare};
use sovits_core::registry;
use sovits_test_support::train_fixtures::{tiny_spec, write_tone_corpus};

/// A mono PCM wav: `fmt` chunk fields as given, `samples` 16-bit zeros.
fn wav(rate: u32, bits: u16, format: u16, samples: usize) -> Vec<u8> {
    let block = (bits as u32).div_ceil(8) as u16;
    let mut fmt = Vec::new();
    fmt.extend(format.to_le_bytes());
    fmt.extend(1u16.to_le_bytes());
    fmt.extend(rate.to_le_bytes());
    fmt.extend(rate.wrapping_mul(block as u32).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    if format == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: container bits, then valid bits in the extension
        fmt.extend((block * 8).to_le_bytes());
        fmt.extend(22u16.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        fmt.extend(4u32.to_le_bytes());
        fmt.extend([1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]); // KSDATAFORMAT_SUBTYPE_PCM
    } else {
        fmt.extend(bits.to_le_bytes());
    }
    let data = vec![0u8; samples * block as usize];
    let mut out = b"RIFF".to_vec();
    out.extend(((4 + 8 + fmt.len() + 8 + data.len()) as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend((fmt.len() as u32).to_le_bytes());
    out.extend(&fmt);
    out.extend(b"data");
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(&data);
    out
}

fn err_of<T>(r: sovits_core::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn wav_with_sample_rate_zero_is_an_error_naming_the_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("zero.wav");
    std::fs::write(&p, wav(0, 16, 1, 64)).expect("write");
    let e = err_of(prepare::read_wav(&p));
    assert!(e.contains("zero.wav") && e.contains("sample rate") && e.contains("found 0"), "{e}");
    std::fs::write(&p, wav(3_000_000, 16, 1, 64)).expect("write");
    let e = err_of(prepare::read_wav(&p));
    assert!(e.contains("sample rate") && e.contains("3000000"), "{e}");
}

#[test]
fn wav_extensible_with_65_valid_bits_is_an_error_not_a_shift_overflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("wide.wav");
    std::fs::write(&p, wav(32000, 65, 0xFFFE, 8)).expect("write");
    let e = err_of(prepare::read_wav(&p));
    assert!(e.contains("wide.wav") && e.contains("bits per sample") && e.contains("65"), "{e}");
}

/// An `.npy` v1 header claiming `shape` for `<f4` data, followed by `data_bytes` zero bytes.
fn npy_bytes(shape: &str, data_bytes: usize) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(vec![0u8; data_bytes]);
    out
}

#[test]
fn npy_shape_larger_than_the_file_is_an_error_without_allocating_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("huge.npy");
    for shape in ["(1000000000000,)", "(4294967296, 4294967296, 4294967296)", "(100,)"] {
        std::fs::write(&p, npy_bytes(shape, 16)).expect("write");
        let e = err_of(npy::read_f32(&p));
        assert!(e.contains("huge.npy") && e.contains("shape"), "{shape}: {e}");
        let e = err_of(npy::header(&p));
        assert!(e.contains("huge.npy"), "{shape}: {e}");
    }
    std::fs::write(&p, npy_bytes("(4,)", 16)).expect("write");
    assert_eq!(npy::read_f32(&p).expect("a well-formed file still reads").1.len(), 4);
}

fn metadata_with_stem(dir: &Path, field: &str, value: &str) {
    let text = serde_json::json!({"items": [{"id": "a", field: value}]}).to_string();
    let text = if field == "id" { serde_json::json!({"items": [{"id": value}]}).to_string() } else { text };
    std::fs::write(dir.join("metadata.json"), text).expect("write");
}

#[test]
fn metadata_stems_that_leave_the_dataset_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (field, stem) in [("stem", "../outside"), ("stem", "/etc/passwd"), ("id", "../../x"), ("stem", ".."), ("stem", "a/b")] {
        metadata_with_stem(dir.path(), field, stem);
        let e = err_of(Metadata::load(dir.path()));
        assert!(e.contains("metadata.json") && e.contains(&format!("items[0].{field}")) && e.contains("plain file name"), "{stem}: {e}");
    }
    metadata_with_stem(dir.path(), "stem", "ok_name.v2");
    Metadata::load(dir.path()).expect("a plain stem loads");
}

#[test]
fn transcript_names_that_leave_the_audio_folder_are_errors() {
    sovits_plugins::link_all();
    let spec = tiny_spec(&[]);
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let dir = tempfile::tempdir().expect("tempdir");
    let audio = dir.path().join("audio");
    std::fs::create_dir_all(&audio).expect("mkdir");
    // a readable wav one level up, where `../evil` points
    std::fs::write(dir.path().join("evil.wav"), wav(32000, 16, 1, 32000)).expect("write");
    let transcripts = dir.path().join("list.txt");
    std::fs::write(&transcripts, "../evil|hello\n").expect("write");
    let opts = prepare::PrepareOptions {
        audio_dir: audio,
        transcripts: transcripts.clone(),
        out: dir.path().join("out/ds"),
        units: prepare::PrepareUnits::Kmeans { k: 4 },
        voice: "en-us".into(),
        speaker: "s".into(),
        seed: 0,
    };
    let e = err_of(prepare::run(&opts, &*frontend));
    assert!(e.contains("list.txt") && e.contains("line 1") && e.contains("plain file name"), "{e}");
    assert!(!dir.path().join("out/evil.npy").exists() && !dir.path().join("out/ds/evil.npy").exists());
}

#[test]
fn audio_outside_unit_range_is_reported() {
    sovits_plugins::link_all();
    let spec = tiny_spec(&[]);
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let dir = tempfile::tempdir().expect("tempdir");
    write_tone_corpus(dir.path(), 2, 32, &*frontend);
    let p = Folder::Audio.file(dir.path(), "tone_01");
    let (info, mut x) = npy::read_f32(&p).expect("audio");
    x[7] = 1.5;
    npy::write_f32(&p, &info.shape, &x).expect("write");
    let report = Dataset::check(dir.path(), &spec.data, spec.trainer.segment_size).expect("report");
    let text = report.to_string();
    assert!(text.contains("audio range") && text.contains("tone_01") && text.contains("1.5 at index 7"), "{text}");
    assert_eq!(report.bad_items, vec!["tone_01".to_string()], "{text}");
}

/// A safetensors file of one f32 tensor `[n]` (zeros), header as serialized.
fn safetensors_bytes(n: usize) -> Vec<u8> {
    let header = format!(r#"{{"w":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{}]}}}}"#, 4 * n);
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(vec![0u8; 4 * n]);
    out
}

#[test]
fn malformed_safetensors_are_errors_naming_the_file() {
    use sovits_core::nn::torch_layout::read_safetensors;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("G.safetensors");
    let good = safetensors_bytes(64);
    std::fs::write(&p, &good).expect("write");
    assert_eq!(read_safetensors(&p).expect("valid file").len(), 1);
    let mut forged_len = good.clone();
    forged_len[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut past_end = safetensors_bytes(64);
    let at = past_end.windows(7).position(|w| w == b",256]}}").expect("offsets");
    past_end[at..at + 7].copy_from_slice(b",999]}}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        ("forged header length", forged_len),
        ("offsets past the end", past_end),
        ("empty", Vec::new()),
        ("not json", [8u64.to_le_bytes().as_slice(), b"notjson!"].concat()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&p, bytes).expect("write");
        let e = err_of(read_safetensors(&p));
        assert!(e.contains("G.safetensors"), "{what}: {e}");
    }
}

#[test]
fn pth_tensor_views_that_overflow_are_errors() {
    use sovits_interop::tensors::{StorageType, TensorRef, gather, to_array};
    let storage = vec![0u8; 64];
    let view = |shape: Vec<usize>, stride: Vec<usize>, offset| TensorRef {
        key: "0".into(),
        dtype: StorageType::Float,
        storage_numel: 16,
        offset,
        shape,
        stride,
    };
    for t in [
        view(vec![usize::MAX / 2, 4], vec![4, 1], 0),
        view(vec![2, 2], vec![usize::MAX / 2, 1], 0),
        view(vec![4], vec![1], usize::MAX - 1),
        view(vec![1 << 40], vec![0], 0),
    ] {
        let e = gather(&t, &storage, "w").expect_err("overflowing view");
        assert!(e.to_string().contains('w'), "{e}");
    }
    assert_eq!(gather(&view(vec![2, 2], vec![2, 1], 4), &storage, "w").expect("valid view").len(), 16);
    let e = to_array(StorageType::Float, &[], &[0, 1 << 33]).expect_err("dim above i32");
    assert!(e.to_string().contains("2^31"), "{e}");
}
