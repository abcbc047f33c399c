//! `cargo bench -p sovits-core --bench conv_paths`: forward + backward per
//! layer for the GPT-SoVITS v2 decoder and discriminator conv shapes, MLX's
//! own op against the path `sovits_core::nn::conv` picks, in ms and GFLOP/s
//! (3x the forward FLOPs, the ideal fwd+bwd cost), beside the machine's
//! matmul GFLOP/s. `SOVITS_BENCH_FORCE_IM2COL=1` runs im2col for every
//! conv1d case; an argument filters cases by name. im2col cases also time
//! the path with autodiff's backward of its windows (instead of the custom
//! overlap-add backward); cases served by our primitives (shifted GEMM,
//! direct grouped) also time the path chosen without them
//! (`choose_conv1d`), so the two are compared in one process.

use std::time::Instant;

use mlx_rs::error::Exception;
use mlx_rs::transforms::value_and_grad_with_argnums;
use mlx_rs::{Array, ops, random};
use sovits_core::backend;
use sovits_core::nn::{Conv2dOpts, ConvOpts};
use sovits_core::nn::conv_paths::{self, Conv1dPath};

type ConvFn = Box<dyn Fn(&Array, &Array) -> sovits_core::Result<Array>>;

struct Case {
    name: String,
    x: Vec<i32>,
    w: Vec<i32>,
    fwd_flops: f64,
    mlx: ConvFn,
    ours: ConvFn,
    ours_name: &'static str,
    /// A second way to time beside `ours`: im2col with autodiff's backward of
    /// the windows, or the path chosen without the shifted-GEMM primitive.
    alt: Option<(&'static str, ConvFn)>,
}

/// Median seconds of fwd+bwd (loss = sum(y * r)) after one warm-up call.
fn time_fwd_bwd(f: &ConvFn, x: &Array, w: &Array) -> Result<f64, Exception> {
    let y = f(x, w).map_err(|e| Exception::custom(e.to_string()))?;
    let r = random::normal::<f32>(y.shape(), None, None, None)?;
    let mut vg = value_and_grad_with_argnums(
        |a: &[Array]| -> Result<Vec<Array>, Exception> {
            let y = f(&a[0], &a[1]).map_err(|e| Exception::custom(e.to_string()))?;
            Ok(vec![ops::multiply(&y, &r)?.sum(None)?])
        },
        &[0, 1][..],
    );
    let mut run = || -> Result<f64, Exception> {
        let start = Instant::now();
        let (v, g) = vg(&[x.clone(), w.clone()])?;
        mlx_rs::transforms::eval(v.iter().chain(g.iter()))?;
        Ok(start.elapsed().as_secs_f64())
    };
    let first = run()?;
    let reps = if first > 2.0 { 1 } else if first > 0.3 { 3 } else { 7 };
    let mut t: Vec<f64> = (0..reps).map(|_| run()).collect::<Result<_, _>>()?;
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

fn conv1d_case(name: &str, b: i32, t: i32, ci: i32, co: i32, k: i32, o: ConvOpts) -> Case {
    let tout = (t + 2 * o.padding - o.dilation * (k - 1) - 1) / o.stride + 1;
    let before = conv_paths::choose_conv1d(ci, k, o);
    let path = match std::env::var("SOVITS_BENCH_FORCE_IM2COL") {
        Ok(_) => Conv1dPath::Im2col,
        Err(_) => conv_paths::choose_conv1d_sized(ci, co, k, o, mlx_rs::Dtype::Float32),
    };
    Case {
        name: format!("{name}: conv1d {ci}->{co} T{t} K{k} s{} d{} g{}", o.stride, o.dilation, o.groups),
        x: vec![b, t, ci],
        w: vec![co, ci / o.groups, k],
        fwd_flops: 2.0 * f64::from(b) * f64::from(tout) * f64::from(co) * f64::from(ci / o.groups) * f64::from(k),
        mlx: Box::new(move |x, w| conv_paths::conv1d_mlx(x, w, o)),
        ours: Box::new(move |x, w| conv_paths::conv1d_along(path, x, w, o)),
        ours_name: path_name(path),
        alt: match path {
            Conv1dPath::Im2col => Some((
                "with autodiff's im2col backward",
                Box::new(move |x: &Array, w: &Array| conv_paths::conv1d_im2col_autodiff(x, w, o)) as ConvFn,
            )),
            Conv1dPath::ShiftedGemm | Conv1dPath::GroupedDirect => Some((
                path_name(before),
                Box::new(move |x: &Array, w: &Array| conv_paths::conv1d_along(before, x, w, o)) as ConvFn,
            )),
            _ => None,
        },
    }
}

fn path_name(path: Conv1dPath) -> &'static str {
    match path {
        Conv1dPath::Mlx => "mlx op",
        Conv1dPath::SpaceToBatch => "space-to-batch",
        Conv1dPath::Im2col => "im2col",
        Conv1dPath::ShiftedGemm => "shifted GEMM",
        Conv1dPath::GroupedDirect => "direct grouped",
    }
}

fn transpose_case(name: &str, t: i32, ci: i32, co: i32, k: i32, s: i32, p: i32) -> Case {
    Case {
        name: format!("{name}: conv_transpose1d {ci}->{co} T{t} u{s} K{k}"),
        x: vec![1, t, ci],
        w: vec![ci, co, k],
        fwd_flops: 2.0 * f64::from(t) * f64::from(ci) * f64::from(co) * f64::from(k),
        mlx: Box::new(move |x, w| conv_paths::conv_transpose1d_mlx(x, w, s, p)),
        ours: Box::new(move |x, w| conv_paths::conv_transpose1d_matmul(x, w, s, p)),
        ours_name: "matmul+overlap-add",
        alt: None,
    }
}

#[allow(clippy::too_many_arguments)] // one argument per shape dimension, as in the table
fn conv2d_case(name: &str, h: i32, wd: i32, ci: i32, co: i32, kh: i32, s: i32, p: i32) -> Case {
    let ho = (h + 2 * p - kh) / s + 1;
    Case {
        name: format!("{name}: conv2d {ci}->{co} H{h} W{wd} ({kh},1) s({s},1)"),
        x: vec![1, h, wd, ci],
        w: vec![co, ci, kh, 1],
        fwd_flops: 2.0 * f64::from(ho) * f64::from(wd) * f64::from(co) * f64::from(ci) * f64::from(kh),
        mlx: Box::new(move |x, w| conv_paths::conv2d_mlx(x, w, Conv2dOpts::new().stride((s, 1)).padding((p, 0)))),
        ours: Box::new(move |x, w| conv_paths::conv2d_fold_width(x, w, s, p)),
        ours_name: "fold width + conv1d path",
        alt: Some(("with autodiff's im2col backward", Box::new(move |x, w| {
            // the folded conv1d with autodiff's im2col backward
            let (b, h, wd, c) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
            let xf = x.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b * wd, h, c])?;
            let w1 = w.reshape(&[w.shape()[0], w.shape()[1], w.shape()[2]])?;
            let y = conv_paths::conv1d_im2col_autodiff(&xf, &w1, ConvOpts::new().stride(s).padding(p))?;
            let ho = y.shape()[1];
            Ok(y.reshape(&[b, wd, ho, -1])?.transpose_axes(&[0, 2, 1, 3])?)
        }))),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("device: {} ({}); blas: {}", backend::device_name(), backend::cpu_name(), backend::blas_description());
    println!("matmul 1024x1024 f32: {:.1} GFLOP/s", backend::matmul_gflops(1024, 7)?);
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let o = ConvOpts::new;
    let cases = vec![
        conv1d_case("dec resblock", 1, 320, 256, 256, 11, o().dilation(5).padding(25)),
        conv1d_case("dec resblock", 1, 20480, 16, 16, 11, o().dilation(5).padding(25)),
        conv1d_case("dec resblock (undilated)", 1, 2560, 128, 128, 11, o().padding(5)),
        conv1d_case("dec resblock", 1, 2560, 128, 128, 7, o().dilation(3).padding(9)),
        conv1d_case("dec resblock (undilated)", 1, 2560, 128, 128, 3, o().padding(1)),
        conv1d_case("dec resblock", 1, 5120, 64, 64, 11, o().dilation(3).padding(15)),
        conv1d_case("dec resblock (undilated)", 1, 5120, 64, 64, 7, o().padding(3)),
        conv1d_case("dec resblock", 1, 10240, 32, 32, 3, o().dilation(5).padding(5)),
        conv1d_case("enc_q WaveNet in_layer", 1, 202, 192, 384, 5, o().padding(2)),
        conv1d_case("dec conv_pre", 1, 32, 192, 512, 7, o().padding(3)),
        transpose_case("dec ups.0", 32, 512, 256, 16, 10, 3),
        transpose_case("dec ups.1", 320, 256, 128, 16, 8, 4),
        conv1d_case("DiscriminatorS convs.1", 1, 20480, 16, 64, 41, o().stride(4).groups(4).padding(20)),
        conv1d_case("DiscriminatorS convs.2", 1, 5120, 64, 256, 41, o().stride(4).groups(16).padding(20)),
        conv1d_case("DiscriminatorS convs.3", 1, 1280, 256, 1024, 41, o().stride(4).groups(64).padding(20)),
        conv1d_case("DiscriminatorS convs.4", 1, 320, 1024, 1024, 41, o().stride(4).groups(256).padding(20)),
        conv2d_case("DiscriminatorP(2) convs.0", 10240, 2, 1, 32, 5, 3, 2),
        conv2d_case("DiscriminatorP(2) convs.1", 3414, 2, 32, 128, 5, 3, 2),
        conv2d_case("DiscriminatorP(2) convs.2", 1138, 2, 128, 512, 5, 3, 2),
        conv2d_case("DiscriminatorP(2) convs.3", 380, 2, 512, 1024, 5, 3, 2),
        conv2d_case("DiscriminatorP(2) convs.4", 127, 2, 1024, 1024, 5, 1, 2),
        conv2d_case("DiscriminatorP(11) convs.4", 24, 11, 1024, 1024, 5, 1, 2),
        conv1d_case("DiscriminatorS convs.5", 1, 80, 1024, 1024, 5, o().padding(2)),
        conv1d_case("flow WaveNet in_layer", 1, 32, 192, 384, 5, o().padding(2)),
    ];
    println!("{:<62} {:>10} {:>8} {:>10} {:>8}  path", "layer (fwd+bwd, batch 1)", "mlx ms", "GFLOP/s", "ours ms", "GFLOP/s");
    for c in cases {
        if filter.as_deref().is_some_and(|f| !c.name.contains(f)) {
            continue;
        }
        let x = random::normal::<f32>(&c.x, None, None, None)?;
        let w = ops::multiply(&random::normal::<f32>(&c.w, None, None, None)?, Array::from_f32(0.05))?;
        let t_mlx = time_fwd_bwd(&c.mlx, &x, &w)?;
        let t_ours = time_fwd_bwd(&c.ours, &x, &w)?;
        let gf = |t: f64| 3.0 * c.fwd_flops / t / 1e9;
        let alt = match &c.alt {
            Some((label, f)) => {
                let t = time_fwd_bwd(f, &x, &w)?;
                format!("; {label} {:.1} ms", t * 1e3)
            }
            None => String::new(),
        };
        println!(
            "{:<62} {:>10.1} {:>8.1} {:>10.1} {:>8.1}  {} ({:.1}x){alt}",
            c.name,
            t_mlx * 1e3,
            gf(t_mlx),
            t_ours * 1e3,
            gf(t_ours),
            c.ours_name,
            t_mlx / t_ours
        );
    }
    Ok(())
}
