//! PyTorch layout conversions round-trip exactly; safetensors read/write keep
//! values and dtypes; strict loading reports every missing, unexpected and
//! mis-shaped key by name with expected and found shapes.

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::ModuleParameters as _;
use mlx_rs::{Array, Dtype};
use sovits_core::ParamMap;
use sovits_core::nn::ConvOpts;
use sovits_core::nn::torch_layout::{
    conv1d_weight_from_mlx, conv1d_weight_to_mlx, conv2d_weight_from_mlx, conv2d_weight_to_mlx,
    conv_transpose1d_weight_from_mlx, conv_transpose1d_weight_to_mlx,
};
use sovits_core::nn::{WnConv1d, flatten_params, load_partial, load_strict, read_safetensors, write_safetensors};
use sovits_test_support::{values, pseudo_random};

fn arr(shape: &[i32], seed: u64) -> Array {
    let n: i32 = shape.iter().product();
    Array::from_slice(&pseudo_random(n as usize, seed), shape)
}

#[test]
fn layout_round_trips_are_exact() {
    let w1 = arr(&[5, 3, 7], 1);
    let m1 = conv1d_weight_to_mlx(&w1).unwrap();
    assert_eq!(m1.shape(), &[5, 7, 3]);
    assert_eq!(values(&conv1d_weight_from_mlx(&m1).unwrap()), values(&w1));
    let w2 = arr(&[4, 2, 5, 3], 2);
    let m2 = conv2d_weight_to_mlx(&w2).unwrap();
    assert_eq!(m2.shape(), &[4, 5, 3, 2]);
    assert_eq!(values(&conv2d_weight_from_mlx(&m2).unwrap()), values(&w2));
    let wt = arr(&[6, 4, 16], 3);
    let mt = conv_transpose1d_weight_to_mlx(&wt).unwrap();
    assert_eq!(mt.shape(), &[4, 16, 6]);
    assert_eq!(values(&conv_transpose1d_weight_from_mlx(&mt).unwrap()), values(&wt));
    // Element check: torch w[o, i, k] == mlx w[o, k, i].
    let (h1, hm) = (values(&w1), values(&m1));
    assert_eq!(h1[(2 * 3 + 1) * 7 + 4], hm[(2 * 7 + 4) * 3 + 1]);
}

/// Two layers named like the GPT-SoVITS decoder's (`dec.conv_pre`, `dec.conv_post`).
#[derive(Debug, ModuleParameters)]
struct Dec {
    #[param]
    conv_pre: WnConv1d,
    #[param]
    conv_post: WnConv1d,
}

#[derive(Debug, ModuleParameters)]
struct Net {
    #[param]
    dec: Dec,
}

fn net() -> Net {
    Net {
        dec: Dec {
            conv_pre: WnConv1d::new(6, 8, 7, ConvOpts::new().padding(3), true).unwrap(),
            conv_post: WnConv1d::new(4, 1, 7, ConvOpts::new().padding(3), false).unwrap(),
        },
    }
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sovits-nn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn keys_are_dotted_torch_names() {
    let keys: Vec<String> = flatten_params(&net()).into_keys().collect();
    assert_eq!(
        keys,
        [
            "dec.conv_post.weight_g",
            "dec.conv_post.weight_v",
            "dec.conv_pre.bias",
            "dec.conv_pre.weight_g",
            "dec.conv_pre.weight_v"
        ]
    );
}

#[test]
fn save_load_round_trip_keeps_values_and_dtypes() {
    let dir = tmp_dir("rt");
    let path = dir.join("w.safetensors");
    let mut m: ParamMap = flatten_params(&net());
    m.insert("half".into(), arr(&[3, 2], 9).as_dtype(Dtype::Float16).unwrap());
    m.insert("brain".into(), arr(&[4], 10).as_dtype(Dtype::Bfloat16).unwrap());
    m.insert("ids".into(), Array::from_slice(&[1i32, 2, 3], &[3]));
    write_safetensors(&path, &m).unwrap();
    let back = read_safetensors(&path).unwrap();
    assert_eq!(back.keys().collect::<Vec<_>>(), m.keys().collect::<Vec<_>>());
    for (k, v) in &m {
        assert_eq!(back[k].dtype(), v.dtype(), "{k}");
        assert_eq!(back[k].shape(), v.shape(), "{k}");
        assert_eq!(values(&back[k]), values(v), "{k}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(leftovers.len(), 1, "temp file left behind");

    // A partial load (the file has extra tensors) into a fresh net reproduces every parameter bit for bit.
    let mut fresh = net();
    let report = load_partial(&mut fresh, &back).unwrap();
    assert_eq!(report.loaded.len(), 5);
    assert_eq!(report.unexpected, ["brain", "half", "ids"]);
    for (k, v) in flatten_params(&fresh) {
        assert_eq!(values(&v), values(&m[&k]), "{k}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn strict_load_reports_every_bad_key() {
    let dir = tmp_dir("strict");
    let path = dir.join("bad.safetensors");
    let mut m = flatten_params(&net());
    m.remove("dec.conv_pre.bias");
    m.insert("dec.conv_post.weight_v".into(), arr(&[1, 4, 5], 3));
    m.insert("dec.extra".into(), arr(&[2], 4));
    write_safetensors(&path, &m).unwrap();
    let tensors = read_safetensors(&path).unwrap();

    let mut target = net();
    let before = values(&target.dec.conv_pre.weight_v);
    let err = load_strict(&mut target, &tensors).unwrap_err().to_string();
    assert!(err.contains("missing `dec.conv_pre.bias` (expected [8])"), "{err}");
    assert!(err.contains("mis-shaped `dec.conv_post.weight_v`: expected [1, 4, 7], found [1, 4, 5]"), "{err}");
    assert!(err.contains("unexpected `dec.extra`"), "{err}");
    assert_eq!(values(&target.dec.conv_pre.weight_v), before, "failed load must not assign");

    // Partial: missing/unexpected allowed, the shape mismatch still fails.
    let err = load_partial(&mut target, &tensors).unwrap_err().to_string();
    assert!(err.contains("dec.conv_post.weight_v") && !err.contains("missing"), "{err}");
    m.insert("dec.conv_post.weight_v".into(), arr(&[1, 4, 7], 3).as_dtype(Dtype::Float16).unwrap());
    let report = load_partial(&mut target, &m).unwrap();
    assert_eq!(report.missing, ["dec.conv_pre.bias"]);
    assert_eq!(report.unexpected, ["dec.extra"]);
    assert_eq!(target.dec.conv_post.weight_v.dtype(), Dtype::Float32, "cast to the parameter's dtype");
    let _ = target.num_parameters();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn read_error_names_the_file() {
    let err = read_safetensors(std::path::Path::new("/nonexistent/x.safetensors")).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/x.safetensors"), "{err}");
}
