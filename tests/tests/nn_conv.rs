//! Every fast CPU conv path equals MLX's own op in values and gradients
//! (w.r.t. input and weight), over a grid of shapes, dilations, strides and
//! groups.
//!
//! Tolerance: both sides are f32 sums of the same K*Cin products in a
//! different order (GEMM blocking vs MLX's conv loops), so differences are
//! rounding only: |err| <= ~K*Cin*eps*|terms| ~ 1e-5 for these sizes. We
//! allow atol 2e-4 + rtol 1e-4 on values of order 1-10, far below any
//! indexing mistake (which shifts values by O(1)).

use mlx_rs::{Array, ops, transforms::value_and_grad_with_argnums};
use sovits_core::nn::conv::{conv1d, conv2d, conv_transpose1d};
use sovits_core::nn::matmul_nt::matmul_nt;
use sovits_core::nn::NormConv2d;
use sovits_core::nn::{Conv2dOpts, ConvOpts};
use sovits_core::nn::conv_paths::{
    Conv1dPath, choose_conv1d, conv1d_along, conv1d_im2col, conv1d_mlx, conv1d_space_to_batch, conv2d_fold_width,
    conv2d_mlx, conv_transpose1d_matmul, conv_transpose1d_mlx, shifted_rows, stacked_rows,
};
use sovits_test_support::{assert_close, values, max_abs_diff, pseudo_random};

const ATOL: f32 = 2e-4;
const RTOL: f32 = 1e-4;

fn arr(shape: &[i32], seed: u64) -> Array {
    let n: i32 = shape.iter().product();
    Array::from_slice(&pseudo_random(n as usize, seed), shape)
}

/// Loss = sum(y * r) with a fixed random `r`, so every output element's
/// gradient differs; returns (y, dL/dx, dL/dw).
fn fwd_bwd(f: &dyn Fn(&Array, &Array) -> Array, x: &Array, w: &Array) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let y = f(x, w);
    let r = arr(y.shape(), 99);
    let loss = |args: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
        let y = f(&args[0], &args[1]);
        Ok(vec![ops::multiply(&y, &r)?.sum(None)?])
    };
    let mut vg = value_and_grad_with_argnums(loss, &[0, 1][..]);
    let (_, grads) = vg(&[x.clone(), w.clone()]).expect("value_and_grad");
    let gx = sovits_core::nn::contiguous(&grads[0]).expect("contiguous");
    let gw = sovits_core::nn::contiguous(&grads[1]).expect("contiguous");
    (values(&y), values(&gx), values(&gw))
}

fn compare(what: &str, fast: &dyn Fn(&Array, &Array) -> Array, mlx: &dyn Fn(&Array, &Array) -> Array, x: &Array, w: &Array) -> f32 {
    let (y1, gx1, gw1) = fwd_bwd(fast, x, w);
    let (y0, gx0, gw0) = fwd_bwd(mlx, x, w);
    assert_close(&format!("{what} y"), &y1, &y0, ATOL, RTOL);
    assert_close(&format!("{what} dx"), &gx1, &gx0, ATOL, RTOL);
    assert_close(&format!("{what} dw"), &gw1, &gw0, ATOL, RTOL);
    max_abs_diff(&y1, &y0).max(max_abs_diff(&gx1, &gx0)).max(max_abs_diff(&gw1, &gw0))
}

#[test]
fn space_to_batch_matches_mlx() {
    let mut worst = 0.0f32;
    for &(b, t, ci, co, k, d, p) in &[
        (1, 20, 4, 6, 3, 2, 2),
        (2, 33, 5, 3, 3, 3, 3),
        (1, 40, 8, 8, 11, 5, 25),
        (2, 17, 3, 4, 5, 2, 0),
        (1, 9, 2, 2, 3, 4, 4),
        (1, 64, 6, 5, 7, 3, 9),
    ] {
        let x = arr(&[b, t, ci], 1);
        let w = arr(&[co, ci, k], 2);
        let o = ConvOpts::new().dilation(d).padding(p);
        assert_eq!(choose_conv1d(ci, k, o), Conv1dPath::SpaceToBatch);
        worst = worst.max(compare(
            &format!("s2b b{b} t{t} ci{ci} co{co} k{k} d{d} p{p}"),
            &|x, w| conv1d_space_to_batch(x, w, o).unwrap(),
            &|x, w| conv1d_mlx(x, w, o).unwrap(),
            &x,
            &w,
        ));
    }
    eprintln!("space-to-batch max abs diff {worst:e}");
}

