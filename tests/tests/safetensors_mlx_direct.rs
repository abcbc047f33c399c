//! Why safetensors files are validated before MLX reads them. Each
//! malformed file below is handed to MLX's loader directly, in a child (this
//! test binary re-executed, so an abort would be observed, not suffered),
//! and to `read_safetensors`. With the pinned MLX (0.32.2, mlx-c 0.7.0) no
//! case aborts: MLX rejects most with an error, but loads some silently with
//! a wrong shape (negative dimensions, a dimension of 2^32 + 64 read as 64).
//! Through our validation every one is an error naming the file.
#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

/// Set in the child: the safetensors file to hand to MLX directly.
const CHILD_ENV: &str = "SOVITS_TEST_MLX_SAFETENSORS";
/// This test's name, for the child's `--exact` filter.
const NAME: &str = "malformed_safetensors_are_errors_through_validation_even_where_mlx_loads_them";

/// A safetensors file: the 8-byte header length, `header`, `data_bytes` zeros.
fn file(header: &str, data_bytes: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(vec![0u8; data_bytes]);
    out
}

/// One f32 tensor `w` with the given shape and offsets, `data_bytes` zeros.
fn tensor(shape: &str, offsets: &str, data_bytes: usize) -> Vec<u8> {
    file(&format!(r#"{{"w":{{"dtype":"F32","shape":{shape},"data_offsets":{offsets}}}}}"#), data_bytes)
}

/// The malformed files, by what is wrong with them, and whether MLX loads
/// them without complaint when handed them directly.
fn cases() -> Vec<(&'static str, Vec<u8>, bool)> {
    let good = tensor("[64]", "[0,256]", 256);
    let mut forged_len = good.clone();
    forged_len[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut len_past_end = good.clone();
    len_past_end[..8].copy_from_slice(&(good.len() as u64 + 64).to_le_bytes());
    vec![
        ("negative dimensions whose product fits the bytes", tensor("[-1,-64]", "[0,256]", 256), true),
        ("a dimension of 2^32 + 64 (MLX reads 64)", tensor("[4294967360]", "[0,256]", 256), true),
        ("a dimension of 2^32 with an empty tensor", tensor("[4294967296,0]", "[0,0]", 0), true),
        ("offsets at u64::MAX on an empty tensor", tensor("[0]", "[18446744073709551615,18446744073709551615]", 256), true),
        ("offsets past the end", tensor("[64]", "[0,256]", 16), false),
        ("offsets reversed, negative shape", tensor("[-25]", "[200,100]", 256), false),
        ("shape larger than its offsets", tensor("[1000000]", "[0,256]", 256), false),
        ("forged header length", forged_len, false),
        ("header length past the end", len_past_end, false),
        ("truncated", good[..good.len() / 2].to_vec(), false),
        ("not json", [8u64.to_le_bytes().as_slice(), b"notjson!"].concat(), false),
        ("header not an object", file("[1,2]", 0), false),
        ("metadata not strings", file(r#"{"__metadata__":5,"w":{"dtype":"F32","shape":[64],"data_offsets":[0,256]}}"#, 256), false),
        ("unknown dtype", file(r#"{"w":{"dtype":"Q9","shape":[64],"data_offsets":[0,256]}}"#, 256), false),
    ]
}

/// The child's half: MLX's loader on the file, every array evaluated; says
/// `loaded` or `error` on stdout.
fn load_with_mlx_directly(path: &Path) {
    match mlx_rs::Array::load_safetensors(path) {
        Ok(arrays) => {
            for (name, a) in arrays {
                match a.eval() {
                    Ok(()) => println!("child: loaded `{name}` with shape {:?}", a.shape()),
                    Err(e) => println!("child: error evaluating `{name}`: {e}"),
                }
            }
        }
        Err(e) => println!("child: error: {e}"),
    }
}

#[test]
fn malformed_safetensors_are_errors_through_validation_even_where_mlx_loads_them() {
    if let Some(p) = std::env::var_os(CHILD_ENV) {
        return load_with_mlx_directly(Path::new(&p));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (what, bytes, mlx_loads)) in cases().into_iter().enumerate() {
        let name = format!("case{i}.safetensors");
        let p = dir.path().join(&name);
        std::fs::write(&p, &bytes).expect("write case");
        let e = sovits_core::nn::torch_layout::read_safetensors(&p).map(|_| ()).expect_err(what).to_string();
        assert!(e.contains(&name), "{what}: the error does not name the file: {e}");

        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &p)
            .output()
            .expect("re-run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let said: Vec<&str> = stdout.lines().filter_map(|l| l.find("child: ").map(|at| &l[at + 7..])).collect();
        eprintln!("{what}: MLX directly -> {:?}: {}\n  through validation -> {e}", out.status, said.join("; "));
        assert_eq!(out.status.signal(), None, "{what}: MLX's loader killed the process: {:?}\n{stdout}", out.status);
        let loaded = !said.is_empty() && said.iter().all(|s| s.starts_with("loaded"));
        assert_eq!(loaded, mlx_loads, "{what}: MLX handed the file directly: {said:?}");
    }
}