/// Compares `fast` with MLX's conv1d on each `(x shape, w shape, options)`
/// case and on one input given as a transposed `[B, C, T]` view (the first
/// case's options and weight, `t_view` frames); returns the worst difference.
fn compare_primitive(label: &str, cases: &[([i32; 3], [i32; 3], ConvOpts)], t_view: i32, fast: &dyn Fn(&Array, &Array, ConvOpts) -> Array) -> f32 {
    let mut worst = 0.0f32;
    for (n, &(xs, ws, o)) in cases.iter().enumerate() {
        let (x, w) = (arr(&xs, 11 + n as u64), arr(&ws, 12 + n as u64));
        worst = worst.max(compare(&format!("{label} x{xs:?} w{ws:?} {o:?}"), &|x, w| fast(x, w, o), &|x, w| conv1d_mlx(x, w, o).unwrap(), &x, &w));
    }
    let (xs, ws, o) = cases[0];
    let x = arr(&[xs[0], xs[2], t_view], 13);
    let w = arr(&ws, 14);
    let view = |x: &Array| x.transpose_axes(&[0, 2, 1]).unwrap();
    worst.max(compare(
        &format!("{label} transposed input"),
        &|x, w| fast(&view(x), w, o),
        &|x, w| conv1d_mlx(&view(x), w, o).unwrap(),
        &x,
        &w,
    ))
}

/// The shifted-GEMM primitive (forward, input and weight gradients) equals
/// MLX's conv1d: with and without padding (no tap covering the whole output
/// when unpadded), taps that fall entirely outside short inputs, dilations,
/// batches, channel counts below the chooser's threshold, and a transposed
/// (non-contiguous) input.
#[test]
fn shifted_gemm_matches_mlx() {
    use sovits_core::nn::shifted_conv::{available, conv1d_shifted_gemm};
    if !available() {
        eprintln!("shifted-GEMM conv1d is not compiled in on this OS; nothing to compare");
        return;
    }
    let c = |b, t, ci, co, k, d, p| ([b, t, ci], [co, ci, k], ConvOpts::new().dilation(d).padding(p));
    let cases = [
        c(1, 40, 16, 16, 11, 5, 25),
        c(2, 33, 5, 3, 3, 3, 3),
        c(1, 5, 4, 6, 11, 1, 5),
        c(2, 17, 3, 4, 5, 2, 0),
        c(1, 64, 24, 16, 7, 1, 3),
        c(3, 30, 16, 32, 3, 1, 1),
        c(1, 20, 8, 8, 5, 1, 1),
    ];
    let worst = compare_primitive("shifted", &cases, 50, &|x, w, o| conv1d_shifted_gemm(x, w, o).unwrap());
    eprintln!("shifted-GEMM max abs diff {worst:e}");
}

/// The direct grouped primitive (forward, input and weight gradients) equals
/// MLX's conv1d: the specialised group sizes (4 -> 16, 4 -> 4 channels per
/// group, DiscriminatorS's) and generic ones, strides 1-4, with and without
/// padding, taps outside short inputs, batches and a transposed input.
#[test]
fn grouped_direct_matches_mlx() {
    use sovits_core::nn::grouped_conv::conv1d_grouped_direct;
    use sovits_core::nn::shifted_conv::available;
    if !available() {
        eprintln!("direct grouped conv1d is not compiled in on this OS; nothing to compare");
        return;
    }
    let c = |b, t, ci, co, k, s, p, g| ([b, t, ci], [co, ci / g, k], ConvOpts::new().stride(s).padding(p).groups(g));
    let cases = [
        c(1, 90, 16, 64, 41, 4, 20, 4),
        c(2, 47, 8, 8, 41, 4, 20, 2),
        c(1, 33, 12, 12, 5, 2, 0, 3),
        c(2, 30, 6, 9, 3, 1, 1, 3),
        c(1, 10, 8, 32, 41, 4, 20, 2),
        c(1, 64, 16, 16, 7, 3, 3, 4),
    ];
    let worst = compare_primitive("grouped", &cases, 60, &|x, w, o| conv1d_grouped_direct(x, w, o).unwrap());
    eprintln!("direct grouped max abs diff {worst:e}");
}

/// Bad inputs to our primitives are errors that name the problem, from the
/// C side as well as the Rust side, never a crash.
#[test]
fn primitive_input_errors_name_the_problem() {
    use sovits_core::nn::grouped_conv::conv1d_grouped_direct;
    use sovits_core::nn::shifted_conv::{available, conv1d_shifted_gemm};
    if !available() {
        return;
    }
    let x = arr(&[1, 10, 4], 1);
    let err = conv1d_shifted_gemm(&x, &arr(&[8, 3, 3], 2), ConvOpts::new().padding(1)).unwrap_err().to_string();
    assert!(err.contains("w has 3 input channels, x has 4"), "{err}");
    let err = conv1d_shifted_gemm(&x, &arr(&[8, 4, 11], 2), ConvOpts::new()).unwrap_err().to_string();
    assert!(err.contains("shorter than the kernel span"), "{err}");
    let err = conv1d_shifted_gemm(&x.as_dtype(mlx_rs::Dtype::Bfloat16).unwrap(), &arr(&[8, 4, 3], 2), ConvOpts::new()).unwrap_err().to_string();
    assert!(err.contains("float32"), "{err}");
    let err = conv1d_grouped_direct(&x, &arr(&[6, 2, 3], 2), ConvOpts::new().groups(4)).unwrap_err().to_string();
    assert!(err.contains("divisible by groups"), "{err}");
    let err = conv1d_grouped_direct(&x, &arr(&[8, 1, 3], 2), ConvOpts::new().groups(2)).unwrap_err().to_string();
    assert!(err.contains("input channels, x has 4"), "{err}");
    let err = conv1d_grouped_direct(&x, &arr(&[8, 2], 2), ConvOpts::new().groups(2)).unwrap_err().to_string();
    assert!(err.contains("[Cout, Cin/groups, K]"), "{err}");
}

/// The conv helper picks the shifted-GEMM path exactly where it applies:
/// stride 1, no groups, f32, K > 1, at least 16 channels each way, and not
/// so wide (Cin*K >= 4096) that im2col's single GEMM wins; and the direct
/// grouped path for grouped, undilated f32 convs.
#[test]
fn our_primitives_are_chosen_where_they_apply() {
    use sovits_core::nn::conv_paths::choose_conv1d_for;
    use sovits_core::nn::shifted_conv::available;
    let pick = |ci: i32, co: i32, k: i32, o: ConvOpts, bf16: bool| {
        let x = arr(&[1, 32, ci], 1);
        let x = if bf16 { x.as_dtype(mlx_rs::Dtype::Bfloat16).unwrap() } else { x };
        choose_conv1d_for(&x, &arr(&[co, ci / o.groups, k], 2), o)
    };
    let plain = ConvOpts::new().padding(1);
    let expect = if available() { Conv1dPath::ShiftedGemm } else { choose_conv1d(16, 3, plain) };
    assert_eq!(pick(16, 16, 3, plain, false), expect);
    assert_eq!(pick(128, 128, 11, ConvOpts::new().dilation(5).padding(25), false), if available() { Conv1dPath::ShiftedGemm } else { Conv1dPath::SpaceToBatch });
    assert_ne!(pick(8, 16, 3, plain, false), Conv1dPath::ShiftedGemm);
    assert_ne!(pick(16, 1, 3, plain, false), Conv1dPath::ShiftedGemm);
    assert_ne!(pick(16, 16, 1, ConvOpts::new(), false), Conv1dPath::ShiftedGemm);
    assert_ne!(pick(16, 16, 3, plain.stride(2), false), Conv1dPath::ShiftedGemm);
    assert_ne!(pick(32, 32, 3, plain.groups(2), false), Conv1dPath::ShiftedGemm);
    let grouped = ConvOpts::new().stride(4).padding(20).groups(4);
    assert_eq!(pick(16, 64, 41, grouped, false), if available() { Conv1dPath::GroupedDirect } else { Conv1dPath::Im2col });
    assert_eq!(pick(16, 64, 41, grouped, true), Conv1dPath::Im2col);
    assert_eq!(pick(16, 64, 41, grouped.dilation(2), false), Conv1dPath::Im2col);
    assert_eq!(pick(1024, 1024, 5, ConvOpts::new().padding(2), false), Conv1dPath::Im2col);
    assert_ne!(pick(16, 16, 3, plain, true), Conv1dPath::ShiftedGemm);
}

#[test]
fn im2col_matches_mlx() {
    let mut worst = 0.0f32;
    for &(b, t, ci, co, k, s, d, p, g) in &[
        (1, 40, 4, 8, 5, 2, 1, 2, 1),
        (2, 37, 3, 6, 3, 3, 1, 1, 1),
        (1, 64, 8, 16, 9, 4, 1, 4, 4),
        (2, 50, 16, 32, 41, 4, 1, 20, 16),
        (1, 30, 6, 6, 3, 1, 1, 1, 3),
        (1, 45, 4, 4, 3, 2, 2, 2, 2),
        (1, 20, 4, 8, 4, 3, 1, 0, 2),
        (1, 12, 2, 4, 15, 1, 1, 7, 1),
    ] {
        let x = arr(&[b, t, ci], 3);
        let w = arr(&[co, ci / g, k], 4);
        let o = ConvOpts::new().stride(s).dilation(d).padding(p).groups(g);
        worst = worst.max(compare(
            &format!("im2col b{b} t{t} ci{ci} co{co} k{k} s{s} d{d} p{p} g{g}"),
            &|x, w| conv1d_im2col(x, w, o).unwrap(),
            &|x, w| conv1d_mlx(x, w, o).unwrap(),
            &x,
            &w,
        ));
    }
    eprintln!("im2col max abs diff {worst:e}");
}

/// The hand-written backward of the im2col row windows (an overlap-add)
/// equals autodiff of the plain stack of slices, including inputs with
/// spare rows past the last window. Both sides add the same f32 values in
/// the same order per element, so the match is exact.
#[test]
fn shifted_rows_backward_equals_autodiff_of_slices() {
    for &(b, rows, s, c, m, tout) in &[(1, 12, 3, 4, 2, 11), (2, 20, 4, 3, 11, 10), (1, 9, 1, 5, 4, 5), (2, 8, 2, 2, 1, 8)] {
        let x = arr(&[b, rows, s, c], 5);
        let plain = move |x: &Array| -> Array { stacked_rows(x, m, tout).expect("stacked_rows") };
        let custom = move |x: &Array| -> Array { shifted_rows(x, m, tout).expect("shifted_rows") };
        let r = arr(plain(&x).shape(), 7);
        let grad = |f: &dyn Fn(&Array) -> Array| -> (Vec<f32>, Vec<f32>) {
            let loss = |args: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
                Ok(vec![ops::multiply(&f(&args[0]), &r)?.sum(None)?])
            };
            let mut vg = value_and_grad_with_argnums(loss, &[0][..]);
            let (_, g) = vg(&[x.clone()]).expect("value_and_grad");
            (values(&f(&x)), values(&sovits_core::nn::contiguous(&g[0]).expect("contiguous")))
        };
        let (y1, g1) = grad(&custom);
        let (y0, g0) = grad(&plain);
        assert_eq!(y1, y0, "windows b{b} rows{rows} s{s} c{c} m{m} tout{tout}");
        assert_close(&format!("overlap-add b{b} rows{rows} m{m}"), &g1, &g0, 1e-6, 1e-6);
    }
}

/// `matmul_nt`'s hand-written backward (the weight gradient as `dy^T @ x`,
/// in the weight's own layout) equals autodiff of `x @ w^T`, plain and
/// batched over a leading axis as the grouped im2col path uses it.
#[test]
fn matmul_nt_equals_autodiff_of_the_transposed_product() {
    for (xs, ws) in [(vec![7, 12], vec![5, 12]), (vec![3, 7, 12], vec![3, 5, 12])] {
        let (x, w) = (arr(&xs, 11), arr(&ws, 12));
        let plain = |x: &Array, w: &Array| ops::matmul(x, &w.swap_axes(-1, -2).unwrap()).unwrap();
        compare(&format!("matmul_nt {xs:?} x {ws:?}"), &|x, w| matmul_nt(x, w).unwrap(), &plain, &x, &w);
    }
}

#[test]
fn transpose_matmul_matches_mlx() {
    let mut worst = 0.0f32;
    for &(b, t, ci, co, k, s, p) in &[
        (1, 10, 8, 4, 16, 8, 4),
        (2, 7, 6, 3, 16, 10, 3),
        (1, 5, 4, 4, 4, 2, 1),
        (1, 6, 3, 5, 3, 4, 0),
        (2, 9, 5, 2, 7, 3, 2),
        (1, 4, 4, 4, 5, 5, 0),
    ] {
        let x = arr(&[b, t, ci], 5);
        let w = arr(&[ci, co, k], 6);
        worst = worst.max(compare(
            &format!("convT b{b} t{t} ci{ci} co{co} k{k} s{s} p{p}"),
            &|x, w| conv_transpose1d_matmul(x, w, s, p).unwrap(),
            &|x, w| conv_transpose1d_mlx(x, w, s, p).unwrap(),
            &x,
            &w,
        ));
    }
    eprintln!("conv_transpose matmul max abs diff {worst:e}");
}

#[test]
fn conv2d_fold_matches_mlx() {
    let mut worst = 0.0f32;
    for &(b, h, wd, ci, co, kh, s, p) in &[
        (1, 30, 2, 1, 8, 5, 3, 2),
        (2, 20, 3, 4, 6, 5, 3, 2),
        (1, 16, 5, 6, 6, 5, 1, 2),
        (1, 11, 7, 4, 1, 3, 1, 1),
    ] {
        let x = arr(&[b, h, wd, ci], 7);
        let w = arr(&[co, ci, kh, 1], 8);
        worst = worst.max(compare(
            &format!("conv2d fold b{b} h{h} w{wd} ci{ci} co{co} kh{kh} s{s} p{p}"),
            &|x, w| conv2d_fold_width(x, w, s, p).unwrap(),
            &|x, w| conv2d_mlx(x, w, Conv2dOpts::new().stride((s, 1)).padding((p, 0))).unwrap(),
            &x,
            &w,
        ));
    }
    eprintln!("conv2d fold max abs diff {worst:e}");
}

/// A `(kh, 1)` conv applied to width-folded columns equals `conv2d` on the
/// unfolded map, bit for bit (the same conv1d path, bias added after), under
/// weight norm and spectral norm; other kernels are errors, not panics.
#[test]
fn column_conv_on_folded_width_equals_conv2d() {
    let (b, h, wd, ci, co) = (2, 19, 3, 4, 6);
    let x = arr(&[b, h, wd, ci], 31);
    let folded = x.transpose_axes(&[0, 2, 1, 3]).unwrap().reshape(&[b * wd, h, ci]).unwrap();
    for spectral in [false, true] {
        let opts = Conv2dOpts::new().stride((3, 1)).padding((2, 0));
        let mut conv = NormConv2d::new(ci, co, (5, 1), opts, spectral).unwrap();
        let mut twin = conv.clone();
        let want = values(&twin.forward(&x).unwrap());
        let y = conv.forward_columns(&folded).unwrap();
        let (n, c) = (y.shape()[1], y.shape()[2]);
        let got = y.reshape(&[b, wd, n, c]).unwrap().transpose_axes(&[0, 2, 1, 3]).unwrap();
        assert_eq!(values(&got), want, "spectral norm: {spectral}");
    }
    let mut square = NormConv2d::new(ci, co, (3, 3), Conv2dOpts::new(), false).unwrap();
    assert!(square.forward_columns(&folded).is_err());
}

#[test]
fn public_entry_points_match_mlx_with_bias() {
    let x = arr(&[2, 25, 6], 11);
    let bias = arr(&[4], 12);
    for o in [
        ConvOpts::new().padding(1),
        ConvOpts::new().dilation(3).padding(3),
        ConvOpts::new().stride(2).padding(1),
        ConvOpts::new().groups(2).padding(1),
    ] {
        let w = arr(&[4, 6 / o.groups, 3], 13);
        let got = conv1d(&x, &w, Some(&bias), o).unwrap();
        let want = ops::add(conv1d_along(Conv1dPath::Mlx, &x, &w, o).unwrap(), &bias).unwrap();
        assert_eq!(got.shape(), want.shape(), "{o:?}");
        assert_close(&format!("conv1d {o:?}"), &values(&got), &values(&want), ATOL, RTOL);
    }
    let wt = arr(&[6, 4, 16], 14);
    let got = conv_transpose1d(&x, &wt, Some(&bias), 8, 4).unwrap();
    assert_eq!(got.shape(), &[2, 24 * 8 - 8 + 16, 4]);
    let want = ops::add(conv_transpose1d_mlx(&x, &wt, 8, 4).unwrap(), &bias).unwrap();
    assert_close("conv_transpose1d", &values(&got), &values(&want), ATOL, RTOL);
    let x2 = arr(&[1, 12, 3, 6], 15);
    let w2 = arr(&[4, 6, 5, 1], 16);
    let o2 = Conv2dOpts::new().stride((3, 1)).padding((2, 0));
    let got = conv2d(&x2, &w2, Some(&bias), o2).unwrap();
    let want = ops::add(conv2d_mlx(&x2, &w2, o2).unwrap(), &bias).unwrap();
    assert_eq!(got.shape(), want.shape());
    assert_close("conv2d", &values(&got), &values(&want), ATOL, RTOL);
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let x = arr(&[1, 10, 4], 1);
    assert!(conv1d(&x, &arr(&[4, 3, 3], 2), None, ConvOpts::new()).is_err());
    assert!(conv1d(&x, &arr(&[4, 4, 3], 2), Some(&arr(&[5], 3)), ConvOpts::new()).is_err());
    assert!(conv1d(&x, &arr(&[4, 4, 30], 2), None, ConvOpts::new()).is_err());
    assert!(conv1d(&x, &arr(&[4, 2, 3], 2), None, ConvOpts::new().groups(3)).is_err());
    assert!(conv_transpose1d(&x, &arr(&[3, 4, 3], 2), None, 2, 0).is_err());
    assert!(conv2d(&arr(&[1, 5, 5, 2], 1), &arr(&[4, 3, 3, 3], 2), None, Conv2dOpts::new()).is_err());
}

/// MLX 0.32.2 CPU: an element-wise op between a column-major view and a
/// dense permuted array can give wrong values; `contiguous` on either side
/// must make the result equal the host computation. (This construction does
/// not trigger the bug without the guard on MLX 0.32.2 CPU here: it prints
/// the unguarded error; the guarded result is asserted exact.)
#[test]
fn contiguous_guards_mixed_stride_elementwise() {
    let a = arr(&[6, 5, 4], 21);
    let b = arr(&[4, 5, 6], 22);
    let col_major = a.transpose_axes(&[2, 1, 0]).unwrap(); // [4,5,6] view, column-major
    let permuted = b.transpose_axes(&[0, 2, 1]).unwrap().contiguous().unwrap().transpose_axes(&[0, 2, 1]).unwrap();
    let fixed = ops::add(sovits_core::nn::contiguous(&col_major).unwrap(), &permuted).unwrap();
    let (ha, hb) = (values(&col_major), values(&b));
    let want: Vec<f32> = ha.iter().zip(&hb).map(|(x, y)| x + y).collect();
    assert_close("contiguous add", &values(&fixed), &want, 0.0, 0.0);
    let raw = ops::add(&col_major, &permuted).unwrap();
    eprintln!("unguarded mixed-stride add max abs error: {:e}", max_abs_diff(&values(&raw), &want));
}
